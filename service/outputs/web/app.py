"""The reading page as an application of its own, mounted by the API with one line:

    app.mount(WEB_PATH, create_web(settings, db=database, clock=clock))

It shares the API's settings, database and clock (``request.app.state`` holds the same three, so
the API's dependencies work here) but has its own error pages: a request without a session is
sent to the sign-in page, other errors are answered with a short page in words.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.config import Settings
from service.errors import (
    AuthError,
    ConflictError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    SignatureError,
    StaycurrentError,
)
from service.outputs.api.ratelimit import TokenBuckets
from service.outputs.web.render import page
from service.outputs.web.routes_auth import router as auth_router
from service.outputs.web.routes_browse import router as browse_router
from service.outputs.web.routes_reading import router as reading_router
from service.outputs.web.routes_settings import router as settings_router
from service.rank.loader import WindowCache
from service.storage.engine import Database

WEB_PATH = "/app"
STATIC = Path(__file__).parent / "static"
STATUS = {
    NotFoundError: 404,
    ForbiddenError: 403,
    InvalidInputError: 400,
    ConflictError: 409,
    SignatureError: 400,
}


def _status(error: StaycurrentError) -> int:
    for kind, status in STATUS.items():
        if isinstance(error, kind):
            return status
    return 500


def _problem(request: Request, title: str, detail: str, status: int) -> Response:
    context = {"title": title, "detail": detail, "reader": None}
    return page(request, "problem.html", context, status_code=status)


async def _on_error(request: Request, error: Exception) -> Response:
    if isinstance(error, AuthError):
        base = str(request.scope.get("root_path") or "")
        return RedirectResponse(f"{base}/login", status_code=303)
    assert isinstance(error, StaycurrentError)
    status = _status(error)
    title = "Not found" if status == 404 else "Not allowed" if status == 403 else "Cannot do that"
    return _problem(request, title, error.reason, status)


async def _on_invalid(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    words = "; ".join(
        f"{'.'.join(str(p) for p in e.get('loc', ())[1:])}: {e.get('msg', '')}"
        for e in error.errors()
    )
    return _problem(request, "Cannot do that", words or "the request is not valid", 400)


async def _on_http(request: Request, error: Exception) -> Response:
    assert isinstance(error, StarletteHTTPException)
    title = "Not found" if error.status_code == 404 else "Cannot do that"
    return _problem(request, title, str(error.detail), error.status_code)


def create_web(
    settings: Settings,
    *,
    db: Database,
    clock: Callable[[], datetime],
    windows: WindowCache | None = None,
) -> FastAPI:
    """The reading page, for ``app.mount`` (no API docs of its own)."""
    web = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    web.state.settings = settings
    web.state.db = db
    web.state.clock = clock
    web.state.windows = windows or WindowCache()  # the API's: one window cache per process
    # Failed sign-ins per client, on the API's budget (the API's middleware counts only 401s of
    # requests that carry a token in a header or a link's path).
    web.state.sign_in_failures = TokenBuckets(settings.api_auth_failures_per_minute)
    web.add_exception_handler(StaycurrentError, _on_error)
    web.add_exception_handler(RequestValidationError, _on_invalid)
    web.add_exception_handler(StarletteHTTPException, _on_http)
    web.mount("/static", StaticFiles(directory=STATIC), name="static")
    web.include_router(auth_router)
    web.include_router(reading_router)
    web.include_router(browse_router)
    web.include_router(settings_router)
    return web
