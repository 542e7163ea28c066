"""The loader's window cache on SQLite and PostgreSQL: always the answer the rules give.

The candidates of a query are checked against an oracle written here from the rules (the
newest ``limit`` items published in the window, first seen by ``at``, of the kinds asked, not
hidden or read, seen in a source that is not muted), with one ``WindowCache`` shared over
profiles with hidden, read and muted items, several instants, kinds, windows and caps; feed
pages from a shared cache equal those from a window read afresh; and a new item, a changed
source, new feedback and a second process's writes are seen at once.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from corpusgen import AREAS, generate_corpus
from sqlmodel import select

from service.outputs.feed import FeedOptions, FeedPage, build_feed
from service.rank.loader import CandidateQuery, WindowCache, load_candidates, load_pool
from service.records import KINDS
from service.storage.engine import Database
from service.storage.feedback import record_feedback
from service.storage.models import Feedback, Item, ItemSource, Profile
from service.storage.profiles import create_profile, get_profile
from service.storage.source_registry import update_source

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
SECRET = b"s" * 32


def _candidates(db: Database, query: CandidateQuery, windows: WindowCache | None = None) -> Any:
    with db.session() as session:
        return load_candidates(session, query, windows)


def _oracle(db: Database, query: CandidateQuery) -> tuple[list[int], bool]:
    """The ids the rules give, from every row (slow, obvious)."""
    since = query.at - timedelta(days=query.window_days)
    with db.session() as session:
        items = session.exec(
            select(Item.id, Item.kind, Item.published_at, Item.first_seen_at)
        ).all()
        sources: dict[int, set[int]] = {}
        for item_id, source_id in session.exec(select(ItemSource.item_id, ItemSource.source_id)):
            sources.setdefault(item_id, set()).add(source_id)
        marks = session.exec(
            select(Feedback.item_id, Feedback.signal).where(Feedback.profile_id == query.profile_id)
        ).all()
    gone = {"hide"} if query.include_read else {"hide", "read"}
    dropped = {item_id for item_id, signal in marks if signal in gone}
    muted = set(query.muted_sources)
    passing = [
        (published, item_id)
        for item_id, kind, published, seen in items
        if published >= since
        and seen <= query.at
        and kind in query.kinds
        and item_id not in dropped
        and (not muted or sources.get(item_id, set()) - muted)
    ]
    passing.sort(reverse=True)
    return [item_id for _, item_id in passing[: query.limit]], len(passing) > query.limit


def _profiles(db: Database, items: list[int]) -> list[int]:
    ids = []
    for n, areas in enumerate([AREAS[:1], AREAS[2:5], AREAS[-3:]]):
        created = create_profile(
            db, name=f"p{n}", changes={"interests": dict.fromkeys(areas, 1.0)}
        ).profile
        assert created.id is not None
        ids.append(created.id)
    hider = ids[1]
    for item_id in items[:40]:
        record_feedback(db, profile_id=hider, item_id=item_id, signal="hide", now=NOW)
    for item_id in items[40:70]:
        record_feedback(db, profile_id=hider, item_id=item_id, signal="read", now=NOW)
    for item_id in items[70:75]:
        record_feedback(db, profile_id=hider, item_id=item_id, signal="like", now=NOW)
    return ids


def _newest(db: Database, n: int) -> list[int]:
    with db.session() as session:
        candidates, _ = load_candidates(session, CandidateQuery(at=NOW, window_days=30))
    return [c.id for c in candidates[:n]]


def test_cached_candidates_follow_the_rules(db: Database) -> None:
    corpus = generate_corpus(db, items=1500, seed=11, now=NOW)
    profiles = _profiles(db, _newest(db, 80))
    muted = tuple(sorted(corpus.source_ids.values()))[:3]
    instants = [NOW, NOW - timedelta(hours=7), NOW + timedelta(days=1)]
    every_case = itertools.product(
        [None, *profiles],
        instants,
        [KINDS, ("paper",), ("podcast", "video")],
        [1, 7],
        [3000, 200, 5],
        [(), muted],
        [False, True],
    )
    # 1,296 combinations; a fixed sample of 80 meets every value of every dimension many times
    cases = random.Random(7).sample(list(every_case), 80)
    shared = WindowCache()
    for profile_id, at, kinds, window, limit, muted_sources, include_read in cases:
        query = CandidateQuery(
            at=at,
            window_days=window,
            kinds=kinds,
            profile_id=profile_id,
            muted_sources=muted_sources,
            include_read=include_read,
            limit=limit,
        )
        cached, truncated = _candidates(db, query, shared)
        assert ([c.id for c in cached], truncated) == _oracle(db, query), query
        assert (cached, truncated) == _candidates(db, query), query  # a window read afresh
    cache = WindowCache()
    for profile_id in [None, *profiles]:
        _candidates(db, CandidateQuery(at=NOW, window_days=7, profile_id=profile_id), cache)
    reads = cache.reads
    for profile_id in [None, *profiles]:
        later = CandidateQuery(at=NOW + timedelta(seconds=5), window_days=7, profile_id=profile_id)
        _candidates(db, later, cache)
    assert cache.reads == reads == 1  # the same window served every profile and instant


def _page_record(page: FeedPage) -> Any:
    return (
        [(i.candidate, i.position, i.score, i.why) for i in page.items],
        page.metrics,
        page.total,
        page.truncated,
        page.next_cursor,
    )


def _pages(
    db: Database,
    profile: Profile,
    options: FeedOptions,
    now: datetime,
    windows: WindowCache | None = None,
) -> list[Any]:
    pages = []
    for _ in range(3):
        page = build_feed(
            db, profile=profile, options=options, secret=SECRET, now=now, windows=windows
        )
        pages.append(_page_record(page))
        if page.next_cursor is None:
            break
        options = replace(options, cursor=page.next_cursor)
    return pages


def test_feed_pages_from_a_shared_cache_are_those_of_a_fresh_window(db: Database) -> None:
    generate_corpus(db, items=1200, seed=12, now=NOW)
    profile_ids = _profiles(db, _newest(db, 80))
    with db.session() as session:
        profiles = [get_profile(session, pid) for pid in profile_ids]
    combos = itertools.product(profiles, [0.0, 0.4, 1.0])
    shared = WindowCache()
    for n, (profile, depth) in enumerate(combos):
        limit = (7, 50)[n % 2]
        options = FeedOptions(depth=depth, limit=limit)
        assert _pages(db, profile, options, NOW, shared) == _pages(db, profile, options, NOW)
    assert shared.reads == 1


def test_a_new_item_is_seen_by_the_next_request(db: Database) -> None:
    generate_corpus(db, items=300, seed=13, now=NOW)
    query, windows = CandidateQuery(at=NOW + timedelta(hours=1), window_days=7), WindowCache()
    before = {c.id for c in _candidates(db, query, windows)[0]}
    generate_corpus(db, items=5, seed=14, now=NOW + timedelta(minutes=30), span_days=0.01)
    after = {c.id for c in _candidates(db, query, windows)[0]}
    assert len(after - before) == 5


def test_a_changed_source_is_seen_by_the_next_request(db: Database) -> None:
    corpus = generate_corpus(db, items=300, seed=15, now=NOW)
    query, windows = CandidateQuery(at=NOW, window_days=7), WindowCache()
    _candidates(db, query, windows)
    blog = corpus.source_ids["Lil'Log"]
    update_source(db, blog, {"weight": 3.0})
    candidates, _ = _candidates(db, query, windows)
    weights = {s.weight for c in candidates for s in c.sources if s.id == blog}
    assert weights == {3.0}


def test_new_feedback_applies_at_once(db: Database) -> None:
    generate_corpus(db, items=300, seed=16, now=NOW)
    ada = create_profile(db, name="ada").profile.id
    assert ada is not None
    query, windows = CandidateQuery(at=NOW, window_days=7, profile_id=ada), WindowCache()
    first = _candidates(db, query, windows)[0]
    hidden, saved = first[0].id, first[1].id
    record_feedback(db, profile_id=ada, item_id=hidden, signal="hide", now=NOW)
    record_feedback(db, profile_id=ada, item_id=saved, signal="save", now=NOW)
    with db.session() as session:
        pool = load_pool(session, query, windows)
    assert hidden not in {c.id for c in pool.candidates}
    assert next(c for c in pool.candidates if c.id == saved).feedback == frozenset({"save"})
    record_feedback(db, profile_id=ada, item_id=saved, signal="like", now=NOW)
    with db.session() as session:
        assert len(load_pool(session, query, windows).events) == 1


def test_another_process_writes_are_seen(db: Database) -> None:
    """Two engines on one database stand for two API workers: each checks the stamp itself."""
    generate_corpus(db, items=300, seed=17, now=NOW)
    other, windows = Database(db.url), WindowCache()
    try:
        query = CandidateQuery(at=NOW + timedelta(hours=1), window_days=7)
        before = {c.id for c in _candidates(other, query, windows)[0]}
        generate_corpus(db, items=3, seed=18, now=NOW + timedelta(minutes=30), span_days=0.01)
        after = {c.id for c in _candidates(other, query, windows)[0]}
        assert len(after - before) == 3
    finally:
        other.dispose()
