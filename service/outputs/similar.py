""" "More like this": the stored items nearest in meaning to one item, each with why.

    item id -> its vector -> the vectors of items published within ``days`` of it (at most
    ``SIMILAR_WINDOW``, newest first) -> cosine similarity (rank.stories.nearest, numpy) -> the
    best ``limit`` at or above ``MIN_SIMILARITY`` -> item views, each with its similarity and a
    sentence of why (how alike, and the topics both carry)

Bounded whatever the size of the database: one indexed read of at most ``SIMILAR_WINDOW`` rows
of 1 KB and one matrix-vector product.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import Session

from service.errors import NotFoundError
from service.storage.models import Item
from service.storage.vectors import vector_of, vectors_near
from service.storage.views import ItemView, get_item, items_by_id

SIMILAR_WINDOW = 5000
MIN_SIMILARITY = 0.3  # two ML items picked at random score about 0.43: the order is what tells
DEFAULT_LIMIT = 10
MAX_LIMIT = 50
DEFAULT_DAYS = 90


@dataclass(frozen=True, slots=True)
class SimilarItem:
    view: ItemView
    similarity: float  # cosine of the two vectors, -1 to 1
    shared_topics: tuple[str, ...]
    why: str


@dataclass(frozen=True, slots=True)
class Similar:
    item: ItemView
    model: str
    items: tuple[SimilarItem, ...]
    note: str | None = None  # why the list is empty, when it is for a reason


def similar_items(
    session: Session, item_id: int, *, limit: int = DEFAULT_LIMIT, days: int = DEFAULT_DAYS
) -> Similar:
    """The items most like ``item_id`` published within ``days`` of it, best first."""
    # numpy and the model's name are imported here: ``staycurrent items list`` loads this module
    # for its option bounds and must start without them.
    import numpy as np

    from service.ingest.embed import from_blob
    from service.rank.stories import nearest
    from service.vocabulary import MODEL_NAME

    target = get_item(session, item_id)
    if target is None:
        raise NotFoundError(f"no item has id {item_id}")
    stored = vector_of(session, item_id, MODEL_NAME)
    if stored is None:
        note = "this item has no vector yet (stored before vectors existed: run the backfill)"
        return Similar(target, MODEL_NAME, (), note)
    window = timedelta(days=days)
    others = [
        v
        for v in vectors_near(
            session,
            model=MODEL_NAME,
            since=stored.published_at - window,
            until=stored.published_at + window,
            limit=SIMILAR_WINDOW + 1,
        )
        if v.item_id != item_id
    ][:SIMILAR_WINDOW]
    if not others:
        return Similar(target, MODEL_NAME, (), f"no other item with a vector within {days} days")
    matrix = np.vstack([from_blob(v.vector) for v in others])
    best = nearest(
        from_blob(stored.vector),
        [v.item_id for v in others],
        matrix,
        k=limit,
        floor=MIN_SIMILARITY,
    )
    alike = dict(best)
    found = tuple(
        _explained(target, view, alike[_id(view.item)])
        for view in items_by_id(session, [item_id for item_id, _ in best])
    )
    return Similar(target, MODEL_NAME, found)


def _id(item: Item) -> int:
    assert item.id is not None
    return item.id


def _explained(target: ItemView, view: ItemView, similarity: float) -> SimilarItem:
    mine = {t.slug: t.label for t in target.tags}
    shared = tuple(t.slug for t in view.tags if t.slug in mine)
    why = f"similar in meaning: {similarity:.2f} (cosine of title and summary vectors)"
    if shared:
        why += "; both about " + ", ".join(mine[slug] for slug in shared[:3])
    return SimilarItem(view, similarity, shared, why)
