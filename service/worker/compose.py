"""The one composition of the poll path from settings: the fetcher, the database-backed host
limiter, the pipeline and the poller; the worker's jobs around them. ``staycurrent worker``,
``staycurrent serve`` (a worker beside the API), ``staycurrent poll`` and ``staycurrent ingest``
all assemble their pipeline here.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from service.catalog import Taxonomy
from service.config import Settings
from service.ingest.fetch import Fetcher, FetchLimits
from service.ingest.pipeline import Pipeline
from service.ingest.politeness import HostLimiter
from service.ingest.schedule import ScheduleLimits
from service.ingest.topiclearn import make_tagger
from service.storage.engine import Database
from service.storage.hosts import HostLeases
from service.worker.jobs import digest_job, housekeeping_job, retrain_job, trends_job
from service.worker.poller import Poller
from service.worker.scheduler import Job, Worker
from service.worker.signals import on_signals

log = logging.getLogger("staycurrent.worker")

HOLD_MARGIN_SECONDS = 2.0
MAX_HOSTNAME = 60


def new_owner() -> str:
    """A name for this worker in leases: host, process and a random tag (pids get reused)."""
    return f"{socket.gethostname()[:MAX_HOSTNAME]}:{os.getpid()}:{secrets.token_hex(3)}"


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
    """A ready Poller (its fetcher, limiter and pipeline, which keeps one document pool for
    every round); on exit every lease is given back and the pool's processes stop."""
    owner = owner or new_owner()
    async with Fetcher(FetchLimits.from_settings(settings)) as fetcher:
        gate = host_limiter(settings, db, owner)
        with build_pipeline(
            settings, db, taxonomy, fetcher=fetcher, owner=owner, host_gate=gate
        ) as pipeline:
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
                await asyncio.to_thread(pipeline.close)  # the pool's processes stop off the loop
                released = await asyncio.to_thread(poller.release_all)
                if released:
                    log.info("released %d leases not polled", released, extra={"worker": owner})


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


async def run_worker(
    settings: Settings, db: Database, taxonomy: Taxonomy, *, once: bool = False
) -> None:
    """``staycurrent worker``: run until SIGTERM/SIGINT (or one round of every job with once)."""
    stop = asyncio.Event()
    undo = on_signals(stop)
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
