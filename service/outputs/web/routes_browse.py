"""Search, trends and sources: pages to look around, read-only.

- ``GET /search?q=…``: full-text search over every item (the API's ``list_page``);
- ``GET /trends?window=7``: the trend radar's rising themes, inside the reader's areas;
- ``GET /sources``: every source with its health in words.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from service.ingest.health import describe
from service.outputs.api.deps import DatabaseDep, NowDep, SettingsDep
from service.outputs.api.routes_trends import trends_response
from service.outputs.items import ItemsQuery, list_page
from service.outputs.source_pages import SourcesQuery, sources_page
from service.outputs.trends import DEFAULT_WINDOW, TREND_WINDOWS, trends_for
from service.outputs.web.render import page
from service.outputs.web.session import ReaderDep
from service.storage.sources import source_facts

router = APIRouter()

SEARCH_PAGE = 30
MAX_QUERY_CHARS = 200
TRENDS_SHOWN = 20
SOURCES_SHOWN = 500


@router.get("/search")
def search_page(
    *,
    request: Request,
    reader: ReaderDep,
    db: DatabaseDep,
    settings: SettingsDep,
    now: NowDep,
    q: Annotated[str, Query(max_length=MAX_QUERY_CHARS)] = "",
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> Response:
    text = q.strip()
    results = None
    if text:
        query = ItemsQuery(q=text, limit=SEARCH_PAGE, cursor=cursor or None)
        with db.session() as session:
            results = list_page(session, query, secret=settings.secret_key_bytes(), now=now)
    context = {"reader": reader, "csrf": reader.csrf, "q": text, "results": results}
    return page(request, "search.html", context)


@router.get("/trends")
def trends_page(
    request: Request,
    reader: ReaderDep,
    db: DatabaseDep,
    window: Annotated[int, Query(ge=1, le=90)] = DEFAULT_WINDOW,
) -> Response:
    found = trends_for(db, window_days=window, limit=TRENDS_SHOWN, profile=reader.profile)
    context = {
        "reader": reader,
        "csrf": reader.csrf,
        "trends": trends_response(found),
        "windows": TREND_WINDOWS,
    }
    return page(request, "trends.html", context)


@router.get("/sources")
def sources_list(
    request: Request, reader: ReaderDep, db: DatabaseDep, settings: SettingsDep, now: NowDep
) -> Response:
    query = SourcesQuery(limit=SOURCES_SHOWN)
    with db.session() as session:
        found = sources_page(session, query, secret=settings.secret_key_bytes(), now=now)
        ids = [s.id for s in found.sources if s.id is not None]
        health = {f.id: describe(f, now) for f in source_facts(session, now, ids)}
    rows = [(source, health.get(source.id or 0)) for source in found.sources]
    context = {"reader": reader, "csrf": reader.csrf, "rows": rows}
    return page(request, "sources.html", context)
