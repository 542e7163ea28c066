"""Item vectors in storage: write them, and read the bounded sets "more like this" compares;
with what a backfill of vectors and coverage reads and writes.

A vector is the item's ``vector`` column (little-endian float32 bytes, see
``service.ingest.embed``) with the name of the model that made it in ``vector_model``: vectors of
two models are never compared.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, SQLModel, col

from service.storage.models import Item, ItemLink

CHUNK = 500


@dataclass(frozen=True, slots=True)
class StoredVector:
    item_id: int
    published_at: datetime
    vector: bytes


def store_vectors(session: Session, vectors: Mapping[int, bytes], model: str) -> int:
    """Set the vector of each item id (the caller's transaction); returns the rows written."""
    ids = sorted(vectors)
    table = SQLModel.metadata.tables["item"]
    stmt = (
        sa.update(table)
        .where(table.c.id == sa.bindparam("item_id"))
        .values(vector=sa.bindparam("blob"), vector_model=model)
    )
    for start in range(0, len(ids), CHUNK):
        rows = [{"item_id": i, "blob": vectors[i]} for i in ids[start : start + CHUNK]]
        session.connection().execute(stmt, rows)
    return len(ids)


def store_title_keys(session: Session, keys: Mapping[int, str]) -> None:
    """Set the title key of each paper id (``service.ingest.quotes.paper_key``)."""
    table = SQLModel.metadata.tables["item"]
    stmt = sa.update(table).where(table.c.id == sa.bindparam("item_id"))
    rows = [{"item_id": i, "title_key": k} for i, k in sorted(keys.items())]
    for start in range(0, len(rows), CHUNK):
        session.connection().execute(stmt, rows[start : start + CHUNK])


def link_count(session: Session) -> int:
    """How many coverage links are stored."""
    return int(session.execute(sa.select(sa.func.count()).select_from(ItemLink)).scalar_one())


def vector_of(session: Session, item_id: int, model: str) -> StoredVector | None:
    """The item's vector made by ``model``; None when it has none (yet) or the item is unknown."""
    row = session.execute(
        sa.select(col(Item.published_at), col(Item.vector)).where(
            col(Item.id) == item_id, col(Item.vector_model) == model
        )
    ).first()
    return None if row is None else StoredVector(item_id, row[0], bytes(row[1]))


def vectors_near(
    session: Session, *, model: str, since: datetime, until: datetime, limit: int
) -> list[StoredVector]:
    """At most ``limit`` vectors of items published in [since, until], newest first."""
    rows = session.execute(
        sa.select(col(Item.id), col(Item.published_at), col(Item.vector))
        .where(
            col(Item.published_at) >= since,
            col(Item.published_at) <= until,
            col(Item.vector_model) == model,
        )
        .order_by(col(Item.published_at).desc(), col(Item.id).desc())
        .limit(limit)
    )
    return [StoredVector(i, p, bytes(v)) for i, p, v in rows]


def texts_of(session: Session, ids: Sequence[int]) -> list[sa.Row[tuple[object, ...]]]:
    """What a backfill reads of each item: id, kind, title, summaries, links, vector model."""
    found: list[sa.Row[tuple[object, ...]]] = []
    columns = (
        Item.id,
        Item.kind,
        Item.title,
        Item.summary_text,
        Item.summary_html,
        Item.url,
        Item.enclosure_url,
        Item.vector_model,
        Item.arxiv_id,
    )
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        stmt = sa.select(*(col(c) for c in columns)).where(col(Item.id).in_(chunk))
        found.extend(session.execute(stmt).all())
    return found
