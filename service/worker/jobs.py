"""The worker's periodic jobs besides polling: digests, housekeeping, retraining, trends."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from service.catalog import Taxonomy
from service.clock import utcnow
from service.config import Settings
from service.errors import ModelError
from service.ingest.pipeline import Pipeline
from service.ingest.topiclearn import last_trained, make_tagger, retrain, retrain_due
from service.outputs.trends import refresh_comebacks, refresh_trends
from service.storage.engine import Database
from service.storage.sources import POLL_LOG_KEPT, prune_poll_log
from service.worker.scheduler import Job

log = logging.getLogger("staycurrent.worker")


DIGEST_TICK = timedelta(minutes=1)
OUTCOMES = ("sent", "retry", "failed", "skipped")
HOUSEKEEPING_TICK = timedelta(hours=6)
RETRAIN_TICK = timedelta(hours=1)  # looks whether a retraining is due (the last one is stored)


def digest_job(settings: Settings, db: Database) -> Job:
    """Every minute: send the digests whose local send time has passed (exactly once each)."""
    # here, not at import: without SMTP there is no digest job, and a worker need not load the
    # digest's composing, the ranker and the templates (~50 modules)
    from service.outputs.digest import run_due_digests

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
