"""Re-tagging every stored item (resumable, bounded batches), the model recorded on each item,
and the topic models an installation stores (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, col, select

from service.catalog import Taxonomy, Topic
from service.errors import ModelError
from service.ingest.rebuild import CHECKPOINT_NAME, rebuild, retag_step
from service.ingest.tag import Tagger
from service.ingest.topiclearn import load_topic_model, retrain_due
from service.records import ArxivInfo, ItemWithTags, NormalizedItem, StoredItemText, TagAssignment
from service.storage.engine import Database
from service.storage.items import store_items
from service.storage.models import Item, ItemTag, Source, Tag, TopicModelFile
from service.storage.retag import (
    active_topic_model,
    arxiv_papers,
    latest_training,
    read_checkpoint,
    save_topic_model,
)

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
TAXONOMY = Taxonomy(
    (
        Topic("nlp", "Language", "nlp", None, ("language model",), ("cs.CL",)),
        Topic("rag", "RAG", "nlp", "nlp", ("RAG",)),
        Topic("vision", "Vision", "vision", None, ("segmentation",), ("cs.CV",)),
        Topic("robots", "Robots", "robots", None, ("robot",), ("cs.RO",)),
    )
)


def post(n: int, title: str, summary: str = "") -> NormalizedItem:
    return NormalizedItem(
        canonical_key=f"url:https://blog.example/{n}",
        kind="post",
        title=title,
        url=f"https://blog.example/{n}",
        summary_text=summary,
        summary_html="",
        published_at=NOW - timedelta(hours=n),
        content_hash=f"h{n}",
    )


def paper(n: int, categories: tuple[str, ...]) -> NormalizedItem:
    arxiv_id = f"2601.{n:05d}"
    return NormalizedItem(
        canonical_key=f"arxiv:{arxiv_id}",
        kind="paper",
        title=f"Paper {n}",
        url=f"https://arxiv.org/abs/{arxiv_id}",
        summary_text="An abstract.",
        summary_html="",
        published_at=NOW - timedelta(days=n),
        arxiv=ArxivInfo(arxiv_id, 1, categories, categories[0], "new", "a", "p"),
    )


@pytest.fixture
def stored(db: Database) -> list[int]:
    """Seven items stored with stale tags (as an older tagger gave them), by a robot blog."""
    with db.write() as s:
        s.add_all(
            Tag(slug=t.slug, area=t.area, label=t.label, parent=t.parent) for t in TAXONOMY.topics
        )
        s.add(Source(name="Blog", url="https://blog.example/feed", kind="post", topics=["robots"]))
        s.flush()
        source_id = s.exec(select(Source.id)).one()
        stale = (TagAssignment("vision", "vision", 0.5, "keyword"),)
        items = [
            *(ItemWithTags(post(i, f"A language model, part {i}"), stale) for i in range(5)),
            ItemWithTags(post(5, "Our office party"), stale),
            ItemWithTags(paper(6, ("cs.CV", "cs.CL")), stale),
        ]
        store_items(s, source_id=source_id or 0, items=items, now=NOW)
    with db.session() as s:
        return [i for i in s.exec(select(Item.id).order_by(col(Item.id))) if i is not None]


def tags_of(db: Database) -> dict[int, set[tuple[str, str]]]:
    found: dict[int, set[tuple[str, str]]] = {}
    with db.session() as s:
        rows = s.exec(select(ItemTag.item_id, Tag.slug, ItemTag.origin).join(Tag))
        for item_id, slug, origin in rows:
            found.setdefault(item_id, set()).add((slug, origin))
    return found


def test_rebuild_replaces_every_items_tags_in_batches(db: Database, stored: list[int]) -> None:
    seen: list[tuple[int, int]] = []
    report = rebuild(
        db,
        [retag_step(Tagger(TAXONOMY))],
        goal="tags:rules",
        now=lambda: NOW,
        batch_size=3,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert report.done == 7 and report.resumed_from == 0
    assert seen == [(3, 7), (6, 7), (7, 7)]
    tags = tags_of(db)
    for item_id in stored[:5]:
        assert tags[item_id] == {("nlp", "keyword")}  # the stale vision tag is gone
    assert tags[stored[5]] == {("robots", "source")}  # nothing in the text: the source's topic
    assert tags[stored[6]] == {("vision", "category"), ("nlp", "category")}
    with db.session() as s:
        assert read_checkpoint(s, CHECKPOINT_NAME) is None  # a finished pass leaves none
        assert set(s.exec(select(Item.tag_model))) == {None}  # rules only: no model


def test_a_killed_rebuild_resumes_after_its_last_committed_batch(
    db: Database, stored: list[int]
) -> None:
    visited: list[int] = []

    def record(session: Session, batch: Sequence[StoredItemText]) -> None:
        visited.extend(entry.item_id for entry in batch)

    steps = [retag_step(Tagger(TAXONOMY)), record]
    first = rebuild(db, steps, goal="tags:x", now=lambda: NOW, batch_size=2, limit_batches=2)
    assert first.done == 4 and visited == stored[:4]
    with db.session() as s:
        checkpoint = read_checkpoint(s, CHECKPOINT_NAME)
    assert checkpoint is not None and checkpoint.last_item_id == stored[3]

    def dies(session: Session, batch: Sequence[StoredItemText]) -> None:
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):  # a batch that fails commits nothing, checkpoint included
        rebuild(db, [*steps, dies], goal="tags:x", now=lambda: NOW, batch_size=2)
    second = rebuild(db, steps, goal="tags:x", now=lambda: NOW, batch_size=2)
    assert second.resumed_from == stored[3] and second.done == 7
    assert visited == stored[:4] + stored[4:6] + stored[4:]  # the failed batch ran again
    assert len(tags_of(db)) == 7


def test_a_pass_for_another_goal_starts_over(db: Database, stored: list[int]) -> None:
    rebuild(
        db,
        [retag_step(Tagger(TAXONOMY))],
        goal="tags:a",
        now=lambda: NOW,
        batch_size=2,
        limit_batches=1,
    )
    report = rebuild(db, [retag_step(Tagger(TAXONOMY))], goal="tags:b", now=lambda: NOW)
    assert report.resumed_from == 0 and report.done == 7


def test_the_model_that_tagged_an_item_is_recorded(db: Database, stored: list[int]) -> None:
    shipped = load_topic_model(None).model
    assert shipped is not None
    rebuild(db, [retag_step(Tagger(TAXONOMY, shipped))], goal="m", now=lambda: NOW)
    with db.session() as s:
        assert set(s.exec(select(Item.tag_model))) == {shipped.version}


def test_stored_models_the_active_one_and_a_corrupt_one_falls_back(
    db: Database, stored: list[int]
) -> None:
    good = load_topic_model(None).model
    assert good is not None
    with db.session() as s:
        assert active_topic_model(s) is None and latest_training(s) is None
    with db.write() as s:
        save_topic_model(
            s, version="local-1", data=good.to_bytes(), figures={}, active=True, now=NOW
        )
        save_topic_model(
            s,
            version="local-2",
            data=b"junk",
            figures={},
            active=False,
            now=NOW + timedelta(hours=1),
        )
    with db.session() as s:
        assert active_topic_model(s) == ("local-1", good.to_bytes())
        assert latest_training(s) == NOW + timedelta(hours=1)
    assert load_topic_model(db).model is not None
    with db.write() as s:
        save_topic_model(s, version="local-3", data=b"junk", figures={}, active=True, now=NOW)
    loaded = load_topic_model(db)
    assert loaded.model is None
    assert loaded.status.startswith("keyword rules only: the topic model local-3 could not")


def test_arxiv_papers_are_the_newest_with_categories_oldest_first(
    db: Database, stored: list[int]
) -> None:
    with db.session() as s:
        [only] = arxiv_papers(s, limit=10)
    assert only.arxiv_id == "2601.00006" and only.categories == ("cs.CV", "cs.CL")


@pytest.mark.parametrize(
    ("last", "now", "due"),
    [
        (None, NOW, True),
        (NOW - timedelta(hours=167), NOW, False),
        (NOW - timedelta(hours=168), NOW, True),
    ],
)
def test_retraining_is_due_by_the_last_one(last: datetime | None, now: datetime, due: bool) -> None:
    assert retrain_due(last, now, timedelta(hours=168)) is due


def test_too_few_stored_papers_refuse_a_retraining(db: Database, stored: list[int]) -> None:
    from service.ingest.topiclearn import retrain

    with pytest.raises(ModelError, match="only 1 stored arXiv papers"):
        retrain(db, TAXONOMY, now=NOW, limit=1000, current=None)


def test_the_worker_retrains_when_due_adopts_a_better_model_and_keeps_it_otherwise(
    sqlite_url: str, make_settings: Any
) -> None:
    """2,400 stored papers of the labelled set; the first retraining (no model of its own yet)
    is adopted and the pipeline tags with it; the next tick finds it recent and does nothing."""
    from pathlib import Path

    from service.catalog import load_catalog
    from service.ingest.pipeline import Pipeline
    from service.ingest.topictrain import read_labelled
    from service.worker.jobs import retrain_job

    labelled = Path(__file__).resolve().parent.parent.parent / "shared" / "labelled"
    if not (labelled / "arxiv_2025_2026.jsonl.gz").is_file():
        pytest.skip("the labelled set is not here")
    taxonomy = load_catalog(Path(__file__).resolve().parent.parent / "feeds.yaml").taxonomy
    db = Database(sqlite_url)
    papers = read_labelled(labelled / "arxiv_2025_2026.jsonl.gz", limit=2_400)
    with db.write() as s:
        s.add(Source(name="arXiv", url="https://rss.arxiv.org/rss/cs.CV", kind="paper"))
        s.flush()
        source_id = s.exec(select(Source.id)).one() or 0
        batch = [
            ItemWithTags(
                NormalizedItem(
                    canonical_key=f"arxiv:{p.arxiv_id}",
                    kind="paper",
                    title=p.title,
                    url=None,
                    summary_text=p.abstract,
                    summary_html="",
                    published_at=datetime.fromisoformat(p.listed).replace(tzinfo=UTC),
                    arxiv=ArxivInfo(p.arxiv_id, 1, p.categories, p.categories[0], "new", "", ""),
                )
            )
            for p in papers
        ]
        store_items(s, source_id=source_id, items=batch, now=NOW)
    shipped = load_topic_model(None).model
    pipeline = Pipeline(db=db, tagger=Tagger(taxonomy, shipped))
    job = retrain_job(make_settings(tags_retrain_hours=24), taxonomy, pipeline)
    asyncio.run(job.run())
    with db.session() as s:
        [(version, active, figures)] = s.exec(
            select(TopicModelFile.version, TopicModelFile.active, TopicModelFile.figures)
        ).all()
    new, previous = figures["new"], figures["previous"]
    assert previous["name"] == shipped.version  # both measured on the same latest slice
    assert active is (new["macro_f1"] > previous["macro_f1"])
    assert pipeline.tagger.model_version == (version if active else shipped.version)
    asyncio.run(job.run())  # trained a moment ago: not due
    with db.session() as s:
        assert len(s.exec(select(TopicModelFile.id)).all()) == 1
    db.dispose()
