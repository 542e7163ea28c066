"""The candidate loader on SQLite and PostgreSQL: bounds, filters, and what a Candidate carries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from corpusgen import TAXONOMY
from sqlmodel import select

from service.rank.loader import CandidateQuery, load_candidates, load_covering, load_pool
from service.storage.catalog import sync_taxonomy
from service.storage.engine import Database
from service.storage.feedback import record_feedback
from service.storage.models import Item, ItemLink, ItemSource, ItemTag, Source, Tag
from service.storage.profiles import create_profile

AT = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


class World:
    """A few sources and items written straight to storage."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.ids: dict[str, int] = {}
        with db.write() as session:
            sync_taxonomy(session, TAXONOMY)
            session.add_all(
                [
                    Source(
                        name="arxiv", url="https://a.example/rss", kind="paper", level="research"
                    ),
                    Source(
                        name="blog",
                        url="https://b.example/rss",
                        kind="post",
                        level="overview",
                        weight=1.5,
                    ),
                    Source(
                        name="pod", url="https://p.example/rss", kind="podcast", level="overview"
                    ),
                ]
            )
        with db.session() as session:
            self.sources = {s.name: s.id for s in session.exec(select(Source)).all()}
            self.tags = {t.slug: t.id for t in session.exec(select(Tag)).all()}

    def item(
        self,
        key: str,
        *,
        kind: str = "paper",
        age_days: float = 1.0,
        seen_late: bool = False,
        sources: Sequence[str] = ("arxiv",),
        tags: Sequence[tuple[str, float, str]] = (("llm", 0.9, "category"),),
        arxiv_id: str | None = None,
        links: Sequence[str] = (),
    ) -> int:
        published = AT - timedelta(days=age_days)
        with self.db.write() as session:
            row = Item(
                canonical_key=f"key:{key}",
                kind=kind,
                title=key,
                url=f"https://x.example/{key}",
                summary_text=f"about {key}",
                authors=["Ada Lovelace"],
                published_at=published,
                first_seen_at=AT + timedelta(minutes=5) if seen_late else published,
                arxiv_id=arxiv_id,
            )
            session.add(row)
            session.flush()
            assert row.id is not None
            for name in sources:
                session.add(ItemSource(item_id=row.id, source_id=self.sources[name]))
            for slug, score, origin in tags:
                session.add(
                    ItemTag(item_id=row.id, tag_id=self.tags[slug], score=score, origin=origin)
                )
            for linked in links:
                session.add(ItemLink(item_id=row.id, arxiv_id=linked))
            self.ids[key] = row.id
            return row.id


def _ids(db: Database, **query: object) -> list[int]:
    values: dict[str, object] = {"at": AT, "window_days": 7}
    values.update(query)
    with db.session() as session:
        candidates, _ = load_candidates(session, CandidateQuery(**values))  # type: ignore[arg-type]
    return [c.id for c in candidates]


def test_the_window_and_the_as_of_instant_bound_the_candidates(db: Database) -> None:
    world = World(db)
    fresh = world.item("fresh", age_days=1)
    edge = world.item("edge", age_days=6.9)
    world.item("old", age_days=7.5)
    world.item("late", age_days=0.5, seen_late=True)  # first seen after AT
    assert _ids(db) == [fresh, edge]  # newest first
    assert _ids(db, window_days=8) == [fresh, edge, world.ids["old"]]


def test_kinds_and_muted_sources(db: Database) -> None:
    world = World(db)
    paper = world.item("paper", age_days=1)
    post = world.item("post", kind="post", age_days=2, sources=["blog"])
    both = world.item("both", kind="post", age_days=3, sources=["blog", "arxiv"])
    assert _ids(db, kinds=("post",)) == [post, both]
    assert _ids(db, kinds=()) == []
    muted = (world.sources["blog"],)
    assert _ids(db, muted_sources=muted) == [paper, both]  # still seen in a source not muted


def test_hidden_and_read_items_are_left_out(db: Database) -> None:
    world = World(db)
    keep, hidden, read = (world.item(k, age_days=n) for n, k in enumerate(["k", "h", "r"], 1))
    ada = create_profile(db, name="ada").profile.id
    bob = create_profile(db, name="bob").profile.id
    assert ada is not None and bob is not None
    record_feedback(db, profile_id=ada, item_id=hidden, signal="hide", now=AT)
    record_feedback(db, profile_id=ada, item_id=read, signal="read", now=AT)
    assert _ids(db, profile_id=ada) == [keep]
    assert _ids(db, profile_id=ada, include_read=True) == [keep, read]
    assert _ids(db, profile_id=bob) == [keep, hidden, read]  # another profile's hides are theirs


def test_the_cap_keeps_the_newest(db: Database) -> None:
    world = World(db)
    ids = [world.item(f"i{n}", age_days=n / 10) for n in range(1, 7)]
    with db.session() as session:
        candidates, truncated = load_candidates(
            session, CandidateQuery(at=AT, window_days=7, limit=4)
        )
    assert [c.id for c in candidates] == ids[:4]
    assert truncated


def test_a_candidate_carries_tags_sources_coverage_and_feedback(db: Database) -> None:
    world = World(db)
    paper = world.item(
        "paper",
        arxiv_id="2611.00001",
        sources=["arxiv", "blog"],
        tags=[("nlp", 0.7, "category"), ("llm", 0.95, "keyword")],
    )
    world.item("post", kind="post", sources=["blog"], links=["2611.00001"], tags=[])
    world.item("pod", kind="podcast", sources=["pod"], links=["2611.00001", "2611.09999"])
    world.item("self", arxiv_id="2611.00002", links=["2611.00001"])  # papers do not "cover"
    ada = create_profile(db, name="ada").profile.id
    assert ada is not None
    record_feedback(db, profile_id=ada, item_id=paper, signal="save", now=AT)
    with db.session() as session:
        pool = load_pool(session, CandidateQuery(at=AT, window_days=7, profile_id=ada))
        covering = load_covering(session, ["2611.00001"])
    found = next(c for c in pool.candidates if c.id == paper)
    assert [(t.slug, t.area, t.score, t.origin) for t in found.tags] == [
        ("llm", "nlp", 0.95, "keyword"),
        ("nlp", "nlp", 0.7, "category"),
    ]
    assert [(s.name, s.level, s.weight) for s in found.sources] == [
        ("blog", "overview", 1.5),
        ("arxiv", "research", 1.0),
    ]
    assert found.covered_by == 2
    assert found.feedback == frozenset({"save"})
    assert found.area == "nlp"
    assert [c.title for c in covering["2611.00001"]] == ["post", "pod"]  # same day: by id
    assert pool.topics.expand("nlp") >= {"nlp", "llm"}


def test_the_pool_carries_the_profiles_likes(db: Database) -> None:
    world = World(db)
    liked = world.item("liked")
    disliked = world.item("disliked", tags=[("robotics", 0.8, "category")])
    ada = create_profile(db, name="ada").profile.id
    assert ada is not None
    record_feedback(db, profile_id=ada, item_id=liked, signal="like", now=AT)
    record_feedback(db, profile_id=ada, item_id=disliked, signal="dislike", now=AT)
    with db.session() as session:
        pool = load_pool(session, CandidateQuery(at=AT, window_days=7, profile_id=ada))
    assert sorted((e.sign, e.topics) for e in pool.events) == [
        (-1, (("robotics", 0.8),)),
        (1, (("llm", 0.9),)),
    ]


@pytest.mark.parametrize("window", [1, 7, 30])
def test_every_candidate_is_inside_the_window(db: Database, window: int) -> None:
    world = World(db)
    for n in range(10):
        world.item(f"i{n}", age_days=n * 3.1)
    with db.session() as session:
        candidates, _ = load_candidates(session, CandidateQuery(at=AT, window_days=window))
    assert candidates
    assert all(AT - timedelta(days=window) <= c.published_at <= AT for c in candidates)
    assert len(candidates) == sum(1 for n in range(10) if n * 3.1 <= window)
