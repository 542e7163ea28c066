"""One structured log line per API request: method, route, path, status, duration; no secrets.

    {"logger": "staycurrent.api", "msg": "GET /v1/sources/7/health 200 3.1 ms", "method": "GET",
     "route": "/v1/sources/{source_id}/health", "path": "/v1/sources/7/health", "status": 200,
     "duration_ms": 3.1}

``route`` is the template the request matched; ``path`` is that template with the request's
parameters filled in, except secret ones (tokens), which stay ``***``. A path that matched no
route is logged through ``service.logs.redact``. Headers (``Authorization`` among them), query
strings and client addresses are never logged. Health probes and metric scrapes are logged at
DEBUG, so a load balancer's polling does not flood the log; server errors at WARNING.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.logs import redact

log = logging.getLogger("staycurrent.api")

SECRET_PARAMS = frozenset({"token"})
QUIET_ROUTES = frozenset({"/healthz", "/readyz", "/metrics"})
UNMATCHED = "unmatched"
_PARAM = re.compile(r"\{(\w+)(?::\w+)?\}")


def shown_path(template: str | None, params: Mapping[str, Any], raw: str) -> str:
    """The path to log: the template filled in without secrets, or the raw path redacted."""
    if template is None:
        return redact(raw)

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        return "***" if name in SECRET_PARAMS else str(params.get(name, match.group(0)))

    return redact(_PARAM.sub(fill, template))


def level_for(route: str, status: int) -> int:
    """DEBUG for probes and scrapes, WARNING for server errors, INFO for the rest."""
    if status >= 500:
        return logging.WARNING
    return logging.DEBUG if route in QUIET_ROUTES else logging.INFO


Observe = Callable[[str, str, int, float], None]  # method, route template, status, seconds


def route_of(scope: Scope) -> tuple[str | None, str]:
    """The route template the request matched (None if none) and its label (``unmatched``)."""
    template = getattr(scope.get("route"), "path", None)
    if isinstance(template, str):
        return template, template
    return None, UNMATCHED


def log_request(scope: Scope, status: int, seconds: float, route: tuple[str | None, str]) -> None:
    """Write the line for one finished request (``scope`` after routing)."""
    template, label = route
    level = level_for(label, status)
    if not log.isEnabledFor(level):
        return  # a probe at DEBUG, say: not even the path is built
    path = shown_path(template, scope.get("path_params") or {}, scope.get("path", ""))
    method = str(scope.get("method", ""))
    duration_ms = round(seconds * 1000, 1)
    fields = {
        "method": method,
        "route": label,
        "path": path,
        "status": status,
        "duration_ms": duration_ms,
    }
    log.log(
        level,
        "%s %s %d %.1f ms",
        method,
        path,
        status,
        duration_ms,
        extra=fields,
    )


class RequestLog:
    """Plain ASGI middleware: time each HTTP request, log it once it has been answered and hand
    its duration to ``observe`` (the request-latency metrics): one clock for both."""

    def __init__(self, app: ASGIApp, *, observe: Observe | None = None) -> None:
        self.app = app
        self.observe = observe

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets if the app raises before answering

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            seconds = time.perf_counter() - started
            route = route_of(scope)
            if self.observe is not None:
                self.observe(str(scope.get("method", "")), route[1], status, seconds)
            log_request(scope, status, seconds, route)
