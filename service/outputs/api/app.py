"""The application factory: ``create_app(settings)`` — nothing is read at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from service import __version__
from service.config import Settings
from service.outputs.api.health import router as health_router
from service.outputs.api.routes_health_sources import router as source_health_router
from service.storage.engine import Database

DESCRIPTION = """
Staycurrent ranks arXiv papers, ML blogs and podcasts into a personal **stay current** feed, with a
depth↔breadth dial: researchers go deep into a few topics, educators go broad across every area.
"""


def create_app(settings: Settings, *, db: Database | None = None) -> FastAPI:
    """Build the API. ``db`` may be given (tests); otherwise one is made from the settings."""
    database = db or Database(settings.database_url)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        if db is None:
            database.dispose()

    app = FastAPI(
        title="Staycurrent",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.db = database
    app.include_router(health_router)
    app.include_router(source_health_router)
    return app
