"""Unknown query parameters are refused (422), not ignored: ``/v1/items?topics=nlp`` (a typo for
``topic``) would otherwise return every item as if it were filtered.

Two exceptions, for links that travel through mail and feed readers: tracking parameters
(``utm_*``, ``fbclid`` … the ones canonical URLs drop) are ignored everywhere, and the one-click
pages people open in a browser (``HTML_PAGES``) ignore whatever was appended to their link."""

from __future__ import annotations

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from service.ingest.urls import TRACKING_PARAMETERS, TRACKING_PREFIXES
from service.outputs.api.problems import HTML_PAGES


def _is_tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered in TRACKING_PARAMETERS or lowered.startswith(TRACKING_PREFIXES)


def _query_names(dependant: Dependant) -> set[str]:
    names = {field.alias for field in dependant.query_params}
    for dependency in dependant.dependencies:
        names |= _query_names(dependency)
    return names


def known_query_names(route: APIRoute) -> frozenset[str]:
    """The query parameters a route declares, its dependencies' included (read once per route:
    routes do not change once the app is built)."""
    known: frozenset[str] | None = getattr(route, "_staycurrent_query_names", None)
    if known is None:
        known = frozenset(_query_names(route.dependant))
        route._staycurrent_query_names = known  # type: ignore[attr-defined]
    return known


async def refuse_unknown_query(request: Request) -> None:
    """A dependency for every route: 422 naming each query parameter the route does not take.

    A coroutine on purpose: FastAPI runs a plain function in its thread pool, a hop that costs
    more than this check; a request without a query string is settled by one look."""
    if not request.scope.get("query_string"):
        return
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or request.url.path.startswith(HTML_PAGES):
        return
    known = known_query_names(route)
    unknown = sorted(
        {name for name in request.query_params if name not in known and not _is_tracking(name)}
    )
    if unknown:
        accepted = ", ".join(sorted(known)) or "none"
        raise RequestValidationError(
            [
                {
                    "loc": ("query", name),
                    "msg": f"unknown parameter (this endpoint takes: {accepted})",
                    "type": "extra_forbidden",
                }
                for name in unknown
            ]
        )
