"""The job scheduler: periodic jobs on an APScheduler 3.x ``AsyncIOScheduler``.

The scheduler only ticks; it keeps no state of its own (APScheduler job stores cannot be shared by
several schedulers, and a scheduler inside each uvicorn worker would run every job once per
worker). Stopping: jobs are told to stop, runs in flight get ``grace_seconds`` to finish, then are
abandoned.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

log = logging.getLogger("staycurrent.worker")


@dataclass(frozen=True, slots=True)
class Job:
    """A periodic job: ``run`` is awaited every ``every`` (never two runs at once).

    ``stop`` (optional) asks a running ``run`` to wind down when the worker stops.
    """

    name: str
    every: timedelta
    run: Callable[[], Awaitable[object]]
    stop: Callable[[], None] | None = None


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
