"""Bring stored items up to what ingest gives new ones today: vectors and coverage links.

``backfill_items`` is one batch step, for the rebuild command (batches, checkpoint, progress) or
a test: it reads the named items, gives a vector to each one without a vector of the current
model (one embedding call for the batch), links each post, episode or video to every arXiv paper
its stored text names (title, link, enclosure, summary HTML and text), and — for a post that names
no id — to every stored paper whose title it quotes; a paper gets its title key and is linked to
the posts that quoted it before. It never removes anything and changes nothing on a second run
(idempotent), so a batch cut short by a kill is simply run again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import Session

from service.ingest.arxiv import extract_arxiv_ids
from service.ingest.embed import Embedder, item_text, to_blob
from service.ingest.normalize import MAX_MENTIONS
from service.ingest.quotes import paper_key, quoted_title_keys
from service.storage.items import link_quotes, store_mentions
from service.storage.vectors import link_count, store_title_keys, store_vectors, texts_of


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
    before = link_count(session)
    named = {r.id: _named(r) for r in rows if r.kind != "paper"}
    store_mentions(session, [(item_id, a) for item_id, ids in named.items() for a in ids])
    papers = {r.id: (r.arxiv_id, key) for r in rows if r.arxiv_id and (key := paper_key(r.title))}
    store_title_keys(session, {i: key for i, (_, key) in papers.items()})
    quotes = [
        (r.id, key)
        for r in rows
        if r.kind != "paper" and not named[r.id]
        for key in quoted_title_keys(r.summary_html, r.summary_text)
    ]
    link_quotes(session, papers=list(papers.values()), quotes=quotes)
    return BackfillCounts(items=len(rows), vectors=vectors, links=link_count(session) - before)


def _named(row: object) -> tuple[str, ...]:
    parts = ("url", "enclosure_url", "title", "summary_html", "summary_text")
    text = " ".join(str(getattr(row, part) or "") for part in parts)
    return extract_arxiv_ids(text)[:MAX_MENTIONS]
