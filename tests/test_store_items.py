"""One item per work: papers merge across feeds, versions and the API; links dedupe too."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import col, select

from service.records import ArxivInfo, ItemWithTags, NormalizedItem, PodcastInfo, TagAssignment
from service.storage.engine import Database
from service.storage.items import store_items
from service.storage.models import Item, ItemLink, ItemSource, ItemTag, Source, Tag

NOW = datetime(2026, 11, 24, 5, 0, tzinfo=UTC)
CATEGORIES = ("LG", "CL", "CV", "AI", "RO", "NE", "MA", "IR")


def paper(
    version: int = 1,
    categories: tuple[str, ...] = ("cs.LG",),
    announce: str = "new",
    title: str = "Scaling Laws for Tiny Models",
) -> NormalizedItem:
    return NormalizedItem(
        canonical_key="arxiv:2411.01234",
        kind="paper",
        title=title,
        url="https://arxiv.org/abs/2411.01234",
        summary_text="We study tiny models.",
        summary_html="<p>We study tiny models.</p>",
        published_at=NOW - timedelta(hours=version),
        guid=f"oai:arXiv.org:2411.01234v{version}",
        authors=("Ada Lovelace",),
        arxiv=ArxivInfo(
            arxiv_id="2411.01234",
            version=version,
            categories=categories,
            primary_category=categories[0],
            announce_type=announce,  # type: ignore[arg-type]
            abs_url="https://arxiv.org/abs/2411.01234",
            pdf_url=f"https://arxiv.org/pdf/2411.01234v{version}",
        ),
        reading_minutes=2,
        content_hash=f"paper-v{version}-{'-'.join(categories)}-{title}",
    )


def post(
    guid: str | None, url: str, title: str = "A post", mentions: tuple[str, ...] = ()
) -> NormalizedItem:
    return NormalizedItem(
        canonical_key=f"url:{url}",
        kind="post",
        title=title,
        url=url,
        summary_text="text",
        summary_html="<p>text</p>",
        published_at=NOW,
        guid=guid,
        mentions=mentions,
        content_hash=f"{title}|{url}",
    )


@pytest.fixture
def sources(db: Database) -> dict[str, int]:
    with db.write() as s:
        rows = [
            Source(name="arXiv cs.LG", url="https://rss.arxiv.org/rss/cs.LG", kind="paper"),
            Source(name="arXiv cs.CL", url="https://rss.arxiv.org/rss/cs.CL", kind="paper"),
            Source(name="Blog A", url="https://a.example/feed", kind="post"),
            Source(name="Blog B", url="https://b.example/feed", kind="post"),
        ]
        s.add_all(rows)
        s.add_all(
            [
                Tag(slug="nlp", area="nlp", label="NLP"),
                Tag(slug="theory", area="theory", label="Theory"),
            ]
        )
        s.flush()
        return {row.name: row.id for row in rows if row.id}


def store(
    db: Database, source_id: int, *items: NormalizedItem | ItemWithTags
) -> tuple[int, int, int]:
    batch = [i if isinstance(i, ItemWithTags) else ItemWithTags(i) for i in items]
    with db.write() as s:
        counts = store_items(s, source_id=source_id, items=batch, now=NOW)
    return counts.new, counts.updated, counts.unchanged


def items(db: Database) -> list[Item]:
    with db.session() as s:
        return list(s.exec(select(Item).order_by(col(Item.id))))


def test_a_cross_listed_paper_is_one_item_seen_in_both_feeds(
    db: Database, sources: dict[str, int]
) -> None:
    assert store(db, sources["arXiv cs.LG"], paper()) == (1, 0, 0)
    cross = paper(categories=("cs.CL", "cs.LG"), announce="cross")
    assert store(db, sources["arXiv cs.CL"], cross) == (0, 1, 0)
    [row] = items(db)
    assert row.arxiv_categories == ["cs.LG", "cs.CL"]
    assert row.arxiv_primary == "cs.LG"
    assert row.announce_type == "new"  # "cross" never overrides the primary announcement
    with db.session() as s:
        seen = {x.source_id for x in s.exec(select(ItemSource))}
    assert seen == {sources["arXiv cs.LG"], sources["arXiv cs.CL"]}


def test_a_new_version_updates_the_paper(db: Database, sources: dict[str, int]) -> None:
    store(db, sources["arXiv cs.LG"], paper())
    v2 = paper(version=2, announce="replace", title="Scaling Laws for Tiny Models (revised)")
    assert store(db, sources["arXiv cs.LG"], v2) == (0, 1, 0)
    [row] = items(db)
    assert row.arxiv_version == 2
    assert row.title == "Scaling Laws for Tiny Models (revised)"
    assert row.announce_type == "replace"
    assert row.pdf_url == "https://arxiv.org/pdf/2411.01234v2"
    assert row.published_at == NOW - timedelta(hours=2)  # the earliest announcement stays
    # an older version seen later (the API lagging) changes nothing but may add categories
    assert store(db, sources["arXiv cs.LG"], paper(version=1)) == (0, 0, 1)
    assert items(db)[0].title.endswith("(revised)")


def test_the_same_bytes_twice_change_nothing(db: Database, sources: dict[str, int]) -> None:
    batch = (paper(), post("g1", "https://a.example/p1"))
    assert store(db, sources["Blog A"], *batch) == (2, 0, 0)
    before = [(r.id, r.changed_at, r.content_hash) for r in items(db)]
    assert store(db, sources["Blog A"], *batch) == (0, 0, 2)
    assert [(r.id, r.changed_at, r.content_hash) for r in items(db)] == before


def test_the_same_link_in_two_sources_is_one_item(db: Database, sources: dict[str, int]) -> None:
    store(db, sources["Blog A"], post("a-1", "https://news.example/story"))
    assert store(db, sources["Blog B"], post("b-9", "https://news.example/story")) == (0, 0, 1)
    assert len(items(db)) == 1
    with db.session() as s:
        assert len(s.exec(select(ItemSource)).all()) == 2


def test_a_guid_keeps_identity_when_the_link_changes(db: Database, sources: dict[str, int]) -> None:
    store(db, sources["Blog A"], post("g-7", "https://a.example/old-slug", title="Draft"))
    moved = post("g-7", "https://a.example/new-slug", title="Final title")
    assert store(db, sources["Blog A"], moved) == (0, 1, 0)
    [row] = items(db)
    assert (row.url, row.title) == ("https://a.example/new-slug", "Final title")


def test_duplicates_within_one_batch_become_one_item(db: Database, sources: dict[str, int]) -> None:
    twice = (paper(categories=("cs.LG",)), paper(categories=("stat.ML",)))
    assert store(db, sources["arXiv cs.LG"], *twice) == (1, 0, 0)
    assert items(db)[0].arxiv_categories == ["cs.LG", "stat.ML"]


def test_mentions_and_tags_are_stored_and_merged(db: Database, sources: dict[str, int]) -> None:
    mention = post("m", "https://a.example/review", mentions=("2411.01234", "2401.00001"))
    store(db, sources["Blog A"], mention)
    tagged = ItemWithTags(paper(), (TagAssignment("theory", "theory", 0.4, "keyword"),))
    store(db, sources["arXiv cs.LG"], tagged)
    better = ItemWithTags(
        paper(categories=("cs.CL",)),
        (
            TagAssignment("theory", "theory", 0.9, "category"),
            TagAssignment("nlp", "nlp", 0.8, "category"),
            TagAssignment("unknown-slug", "x", 0.5, "keyword"),
        ),
    )
    store(db, sources["arXiv cs.CL"], better)
    with db.session() as s:
        links = s.exec(select(ItemLink.arxiv_id)).all()
        tags = {(t.slug, it.score, it.origin) for it, t in s.exec(select(ItemTag, Tag).join(Tag))}
    assert sorted(links) == ["2401.00001", "2411.01234"]
    assert tags == {("theory", 0.9, "category"), ("nlp", 0.8, "category")}


def test_podcast_fields_round_trip(db: Database, sources: dict[str, int]) -> None:
    episode = replace(
        post("ep-1", "https://pod.example/ep1", title="Episode 1"),
        kind="podcast",
        podcast=PodcastInfo("https://cdn.example/ep1.mp3", "audio/mpeg", 12_345_678, 3600, 1, 2),
        reading_minutes=60,
    )
    store(db, sources["Blog B"], episode)
    [row] = items(db)
    assert (
        row.enclosure_url,
        row.enclosure_length,
        row.duration_seconds,
        row.episode,
        row.season,
    ) == ("https://cdn.example/ep1.mp3", 12_345_678, 3600, 1, 2)


@pytest.mark.postgres
def test_concurrent_writers_storing_one_paper_make_one_row(postgres_url: str) -> None:
    db = Database(postgres_url)
    with db.write() as s:
        feeds = [
            Source(name=f"feed {i}", url=f"https://f{i}.example/rss", kind="paper")
            for i in range(8)
        ]
        s.add_all(feeds)
        s.flush()
        ids = [f.id for f in feeds if f.id]
    barrier = threading.Barrier(len(ids))
    errors: list[BaseException] = []

    def write(source_id: int, n: int) -> None:
        try:
            barrier.wait()
            category = f"cs.{CATEGORIES[n]}"
            store(db, source_id, paper(categories=(category,)))
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(sid, n)) for n, sid in enumerate(ids)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    [row] = items(db)
    assert sorted(row.arxiv_categories) == sorted(
        ["cs.LG", "cs.CL", "cs.CV", "cs.AI", "cs.RO", "cs.NE", "cs.MA", "cs.IR"]
    )
    with db.session() as s:
        assert len(s.exec(select(ItemSource)).all()) == 8
    db.dispose()
