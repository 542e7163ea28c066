"""The only part of ranking that reads storage: bounded, indexed queries into frozen Candidates.

Candidates are the newest items of the window (``ix_item_published``, newest first), at most
``MAX_CANDIDATES`` of them, without the profile's hidden (and, unless asked, read) items, of the
kinds asked for, seen in at least one source that is not muted. Only items first seen by ``at``
count, so a feed ranked "as of ``at``" stays the same while new items arrive. Tags, sources,
covering posts and feedback of those candidates follow in chunked ``IN`` queries on primary keys.

**The window cache.** What every profile shares — the newest items of a window with their tags,
sources and coverage, and their profile-free score traits (``score.traits_of``) — is read once
and kept in this process (``CandidateWindow``, per engine, a few windows by (kinds, window
days)), with a ``WindowMemo`` that scoring fills as profiles ask (keyword matches by phrase,
quality parts by instant) for the next profile ranked from the same window. Each request reads a
**stamp** first: the newest item id, the newest ``source.updated_at``
(every poll, every local ingest, every source edit moves it), the newest poll-log id and the
taxonomy rows. A window is used only while the stamp it was read under is still the database's,
so new or changed items are seen by the next request of every process (each API worker has its
own cache and checks the stamp itself). The window holds ``WINDOW_MARGIN`` rows more than the cap
and no "first seen by" bound; each request applies its own parts on top: its ``at`` (first seen
by, published since: a bisect on publish time), the profile's hidden, read and muted sources (a
set of ids to drop), and its feedback. When those leave too few rows to decide the cap exactly,
the request reads storage directly (the answer is always the one the direct queries give).
"""

from __future__ import annotations

import bisect
import threading
import weakref
from collections import OrderedDict, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from service.ingest.embed import MODEL_NAME
from service.rank.model import (
    Candidate,
    CandidatePool,
    CandidateSource,
    CandidateTag,
    FeedbackEvent,
    TopicIndex,
    Traits,
    WindowMemo,
)
from service.rank.preference import learned_for
from service.rank.score import microseconds, traits_of
from service.rank.stories import StoryInputs, fold_stories
from service.records import KINDS
from service.storage.feedback import affinity_events, signals_for
from service.storage.models import (
    Feedback,
    Item,
    ItemLink,
    ItemSource,
    ItemTag,
    PollLog,
    Source,
    Tag,
)

MAX_CANDIDATES = 3000
WINDOW_MARGIN = 1000  # rows a window holds beyond the cap: room for hidden, read, muted, unseen
WINDOW_CACHE_SIZE = 6  # windows kept per engine (each ~MAX_CANDIDATES + WINDOW_MARGIN items)
AFFINITY_LOOKBACK_DAYS = 90
COVERING_SHOWN = 5
_CHUNK = 900


@dataclass(frozen=True, slots=True)
class CandidateQuery:
    """Which items may enter one feed, as of ``at``."""

    at: datetime
    window_days: int
    kinds: tuple[str, ...] = KINDS
    profile_id: int | None = None
    muted_sources: tuple[int, ...] = ()
    include_read: bool = False
    limit: int = MAX_CANDIDATES


@dataclass(frozen=True, slots=True)
class CoveringItem:
    """A post or podcast that discusses a paper."""

    id: int
    kind: str
    title: str
    url: str | None
    published_at: datetime


_ITEM_COLUMNS = tuple(
    col(column)
    for column in (
        Item.id,
        Item.kind,
        Item.title,
        Item.url,
        Item.summary_text,
        Item.published_at,
        Item.authors,
        Item.reading_minutes,
        Item.arxiv_id,
        Item.arxiv_primary,
        Item.arxiv_categories,
        Item.pdf_url,
        Item.enclosure_url,
        Item.enclosure_type,
        Item.duration_seconds,
        Item.episode,
        Item.season,
        Item.image_url,
    )
)


_COVERING_COLUMNS = (ItemLink.arxiv_id, Item.id, Item.kind, Item.title, Item.url, Item.published_at)


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _feedback_absent(profile_id: int, signal: str) -> sa.ColumnElement[bool]:
    return ~sa.exists().where(
        col(Feedback.profile_id) == profile_id,
        col(Feedback.item_id) == col(Item.id),
        col(Feedback.signal) == signal,
    )


def _conditions(query: CandidateQuery) -> list[sa.ColumnElement[bool]]:
    since = query.at - timedelta(days=query.window_days)
    conditions = [col(Item.published_at) >= since, col(Item.first_seen_at) <= query.at]
    if set(query.kinds) != set(KINDS):
        conditions.append(col(Item.kind).in_(query.kinds))
    if query.profile_id is not None:
        conditions.append(_feedback_absent(query.profile_id, "hide"))
        if not query.include_read:
            conditions.append(_feedback_absent(query.profile_id, "read"))
    if query.muted_sources:
        conditions.append(
            sa.exists().where(
                col(ItemSource.item_id) == col(Item.id),
                col(ItemSource.source_id).not_in(query.muted_sources),
            )
        )
    return conditions


def _item_rows(session: Session, query: CandidateQuery) -> tuple[list[Any], bool]:
    if not query.kinds:
        return [], False
    statement = (
        sa.select(*_ITEM_COLUMNS)
        .where(*_conditions(query))
        .order_by(col(Item.published_at).desc(), col(Item.id).desc())
        .limit(query.limit + 1)
    )
    rows = list(session.execute(statement).all())
    return rows[: query.limit], len(rows) > query.limit


def _tags(session: Session, ids: Sequence[int]) -> dict[int, list[CandidateTag]]:
    found: dict[int, list[CandidateTag]] = defaultdict(list)
    for chunk in _chunks(ids):
        statement = (
            sa.select(
                col(ItemTag.item_id),
                col(Tag.slug),
                col(Tag.area),
                col(ItemTag.score),
                col(ItemTag.origin),
            )
            .join(Tag, col(Tag.id) == col(ItemTag.tag_id))
            .where(col(ItemTag.item_id).in_(chunk))
        )
        for item_id, slug, area, score, origin in session.execute(statement):
            found[item_id].append(CandidateTag(slug, area, float(score), origin))
    return found


def _sources(session: Session, ids: Sequence[int]) -> dict[int, list[CandidateSource]]:
    found: dict[int, list[CandidateSource]] = defaultdict(list)
    for chunk in _chunks(ids):
        statement = (
            sa.select(
                col(ItemSource.item_id),
                col(Source.id),
                col(Source.name),
                col(Source.kind),
                col(Source.level),
                col(Source.weight),
            )
            .join(Source, col(Source.id) == col(ItemSource.source_id))
            .where(col(ItemSource.item_id).in_(chunk))
        )
        for item_id, source_id, name, kind, level, weight in session.execute(statement):
            found[item_id].append(CandidateSource(source_id, name, kind, level, float(weight)))
    return found


def _covered_counts(session: Session, arxiv_ids: Sequence[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for chunk in _chunks(arxiv_ids):
        statement = (
            sa.select(col(ItemLink.arxiv_id), sa.func.count(sa.distinct(col(ItemLink.item_id))))
            .join(Item, col(Item.id) == col(ItemLink.item_id))
            .where(col(ItemLink.arxiv_id).in_(chunk), col(Item.kind) != "paper")
            .group_by(col(ItemLink.arxiv_id))
        )
        counts.update({arxiv_id: int(n) for arxiv_id, n in session.execute(statement)})
    return counts


def load_covering(
    session: Session, arxiv_ids: Sequence[str], *, per_paper: int = COVERING_SHOWN
) -> dict[str, tuple[CoveringItem, ...]]:
    """For display: the newest posts and podcasts that discuss each paper (a few each)."""
    found: dict[str, list[CoveringItem]] = defaultdict(list)
    for chunk in _chunks(list(dict.fromkeys(arxiv_ids))):
        statement = (
            sa.select(*(col(column) for column in _COVERING_COLUMNS))
            .join(Item, col(Item.id) == col(ItemLink.item_id))
            .where(col(ItemLink.arxiv_id).in_(chunk), col(Item.kind) != "paper")
        )
        for arxiv_id, *fields in session.execute(statement):
            found[arxiv_id].append(CoveringItem(*fields))
    return {
        arxiv_id: tuple(sorted(items, key=lambda c: (-c.published_at.timestamp(), c.id)))[
            :per_paper
        ]
        for arxiv_id, items in found.items()
    }


def load_topics(session: Session) -> TopicIndex:
    return TopicIndex.build(_topic_rows(session))


def load_events(session: Session, *, profile_id: int, at: datetime) -> tuple[FeedbackEvent, ...]:
    since = at - timedelta(days=AFFINITY_LOOKBACK_DAYS)
    return tuple(
        FeedbackEvent(
            sign=1 if event.signal == "like" else -1,
            at=event.at,
            topics=event.topics,
            source_ids=event.source_ids,
            authors=event.authors,
        )
        for event in affinity_events(session, profile_id=profile_id, since=since)
    )


def _candidate(
    row: Any,
    tags: dict[int, list[CandidateTag]],
    sources: dict[int, list[CandidateSource]],
    covered: dict[str, int],
    feedback: dict[int, frozenset[str]],
) -> Candidate:
    return Candidate(
        id=row.id,
        kind=row.kind,
        title=row.title,
        url=row.url,
        summary=row.summary_text,
        published_at=row.published_at,
        authors=tuple(row.authors or ()),
        reading_minutes=row.reading_minutes,
        arxiv_id=row.arxiv_id,
        arxiv_primary=row.arxiv_primary,
        arxiv_categories=tuple(row.arxiv_categories or ()),
        pdf_url=row.pdf_url,
        enclosure_url=row.enclosure_url,
        enclosure_type=row.enclosure_type,
        duration_seconds=row.duration_seconds,
        episode=row.episode,
        season=row.season,
        image_url=row.image_url,
        tags=tuple(sorted(tags.get(row.id, ()), key=lambda t: (-t.score, t.slug))),
        sources=tuple(sorted(sources.get(row.id, ()), key=lambda s: (-s.weight, s.id))),
        covered_by=covered.get(row.arxiv_id, 0) if row.arxiv_id else 0,
        feedback=feedback.get(row.id, frozenset()),
    )


def _direct(session: Session, query: CandidateQuery) -> tuple[tuple[Candidate, ...], bool]:
    """The candidates read straight from storage (no cache): the reference answer."""
    rows, truncated = _item_rows(session, query)
    ids = [row.id for row in rows]
    tags, sources = _tags(session, ids), _sources(session, ids)
    covered = _covered_counts(session, [row.arxiv_id for row in rows if row.arxiv_id])
    feedback = (
        signals_for(session, profile_id=query.profile_id, item_ids=ids)
        if query.profile_id is not None
        else {}
    )
    return tuple(_candidate(row, tags, sources, covered, feedback) for row in rows), truncated


# --------------------------------------------------------------------------- the window cache


@dataclass(frozen=True, slots=True)
class CandidateWindow:
    """The newest items of a window as every profile shares them (no feedback, no ``at``)."""

    stamp: tuple[Any, ...]
    since: datetime  # read with published_at >= since
    complete: bool  # holds every item published since ``since`` (else only the newest)
    candidates: tuple[Candidate, ...]  # newest first, feedback empty
    first_seen: tuple[datetime, ...]
    traits: Mapping[int, Traits]
    memo: WindowMemo  # keyword matches, filled as profiles ask (shared by every profile)
    ids: tuple[int, ...]  # of ``candidates``
    newest_seen: datetime | None  # the latest first_seen (a request at or after it drops none)
    published_keys: tuple[int, ...]  # minus published_at in microseconds: ascending, for bisect


class WindowCache:
    """A few CandidateWindows of one engine, least recently used out; one reader at a time."""

    def __init__(self, size: int = WINDOW_CACHE_SIZE) -> None:
        self.size = size
        self.lock = threading.Lock()
        self.windows: OrderedDict[tuple[Any, ...], CandidateWindow] = OrderedDict()
        self.reads = 0  # windows read from storage (tests and benchmarks look)

    def get(
        self, key: tuple[Any, ...], stamp: tuple[Any, ...], since: datetime
    ) -> CandidateWindow | None:
        window = self.windows.get(key)
        if window is None or window.stamp != stamp or window.since > since:
            return None
        self.windows.move_to_end(key)
        return window

    def put(self, key: tuple[Any, ...], window: CandidateWindow) -> None:
        self.windows[key] = window
        self.windows.move_to_end(key)
        while len(self.windows) > self.size:
            self.windows.popitem(last=False)


_caches: weakref.WeakKeyDictionary[Any, WindowCache] = weakref.WeakKeyDictionary()
_caches_lock = threading.Lock()
use_window_cache = True  # False: every request reads storage directly (tests compare both)


def window_cache(session: Session) -> WindowCache:
    """The window cache of the engine ``session`` is bound to."""
    engine = session.get_bind().engine
    with _caches_lock:
        cache = _caches.get(engine)
        if cache is None:
            cache = _caches[engine] = WindowCache()
        return cache


def data_stamp(session: Session, topic_rows: Sequence[tuple[Any, ...]]) -> tuple[Any, ...]:
    """What a cached window depends on, read in one cheap statement (maxima on indexed or tiny
    tables), plus the taxonomy rows."""
    statement = sa.select(
        sa.select(sa.func.max(col(Item.id))).scalar_subquery(),
        sa.select(sa.func.max(col(Source.updated_at))).scalar_subquery(),
        sa.select(sa.func.count()).select_from(Source).scalar_subquery(),
        sa.select(sa.func.max(col(PollLog.id))).scalar_subquery(),
    )
    return (*session.execute(statement).one(), tuple(topic_rows))


def _read_window(
    session: Session, query: CandidateQuery, stamp: tuple[Any, ...]
) -> CandidateWindow:
    since = query.at - timedelta(days=query.window_days)
    wanted = query.limit + 1 + WINDOW_MARGIN
    conditions = [col(Item.published_at) >= since]
    if set(query.kinds) != set(KINDS):
        conditions.append(col(Item.kind).in_(query.kinds))
    statement = (
        sa.select(*_ITEM_COLUMNS, col(Item.first_seen_at))
        .where(*conditions)
        .order_by(col(Item.published_at).desc(), col(Item.id).desc())
        .limit(wanted)
    )
    rows = list(session.execute(statement).all())
    ids = [row.id for row in rows]
    tags, sources = _tags(session, ids), _sources(session, ids)
    covered = _covered_counts(session, [row.arxiv_id for row in rows if row.arxiv_id])
    candidates = tuple(_candidate(row, tags, sources, covered, {}) for row in rows)
    traits = {c.id: traits_of(c) for c in candidates}
    first_seen = tuple(row.first_seen_at for row in rows)
    return CandidateWindow(
        stamp=stamp,
        since=since,
        complete=len(rows) < wanted,
        candidates=candidates,
        first_seen=first_seen,
        traits=traits,
        memo=WindowMemo(ids),
        ids=tuple(ids),
        newest_seen=max(first_seen, default=None),
        published_keys=tuple(-traits[c.id].published_us for c in candidates),
    )


def _profile_signals(session: Session, profile_id: int) -> dict[int, frozenset[str]]:
    found: dict[int, set[str]] = defaultdict(set)
    statement = sa.select(col(Feedback.item_id), col(Feedback.signal)).where(
        col(Feedback.profile_id) == profile_id
    )
    for item_id, signal in session.execute(statement):
        found[item_id].add(signal)
    return {item_id: frozenset(signals) for item_id, signals in found.items()}


def _dropped_ids(
    window: CandidateWindow, query: CandidateQuery, signals: Mapping[int, frozenset[str]]
) -> set[int]:
    """The window's items this query leaves out: hidden (and read), first seen after ``at``,
    seen only in muted sources."""
    dropped = {"hide"} if query.include_read else {"hide", "read"}
    found = {item_id for item_id, marks in signals.items() if not marks.isdisjoint(dropped)}
    if window.newest_seen is not None and window.newest_seen > query.at:
        found.update(
            item_id
            for item_id, seen in zip(window.ids, window.first_seen, strict=True)
            if seen > query.at
        )
    if query.muted_sources:
        muted = frozenset(query.muted_sources)
        found.update(c.id for c in window.candidates if all(s.id in muted for s in c.sources))
    return found


def _apply(
    window: CandidateWindow, query: CandidateQuery, signals: Mapping[int, frozenset[str]]
) -> tuple[tuple[Candidate, ...], bool] | None:
    """The query's candidates from the window, or None when the window cannot decide them."""
    since = query.at - timedelta(days=query.window_days)
    end = bisect.bisect_right(window.published_keys, -microseconds(since))  # published >= since
    dropped = _dropped_ids(window, query, signals)
    kept = [c for c in window.candidates[:end] if c.id not in dropped] if dropped else None
    passing = window.candidates[:end] if kept is None else kept
    if len(passing) > query.limit:
        found, truncated = passing[: query.limit], True
    elif end < len(window.candidates) or (window.complete and since >= window.since):
        found, truncated = passing, False  # every row of the query's window was passed
    else:
        return None
    if signals:
        found = [replace(c, feedback=m) if (m := signals.get(c.id)) else c for c in found]
    return tuple(found), truncated


def _cached(
    session: Session, query: CandidateQuery, topic_rows: Sequence[tuple[Any, ...]]
) -> tuple[tuple[Candidate, ...], bool, Mapping[int, Traits], WindowMemo] | None:
    stamp = data_stamp(session, topic_rows)
    key = (frozenset(query.kinds), query.window_days, query.limit)
    since = query.at - timedelta(days=query.window_days)
    cache = window_cache(session)
    with cache.lock:
        window = cache.get(key, stamp, since)
        if window is None:
            window = _read_window(session, query, stamp)
            cache.put(key, window)
            cache.reads += 1
    signals = _profile_signals(session, query.profile_id) if query.profile_id is not None else {}
    found = _apply(window, query, signals)
    if found is None:
        return None
    return (*found, window.traits, window.memo)


def load_candidates(session: Session, query: CandidateQuery) -> tuple[tuple[Candidate, ...], bool]:
    """The candidates of one feed, newest first, and whether the cap cut older ones off."""
    if not query.kinds:
        return (), False
    if use_window_cache:
        found = _cached(session, query, _topic_rows(session))
        if found is not None:
            return found[0], found[1]
    return _direct(session, query)


def _topic_rows(session: Session) -> list[tuple[str, str, str | None, str]]:
    statement = sa.select(col(Tag.slug), col(Tag.area), col(Tag.parent), col(Tag.label))
    rows = session.execute(statement.order_by(col(Tag.slug)))
    return [(slug, area, parent, label) for slug, area, parent, label in rows]


def load_pool(session: Session, query: CandidateQuery) -> CandidatePool:
    """Candidates with each story once (``stories.fold_stories``), the taxonomy and (for a
    profile) its likes and dislikes."""
    topic_rows = _topic_rows(session)
    found = _cached(session, query, topic_rows) if use_window_cache and query.kinds else None
    if found is not None:
        candidates, truncated, traits, memo = found
    else:
        (candidates, truncated), traits, memo = load_candidates_direct(session, query), {}, None
    events = (
        load_events(session, profile_id=query.profile_id, at=query.at)
        if query.profile_id is not None
        else ()
    )
    topics = TopicIndex.build(topic_rows)
    learned = (  # LEARNED HOOK (issue 18): the profile's preference model on these candidates
        learned_for(session, query.profile_id, [c.id for c in candidates], query.at)
        if query.profile_id is not None
        else None
    )
    pool = CandidatePool(candidates, topics, events, truncated, traits, memo, learned=learned)
    # Each story once: coverage folds into its paper, near-duplicates into the first of them.
    return fold_stories(pool, load_story_inputs(session, candidates, query)).pool


def load_candidates_direct(
    session: Session, query: CandidateQuery
) -> tuple[tuple[Candidate, ...], bool]:
    """The candidates without the window cache (what the cache must always agree with)."""
    return _direct(session, query) if query.kinds else ((), False)


def load_story_inputs(
    session: Session, candidates: Sequence[Candidate], query: CandidateQuery | None = None
) -> StoryInputs:
    """The arXiv ids each post, episode or video of ``candidates`` covers, its vector, and the
    covered papers ``query``'s profile hid (or read): what ``stories.fold_stories`` needs to show
    each story once."""
    ids = [c.id for c in candidates if c.kind != "paper"]
    mentions: dict[int, list[str]] = defaultdict(list)
    vectors: dict[int, bytes] = {}
    for chunk in _chunks(ids):
        links = sa.select(col(ItemLink.item_id), col(ItemLink.arxiv_id)).where(
            col(ItemLink.item_id).in_(chunk)
        )
        for item_id, arxiv_id in session.execute(links):
            mentions[item_id].append(arxiv_id)
        stored = sa.select(col(Item.id), col(Item.vector)).where(
            col(Item.id).in_(chunk), col(Item.vector_model) == MODEL_NAME
        )
        vectors.update({item_id: bytes(blob) for item_id, blob in session.execute(stored)})
    gone = _papers_gone(session, query, {a for ids in mentions.values() for a in ids})
    return StoryInputs({k: tuple(v) for k, v in mentions.items()}, vectors, gone)


def _papers_gone(
    session: Session, query: CandidateQuery | None, arxiv_ids: set[str]
) -> frozenset[str]:
    if query is None or query.profile_id is None or not arxiv_ids:
        return frozenset()
    signals = ["hide"] if query.include_read else ["hide", "read"]
    gone: set[str] = set()
    for chunk in _chunks(sorted(arxiv_ids)):
        statement = (
            sa.select(col(Item.arxiv_id))
            .join(Feedback, col(Feedback.item_id) == col(Item.id))
            .where(
                col(Feedback.profile_id) == query.profile_id,
                col(Feedback.signal).in_(signals),
                col(Item.arxiv_id).in_(chunk),
            )
        )
        gone.update(arxiv_id for (arxiv_id,) in session.execute(statement))
    return frozenset(gone)
