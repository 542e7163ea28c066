"""An item's fields have an owner: other sources add sightings, never rewrites.

Real documents through the real parser, normalizer and storage (``Pipeline.ingest_bytes``), on
SQLite and PostgreSQL: a blog entry claiming an arXiv paper's OAI identifier, a feed linking to
another site's post under its own title, and the original re-ingested afterwards.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from feedgen import Paper, Post, arxiv_listing, blog
from sqlmodel import select

from service.catalog import load_catalog
from service.clock import utcnow
from service.ingest.pipeline import Pipeline
from service.ingest.tag import Tagger
from service.records import Kind, SourceForUpdate
from service.storage.engine import Database
from service.storage.models import Item, ItemSource, Source
from service.storage.sources import add_source, load_for_update

ROOT = Path(__file__).resolve().parent.parent
TAXONOMY = load_catalog(ROOT / "feeds.yaml").taxonomy
PAPER = Paper(
    "2611.00001",
    "Policy Gradient Methods at Scale",
    abstract="We scale policy gradients.",
    authors=("Ada Lovelace",),
)
LISTING = arxiv_listing("cs.LG", [PAPER])
SPOOF = blog(
    "Evil blog",
    "https://evil.example",
    [
        Post(
            "oai:arXiv.org:2611.00001",
            "FAKE paper title via oai guid",
            "https://evil.example/fake",
            body="arXiv:2611.00001v9 Announce Type: replace Abstract: A fake abstract.",
        )
    ],
)
ORIGINAL = blog(
    "Good blog",
    "https://blog.example",
    [Post("p1", "The original title", "https://blog.example/p1", body="<p>Original.</p>")],
)
EVIL_COPY = blog(
    "Copycat",
    "https://evil.example",
    [
        Post(
            "copy-1",
            "EVIL replaced title",
            "https://blog.example/p1?utm_source=evil",
            body="<p>Evil summary.</p>",
        )
    ],
)


@pytest.fixture
def pipeline(db: Database) -> Pipeline:
    return Pipeline(db=db, tagger=Tagger(TAXONOMY))


def source(db: Database, name: str, kind: Kind, site: str | None = None) -> int:
    with db.write() as s:
        row = add_source(s, name=name, url=f"https://feeds.example/{name}", kind=kind)
        row.site_url = site
        s.add(row)
        s.flush()
        return row.id or 0


def item(db: Database, key: str) -> Item:
    with db.session() as s:
        return s.exec(select(Item).where(Item.canonical_key == key)).one()


def sighted_by(db: Database, key: str) -> set[str]:
    with db.session() as s:
        rows = s.exec(
            select(Source.name)
            .join(ItemSource, ItemSource.source_id == Source.id)
            .join(Item, Item.id == ItemSource.item_id)
            .where(Item.canonical_key == key)
        )
        return set(rows)


def for_update(db: Database, source_id: int) -> SourceForUpdate:
    with db.session() as s:
        (loaded,) = load_for_update(s, [source_id], utcnow())
    return loaded


def test_a_post_claiming_an_arxiv_id_adds_a_sighting_and_rewrites_nothing(
    db: Database, pipeline: Pipeline
) -> None:
    arxiv = source(db, "arxiv-cs-lg", "paper")
    evil = source(db, "evil", "post", site="https://evil.example")
    pipeline.ingest_bytes(for_update(db, arxiv), LISTING)
    pipeline.ingest_bytes(for_update(db, evil), SPOOF)
    paper = item(db, "arxiv:2611.00001")
    assert paper.title == "Policy Gradient Methods at Scale"
    assert "We scale policy gradients." in paper.summary_text
    assert paper.authors == ["Ada Lovelace"]
    assert sighted_by(db, "arxiv:2611.00001") == {"arxiv-cs-lg", "evil"}
    result = pipeline.ingest_bytes(for_update(db, arxiv), LISTING)  # unchanged: skipped
    assert result.outcome == "unchanged"
    assert item(db, "arxiv:2611.00001").title == "Policy Gradient Methods at Scale"


def test_arxiv_takes_over_a_paper_another_source_claimed_first(
    db: Database, pipeline: Pipeline
) -> None:
    evil = source(db, "evil", "post", site="https://evil.example")
    arxiv = source(db, "arxiv-cs-lg", "paper")
    pipeline.ingest_bytes(for_update(db, evil), SPOOF)
    assert item(db, "arxiv:2611.00001").title == "FAKE paper title via oai guid"
    pipeline.ingest_bytes(for_update(db, arxiv), LISTING)
    paper = item(db, "arxiv:2611.00001")
    assert (paper.title, paper.authors) == ("Policy Gradient Methods at Scale", ["Ada Lovelace"])
    assert "fake" not in paper.summary_text.lower()
    pipeline.ingest_bytes(for_update(db, evil), SPOOF.replace(b"FAKE", b"FAKE again"))
    assert item(db, "arxiv:2611.00001").title == "Policy Gradient Methods at Scale"


def test_another_feed_linking_a_post_cannot_rewrite_it(db: Database, pipeline: Pipeline) -> None:
    good = source(db, "good", "post", site="https://blog.example")
    copycat = source(db, "copycat", "post", site="https://evil.example")
    pipeline.ingest_bytes(for_update(db, good), ORIGINAL)
    pipeline.ingest_bytes(for_update(db, copycat), EVIL_COPY)
    post = item(db, "url:https://blog.example/p1")
    assert (post.title, post.summary_text) == ("The original title", "Original.")
    assert sighted_by(db, "url:https://blog.example/p1") == {"good", "copycat"}
    assert pipeline.ingest_bytes(for_update(db, good), ORIGINAL).outcome == "unchanged"
    assert item(db, "url:https://blog.example/p1").title == "The original title"
    revised = ORIGINAL.replace(b"The original title", b"The original title, revised")
    pipeline.ingest_bytes(for_update(db, good), revised)  # the owner may edit its own post
    assert item(db, "url:https://blog.example/p1").title == "The original title, revised"


def test_the_site_a_post_lives_on_may_correct_what_an_aggregator_published_first(
    db: Database, pipeline: Pipeline
) -> None:
    aggregator = source(db, "aggregator", "post", site="https://news.example")
    site = source(db, "good", "post", site="https://www.blog.example")
    pipeline.ingest_bytes(for_update(db, aggregator), EVIL_COPY)
    assert item(db, "url:https://blog.example/p1").title == "EVIL replaced title"
    pipeline.ingest_bytes(for_update(db, site), ORIGINAL)
    assert item(db, "url:https://blog.example/p1").title == "The original title"


def test_a_source_sighting_an_item_in_the_same_instant_as_its_publisher_never_owns_it(
    db: Database,
) -> None:
    """Two sightings at one instant: the other source must not become the first publisher by the
    tie (found by the store-twice property: its second write rewrote the item)."""
    copycat = source(db, "copycat", "post")  # the lower id: a tie broken by id favours it
    good = source(db, "good", "post")
    now = utcnow()
    same_instant = Pipeline(db=db, tagger=Tagger(TAXONOMY), clock=lambda: now)
    same_instant.ingest_bytes(for_update(db, good), ORIGINAL)
    for copy in (EVIL_COPY, EVIL_COPY.replace(b"Evil summary", b"Evil summary, again")):
        same_instant.ingest_bytes(for_update(db, copycat), copy)
        assert item(db, "url:https://blog.example/p1").title == "The original title"
