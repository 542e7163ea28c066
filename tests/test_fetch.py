"""Fetching against a real local HTTP server (tests/feedserver.py), the SSRF guard switched on.

127.0.0.2 plays a public host (the guard's test seam allows exactly that address); 127.0.0.1
stays refused, so redirects "into the network" can be tried for real. Tests run on asyncio through
anyio's pytest plugin (``@pytest.mark.anyio``), which ships with httpx's dependency anyio.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
import ssl
import tracemalloc
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address, ip_address, ip_network
from typing import Any

import httpcore
import pytest
import trustme
from feedserver import MIB, FeedServer, Route, encode, gzip_bomb

from service.errors import (
    BlockedAddressError,
    ConnectError,
    FetchError,
    FetchTimeoutError,
    GoneError,
    HTTPStatusError,
    InvalidURLError,
    RateLimitedError,
    TooLargeError,
    TooManyRedirectsError,
)
from service.ingest.fetch import Fetcher, FetchLimits
from service.ingest.netguard import IPAddress, NetGuard, build_transport
from service.records import FetchRequest

pytestmark = pytest.mark.anyio

PUBLIC = "127.0.0.2"  # the "public" host: allowed by the guard's test seam
PRIVATE = "127.0.0.1"  # refused by the guard like any loopback address
GUARD = NetGuard(allow=[ip_network(f"{PUBLIC}/32")])
NOW = datetime(2025, 3, 14, 14, 0, tzinfo=UTC)
FEED = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'
LIMITS = FetchLimits(timeout=5.0, deadline=10.0)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the fetcher's overall deadline uses asyncio.timeout


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer.running(hosts=(PUBLIC, PRIVATE)) as running:
        yield running


@pytest.fixture
async def fetcher() -> AsyncIterator[Fetcher]:
    async with Fetcher(LIMITS, guard=GUARD) as guarded:
        yield guarded


async def fetch_with(limits: FetchLimits, url: str, **kwargs: Any) -> Any:
    async with Fetcher(limits, guard=GUARD, **kwargs) as fetcher:
        return await fetcher.fetch(FetchRequest(url), now=NOW)


# --------------------------------------------------------------------------- 200 and 304


async def test_200_returns_body_validators_and_caching_headers(
    server: FeedServer, fetcher: Fetcher
) -> None:
    url = server.route(
        "/feed.xml",
        Route.feed(
            FEED,
            etag='"v1"',
            last_modified="Fri, 14 Mar 2025 12:00:00 GMT",
            headers=(
                ("Cache-Control", "public, max-age=600"),
                ("Expires", "Fri, 14 Mar 2025 15:00:00 GMT"),
            ),
        ),
    )
    feed = await fetcher.fetch(FetchRequest(url), now=NOW)
    assert (feed.status, feed.body, feed.not_modified) == (200, FEED, False)
    assert (feed.requested_url, feed.url, feed.permanent_redirect) == (url, url, None)
    assert feed.etag == '"v1"'
    assert feed.last_modified == "Fri, 14 Mar 2025 12:00:00 GMT"
    assert feed.content_type == "application/rss+xml; charset=utf-8"
    assert feed.cache_max_age == 600
    assert feed.expires == datetime(2025, 3, 14, 15, 0, tzinfo=UTC)
    assert feed.fetched_at == NOW
    assert feed.elapsed_seconds >= 0


async def test_conditional_get_round_trip_gives_304_without_body(
    server: FeedServer, fetcher: Fetcher
) -> None:
    modified = "Fri, 14 Mar 2025 12:00:00 GMT"
    url = server.route("/feed.xml", Route.feed(FEED, etag='"v1"', last_modified=modified))
    first = await fetcher.fetch(FetchRequest(url), now=NOW)
    again = FetchRequest(url, etag=first.etag, last_modified=first.last_modified)
    second = await fetcher.fetch(again, now=NOW)
    assert (second.status, second.body, second.not_modified) == (304, None, True)
    assert (second.etag, second.last_modified) == ('"v1"', modified)
    conditional = server.seen("/feed.xml")[1].headers
    assert conditional["if-none-match"] == '"v1"'
    assert conditional["if-modified-since"] == modified
    assert "if-none-match" not in server.seen("/feed.xml")[0].headers


async def test_304_without_validators_keeps_the_requests_own(
    server: FeedServer, fetcher: Fetcher
) -> None:
    modified = "Fri, 14 Mar 2025 12:00:00 GMT"
    url = server.route("/feed.xml", Route.feed(FEED, last_modified=modified))
    feed = await fetcher.fetch(FetchRequest(url, etag='"old"', last_modified=modified), now=NOW)
    assert feed.status == 304
    assert feed.etag == '"old"'  # the server's 304 carried no ETag: the stored one still holds


async def test_identifies_itself_and_asks_for_what_it_can_decode(
    server: FeedServer, fetcher: Fetcher
) -> None:
    url = server.route("/feed.xml", Route.feed(FEED))
    await fetcher.fetch(FetchRequest(url), now=NOW)
    headers = server.seen("/feed.xml")[0].headers
    assert headers["user-agent"] == LIMITS.user_agent
    assert "Staycurrent/" in headers["user-agent"]
    assert "https://github.com/staycurrent/staycurrent" in headers["user-agent"]
    assert headers["accept-encoding"] == "gzip, deflate"
    assert "application/rss+xml" in headers["accept"]


# --------------------------------------------------------------------------- body and encodings


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "raw-deflate"])
async def test_compressed_body_is_decoded(
    server: FeedServer, fetcher: Fetcher, encoding: str
) -> None:
    url = server.route("/feed.xml", Route.compressed(FEED * 50, encoding))
    feed = await fetcher.fetch(FetchRequest(url), now=NOW)
    assert feed.body == FEED * 50


async def test_gzip_with_several_members_is_decoded_whole(
    server: FeedServer, fetcher: Fetcher
) -> None:
    body = encode(FEED, "gzip") + encode(b"<!-- more -->", "gzip")
    url = server.route("/feed.xml", Route(body=body, headers=(("Content-Encoding", "gzip"),)))
    feed = await fetcher.fetch(FetchRequest(url), now=NOW)
    assert feed.body == FEED + b"<!-- more -->"


async def test_gzip_bomb_stops_at_the_cap_with_bounded_memory(
    server: FeedServer, fetcher: Fetcher
) -> None:
    bomb = gzip_bomb(1024 * MIB)
    assert len(bomb) < 2 * MIB
    url = server.route("/bomb.xml", Route(body=bomb, headers=(("Content-Encoding", "gzip"),)))
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        with pytest.raises(TooLargeError) as caught:
            await fetcher.fetch(FetchRequest(url), now=NOW)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert caught.value.reason == "the feed is larger than 10 MiB (decoded)"
    assert peak < 100 * MIB, f"peak traced memory {peak / MIB:.0f} MiB"


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_oversize_plain_body_is_refused(server: FeedServer, chunked: bool) -> None:
    limits = FetchLimits(timeout=5.0, deadline=10.0, max_body=64 * 1024)
    url = server.route("/big.xml", Route.feed(b"x" * (64 * 1024 + 1), chunked=chunked))
    with pytest.raises(TooLargeError, match=r"larger than 64 KiB \(decoded\)"):
        await fetch_with(limits, url)


async def test_a_body_exactly_at_the_cap_is_accepted(server: FeedServer) -> None:
    limits = FetchLimits(timeout=5.0, deadline=10.0, max_body=64 * 1024)
    body = b"y" * (64 * 1024)
    url = server.route("/edge.xml", Route.compressed(body, "gzip", chunked=True))
    assert (await fetch_with(limits, url)).body == body


async def test_too_large_content_length_is_refused_before_the_body_is_read(
    server: FeedServer,
) -> None:
    limits = FetchLimits(timeout=5.0, deadline=2.0, max_body=64 * 1024)
    # announces 10 GB and then drips: only the announcement can end this before the deadline
    route = Route.feed(b"z" * 100, content_length=10 * 1024**3, drip=1.0)
    url = server.route("/huge.xml", route)
    with pytest.raises(TooLargeError):
        await fetch_with(limits, url)


@pytest.mark.parametrize(
    ("route", "reason"),
    [
        (
            Route(body=b"brotli?", headers=(("Content-Encoding", "br"),)),
            "the server compressed the feed with 'br', which we did not ask for and cannot decode",
        ),
        (
            Route(body=b"<rss>not gzip at all</rss>", headers=(("Content-Encoding", "gzip"),)),
            "the server sent a body that is not valid gzip",
        ),
        (
            Route(body=encode(FEED * 20, "gzip")[:-30], headers=(("Content-Encoding", "gzip"),)),
            "the gzip body was cut short (it ends mid-stream)",
        ),
        (
            Route(body=b"x", headers=(("Content-Encoding", "gzip, gzip"),)),
            "the server compressed the feed several times (gzip, gzip)",
        ),
    ],
    ids=["brotli", "garbage-gzip", "truncated-gzip", "double-gzip"],
)
async def test_bad_content_encoding_is_a_clear_fetch_error(
    server: FeedServer, fetcher: Fetcher, route: Route, reason: str
) -> None:
    url = server.route("/enc.xml", route)
    with pytest.raises(FetchError) as caught:
        await fetcher.fetch(FetchRequest(url), now=NOW)
    assert caught.value.reason.startswith(reason)
    assert caught.value.url == url


# --------------------------------------------------------------------------- time limits


async def test_slow_drip_hits_the_overall_deadline(server: FeedServer) -> None:
    limits = FetchLimits(timeout=5.0, deadline=1.0)  # each byte comes well within the 5 s
    url = server.route("/drip.xml", Route.feed(FEED * 10, drip=0.1))
    with pytest.raises(FetchTimeoutError) as caught:
        await fetch_with(limits, url)
    assert caught.value.reason == "timed out after 1 s"


async def test_silent_server_hits_the_phase_timeout(server: FeedServer) -> None:
    limits = FetchLimits(timeout=0.5, deadline=10.0)
    url = server.route("/hang.xml", Route(hang=True))
    with pytest.raises(FetchTimeoutError) as caught:
        await fetch_with(limits, url)
    assert caught.value.reason == "timed out after 0.5 s waiting for the server to send data"


# --------------------------------------------------------------------------- redirects


def chain(server: FeedServer, statuses: list[int], *, final: Route | None = None) -> str:
    """/r0 -> /r1 -> ... -> /feed.xml with the given redirect statuses; returns /r0's URL."""
    for hop, status in enumerate(statuses):
        nxt = f"/r{hop + 1}" if hop + 1 < len(statuses) else "/feed.xml"
        server.route(f"/r{hop}", Route.redirect(server.url(nxt), status))
    server.route("/feed.xml", final or Route.feed(FEED))
    return server.url("/r0")


async def test_redirect_chain_within_the_limit_is_followed(
    server: FeedServer, fetcher: Fetcher
) -> None:
    start = chain(server, [302, 307, 301, 303, 308])
    feed = await fetcher.fetch(FetchRequest(start), now=NOW)
    assert feed.body == FEED
    assert (feed.requested_url, feed.url) == (start, server.url("/feed.xml"))
    assert feed.permanent_redirect is None  # temporary hops among them
    assert [server.hits(f"/r{hop}") for hop in range(5)] == [1, 1, 1, 1, 1]


@pytest.mark.parametrize("statuses", [[301], [301, 308, 301]])
async def test_permanent_chain_names_the_new_url(
    server: FeedServer, fetcher: Fetcher, statuses: list[int]
) -> None:
    feed = await fetcher.fetch(FetchRequest(chain(server, statuses)), now=NOW)
    assert feed.permanent_redirect == server.url("/feed.xml")


async def test_one_temporary_hop_means_no_permanent_redirect(
    server: FeedServer, fetcher: Fetcher
) -> None:
    feed = await fetcher.fetch(FetchRequest(chain(server, [301, 302, 301])), now=NOW)
    assert feed.url == server.url("/feed.xml")
    assert feed.permanent_redirect is None


async def test_relative_location_is_resolved_and_validators_follow(
    server: FeedServer, fetcher: Fetcher
) -> None:
    server.route("/old/feed", Route.redirect("../new/feed.xml#top", 301))
    server.route("/new/feed.xml", Route.feed(FEED, etag='"n"'))
    feed = await fetcher.fetch(FetchRequest(server.url("/old/feed"), etag='"n"'), now=NOW)
    assert (feed.status, feed.url) == (304, server.url("/new/feed.xml"))
    assert feed.permanent_redirect == server.url("/new/feed.xml")


async def test_too_many_redirects(server: FeedServer, fetcher: Fetcher) -> None:
    start = chain(server, [302] * 6)
    with pytest.raises(TooManyRedirectsError) as caught:
        await fetcher.fetch(FetchRequest(start), now=NOW)
    assert caught.value.reason.startswith("redirected more than 5 times")
    assert server.hits("/feed.xml") == 0
    assert server.hits("/r5") == 1  # the sixth redirect was received, not followed


async def test_redirects_can_be_turned_off(server: FeedServer) -> None:
    limits = FetchLimits(timeout=5.0, deadline=10.0, max_redirects=0)
    with pytest.raises(TooManyRedirectsError, match="redirected more than 0 times"):
        await fetch_with(limits, chain(server, [301]))


@pytest.mark.parametrize(
    "hops", [["/a", "/a"], ["/a", "/b", "/a"], ["/a", "/b", "/c", "/b"]], ids=str
)
async def test_redirect_loop_is_detected(
    server: FeedServer, fetcher: Fetcher, hops: list[str]
) -> None:
    for here, there in itertools.pairwise(hops):
        server.route(here, Route.redirect(there, 302))
    with pytest.raises(TooManyRedirectsError) as caught:
        await fetcher.fetch(FetchRequest(server.url(hops[0])), now=NOW)
    assert caught.value.reason.startswith(f"redirect loop back to {server.url(hops[-1])}")
    assert server.hits(hops[-1]) == 1  # nobody was asked twice


async def test_redirect_without_location(server: FeedServer, fetcher: Fetcher) -> None:
    url = server.route("/nowhere", Route(status=302))
    with pytest.raises(HTTPStatusError, match="302 Found without saying where to"):
        await fetcher.fetch(FetchRequest(url), now=NOW)


@pytest.mark.parametrize(
    "location", ["ftp://example.org/feed.xml", "file:///etc/passwd", "javascript:alert(1)"]
)
async def test_redirect_to_another_scheme_is_refused(
    server: FeedServer, fetcher: Fetcher, location: str
) -> None:
    url = server.route("/elsewhere", Route.redirect(location, 302))
    with pytest.raises(InvalidURLError, match="not an http\\(s\\) URL"):
        await fetcher.fetch(FetchRequest(url), now=NOW)


# --------------------------------------------------------------------------- SSRF guard


async def test_redirect_to_loopback_is_refused_without_reaching_it(
    server: FeedServer, fetcher: Fetcher
) -> None:
    server.route("/secret", Route.feed(b"internal"), host=PRIVATE)
    url = server.route("/feed.xml", Route.redirect(server.url("/secret", PRIVATE), 302))
    with pytest.raises(BlockedAddressError) as caught:
        await fetcher.fetch(FetchRequest(url), now=NOW)
    assert caught.value.reason == (
        f"refused: {PRIVATE} is a loopback address "
        f"(after a redirect to {server.url('/secret', PRIVATE)})"
    )
    assert server.hits("/secret") == 0
    assert server.hits("/feed.xml") == 1


class RecordingBackend(httpcore.AsyncNetworkBackend):
    """Opens real connections and remembers where it was asked to connect."""

    def __init__(self) -> None:
        self.attempts: list[str] = []
        self._real = httpcore.AnyIOBackend()

    async def connect_tcp(self, host: str, port: int, *args: Any) -> httpcore.AsyncNetworkStream:
        self.attempts.append(host)
        return await self._real.connect_tcp(host, port, *args)

    async def sleep(self, seconds: float) -> None:
        await self._real.sleep(seconds)


def fixed_resolver(answers: dict[str, list[str]]) -> Any:
    async def resolve(host: str, port: int) -> list[IPAddress]:
        return [ip_address(a) for a in answers[host]]

    return resolve


@pytest.mark.parametrize(
    "target", ["http://169.254.169.254/latest/meta-data/", "http://metadata.test/latest/"]
)
async def test_redirect_to_cloud_metadata_is_refused_with_no_connection_attempted(
    server: FeedServer, target: str
) -> None:
    backend = RecordingBackend()
    resolver = fixed_resolver({PUBLIC: [PUBLIC], "metadata.test": ["169.254.169.254"]})
    transport = build_transport(GUARD, resolver=resolver, backend=backend)
    url = server.route("/feed.xml", Route.redirect(target, 301))
    with pytest.raises(BlockedAddressError, match=r"169\.254\.169\.254.*a link-local address"):
        await fetch_with(LIMITS, url, transport=transport)
    assert backend.attempts == [PUBLIC]  # the first hop only


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:{port}/feed.xml", "refused: 127.0.0.1 is a loopback address"),
        ("http://10.0.0.5/feed", "refused: 10.0.0.5 is a private address"),
        ("http://169.254.169.254/", "refused: 169.254.169.254 is a link-local address"),
        ("http://100.64.1.1/", "refused: 100.64.1.1 is a carrier-grade NAT address"),
        ("http://0.0.0.0:{port}/", "refused: 0.0.0.0 is an unspecified (this-network) address"),
        ("http://[::1]:{port}/", "refused: ::1 is a loopback address"),
        ("http://[fd00::1]/", "refused: fd00::1 is a private (unique local) address"),
        (
            "http://[::ffff:127.0.0.1]:{port}/feed.xml",
            "refused: ::ffff:7f00:1 is a loopback address (127.0.0.1 inside IPv6)",
        ),
        (
            "http://[::ffff:169.254.169.254]/",
            "refused: ::ffff:a9fe:a9fe is a link-local address (169.254.169.254 inside IPv6)",
        ),
        (
            "http://[::ffff:0:7f00:1]:{port}/feed.xml",
            "refused: ::ffff:0:7f00:1 is a loopback address (127.0.0.1 inside IPv6)",
        ),
    ],
)
async def test_direct_private_url_is_refused(
    server: FeedServer, fetcher: Fetcher, url: str, reason: str
) -> None:
    server.route("/feed.xml", Route.feed(FEED))
    with pytest.raises(BlockedAddressError) as caught:
        await fetcher.fetch(FetchRequest(url.format(port=server.port)), now=NOW)
    assert caught.value.reason == reason
    assert server.connections == 0


async def test_hostname_resolving_to_loopback_is_refused(
    server: FeedServer, fetcher: Fetcher
) -> None:
    url = server.route("/feed.xml", Route.feed(FEED)).replace(PUBLIC, "localhost")
    with pytest.raises(BlockedAddressError, match=r"^refused: localhost resolves to "):
        await fetcher.fetch(FetchRequest(url), now=NOW)
    assert server.connections == 0


async def test_dns_rebinding_is_caught_at_connection_time(server: FeedServer) -> None:
    answers = iter([[PUBLIC], [PRIVATE]])

    async def rebinding(host: str, port: int) -> list[IPAddress]:
        return [ip_address(a) for a in next(answers)]  # public first, then private (TTL 0)

    transport = build_transport(GUARD, resolver=rebinding)
    server.route("/feed.xml", Route.feed(FEED, close=True), host="feeds.test")
    url = f"http://feeds.test:{server.port}/feed.xml"
    async with Fetcher(LIMITS, guard=GUARD, transport=transport) as fetcher:
        assert (await fetcher.fetch(FetchRequest(url), now=NOW)).body == FEED
        with pytest.raises(BlockedAddressError) as caught:
            await fetcher.fetch(FetchRequest(url), now=NOW)
    assert caught.value.reason == "refused: feeds.test resolves to 127.0.0.1, a loopback address"
    assert server.hits("/feed.xml") == 1


async def test_a_name_with_one_private_address_among_public_ones_is_refused(
    server: FeedServer,
) -> None:
    resolver = fixed_resolver({"mixed.test": [PUBLIC, PRIVATE]})
    transport = build_transport(GUARD, resolver=resolver)
    server.route("/feed.xml", Route.feed(FEED))
    with pytest.raises(BlockedAddressError, match=r"mixed\.test resolves to 127\.0\.0\.1"):
        await fetch_with(LIMITS, f"http://mixed.test:{server.port}/feed.xml", transport=transport)
    assert server.connections == 0


async def test_connects_to_the_vetted_address_but_keeps_the_host_name(server: FeedServer) -> None:
    backend = RecordingBackend()
    transport = build_transport(
        GUARD, resolver=fixed_resolver({"feeds.test": [PUBLIC]}), backend=backend
    )
    server.route("/feed.xml", Route.feed(FEED), host="feeds.test")
    feed = await fetch_with(
        LIMITS, f"http://feeds.test:{server.port}/feed.xml", transport=transport
    )
    assert feed.body == FEED
    assert backend.attempts == [PUBLIC]
    assert server.seen("/feed.xml")[0].host == "feeds.test"


async def test_allow_private_networks_lifts_the_guard(server: FeedServer) -> None:
    limits = FetchLimits(timeout=5.0, deadline=10.0, allow_private_networks=True)
    url = server.route("/feed.xml", Route.feed(FEED))
    async with Fetcher(limits) as fetcher:
        feed = await fetcher.fetch(FetchRequest(url.replace(PUBLIC, PRIVATE)), now=NOW)
    assert feed.body == FEED


async def test_the_guard_is_on_by_default(server: FeedServer) -> None:
    url = server.route("/feed.xml", Route.feed(FEED))
    async with Fetcher(FetchLimits()) as fetcher:
        with pytest.raises(BlockedAddressError):
            await fetcher.fetch(FetchRequest(url), now=NOW)  # 127.0.0.2 is loopback too


# --------------------------------------------------------------------------- statuses


async def test_410_is_gone(server: FeedServer, fetcher: Fetcher) -> None:
    url = server.route("/feed.xml", Route(status=410))
    with pytest.raises(GoneError) as caught:
        await fetcher.fetch(FetchRequest(url), now=NOW)
    assert (caught.value.status, caught.value.reason) == (
        410,
        "the publisher removed this feed (410 Gone)",
    )


@pytest.mark.parametrize(
    "case",
    [
        (
            429,
            "300",
            NOW + timedelta(seconds=300),
            "rate limited (429); the server asks to wait until 14:05 UTC",
        ),
        (
            429,
            "Fri, 14 Mar 2025 16:30:00 GMT",
            datetime(2025, 3, 14, 16, 30, tzinfo=UTC),
            "rate limited (429); the server asks to wait until 16:30 UTC",
        ),
        (429, None, None, "rate limited (429); the server did not say for how long"),
        (429, "soon", None, "rate limited (429); the server did not say for how long"),
        (
            503,
            "Sat, 15 Mar 2025 01:00:00 GMT",
            datetime(2025, 3, 15, 1, 0, tzinfo=UTC),
            "the server is unavailable (503 Service Unavailable); "
            "the server asks to wait until 2025-03-15 01:00 UTC",
        ),
        (503, None, None, "the server is unavailable (503 Service Unavailable)"),
    ],
)
async def test_rate_limits_carry_retry_after(
    server: FeedServer,
    fetcher: Fetcher,
    case: tuple[int, str | None, datetime | None, str],
) -> None:
    status, retry_after, expected, reason = case
    headers = (("Retry-After", retry_after),) if retry_after else ()
    url = server.route("/feed.xml", Route(status=status, headers=headers))
    with pytest.raises(RateLimitedError) as caught:
        await fetcher.fetch(FetchRequest(url), now=NOW)
    assert caught.value.status == status
    assert caught.value.retry_after == expected
    assert caught.value.reason == reason


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (404, "the server answered 404 Not Found"),
        (500, "the server answered 500 Internal Server Error"),
        (502, "the server answered 502 Bad Gateway"),
        (403, "the server answered 403 Forbidden"),
        (300, "the server answered 300 Multiple Choices"),
    ],
)
async def test_other_statuses_are_http_status_errors(
    server: FeedServer, fetcher: Fetcher, status: int, reason: str
) -> None:
    url = server.route("/feed.xml", Route(status=status, body=b"<html>nope</html>"))
    with pytest.raises(HTTPStatusError) as caught:
        await fetcher.fetch(FetchRequest(url), now=NOW)
    assert type(caught.value) is HTTPStatusError
    assert (caught.value.status, caught.value.reason, caught.value.url) == (status, reason, url)


async def test_status_error_after_redirect_says_where(server: FeedServer, fetcher: Fetcher) -> None:
    start = chain(server, [301], final=Route(status=404))
    with pytest.raises(HTTPStatusError) as caught:
        await fetcher.fetch(FetchRequest(start), now=NOW)
    assert caught.value.reason == (
        f"the server answered 404 Not Found (after a redirect to {server.url('/feed.xml')})"
    )
    assert caught.value.url == server.url("/feed.xml")


# --------------------------------------------------------------------------- broken connections


def free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


async def test_connection_refused(fetcher: Fetcher) -> None:
    url = f"http://{PUBLIC}:{free_port(PUBLIC)}/feed.xml"
    with pytest.raises(ConnectError) as caught:
        await fetcher.fetch(FetchRequest(url), now=NOW)
    assert caught.value.reason == "could not connect: connection refused"


async def test_unknown_host_is_a_connect_error() -> None:
    async def no_such_name(host: str, port: int) -> list[IPAddress]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")  # as getaddrinfo

    transport = build_transport(GUARD, resolver=no_such_name)
    with pytest.raises(ConnectError) as caught:
        await fetch_with(LIMITS, "http://no-such-host.test/feed", transport=transport)
    assert caught.value.reason == "could not resolve no-such-host.test: name or service not known"


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_connection_closed_mid_body(
    server: FeedServer, fetcher: Fetcher, chunked: bool
) -> None:
    url = server.route("/feed.xml", Route.feed(FEED * 100, cut_after=500, chunked=chunked))
    with pytest.raises(ConnectError) as caught:
        await fetcher.fetch(FetchRequest(url), now=NOW)
    assert caught.value.reason == "the connection closed before the whole feed arrived"


@pytest.mark.parametrize(
    ("route", "kind", "reason"),
    [
        (Route(reset=True), ConnectError, "the connection failed: connection reset by the server"),
        (Route(raw=b""), ConnectError, "the server closed the connection without answering"),
        (
            Route(raw=bytes(range(256)) * 4),
            FetchError,
            "the server's answer is not valid HTTP",
        ),
    ],
    ids=["reset", "closed", "random-bytes"],
)
async def test_broken_answers_are_clear_errors(
    server: FeedServer, fetcher: Fetcher, route: Route, kind: type[FetchError], reason: str
) -> None:
    url = server.route("/feed.xml", route)
    with pytest.raises(kind) as caught:
        await fetcher.fetch(FetchRequest(url), now=NOW)
    assert caught.value.reason.startswith(reason)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://example.org/feed.xml", "not an http(s) URL: ftp://example.org/feed.xml"),
        ("file:///etc/passwd", "not an http(s) URL: file:///etc/passwd"),
        ("feed.xml", "not an http(s) URL: feed.xml"),
        ("http:///feed.xml", "the URL has no host: http:///feed.xml"),
        ("http://[::1/feed", "not a usable URL: http://[::1/feed"),
        ("http://127.0.0.2:99999/feed", "the URL has an impossible port"),
    ],
)
async def test_unusable_urls_are_refused(fetcher: Fetcher, url: str, reason: str) -> None:
    with pytest.raises(InvalidURLError) as caught:
        await fetcher.fetch(FetchRequest(url), now=NOW)
    assert caught.value.reason.startswith(reason)
    assert caught.value.url == url


# --------------------------------------------------------------------------- TLS


@pytest.fixture(scope="module")
def authority() -> trustme.CA:
    return trustme.CA()


def tls_server(authority: trustme.CA, name: str) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert(name).configure_cert(context)
    return context


def tls_client(authority: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    authority.configure_trust(context)
    return context


async def test_https_connects_by_vetted_ip_and_verifies_the_host_name(
    authority: trustme.CA,
) -> None:
    with FeedServer.running(hosts=(PUBLIC,), tls=tls_server(authority, "feeds.test")) as server:
        server.route("/feed.xml", Route.feed(FEED))
        transport = build_transport(
            GUARD,
            resolver=fixed_resolver({"feeds.test": [PUBLIC]}),
            ssl_context=tls_client(authority),
        )
        url = f"https://feeds.test:{server.port}/feed.xml"
        feed = await fetch_with(LIMITS, url, transport=transport)
    assert feed.body == FEED


async def test_certificate_for_another_name_is_refused(authority: trustme.CA) -> None:
    with FeedServer.running(hosts=(PUBLIC,), tls=tls_server(authority, "other.test")) as server:
        server.route("/feed.xml", Route.feed(FEED))
        transport = build_transport(
            GUARD,
            resolver=fixed_resolver({"feeds.test": [PUBLIC]}),
            ssl_context=tls_client(authority),
        )
        with pytest.raises(ConnectError) as caught:
            await fetch_with(LIMITS, f"https://feeds.test:{server.port}/", transport=transport)
    assert caught.value.reason.startswith("the TLS certificate was refused: ")
    assert "feeds.test" in caught.value.reason  # hostname mismatch, checked on the name
    assert server.hits("/feed.xml") == 0


async def test_https_to_a_plain_http_server_is_a_tls_failure(
    server: FeedServer, fetcher: Fetcher
) -> None:
    url = server.route("/feed.xml", Route.feed(FEED)).replace("http://", "https://")
    with pytest.raises(ConnectError, match=r"^the TLS handshake failed: "):
        await fetcher.fetch(FetchRequest(url), now=NOW)


# --------------------------------------------------------------------------- settings


def test_limits_come_from_settings(make_settings: Any) -> None:
    settings = make_settings(
        http_timeout=7,
        http_deadline=12,
        http_max_body=2048,
        http_max_redirects=2,
        allow_private_networks=True,
    )
    assert FetchLimits.from_settings(settings) == FetchLimits(
        timeout=7,
        deadline=12,
        max_body=2048,
        max_redirects=2,
        allow_private_networks=True,
        user_agent=settings.user_agent,
    )
    assert FetchLimits().user_agent == settings.user_agent


async def test_default_guard_follows_the_setting() -> None:
    async with Fetcher(FetchLimits()) as guarded:
        assert guarded.guard.refusal(IPv4Address("10.1.2.3")) == "a private address"
    async with Fetcher(FetchLimits(allow_private_networks=True)) as open_fetcher:
        assert open_fetcher.guard.refusal(IPv4Address("10.1.2.3")) is None


# ------------------------------------------------------------------------- one fetcher, many tasks


async def test_cancellation_passes_through_and_the_fetcher_stays_usable(
    server: FeedServer, fetcher: Fetcher
) -> None:
    slow = server.route("/slow.xml", Route.feed(FEED, drip=0.2))
    task = asyncio.create_task(fetcher.fetch(FetchRequest(slow), now=NOW))
    while server.hits("/slow.xml") == 0:
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    url = server.route("/feed.xml", Route.feed(FEED))
    assert (await fetcher.fetch(FetchRequest(url), now=NOW)).body == FEED


async def test_a_fetch_after_a_deadline_works_on_the_same_fetcher(server: FeedServer) -> None:
    limits = FetchLimits(timeout=5.0, deadline=0.5)
    drip = server.route("/drip.xml", Route.feed(FEED, drip=0.1))
    url = server.route("/feed.xml", Route.feed(FEED))
    async with Fetcher(limits, guard=GUARD) as fetcher:
        with pytest.raises(FetchTimeoutError):
            await fetcher.fetch(FetchRequest(drip), now=NOW)
        assert (await fetcher.fetch(FetchRequest(url), now=NOW)).body == FEED


async def test_concurrent_fetches_share_one_fetcher(server: FeedServer, fetcher: Fetcher) -> None:
    urls = [server.route(f"/f{n}.xml", Route.feed(FEED + b"%d" % n, delay=0.05)) for n in range(20)]
    feeds = await asyncio.gather(*(fetcher.fetch(FetchRequest(u), now=NOW) for u in urls))
    assert [feed.body for feed in feeds] == [FEED + b"%d" % n for n in range(20)]
    assert server.max_concurrent(PUBLIC) > 1
