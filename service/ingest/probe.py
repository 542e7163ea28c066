"""Before a feed URL is accepted: is it usable, may we connect to it, and what is there?

- ``check_feed_url`` (pure): an absolute http(s) URL with a host, no credentials, no whitespace,
  at most 2048 characters; a literal IP address or a ``localhost`` name must pass the SSRF guard.
- ``vet_feed_address``: resolves the host and refuses it if any address it resolves to is one
  the guard refuses (loopback, private, link-local …). The fetcher checks the connected address
  again on every fetch, so a name that changes its answer later is still refused then.
- ``probe_feed``: one fetch and parse, and a report of what was found (title, entries, a guess
  at the kind) — or the reason in words. Failures are values, never raised.
- ``guess_kind`` (pure): paper, podcast, video or post, from the URL and what the feed holds.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from ipaddress import ip_address
from urllib.parse import urlsplit

import httpx

from service.errors import ConnectError, FetchError, InvalidURLError, ParseError
from service.ingest.fetch import Fetcher, shown
from service.ingest.netguard import NetGuard, Resolver, parse_ip, system_resolver
from service.ingest.parse import parse_feed
from service.records import FetchRequest, Kind, ParsedFeed

MAX_URL_CHARS = 2048
LOOPBACK = ip_address("127.0.0.1")  # what a localhost name stands for
RESOLVE_TIMEOUT = 10.0
_LOCAL_NAMES = ("localhost", "localhost.localdomain")
_VIDEO_HOSTS = ("youtube.com", "www.youtube.com", "vimeo.com")
_PAPER_HOSTS = ("arxiv.org", "export.arxiv.org", "rss.arxiv.org")


def _is_local_name(host: str) -> bool:
    host = host.lower().rstrip(".")
    return host in _LOCAL_NAMES or host.endswith(".localhost")


def check_feed_url(url: str, guard: NetGuard) -> str:
    """``url`` stripped, or ``InvalidURLError`` / ``BlockedAddressError`` saying what is wrong."""
    url = url.strip()
    if not url or len(url) > MAX_URL_CHARS:
        raise InvalidURLError(f"a feed URL has 1 to {MAX_URL_CHARS} characters")
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        raise InvalidURLError(f"the URL holds spaces or control characters: {shown(url)!r}")
    try:
        parsed = httpx.URL(url)
        port = parsed.port
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise InvalidURLError(f"not a usable URL: {shown(url)} ({exc})") from exc
    if parsed.scheme not in ("http", "https") or "://" not in url:
        raise InvalidURLError(f"not an absolute http(s) URL: {shown(url)}")
    if not parsed.host:
        raise InvalidURLError(f"the URL has no host: {shown(url)}")
    if parsed.userinfo:
        raise InvalidURLError("the URL holds a user name or password: feeds with those are refused")
    if port is not None and not 0 < port < 65536:
        raise InvalidURLError(f"the URL has an impossible port: {shown(url)}")
    _check_literal_host(parsed.host, guard)
    return url


def _check_literal_host(host: str, guard: NetGuard) -> None:
    literal = parse_ip(host)
    if literal is not None:
        guard.check(host, [literal])
    elif _is_local_name(host) and not guard.allow_all:
        guard.check(host, [LOOPBACK])


async def vet_feed_address(
    url: str, guard: NetGuard, *, resolver: Resolver = system_resolver
) -> None:
    """Resolve the URL's host and refuse it if any address is one ``guard`` refuses."""
    if guard.allow_all:
        return
    parsed = httpx.URL(url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        async with asyncio.timeout(RESOLVE_TIMEOUT):
            addresses = await resolver(parsed.host, port)
    except TimeoutError as exc:
        raise ConnectError(f"could not resolve {parsed.host}: no answer in time") from exc
    except (OSError, UnicodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConnectError(f"could not resolve {parsed.host}: {why.lower()}") from exc
    if not addresses:
        raise ConnectError(f"could not resolve {parsed.host}: no addresses")
    guard.check(parsed.host, addresses)


@dataclass(frozen=True, slots=True)
class ProbeReport:
    """What one fetch and parse of a feed URL found, or why it failed (``error``)."""

    ok: bool
    url: str
    final_url: str | None = None
    title: str | None = None
    site_url: str | None = None
    format: str | None = None
    entries: int = 0
    kind_guess: Kind | None = None
    warning: str | None = None
    error: str | None = None


def guess_kind(url: str, feed: ParsedFeed | None = None) -> Kind:
    """paper for arXiv, video for video sites, podcast for audio feeds, else post."""
    host = (urlsplit(url).hostname or "").lower()
    if host in _PAPER_HOSTS:
        return "paper"
    if host in _VIDEO_HOSTS:
        return "video"
    if feed is not None and feed.is_podcast:
        return "podcast"
    if feed is not None and any(e.arxiv_primary_category for e in feed.entries[:20]):
        return "paper"
    return "post"


async def probe_feed(url: str, fetcher: Fetcher, *, now: datetime) -> ProbeReport:
    """Fetch and parse ``url`` once; the report says what is there or what went wrong."""
    try:
        fetched = await fetcher.fetch(FetchRequest(url=url), now=now)
        parsed = await asyncio.to_thread(
            parse_feed, fetched.body or b"", content_type=fetched.content_type, url=fetched.url
        )
    except (FetchError, ParseError) as exc:
        return ProbeReport(ok=False, url=url, error=exc.reason)
    return ProbeReport(
        ok=True,
        url=url,
        final_url=fetched.url,
        title=parsed.title.strip() or None,
        site_url=parsed.link,
        format=parsed.format or None,
        entries=len(parsed.entries),
        kind_guess=guess_kind(fetched.url, parsed),
        warning=parsed.warning,
    )
