"""The leasing poller: claims due sources with leases and runs the pipeline on them, a batch at a
time, renewing the leases meanwhile and giving back what was not done.

    every tick:  claim_due (leases, a batch) | pipeline.poll | apply_poll (clears each lease)
                 ... the next batch, until nothing is due
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from service.clock import utcnow
from service.ingest.pipeline import Pipeline
from service.records import PollResult, SourceForUpdate
from service.storage.claims import claim_due, extend_leases, leased_elsewhere, release_leases
from service.storage.engine import Database
from service.storage.hosts import release_host_turns

log = logging.getLogger("staycurrent.worker")

HEARTBEATS_PER_LEASE = 3


@dataclass(frozen=True, slots=True)
class RoundReport:
    """One round of polling: the results, and the sources another worker held (manual polls)."""

    results: tuple[PollResult, ...] = ()
    held_elsewhere: tuple[tuple[str, str], ...] = ()  # (source name, lease owner)


def log_round(owner: str, results: Sequence[PollResult], seconds: float) -> None:
    """One line per round of polling, its figures as fields (for JSON logs)."""
    fields = {
        "worker": owner,
        "sources": len(results),
        "items_new": sum(r.items_new for r in results),
        "errors": sum(r.outcome in ("error", "gone") for r in results),
        "not_modified": sum(r.outcome == "not_modified" for r in results),
        "seconds": round(seconds, 3),
    }
    log.info("poll round done", extra=fields)


class Poller:
    """Claims sources with leases and runs the pipeline on them, one batch at a time."""

    def __init__(
        self,
        *,
        db: Database,
        pipeline: Pipeline,
        owner: str,
        batch_size: int = 200,
        lease_seconds: float = 300.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.pipeline = pipeline
        self.owner = owner
        self.batch_size = batch_size
        self.lease_seconds = lease_seconds
        self.clock = clock
        self._stop = asyncio.Event()

    def stop(self) -> None:
        """Start no new fetch; the batch in flight ends after its fetches in flight."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    async def run_round(self) -> RoundReport:
        """Poll every due source, a batch at a time, until none is due (or stopping)."""
        started = time.monotonic()
        results: list[PollResult] = []
        tried: list[int] = []
        while not self.stopping:
            batch = await self._claim(due_only=True, limit=self.batch_size, exclude=tried)
            if not batch:
                break
            tried += [source.id for source in batch]
            results += await self.poll_batch(batch)
            if len(batch) < self.batch_size:
                break
        if results:
            log_round(self.owner, results, time.monotonic() - started)
        return RoundReport(tuple(results))

    async def poll_now(
        self,
        source_ids: Sequence[int] | None = None,
        *,
        on_claimed: Callable[[int], None] | None = None,
        on_result: Callable[[PollResult], None] | None = None,
    ) -> RoundReport:
        """Poll active sources now whatever their due time (all, or ``source_ids``)."""
        batch = await self._claim(due_only=False, limit=None, source_ids=source_ids)
        held = await asyncio.to_thread(
            leased_elsewhere, self.db, owner=self.owner, now=self.clock(), source_ids=source_ids
        )
        if on_claimed is not None:
            on_claimed(len(batch))
        results = await self.poll_batch(batch, on_result=on_result) if batch else []
        return RoundReport(tuple(results), tuple(held))

    async def _claim(
        self,
        *,
        due_only: bool,
        limit: int | None,
        source_ids: Sequence[int] | None = None,
        exclude: Sequence[int] = (),
    ) -> list[SourceForUpdate]:
        return await asyncio.to_thread(
            claim_due,
            self.db,
            owner=self.owner,
            now=self.clock(),
            limit=limit,
            lease_seconds=self.lease_seconds,
            due_only=due_only,
            source_ids=source_ids,
            exclude_ids=tuple(exclude),
        )

    async def poll_batch(
        self,
        batch: Sequence[SourceForUpdate],
        *,
        on_result: Callable[[PollResult], None] | None = None,
    ) -> list[PollResult]:
        """Poll claimed sources, renewing their leases meanwhile; give back what was not done."""
        ids = [source.id for source in batch]
        heartbeat = asyncio.create_task(self._renew(ids))
        try:
            return await self.pipeline.poll(batch, on_result=on_result, stop=self._stop)
        finally:
            heartbeat.cancel()
            await asyncio.to_thread(release_leases, self.db, owner=self.owner, source_ids=ids)

    async def _renew(self, ids: Sequence[int]) -> None:
        every = self.lease_seconds / HEARTBEATS_PER_LEASE
        while True:
            await asyncio.sleep(every)
            until = self.clock() + timedelta(seconds=self.lease_seconds)
            await asyncio.to_thread(
                extend_leases, self.db, owner=self.owner, source_ids=ids, until=until
            )

    def release_all(self) -> int:
        """Give back every source lease and host turn this worker holds (at shutdown)."""
        held = release_leases(self.db, owner=self.owner)
        release_host_turns(self.db, owner_prefix=self.owner + "/")
        return held
