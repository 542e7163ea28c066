"""``staycurrent serve`` and ``staycurrent api``: run the HTTP service."""

from __future__ import annotations

import logging

import uvicorn

from service.cli.common import database, settings
from service.outputs.api.app import create_app
from service.storage.migrate import upgrade

log = logging.getLogger("staycurrent.serve")


def api_factory() -> object:
    """uvicorn's factory for multi-worker ``staycurrent api``: each worker builds its own app."""
    return create_app(settings())


def announce(host: str, port: int) -> None:
    base = f"http://{host}:{port}"
    log.info("Staycurrent API on %s — interactive docs at %s/docs", base, base)
    print(f"Staycurrent is serving on {base}  (API docs: {base}/docs, health: {base}/healthz)")


def run_api(*, workers: int) -> None:
    cfg = settings()
    upgrade(database())
    announce(cfg.host, cfg.port)
    if workers > 1:
        uvicorn.run(
            "service.cli.serve:api_factory",
            factory=True,
            host=cfg.host,
            port=cfg.port,
            workers=workers,
            log_level="warning",
        )
    else:
        uvicorn.run(
            create_app(cfg, db=database()), host=cfg.host, port=cfg.port, log_level="warning"
        )
