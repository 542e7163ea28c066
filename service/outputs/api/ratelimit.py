"""Per-client rate limits: failed authentication, and the expensive lens documents.

    request --RateLimit (pure ASGI)--> over a limit? 429 + Retry-After, the app never runs
                                       else the app; a 401 (or an unknown token in a link or
                                       subscription URL) takes one from the client's failures

A client is its address as the server sees it (behind a proxy, run uvicorn with
``--forwarded-allow-ips`` so that is the real one). Two budgets, each a token bucket refilled
continuously: ``STAYCURRENT_API_AUTH_FAILURES_PER_MINUTE`` failed authentications (a client that
spent it is answered 429 on every request that carries a token until it refills, so guessing
tokens costs minutes per few dozen guesses) and ``STAYCURRENT_API_FEED_REQUESTS_PER_MINUTE``
subscription documents (each one ranks a feed: a burst of cache-busting lens URLs cost seconds of
CPU and hundreds of MB). The buckets live in the process: with several uvicorn workers each has its
own, so the limits are per worker. ``TokenBuckets`` is the pure decider (it takes ``now``).
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.outputs.api.problems import problem_response

MAX_CLIENTS = 10_000  # buckets kept; the fullest (least suspect) are dropped first past it
_TOKEN_PATH = re.compile(r"(?i)^/v1/(?:subscriptions|feedback|unsubscribe)/[^/]+")
_FEED_DOCUMENT = re.compile(r"(?i)^/v1/subscriptions/[^/]+/feed\.\w+$")
_FAILED = frozenset({401, 403, 404, 410})  # on a token path: the token was not a live one


@dataclass
class TokenBuckets:
    """A bucket of ``per_minute`` tokens per client, refilled at ``per_minute`` a minute."""

    per_minute: int
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)  # tokens, at
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _level(self, key: str, now: float) -> float:
        tokens, at = self._buckets.get(key, (float(self.per_minute), now))
        return min(float(self.per_minute), tokens + (now - at) * self.per_minute / 60.0)

    def wait(self, key: str, now: float) -> int | None:
        """Seconds until ``key`` has a token again; None when it has one now (nothing taken)."""
        with self._lock:
            level = self._level(key, now)
        return None if level >= 1.0 else max(1, math.ceil((1.0 - level) * 60.0 / self.per_minute))

    def take(self, key: str, now: float) -> int | None:
        """Take a token: None when taken, else the seconds until one is there."""
        with self._lock:
            level = self._level(key, now)
            if level < 1.0:
                return max(1, math.ceil((1.0 - level) * 60.0 / self.per_minute))
            self._buckets[key] = (level - 1.0, now)
            if len(self._buckets) > MAX_CLIENTS:
                fullest = max(self._buckets, key=lambda k: self._buckets[k][0])
                del self._buckets[fullest]
        return None


def _client(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def _carries_token(scope: Scope) -> bool:
    if _TOKEN_PATH.match(scope.get("path", "")):
        return True
    return any(name == b"authorization" for name, _ in scope.get("headers", ()))


class RateLimit:
    """The ASGI middleware that applies both budgets (no ``BaseHTTPMiddleware``: no extra task)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        auth_failures_per_minute: int,
        feed_requests_per_minute: int,
        clock: Callable[[], datetime],
    ) -> None:
        self.app = app
        self.failures = TokenBuckets(auth_failures_per_minute)
        self.feeds = TokenBuckets(feed_requests_per_minute)
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client, now = _client(scope), self.clock().timestamp()
        path = scope.get("path", "")
        guarded = _carries_token(scope)
        wait = self.failures.wait(client, now) if guarded else None
        if wait is None and _FEED_DOCUMENT.match(path):
            wait = self.feeds.take(client, now)
        if wait is not None:
            await _too_many(scope, wait)(scope, receive, send)
            return
        if not guarded:
            await self.app(scope, receive, send)
            return

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start":
                status = message["status"]
                if status == 401 or (status in _FAILED and _TOKEN_PATH.match(path)):
                    self.failures.take(client, now)
            await send(message)

        await self.app(scope, receive, watch)


def _too_many(scope: Scope, wait: int) -> ASGIApp:
    return problem_response(
        scope,
        429,
        slug="too-many-requests",
        title="Too many requests",
        detail=f"too many requests from this client: try again in {wait} s",
        headers={"Retry-After": str(wait)},
    )
