"""Fetching a feed over HTTP, safely: the network boundary of the ingest pipeline.

``Fetcher.fetch(FetchRequest) -> FetchedFeed`` does one conditional GET and follows redirects by
hand. Its limits (``FetchLimits``, from Settings) hold against hostile or broken servers:

- the decoded body is capped (gzip bombs stop at the cap with bounded memory, see ``decoding``);
- an overall deadline covers the whole fetch, redirects included, on top of httpx's per-phase
  timeouts, so a server dripping one byte a second cannot hold a worker;
- at most ``max_redirects`` redirects, http(s) only, loops detected;
- every connection, on every hop, goes through the SSRF guard (``netguard``), which vets the
  address actually connected to. No proxy from the environment is used: a proxy would hide the
  destination from the guard.

A fetch returns a ``FetchedFeed`` (2xx with a body, or 304 without one) or raises a
``FetchError`` subclass whose ``reason`` is one sentence a user understands. Every foreign
exception (httpx, httpcore, anyio, socket, ssl, zlib) is translated here; nothing else escapes
except ``asyncio.CancelledError``.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Self

import httpcore
import httpx

from service import __version__
from service.config import PROJECT_URL, Settings
from service.errors import (
    FetchError,
    FetchTimeoutError,
    GoneError,
    HTTPStatusError,
    InvalidURLError,
    RateLimitedError,
    TooManyRedirectsError,
)
from service.ingest.decoding import MIB, BodyDecoder, too_large
from service.ingest.headers import describe_status, parse_expires, parse_max_age, parse_retry_after
from service.ingest.neterrors import translate, truncated
from service.ingest.netguard import NetGuard, build_transport, parse_ip
from service.records import FetchedFeed, FetchRequest

ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, application/feed+json;q=0.8, "
    "application/json;q=0.7, */*;q=0.5"
)
ACCEPT_ENCODING = "gzip, deflate"  # decoded by ``decoding``, under the cap
REDIRECTS = frozenset({301, 302, 303, 307, 308})
PERMANENT_REDIRECTS = frozenset({301, 308})
RATE_LIMITS = frozenset({429, 503})
MAX_SHOWN_URL = 200


@dataclass(frozen=True, slots=True)
class FetchLimits:
    """How far a fetch may go; defaults match Settings' defaults."""

    timeout: float = 10.0  # seconds, per phase (connect, each read, each write, pool)
    deadline: float = 30.0  # seconds, the whole fetch, redirects included
    max_body: int = 10 * MIB  # bytes of decoded body
    max_redirects: int = 5
    allow_private_networks: bool = False
    user_agent: str = f"Staycurrent/{__version__} (+{PROJECT_URL})"

    @classmethod
    def from_settings(cls, settings: Settings) -> FetchLimits:
        return cls(
            timeout=settings.http_timeout,
            deadline=settings.http_deadline,
            max_body=settings.http_max_body,
            max_redirects=settings.http_max_redirects,
            allow_private_networks=settings.allow_private_networks,
            user_agent=settings.user_agent,
        )


@dataclass(slots=True)
class _Trail:
    """Where a fetch has been: the URL now being fetched and the redirects that led there."""

    url: str
    started: float = field(default_factory=time.monotonic)
    statuses: list[int] = field(default_factory=list)
    visited: set[str] = field(default_factory=set)

    @property
    def permanent_target(self) -> str | None:
        if self.statuses and all(status in PERMANENT_REDIRECTS for status in self.statuses):
            return self.url
        return None

    def situate(self, exc: FetchError) -> FetchError:
        """Name the URL the error happened at and, after redirects, say where they led."""
        exc.url = exc.url or self.url
        if self.statuses and "after a redirect" not in exc.reason:
            exc.reason = f"{exc.reason} (after a redirect to {shown(self.url)})"
            exc.args = (exc.reason,)
        return exc


def shown(url: str) -> str:
    """A URL as quoted in a reason: cut short when very long."""
    return url if len(url) <= MAX_SHOWN_URL else url[: MAX_SHOWN_URL - 1] + "…"


def seconds(value: float) -> str:
    """``30`` or ``0.5``: a duration in seconds as written in a reason."""
    return f"{value:g}"


class Fetcher:
    """Fetches feeds; one per process or worker, shared by its tasks (it owns a connection pool).

    ``guard`` defaults to refusing private networks unless ``limits.allow_private_networks``.
    ``transport`` replaces the guarded transport (build one with ``build_transport`` to keep the
    guard on connections; any other transport only gets the URL checks: scheme and literal IPs).
    """

    def __init__(
        self,
        limits: FetchLimits,
        *,
        guard: NetGuard | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.limits = limits
        self.guard = guard or NetGuard(allow_all=limits.allow_private_networks)
        # The transport is used directly, not through httpx.AsyncClient: the client prepares the
        # next request of every redirect itself (and fails on odd Location values), keeps
        # cookies across feeds and reads proxies from the environment; none of it is wanted here.
        self._transport = transport or build_transport(self.guard)
        self._timeouts = httpx.Timeout(limits.timeout).as_dict()
        self._headers = {
            "User-Agent": limits.user_agent,
            "Accept": ACCEPT,
            "Accept-Encoding": ACCEPT_ENCODING,
        }

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._transport.aclose()

    async def fetch(self, request: FetchRequest, *, now: datetime | None = None) -> FetchedFeed:
        """GET ``request.url`` (conditionally), following redirects; a feed or a ``FetchError``."""
        trail = _Trail(request.url)
        fetched_at = (now or datetime.now(UTC)).astimezone(UTC)
        deadline = asyncio.timeout(self.limits.deadline)
        try:
            async with deadline:
                return await self._follow(request, trail, fetched_at)
        except FetchError as exc:
            trail.situate(exc)
            raise
        except TimeoutError as exc:
            if not deadline.expired():
                raise trail.situate(translate(exc, self.limits.timeout)) from exc
            reason = f"timed out after {seconds(self.limits.deadline)} s"
            raise trail.situate(FetchTimeoutError(reason)) from exc
        except Exception as exc:
            raise trail.situate(translate(exc, self.limits.timeout)) from exc

    async def _follow(
        self, request: FetchRequest, trail: _Trail, fetched_at: datetime
    ) -> FetchedFeed:
        trail.visited.add(_loop_key(self._checked(request.url)))
        while True:
            response = await self._send(trail.url, request)
            try:
                if response.status_code not in REDIRECTS:
                    return await self._outcome(response, request, trail, fetched_at)
                self._redirect(response, trail)
            finally:
                await response.aclose()

    async def _send(self, url: str, request: FetchRequest) -> httpx.Response:
        headers = dict(self._headers)
        if request.etag:
            headers["If-None-Match"] = request.etag
        if request.last_modified:
            headers["If-Modified-Since"] = request.last_modified
        outgoing = httpx.Request(
            "GET", self._checked(url), headers=headers, extensions={"timeout": self._timeouts}
        )
        response = await self._transport.handle_async_request(outgoing)
        response.request = outgoing
        return response

    def _checked(self, url: str) -> httpx.URL:
        """``url`` parsed, refused unless http(s) with a host the guard accepts if it is an IP."""
        try:
            parsed = httpx.URL(url)
        except (httpx.InvalidURL, TypeError, ValueError) as exc:
            raise InvalidURLError(f"not a usable URL: {shown(url)} ({exc})") from exc
        if parsed.scheme not in ("http", "https"):
            raise InvalidURLError(f"not an http(s) URL: {shown(url)}")
        if not parsed.host:
            raise InvalidURLError(f"the URL has no host: {shown(url)}")
        if parsed.port is not None and not 0 < parsed.port < 65536:
            raise InvalidURLError(f"the URL has an impossible port: {shown(url)}")
        literal = parse_ip(parsed.host)
        if literal is not None:
            self.guard.check(parsed.host, [literal])
        return parsed

    def _redirect(self, response: httpx.Response, trail: _Trail) -> None:
        """Move ``trail`` to the redirect's target, or raise why it cannot be followed."""
        location = response.headers.get("location", "").strip()
        status = describe_status(response.status_code)
        if not location:
            raise HTTPStatusError(
                f"the server answered {status} without saying where to",
                status=response.status_code,
            )
        try:
            target = response.url.join(location).copy_with(fragment=None)
        except (httpx.InvalidURL, TypeError, ValueError) as exc:
            raise InvalidURLError(f"redirected to an unusable URL: {shown(location)}") from exc
        if target.scheme not in ("http", "https"):
            raise InvalidURLError(f"redirected to {shown(str(target))}, not an http(s) URL")
        key = _loop_key(target)
        if key in trail.visited:
            raise TooManyRedirectsError(f"redirect loop back to {shown(str(target))}")
        if len(trail.statuses) >= self.limits.max_redirects:
            raise TooManyRedirectsError(f"redirected more than {self.limits.max_redirects} times")
        trail.visited.add(key)
        trail.statuses.append(response.status_code)
        trail.url = str(target)

    async def _outcome(
        self, response: httpx.Response, request: FetchRequest, trail: _Trail, fetched_at: datetime
    ) -> FetchedFeed:
        status = response.status_code
        if status == 304:
            # A 304 has no body, but until its end is read the connection counts as mid-response
            # and closing the response closes the connection: read the end, keep the connection.
            await _read_end(response)
            return _feed(response, request, trail, fetched_at, body=None)
        if 200 <= status < 300:
            body = await self._read_body(response)
            return _feed(response, request, trail, fetched_at, body=body)
        raise status_error(status, response.headers, fetched_at)

    async def _read_body(self, response: httpx.Response) -> bytes:
        """The decoded body, never more than ``max_body`` bytes of it held."""
        limit = self.limits.max_body
        decoder = BodyDecoder(response.headers.get("content-encoding"), limit)
        declared = _content_length(response.headers)
        if decoder.coding == "identity" and declared is not None and declared > limit:
            raise too_large(limit)
        try:
            pieces = [decoder.feed(raw) async for raw in response.aiter_raw()]
        except (httpcore.NetworkError, httpcore.RemoteProtocolError) as exc:
            raise truncated(exc) from exc
        pieces.append(decoder.finish())
        return b"".join(pieces)


async def _read_end(response: httpx.Response) -> None:
    """Read a response that has no body to its end (nothing is kept)."""
    try:
        async for _ in response.aiter_raw():
            pass
    except (httpcore.NetworkError, httpcore.RemoteProtocolError) as exc:
        raise truncated(exc) from exc


def _loop_key(url: httpx.URL) -> str:
    return str(url.copy_with(fragment=None))


def _content_length(headers: httpx.Headers) -> int | None:
    value = headers.get("content-length", "").strip()
    return int(value) if value.isdigit() else None


def _feed(
    response: httpx.Response,
    request: FetchRequest,
    trail: _Trail,
    fetched_at: datetime,
    *,
    body: bytes | None,
) -> FetchedFeed:
    headers = response.headers
    etag = headers.get("etag")
    last_modified = headers.get("last-modified")
    if body is None:  # a 304 may omit the validators: the request's still hold
        etag = etag or request.etag
        last_modified = last_modified or request.last_modified
    return FetchedFeed(
        requested_url=request.url,
        url=trail.url,
        status=response.status_code,
        body=body,
        fetched_at=fetched_at,
        etag=etag,
        last_modified=last_modified,
        content_type=headers.get("content-type"),
        permanent_redirect=trail.permanent_target,
        cache_max_age=parse_max_age(headers.get("cache-control")),
        expires=parse_expires(headers.get("expires")),
        elapsed_seconds=time.monotonic() - trail.started,
    )


def status_error(status: int, headers: httpx.Headers, now: datetime) -> HTTPStatusError:
    """The error for a non-2xx, non-redirect answer (410 gone, 429/503 rate limited, others)."""
    described = describe_status(status)
    if status == 410:
        return GoneError(f"the publisher removed this feed ({described})", status=status)
    if status not in RATE_LIMITS:
        return HTTPStatusError(f"the server answered {described}", status=status)
    retry_after = parse_retry_after(headers.get("retry-after"), now)
    if status == 429:
        reason = f"rate limited ({status})"
    else:
        reason = f"the server is unavailable ({described})"
    if retry_after is None:
        reason += "; the server did not say for how long" if status == 429 else ""
    else:
        reason += f"; the server asks to wait until {_clock(retry_after, now)}"
    return RateLimitedError(reason, status=status, retry_after=retry_after)


def _clock(when: datetime, now: datetime) -> str:
    if when.date() == now.astimezone(UTC).date():
        return when.strftime("%H:%M UTC")
    return when.strftime("%Y-%m-%d %H:%M UTC")
