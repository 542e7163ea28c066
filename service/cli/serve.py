"""``staycurrent serve`` (API + poller in one process) and ``staycurrent api`` (API only).

Why two commands: a scheduler started inside each uvicorn worker would run every job once per
worker, and APScheduler's job stores cannot be shared by several schedulers. So ``serve`` runs ONE
uvicorn worker with ONE embedded poller (started and stopped in the app's lifespan: the embedded
default for one machine), and ``api`` runs any number of uvicorn workers without a poller, beside
separate ``staycurrent worker`` processes that share the work through leases in the database.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import FrameType
from typing import Any

import uvicorn
from fastapi import FastAPI

from service.cli.common import database, settings
from service.cli.connections import protocol_class, server_options
from service.cli.runtime import catalog
from service.config import Settings, base_url_mismatch
from service.outputs.api.app import api_database, create_app
from service.storage.engine import Database

log = logging.getLogger("staycurrent.serve")


def limits(cfg: Settings) -> dict[str, Any]:
    """uvicorn's settings from ours (see ``connections.server_options``)."""
    return server_options(
        max_connections=cfg.api_max_connections, header_timeout=cfg.api_header_timeout_seconds
    )


def api_factory() -> object:
    """uvicorn's factory for multi-worker ``staycurrent api``: each worker builds its own app."""
    cfg = settings()
    protocol_class(cfg.api_header_timeout_seconds)
    return create_app(cfg)


def announce(host: str, port: int, *, with_poller: bool) -> None:
    base = f"http://{host}:{port}"
    log.info("Staycurrent API on %s — interactive docs at %s/docs", base, base)
    poller = " and polling its sources" if with_poller else ""
    print(
        f"Staycurrent is serving on {base}{poller}  (API docs: {base}/docs, health: {base}/healthz)"
    )


def embed_poller(app: FastAPI, cfg: Settings, db: Database) -> None:
    """Run the worker (the poll job and the rest) in ``app``'s lifespan: up and down with it."""
    from service.worker.compose import running_worker

    taxonomy = catalog().taxonomy
    serve_app = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(inner: Any) -> AsyncIterator[Any]:
        async with serve_app(inner) as state, running_worker(cfg, db, taxonomy):
            yield state

    app.router.lifespan_context = lifespan


def _exit_cleanly(signum: int, _frame: FrameType | None) -> None:
    """After uvicorn's graceful shutdown it raises the signal again: end with status 0 then."""
    raise SystemExit(0)


def migrate_apart() -> None:
    """``staycurrent db upgrade`` in a child process: Alembic and its templates (~17 MB) never
    enter the memory of a server that does not need them again. Its failure (a database that
    cannot be reached, say: one line on stderr) ends this command with the same status."""
    command = [sys.executable, "-m", "service.cli", "db", "upgrade"]
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603 (our argv)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(done.returncode)


def run_api(*, workers: int, with_poller: bool = False) -> None:
    cfg = settings()
    if with_poller:  # one process for everything (the worker writes): migrated in process
        from service.storage.migrate import upgrade

        db = database()
        upgrade(db)
    else:
        migrate_apart()
        db = api_database(cfg)  # small page caches: this process only reads
    announce(cfg.host, cfg.port, with_poller=with_poller)
    mismatch = base_url_mismatch(cfg)
    if mismatch is not None:
        log.warning(mismatch)
    if workers > 1:
        uvicorn.run(
            "service.cli.serve:api_factory",
            factory=True,
            host=cfg.host,
            port=cfg.port,
            workers=workers,
            timeout_graceful_shutdown=5,
            **limits(cfg),
        )
        return
    app = create_app(cfg, db=db)
    if with_poller:
        embed_poller(app, cfg, db)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _exit_cleanly)
    # On SIGTERM: open requests get a moment, then the poller its grace; all within ~10 s.
    drain = 1 if with_poller else 5
    uvicorn.run(
        app,
        host=cfg.host,
        port=cfg.port,
        timeout_graceful_shutdown=drain,
        **limits(cfg),
    )
