"""The application factory: ``create_app(settings)`` — nothing is read at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime

import anyio.to_thread
from fastapi import Depends, FastAPI

from service import __version__
from service.clock import utcnow
from service.config import Settings
from service.ingest.netguard import Resolver, system_resolver
from service.outputs.api.docs_pages import install_docs
from service.outputs.api.greader import install_greader
from service.outputs.api.health import router as health_router
from service.outputs.api.metrics import install_metrics
from service.outputs.api.problems import install_problems
from service.outputs.api.query_guard import refuse_unknown_query
from service.outputs.api.ratelimit import RateLimit
from service.outputs.api.requestlog import RequestLog
from service.outputs.api.routes_app_passwords import router as app_passwords_router
from service.outputs.api.routes_digest import router as digest_router
from service.outputs.api.routes_feed import router as feed_router
from service.outputs.api.routes_feedback import router as feedback_router
from service.outputs.api.routes_health_sources import router as source_health_router
from service.outputs.api.routes_items import router as items_router
from service.outputs.api.routes_profiles import router as profiles_router
from service.outputs.api.routes_sources import router as sources_router
from service.outputs.api.routes_subscriptions import router as subscriptions_router
from service.outputs.api.routes_trends import router as trends_router
from service.outputs.web.app import WEB_PATH, create_web
from service.rank.loader import WindowCache
from service.storage.engine import Database

DESCRIPTION = """
Staycurrent ranks arXiv papers, ML blogs and podcasts into a personal **stay current** feed, with a
depth↔breadth dial: researchers go deep into a few topics, educators go broad across every area.

Items (with full-text search), topics and sources are open to read. Authenticate with
`Authorization: Bearer <token>`: a profile's API token for `/v1/feed`, `/v1/profiles/me` and
`/v1/feedback`; `STAYCURRENT_ADMIN_TOKEN` for admin operations (creating profiles, adding,
changing, deactivating and importing sources). Errors are `application/problem+json`
(RFC 9457); a query parameter an endpoint does not take is an error too, not ignored.
"""
MAX_BODY_BYTES = 1024 * 1024  # request bodies larger than this are refused with 413
# Sync routes run in anyio's thread pool (40 threads by default). Each running one holds a database
# connection (SQLite: its own page cache, ~2 MB once a search has run) and its working set (a
# feed's candidate arrays): on a machine of a few cores more threads than this only wait for the
# GIL while holding memory. Requests past it wait their turn in the event loop.
API_THREADS = 4
# SQLite's page cache per API connection (SQLite's default: 2 MB each, ~40 MB over the pool after a
# burst of searches): the API reads, the OS caches the file for every connection at once.
API_PAGE_CACHE_KIB = 256


def api_database(settings: Settings) -> Database:
    """The database as the API process uses it (small page caches: see API_PAGE_CACHE_KIB)."""
    return Database(settings.database_url, page_cache_kib=API_PAGE_CACHE_KIB)


def create_app(
    settings: Settings,
    *,
    db: Database | None = None,
    clock: Callable[[], datetime] = utcnow,
    resolver: Resolver = system_resolver,
) -> FastAPI:
    """Build the API. ``db``, ``clock`` and ``resolver`` may be given (tests); else defaults."""
    database = db or api_database(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = API_THREADS
        yield
        if db is None:
            database.dispose()

    app = FastAPI(
        title="Staycurrent",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        dependencies=[Depends(refuse_unknown_query)],
        docs_url=None,  # install_docs serves /docs and /redoc with assets from the installation
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.db = database
    app.state.clock = clock
    app.state.resolver = resolver  # DNS for vetting and probing feed URLs (tests replace it)
    app.state.windows = WindowCache()  # ranking's candidate windows, shared by the requests
    install_problems(app, max_body_bytes=MAX_BODY_BYTES)
    install_docs(app)
    app.include_router(health_router)
    latency = install_metrics(app)
    app.add_middleware(
        RateLimit,
        auth_failures_per_minute=settings.api_auth_failures_per_minute,
        feed_requests_per_minute=settings.api_feed_requests_per_minute,
        clock=clock,
    )
    # outermost: logs and times every answer, 413s, 429s and 500s included (all plain ASGI)
    app.add_middleware(RequestLog, observe=latency.observe)
    app.include_router(feed_router)
    app.include_router(profiles_router)
    app.include_router(app_passwords_router)
    app.include_router(feedback_router)
    app.include_router(source_health_router)
    app.include_router(subscriptions_router)
    app.include_router(digest_router)
    app.include_router(items_router)
    app.include_router(trends_router)
    app.include_router(sources_router)
    app.mount(
        WEB_PATH, create_web(settings, db=database, clock=clock, windows=app.state.windows)
    )  # the reading page
    install_greader(app)  # the Google Reader API for reader apps (/accounts, /reader)
    return app
