"""The API reference pages (Swagger UI at ``/docs``, ReDoc at ``/redoc``) and the home ``/``.

FastAPI's own pages load their scripts and styles from a CDN, so they are blank on an offline or
firewalled server. Here every asset comes from the installation: the Swagger UI and ReDoc
bundles that the ``fastapi-offline`` package ships, served under ``/static/docs``.
"""

from __future__ import annotations

from importlib.resources import files
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS_PATH = "/static/docs"
OAUTH2_REDIRECT_PATH = "/docs/oauth2-redirect"


def assets_directory() -> str:
    """The folder of Swagger UI and ReDoc files inside the installed ``fastapi_offline``."""
    return str(files("fastapi_offline").joinpath("static"))


def _swagger(request: Request, title: str) -> HTMLResponse:
    root = request.scope.get("root_path", "")
    return get_swagger_ui_html(
        openapi_url=f"{root}/openapi.json",
        title=f"{title} — API reference",
        oauth2_redirect_url=f"{root}{OAUTH2_REDIRECT_PATH}",
        swagger_js_url=f"{root}{ASSETS_PATH}/swagger-ui-bundle.js",
        swagger_css_url=f"{root}{ASSETS_PATH}/swagger-ui.css",
        swagger_favicon_url=f"{root}{ASSETS_PATH}/favicon.png",
    )


def _redoc(request: Request, title: str) -> HTMLResponse:
    root = request.scope.get("root_path", "")
    return get_redoc_html(
        openapi_url=f"{root}/openapi.json",
        title=f"{title} — API reference",
        redoc_js_url=f"{root}{ASSETS_PATH}/redoc.standalone.js",
        redoc_favicon_url=f"{root}{ASSETS_PATH}/favicon.png",
        with_google_fonts=False,
    )


async def home(request: Request) -> dict[str, Any]:
    """What ``GET /`` answers: where the reference, the feeds and the health checks are."""
    root = str(request.base_url).rstrip("/")
    return {
        "name": "Staycurrent",
        "docs": f"{root}/docs",
        "redoc": f"{root}/redoc",
        "openapi": f"{root}/openapi.json",
        "feed": f"{root}/v1/feed",
        "subscriptions": f"{root}/v1/subscriptions/{{feed token}}/feed.rss",
        "opml": f"{root}/v1/opml",
        "health": {"live": f"{root}/healthz", "ready": f"{root}/readyz"},
    }


def install_docs(app: FastAPI) -> None:
    """Serve ``/docs``, ``/redoc`` and their assets from the installation, and ``/``.

    ``app`` must be created with ``docs_url=None, redoc_url=None``."""
    title = app.title
    app.mount(ASSETS_PATH, StaticFiles(directory=assets_directory()), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def swagger_page(request: Request) -> HTMLResponse:
        return _swagger(request, title)

    @app.get(OAUTH2_REDIRECT_PATH, include_in_schema=False)
    async def swagger_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    async def redoc_page(request: Request) -> HTMLResponse:
        return _redoc(request, title)

    app.add_api_route(
        "/",
        home,
        methods=["GET"],
        summary="Where to start",
        description="Links to the API reference (`/docs`, `/redoc`), the feeds and the health "
        "checks.",
        tags=["health"],
    )
