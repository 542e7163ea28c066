"""Bring stored items up to what ingest gives new ones today: vectors and coverage links.

``backfill_items`` is one batch step, for the rebuild command (batches, checkpoint, progress) or
a test: it reads the named items, gives a vector to each one without a vector of the current
model (one embedding call for the batch), and links each post, episode or video to every arXiv
paper its stored text names (title, link, enclosure, summary HTML and text) that is not linked
yet. It never removes anything and changes nothing on a second run (idempotent), so a batch cut
short by a kill is simply run again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session, col

from service.ingest.arxiv import extract_arxiv_ids
from service.ingest.embed import Embedder, item_text, to_blob
from service.ingest.normalize import MAX_MENTIONS
from service.storage.items import store_mentions
from service.storage.models import ItemLink
from service.storage.vectors import store_vectors, texts_of


@dataclass(frozen=True, slots=True)
class BackfillCounts:
    items: int = 0  # items of the batch found in storage
    vectors: int = 0  # vectors written
    links: int = 0  # coverage links added


def backfill_items(
    session: Session, item_ids: Sequence[int], *, embedder: Embedder | None
) -> BackfillCounts:
    """Vectors and coverage links for the stored items ``item_ids`` (unknown ids are skipped),
    in the caller's transaction. Without an embedder (its model cannot be read) only links are
    made. Idempotent: a second run over the same ids writes nothing."""
    rows = texts_of(session, item_ids)
    vectors = 0
    if embedder is not None:
        stale = [r for r in rows if r.vector_model != embedder.name]
        made = embedder.embed([item_text(r.title, r.summary_text) for r in stale])
        vectors = store_vectors(
            session, {r.id: to_blob(v) for r, v in zip(stale, made, strict=True)}, embedder.name
        )
    wanted = [(r.id, arxiv_id) for r in rows if r.kind != "paper" for arxiv_id in _named(r)]
    new_links = _missing_links(session, wanted)
    store_mentions(session, new_links)
    return BackfillCounts(items=len(rows), vectors=vectors, links=len(new_links))


def _named(row: object) -> tuple[str, ...]:
    parts = ("url", "enclosure_url", "title", "summary_html", "summary_text")
    text = " ".join(str(getattr(row, part) or "") for part in parts)
    return extract_arxiv_ids(text)[:MAX_MENTIONS]


def _missing_links(session: Session, wanted: list[tuple[int, str]]) -> list[tuple[int, str]]:
    if not wanted:
        return []
    ids = sorted({item_id for item_id, _ in wanted})
    query = sa.select(col(ItemLink.item_id), col(ItemLink.arxiv_id)).where(
        col(ItemLink.item_id).in_(ids)
    )
    stored = {(item_id, arxiv_id) for item_id, arxiv_id in session.execute(query)}
    return [pair for pair in dict.fromkeys(wanted) if pair not in stored]
