"""The worker: periodic jobs on an APScheduler 3.x scheduler; the poll job claims and polls.

    every tick:  claim_due (leases, a batch) | pipeline.poll | apply_poll (clears each lease)
                 ... the next batch, until nothing is due

Several workers (processes, machines) share one database safely: a source is polled by whoever
holds its lease, and host turns (per-host limit, arXiv's 3 s) live in the database too. The
scheduler only ticks; it keeps no state of its own (APScheduler job stores cannot be shared by
several schedulers, and a scheduler inside each uvicorn worker would run every job once per
worker), so ``staycurrent serve`` embeds one worker beside the API and ``staycurrent worker`` runs
any number of them.

Stopping (SIGTERM, SIGINT, or the API's shutdown): jobs are told to stop (no new fetch starts),
fetches in flight get ``grace`` seconds to finish, then are abandoned; leases are given back.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import signal
import socket
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from service.clock import utcnow
from service.config import Settings, Taxonomy
from service.errors import ModelError
from service.ingest.fetch import Fetcher, FetchLimits
from service.ingest.pipeline import Pipeline
from service.ingest.politeness import HostLimiter
from service.ingest.schedule import ScheduleLimits
from service.ingest.topiclearn import last_trained, make_tagger, retrain, retrain_due
from service.outputs.digest import run_due_digests
from service.outputs.trends import refresh_comebacks, refresh_trends
from service.records import PollResult, SourceForUpdate
from service.storage.claims import claim_due, extend_leases, leased_elsewhere, release_leases
from service.storage.engine import Database
from service.storage.hosts import HostLeases, release_host_turns
from service.storage.sources import POLL_LOG_KEPT, prune_poll_log

log = logging.getLogger("staycurrent.worker")

HOLD_MARGIN_SECONDS = 2.0
HEARTBEATS_PER_LEASE = 3
MAX_HOSTNAME = 60


def new_owner() -> str:
    """A name for this worker in leases: host, process and a random tag (pids get reused)."""
    return f"{socket.gethostname()[:MAX_HOSTNAME]}:{os.getpid()}:{secrets.token_hex(3)}"


# --------------------------------------------------------------------------- polling


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


def build_pipeline(
    settings: Settings,
    db: Database,
    taxonomy: Taxonomy,
    *,
    fetcher: Fetcher | None,
    owner: str,
    host_gate: HostLimiter | None = None,
) -> Pipeline:
    """The ingest pipeline configured from settings (with the database-backed host limiter)."""
    return Pipeline(
        db=db,
        tagger=make_tagger(taxonomy, db),
        fetcher=fetcher,
        limits=ScheduleLimits.from_settings(settings),
        concurrency=settings.poll_concurrency,
        per_host=settings.poll_per_host,
        worker_id=owner,
        host_gate=host_gate.gate if host_gate is not None else None,
        parse_processes=settings.parse_processes,
        parse_budget_seconds=settings.parse_budget_seconds,
        max_entries=settings.parse_max_entries,
    )


def host_limiter(settings: Settings, db: Database, owner: str) -> HostLimiter:
    """Turns on hosts kept in the database: per-host limit and arXiv's spacing, for all workers."""
    return HostLimiter(
        HostLeases(db),
        owner=owner,
        per_host=settings.poll_per_host,
        arxiv_spacing=timedelta(seconds=settings.arxiv_min_interval_seconds),
        hold=timedelta(seconds=settings.http_deadline + HOLD_MARGIN_SECONDS),
    )


@asynccontextmanager
async def polling(
    settings: Settings, db: Database, taxonomy: Taxonomy, *, owner: str | None = None
) -> AsyncIterator[Poller]:
    """A ready Poller (its fetcher, limiter and pipeline); on exit every lease is given back."""
    owner = owner or new_owner()
    async with Fetcher(FetchLimits.from_settings(settings)) as fetcher:
        pipeline = build_pipeline(
            settings,
            db,
            taxonomy,
            fetcher=fetcher,
            owner=owner,
            host_gate=host_limiter(settings, db, owner),
        )
        poller = Poller(
            db=db,
            pipeline=pipeline,
            owner=owner,
            batch_size=settings.poll_batch_size,
            lease_seconds=settings.poll_lease_seconds,
        )
        try:
            yield poller
        finally:
            released = await asyncio.to_thread(poller.release_all)
            if released:
                log.info("released %d leases not polled", released, extra={"worker": owner})


# --------------------------------------------------------------------------- the scheduler


@dataclass(frozen=True, slots=True)
class Job:
    """A periodic job: ``run`` is awaited every ``every`` (never two runs at once).

    ``stop`` (optional) asks a running ``run`` to wind down when the worker stops.
    """

    name: str
    every: timedelta
    run: Callable[[], Awaitable[object]]
    stop: Callable[[], None] | None = None


DIGEST_TICK = timedelta(minutes=1)
OUTCOMES = ("sent", "retry", "failed", "skipped")
HOUSEKEEPING_TICK = timedelta(hours=6)
RETRAIN_TICK = timedelta(hours=1)  # looks whether a retraining is due (the last one is stored)


def digest_job(settings: Settings, db: Database) -> Job:
    """Every minute: send the digests whose local send time has passed (exactly once each)."""

    async def run() -> None:
        results = await asyncio.to_thread(run_due_digests, db, settings, utcnow())
        if results:
            fields = {
                "due": len(results),
                **{outcome: sum(r.outcome == outcome for r in results) for outcome in OUTCOMES},
            }
            log.info("digests due", extra=fields)

    return Job("digest", DIGEST_TICK, run)


def housekeeping_job(db: Database) -> Job:
    """Keep the poll log bounded (the health and metrics read only its recent rows)."""

    async def run() -> None:
        removed = await asyncio.to_thread(prune_poll_log, db, utcnow() - POLL_LOG_KEPT)
        if removed:
            log.info("housekeeping: %d poll log rows older than %s removed", removed, POLL_LOG_KEPT)

    return Job("housekeeping", HOUSEKEEPING_TICK, run)


def retrain_job(settings: Settings, taxonomy: Taxonomy, pipeline: Pipeline) -> Job:
    """Retrain the topic model from the stored arXiv papers; the pipeline tags with the new one
    only if it scores better than the one in use (``service.ingest.topiclearn.retrain``)."""

    every = timedelta(hours=settings.tags_retrain_hours)

    async def run() -> None:
        last = await asyncio.to_thread(last_trained, pipeline.db)
        if not retrain_due(last, utcnow(), every):
            return
        try:
            outcome = await asyncio.to_thread(
                retrain,
                pipeline.db,
                taxonomy,
                now=utcnow(),
                limit=settings.tags_retrain_papers,
                current=pipeline.tagger.model,
            )
        except ModelError as exc:
            log.info("topic model not retrained: %s", exc.reason)
            return
        if outcome.adopted:
            pipeline.tagger = await asyncio.to_thread(make_tagger, taxonomy, pipeline.db)

    return Job("retrain-topics", RETRAIN_TICK, run)


TRENDS_TICK = timedelta(minutes=10)


def trends_job(db: Database, clock: Callable[[], datetime] = utcnow) -> Job:
    """Recompute the trend windows that new items (or the sliding window) made stale, and
    record what happened to the papers profiles liked or saved (papers coming back)."""

    async def run() -> None:
        outcomes = await asyncio.to_thread(refresh_trends, db, now=clock())
        back = await asyncio.to_thread(refresh_comebacks, db, now=clock())
        if back:
            log.info("papers coming back", extra={"events": back})
        for done in (o for o in outcomes if o.refreshed):
            log.info(
                "trends refreshed", extra={"window_days": done.window_days, "themes": done.themes}
            )

    return Job("trends", TRENDS_TICK, run)


def worker_jobs(settings: Settings, poller: Poller, taxonomy: Taxonomy | None = None) -> list[Job]:
    """Every periodic job of the worker: polling, the digest sender, housekeeping, retraining."""
    jobs = [
        Job(
            "poll",
            timedelta(seconds=settings.poll_tick_seconds),
            poller.run_round,
            stop=poller.stop,
        ),
        housekeeping_job(poller.db),
        trends_job(poller.db),
    ]
    if settings.smtp_host:
        jobs.append(digest_job(settings, poller.db))
    if settings.tags_retrain_hours and taxonomy is not None:
        jobs.append(retrain_job(settings, taxonomy, poller.pipeline))
    return jobs


class Worker:
    """Runs jobs on an APScheduler ``AsyncIOScheduler``; stops them gracefully."""

    def __init__(self, jobs: Sequence[Job], grace_seconds: float = 8.0) -> None:
        self.jobs = tuple(jobs)
        self.grace_seconds = grace_seconds
        self._scheduler: AsyncIOScheduler | None = None
        self._running: set[asyncio.Task[Any]] = set()
        self._abandoned: set[asyncio.Task[Any]] = set()

    async def _run(self, job: Job) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._running.add(task)
        try:
            await job.run()
        except asyncio.CancelledError:
            if task not in self._abandoned:
                raise
            log.info("job %s abandoned at shutdown", job.name)  # on purpose: not an error
        except Exception:  # a failing run is logged; the job runs again at its next tick
            log.exception("job %s failed", job.name)
        finally:
            if task is not None:
                self._running.discard(task)

    async def start(self) -> None:
        """Start the scheduler; every job runs once now, then at its interval."""
        scheduler = AsyncIOScheduler(timezone=UTC)
        now = datetime.now(UTC)
        for job in self.jobs:
            scheduler.add_job(
                self._run,
                IntervalTrigger(seconds=job.every.total_seconds(), timezone=UTC),
                args=(job,),
                id=job.name,
                name=job.name,
                next_run_time=now,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=None,
            )
        scheduler.start()
        self._scheduler = scheduler
        log.info("worker started: %s", ", ".join(job.name for job in self.jobs))

    async def stop(self) -> None:
        """Tell jobs to stop, let runs in flight finish within the grace, abandon the rest."""
        scheduler, self._scheduler = self._scheduler, None
        if scheduler is not None and scheduler.running:
            scheduler.pause()
        await self._drain()
        if scheduler is not None and scheduler.running:
            scheduler.shutdown(wait=False)
            await asyncio.sleep(0)  # the shutdown runs on the loop's next turn

    async def run_once(self, stop: asyncio.Event) -> None:
        """Run every job once (``staycurrent worker --once``); stop early when ``stop`` is set."""
        waiting: set[asyncio.Task[Any]] = {asyncio.create_task(self._run(j)) for j in self.jobs}
        stopped = asyncio.create_task(stop.wait())
        while waiting and not stopped.done():
            done, _pending = await asyncio.wait(
                {*waiting, stopped}, return_when=asyncio.FIRST_COMPLETED
            )
            waiting -= done
        stopped.cancel()
        if waiting:
            await self._drain()

    async def _drain(self) -> None:
        for job in self.jobs:
            if job.stop is not None:
                job.stop()
        running = set(self._running)
        log.info(
            "stopping: %d job runs in flight get up to %g s to finish",
            len(running),
            self.grace_seconds,
        )
        if not running:
            return
        _done, late = await asyncio.wait(running, timeout=self.grace_seconds)
        self._abandoned |= late
        for task in late:
            task.cancel()
        if late:
            log.warning("abandoned %d job runs still in flight at shutdown", len(late))
            await asyncio.wait(late, timeout=1.0)


@asynccontextmanager
async def running_worker(
    settings: Settings, db: Database, taxonomy: Taxonomy
) -> AsyncIterator[Worker]:
    """A started worker (for ``staycurrent serve``: beside the API, in its lifespan)."""
    async with polling(settings, db, taxonomy) as poller:
        worker = Worker(
            worker_jobs(settings, poller, taxonomy), settings.worker_shutdown_grace_seconds
        )
        await worker.start()
        try:
            yield worker
        finally:
            await worker.stop()


def _on_signals(stop: asyncio.Event) -> Callable[[], None]:
    """Set ``stop`` on SIGTERM and SIGINT (main thread only); returns how to undo that."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)

    def undo() -> None:
        for signum in (signal.SIGTERM, signal.SIGINT):
            with suppress(ValueError, RuntimeError):
                loop.remove_signal_handler(signum)

    return undo


async def run_worker(
    settings: Settings, db: Database, taxonomy: Taxonomy, *, once: bool = False
) -> None:
    """``staycurrent worker``: run until SIGTERM/SIGINT (or one round of every job with once)."""
    stop = asyncio.Event()
    undo = _on_signals(stop)
    try:
        if once:
            async with polling(settings, db, taxonomy) as poller:
                jobs = worker_jobs(settings, poller, taxonomy)
                await Worker(jobs, settings.worker_shutdown_grace_seconds).run_once(stop)
        else:
            async with running_worker(settings, db, taxonomy):
                await stop.wait()
    finally:
        undo()
