"""`sources sync`: adds, updates, deactivates removed catalog sources, never deletes items."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import select

from service.catalog import Catalog, SourceSpec, Taxonomy, Topic
from service.storage.catalog import sync_catalog
from service.storage.engine import Database
from service.storage.models import Item, ItemSource, Source, Tag

TAXONOMY = Taxonomy(
    (
        Topic("nlp", "Language", "nlp", keywords=("LLM",), arxiv=("cs.CL",)),
        Topic("rag", "Retrieval-augmented generation", "nlp", parent="nlp"),
        Topic("vision", "Vision", "vision", arxiv=("cs.CV",)),
    )
)
CL = SourceSpec("arXiv cs.CL", "https://rss.arxiv.org/rss/cs.CL", "paper", "research", ("nlp",))
CV = SourceSpec("arXiv cs.CV", "https://rss.arxiv.org/rss/cs.CV", "paper", "research", ("vision",))


def _sources(db: Database) -> dict[str, Source]:
    with db.session() as s:
        return {row.name: row for row in s.exec(select(Source))}


def test_first_sync_adds_sources_and_topics(db: Database) -> None:
    report = sync_catalog(db, Catalog(TAXONOMY, (CL, CV)))
    assert report.added == ("arXiv cs.CL", "arXiv cs.CV")
    assert report.tags_added == 3
    rows = _sources(db)
    assert rows["arXiv cs.CL"].topics == ["nlp"]
    assert rows["arXiv cs.CL"].active
    assert rows["arXiv cs.CL"].origin == "catalog"
    with db.session() as s:
        rag = s.exec(select(Tag).where(Tag.slug == "rag")).one()
    assert (rag.area, rag.parent) == ("nlp", "nlp")


def test_sync_is_idempotent(db: Database) -> None:
    sync_catalog(db, Catalog(TAXONOMY, (CL, CV)))
    report = sync_catalog(db, Catalog(TAXONOMY, (CL, CV)))
    assert (report.added, report.updated, report.deactivated) == ((), (), ())
    assert report.unchanged == 2
    assert report.tags_added == report.tags_updated == 0


def test_changes_update_and_removal_deactivates_but_keeps_items(db: Database) -> None:
    sync_catalog(db, Catalog(TAXONOMY, (CL, CV)))
    cv_id = _sources(db)["arXiv cs.CV"].id
    assert cv_id is not None
    with db.write() as s:
        item = Item(
            canonical_key="arxiv:2401.00001",
            kind="paper",
            title="A vision paper",
            published_at=datetime(2026, 1, 2, tzinfo=UTC),
            arxiv_id="2401.00001",
        )
        s.add(item)
        s.flush()
        assert item.id is not None
        s.add(ItemSource(item_id=item.id, source_id=cv_id))
        s.add(
            Source(name="My blog", url="https://blog.example.org/feed", kind="post", origin="api")
        )
    moved = SourceSpec(CL.name, CL.url, "paper", "research", ("nlp", "rag"), poll_minutes=60)
    report = sync_catalog(db, Catalog(TAXONOMY, (moved,)))
    assert report.updated == ("arXiv cs.CL",)
    assert report.deactivated == ("arXiv cs.CV",)
    rows = _sources(db)
    assert rows["arXiv cs.CL"].topics == ["nlp", "rag"]
    assert rows["arXiv cs.CL"].poll_minutes == 60
    assert rows["arXiv cs.CV"].active is False
    assert rows["My blog"].active is True  # not from the catalog: left alone
    with db.session() as s:
        assert len(s.exec(select(Item)).all()) == 1
        assert len(s.exec(select(ItemSource)).all()) == 1
    report = sync_catalog(db, Catalog(TAXONOMY, (moved, CV)))
    assert report.updated == ("arXiv cs.CV",)
    assert _sources(db)["arXiv cs.CV"].active is True
