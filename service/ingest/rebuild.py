"""A resumable pass over every stored item, in batches by id (``staycurrent tags rebuild``).

    checkpoint (last item id done) | items_after(id, batch) | step(session, batch) for each step
      | save checkpoint (same transaction) | ... | clear checkpoint

Memory is bounded by one batch. Each batch and its checkpoint commit together, so a pass killed
at any point goes on after the last committed batch when run again (with the same goal: a pass
for another model version starts over). Steps are plain callables: re-tagging is one, vectors
and coverage links (``backfill_step``) the other.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from service.ingest.backfill import backfill_items
from service.ingest.embed import Embedder
from service.ingest.tag import Tagger
from service.records import StoredItemText
from service.storage.engine import Database
from service.storage.items import tag_ids
from service.storage.retag import (
    Checkpoint,
    clear_checkpoint,
    count_items,
    items_after,
    read_checkpoint,
    replace_tags,
    save_checkpoint,
)

BATCH = 500
CHECKPOINT_NAME = "items"

BatchStep = Callable[[Session, Sequence[StoredItemText]], None]
Progress = Callable[[int, int], None]  # (items done, items in all)


@dataclass(frozen=True, slots=True)
class RebuildReport:
    done: int
    resumed_from: int  # item id the pass went on after (0: from the start)
    goal: str


def retag_step(tagger: Tagger) -> BatchStep:
    """Re-tag a batch: every item's tags replaced by what ``tagger`` says now."""

    def step(session: Session, batch: Sequence[StoredItemText]) -> None:
        tagged = {
            entry.item_id: tagger.tag(entry.item, source_topics=entry.source_topics)
            for entry in batch
        }
        replace_tags(session, tagged, tag_ids(session), model=tagger.model_version)

    return step


def backfill_step(embedder: Embedder | None) -> BatchStep:
    """Vectors (when the embedding model can be read) and coverage links for a batch."""

    def step(session: Session, batch: Sequence[StoredItemText]) -> None:
        backfill_items(session, [entry.item_id for entry in batch], embedder=embedder)

    return step


def rebuild(
    db: Database,
    steps: Sequence[BatchStep],
    *,
    goal: str,
    now: Callable[[], datetime],
    batch_size: int = BATCH,
    progress: Progress | None = None,
    limit_batches: int | None = None,
) -> RebuildReport:
    """Run ``steps`` on every item after the checkpoint (``limit_batches``: stop early)."""
    with db.session() as session:
        checkpoint = read_checkpoint(session, CHECKPOINT_NAME)
    if checkpoint is None or checkpoint.goal != goal:
        checkpoint = Checkpoint(CHECKPOINT_NAME, 0, 0, goal)
    resumed_from = checkpoint.last_item_id
    with db.session() as session:
        total = checkpoint.done + count_items(session, after_id=checkpoint.last_item_id)
    batches = 0
    while limit_batches is None or batches < limit_batches:
        with db.write() as session:
            batch = items_after(session, checkpoint.last_item_id, batch_size)
            if not batch:
                clear_checkpoint(session, CHECKPOINT_NAME)
                break
            for step in steps:
                step(session, batch)
            checkpoint = Checkpoint(
                CHECKPOINT_NAME, batch[-1].item_id, checkpoint.done + len(batch), goal
            )
            save_checkpoint(session, checkpoint, now())
        batches += 1
        if progress is not None:
            progress(checkpoint.done, total)
    return RebuildReport(checkpoint.done, resumed_from, goal)
