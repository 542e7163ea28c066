"""Re-tagging stored items, and the topic models an installation trains.

- ``items_after``: the next batch of items by id, as the tagger reads them (``StoredItemText``);
- ``replace_tags``: an item's tags replaced by a fresh tagging (not merged: a re-tag may drop a
  tag an older rule gave), with the model that tagged it;
- checkpoints: how far a resumable pass got (``RebuildCheckpoint``), so a killed pass goes on
  where it stopped;
- topic models: ``save_topic_model`` / ``active_topic_model`` and the stored arXiv papers a
  retraining learns from (``arxiv_papers``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from service.records import ArxivInfo, NormalizedItem, StoredItemText, TagAssignment
from service.storage.models import (
    Item,
    ItemSource,
    ItemTag,
    RebuildCheckpoint,
    Source,
    TopicModelFile,
)

CHUNK = 500


@dataclass(frozen=True, slots=True)
class Checkpoint:
    name: str
    last_item_id: int
    done: int
    goal: str


@dataclass(frozen=True, slots=True)
class StoredPaper:
    """A stored arXiv paper as a retraining reads it."""

    arxiv_id: str
    title: str
    abstract: str
    categories: tuple[str, ...]
    published_at: datetime


_TEXT_COLUMNS = tuple(
    col(c)
    for c in (
        Item.id,
        Item.canonical_key,
        Item.kind,
        Item.title,
        Item.summary_text,
        Item.published_at,
        Item.arxiv_id,
        Item.arxiv_categories,
        Item.arxiv_primary,
    )
)


def count_items(session: Session, *, after_id: int = 0) -> int:
    stmt = select(sa.func.count()).select_from(Item).where(col(Item.id) > after_id)
    return int(session.exec(stmt).one())


def items_after(session: Session, after_id: int, limit: int) -> list[StoredItemText]:
    """Up to ``limit`` items with ids above ``after_id``, by id, with their sources' topics."""
    stmt = (
        sa.select(*_TEXT_COLUMNS).where(col(Item.id) > after_id).order_by(col(Item.id)).limit(limit)
    )
    rows = session.connection().execute(stmt).all()
    topics = _source_topics(session, [row.id for row in rows])
    return [StoredItemText(row.id, _normalized(row), tuple(topics.get(row.id, ()))) for row in rows]


def _normalized(row: Any) -> NormalizedItem:
    arxiv = None
    if row.arxiv_id:
        categories = tuple(row.arxiv_categories or ())
        arxiv = ArxivInfo(row.arxiv_id, None, categories, row.arxiv_primary, None, "", "")
    return NormalizedItem(
        canonical_key=row.canonical_key,
        kind=row.kind,
        title=row.title,
        url=None,
        summary_text=row.summary_text,
        summary_html="",
        published_at=row.published_at,
        arxiv=arxiv,
    )


def _source_topics(session: Session, item_ids: Sequence[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    for start in range(0, len(item_ids), CHUNK):
        stmt = (
            sa.select(col(ItemSource.item_id), col(Source.topics))
            .join(Source, col(Source.id) == col(ItemSource.source_id))
            .where(col(ItemSource.item_id).in_(item_ids[start : start + CHUNK]))
        )
        for item_id, topics in session.connection().execute(stmt):
            kept = found.setdefault(item_id, [])
            kept.extend(t for t in topics or () if t not in kept)
    return found


def replace_tags(
    session: Session,
    tagged: Mapping[int, Sequence[TagAssignment]],
    slugs: Mapping[str, int],
    *,
    model: str | None,
) -> None:
    """Each item's tags become exactly ``tagged[item]``; ``item.tag_model`` becomes ``model``."""
    ids = list(tagged)
    conn = session.connection()
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        conn.execute(sa.delete(ItemTag).where(col(ItemTag.item_id).in_(chunk)))
        conn.execute(sa.update(Item).where(col(Item.id).in_(chunk)).values(tag_model=model))
    rows = [
        {"item_id": item_id, "tag_id": slugs[t.slug], "score": t.score, "origin": t.origin}
        for item_id, tags in tagged.items()
        for t in tags
        if t.slug in slugs
    ]
    for start in range(0, len(rows), CHUNK):
        conn.execute(sa.insert(ItemTag), rows[start : start + CHUNK])


# --------------------------------------------------------------------------- checkpoints


def read_checkpoint(session: Session, name: str) -> Checkpoint | None:
    row = session.get(RebuildCheckpoint, name)
    if row is None:
        return None
    return Checkpoint(row.name, row.last_item_id, row.done, row.goal)


def save_checkpoint(session: Session, checkpoint: Checkpoint, now: datetime) -> None:
    row = session.get(RebuildCheckpoint, checkpoint.name) or RebuildCheckpoint(name=checkpoint.name)
    row.last_item_id, row.done, row.goal = checkpoint.last_item_id, checkpoint.done, checkpoint.goal
    row.updated_at = now
    session.add(row)


def clear_checkpoint(session: Session, name: str) -> None:
    session.connection().execute(
        sa.delete(RebuildCheckpoint).where(col(RebuildCheckpoint.name) == name)
    )


# --------------------------------------------------------------------------- topic models


def save_topic_model(
    session: Session,
    *,
    version: str,
    data: bytes,
    figures: dict[str, Any],
    active: bool,
    now: datetime,
) -> None:
    """Store a trained model; an active one replaces the model in use."""
    if active:
        session.connection().execute(sa.update(TopicModelFile).values(active=False))
    session.add(
        TopicModelFile(version=version, data=data, figures=figures, active=active, created_at=now)
    )


def active_topic_model(session: Session) -> tuple[str, bytes] | None:
    """The version and file of the model this installation trained and uses, if any."""
    stmt = (
        sa.select(col(TopicModelFile.version), col(TopicModelFile.data))
        .where(col(TopicModelFile.active).is_(True))
        .order_by(col(TopicModelFile.id).desc())
        .limit(1)
    )
    row = session.connection().execute(stmt).first()
    return (row.version, row.data) if row else None


def latest_training(session: Session) -> datetime | None:
    """When this installation last trained a topic model (adopted or not)."""
    stmt = sa.select(sa.func.max(TopicModelFile.created_at))
    value = session.connection().execute(stmt).scalar()
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def arxiv_papers(session: Session, *, limit: int) -> list[StoredPaper]:
    """The newest ``limit`` stored arXiv papers with categories, oldest first."""
    stmt = (
        sa.select(
            col(Item.arxiv_id),
            col(Item.title),
            col(Item.summary_text),
            col(Item.arxiv_categories),
            col(Item.published_at),
        )
        .where(col(Item.arxiv_id).is_not(None))
        .order_by(col(Item.published_at).desc(), col(Item.id).desc())
        .limit(limit)
    )
    rows = session.connection().execute(stmt).all()
    papers = [
        StoredPaper(
            r.arxiv_id, r.title, r.summary_text, tuple(r.arxiv_categories or ()), r.published_at
        )
        for r in rows
        if r.arxiv_categories
    ]
    return papers[::-1]
