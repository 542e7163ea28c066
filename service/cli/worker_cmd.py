"""``staycurrent worker``: the poller (and later jobs) on its own, any number of processes."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from service.cli.common import database, settings
from service.cli.runtime import catalog
from service.storage.migrate import upgrade


def worker(
    once: Annotated[
        bool,
        typer.Option(
            "--once", help="One round of every job (poll what is due), then exit: for cron."
        ),
    ] = False,
) -> None:
    """Poll due sources every STAYCURRENT_POLL_TICK_SECONDS until SIGTERM or SIGINT.

    Run any number beside `staycurrent api`: each due source is claimed by one worker.
    Per-host limits and arXiv's 3-second rule hold across all workers (leases in the database).
    Stops within 10 s and gives its leases back.
    """
    from service.worker.compose import run_worker

    cfg = settings()
    db = database()
    upgrade(db)
    try:
        asyncio.run(run_worker(cfg, db, catalog().taxonomy, once=once))
    finally:
        db.dispose()
