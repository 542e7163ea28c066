"""The SSRF guard: which addresses a feed fetch may connect to, enforced where the socket is opened.

Sources can be added by users (API, OPML import), so a feed URL must not reach inside the network:
loopback, private, link-local (cloud metadata at 169.254.169.254), CGNAT, multicast, reserved,
unspecified, broadcast and documentation addresses are refused, and so are IPv6 forms that embed
such an IPv4 address (IPv4-mapped ``::ffff:127.0.0.1``, IPv4-translated (SIIT)
``::ffff:0:7f00:1``, NAT64 ``64:ff9b::a00:5``, 6to4 ``2002:a00:5::``).

The check runs on the address actually connected to: ``GuardedBackend`` is an httpcore network
backend that resolves the host name itself, vets every address the name resolves to, and then opens
the TCP connection to a vetted IP. The name is never resolved a second time, so DNS rebinding (a
public answer for the check, a private one for the connect) has nothing to exploit. TLS still runs
on the original host name: httpcore passes it as SNI and the certificate is verified against it.
Every redirect hop opens its own connection, so every hop passes through here.

``GuardedTransport`` puts that backend under httpx (``build_transport`` assembles the two).
"""

from __future__ import annotations

import functools
import socket
import ssl
import time
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

import anyio
import httpcore
import httpx

from service.errors import BlockedAddressError, ConnectError

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network
Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]
"""Turns a host name and port into the addresses to try, in order (the seam for tests)."""

_V4_BLOCKED: tuple[tuple[str, str], ...] = (
    ("0.0.0.0/8", "an unspecified (this-network) address"),
    ("10.0.0.0/8", "a private address"),
    ("100.64.0.0/10", "a carrier-grade NAT address"),
    ("127.0.0.0/8", "a loopback address"),
    ("169.254.0.0/16", "a link-local address"),
    ("172.16.0.0/12", "a private address"),
    ("192.0.0.0/24", "a reserved (IETF protocol) address"),
    ("192.0.2.0/24", "a documentation address"),
    ("192.88.99.0/24", "a reserved (6to4 relay) address"),
    ("192.168.0.0/16", "a private address"),
    ("198.18.0.0/15", "a reserved (benchmarking) address"),
    ("198.51.100.0/24", "a documentation address"),
    ("203.0.113.0/24", "a documentation address"),
    ("224.0.0.0/4", "a multicast address"),
    ("255.255.255.255/32", "a broadcast address"),
    ("240.0.0.0/4", "a reserved address"),
)
_V6_BLOCKED: tuple[tuple[str, str], ...] = (
    ("::/128", "an unspecified address"),
    ("::1/128", "a loopback address"),
    ("::/96", "a reserved (IPv4-compatible) address"),
    ("64:ff9b:1::/48", "a private NAT64 address"),
    ("100::/64", "a reserved (discard) address"),
    ("2001::/32", "a reserved (Teredo tunnel) address"),
    ("2001:db8::/32", "a documentation address"),
    ("3fff::/20", "a documentation address"),
    ("fc00::/7", "a private (unique local) address"),
    ("fe80::/10", "a link-local address"),
    ("fec0::/10", "a private (site-local) address"),
    ("ff00::/8", "a multicast address"),
)
_NAT64 = IPv6Network("64:ff9b::/96")
_TRANSLATED = IPv6Network("::ffff:0:0:0/96")  # SIIT, RFC 7915
_SIX_TO_FOUR = IPv6Network("2002::/16")


def _table(rows: tuple[tuple[str, str], ...]) -> tuple[tuple[IPNetwork, str], ...]:
    return tuple((ip_network(net), label) for net, label in rows)


_BLOCKED = _table(_V4_BLOCKED) + _table(_V6_BLOCKED)


def embedded_ipv4(address: IPv6Address) -> IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, translated, NAT64 or 6to4), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64 or address in _TRANSLATED:
        return IPv4Address(int(address) & 0xFFFFFFFF)
    return address.sixtofour


def _label(address: IPAddress) -> str | None:
    """Why the bare address is refused (no unwrapping), or None when it is public."""
    for network, label in _BLOCKED:
        if address.version == network.version and address in network:
            return label
    if not address.is_global:
        return "a reserved address"
    return None


@dataclass(frozen=True, slots=True)
class NetGuard:
    """The policy: which addresses a fetch may connect to.

    ``allow_all`` lifts the guard (``STAYCURRENT_ALLOW_PRIVATE_NETWORKS``). ``allow`` is the narrow
    seam for tests and LAN setups: networks that pass although they would be refused, e.g.
    ``NetGuard(allow=[ip_network("127.0.0.2/32")])`` lets a test serve a "public" host on
    127.0.0.2 while 127.0.0.1 stays refused.
    """

    allow: Sequence[IPNetwork] = ()
    allow_all: bool = False

    def refusal(self, address: IPAddress) -> str | None:
        """Why ``address`` is refused ("a loopback address", ...), or None when it may be used."""
        if self.allow_all or self._allowed(address):
            return None
        inner = embedded_ipv4(address) if isinstance(address, IPv6Address) else None
        if inner is None:
            return _label(address)
        # mapped, translated, NAT64 and 6to4 forms reach the IPv4 address they embed: judge that one
        if self._allowed(inner):
            return None
        label = _label(inner)
        return None if label is None else f"{label} ({inner} inside IPv6)"

    def _allowed(self, address: IPAddress) -> bool:
        return any(address.version == net.version and address in net for net in self.allow)

    def check(self, host: str, addresses: Iterable[IPAddress]) -> None:
        """Raise ``BlockedAddressError`` if any address ``host`` resolved to is refused."""
        for address in addresses:
            label = self.refusal(address)
            if label is not None:
                raise BlockedAddressError(_blocked_reason(host, address, label))


def _blocked_reason(host: str, address: IPAddress, label: str) -> str:
    if parse_ip(host) is not None:
        return f"refused: {address} is {label}"
    return f"refused: {host} resolves to {address}, {label}"


def parse_ip(host: str) -> IPAddress | None:
    """The address a URL host literally names (``[::1]`` brackets allowed), else None."""
    try:
        return ip_address(host.strip("[]"))
    except ValueError:
        return None


async def system_resolver(host: str, port: int) -> list[IPAddress]:
    """Resolve ``host`` with the operating system (getaddrinfo), keeping its order, no repeats."""
    literal = parse_ip(host)
    if literal is not None:
        return [literal]
    infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    found: list[IPAddress] = []
    for *_, sockaddr in infos:
        address = ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in found:
            found.append(address)
    return found


def _gai_message(exc: Exception) -> str:
    if isinstance(exc, socket.gaierror) and exc.strerror:
        return exc.strerror.lower()
    return str(exc) or type(exc).__name__


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """An httpcore network backend that connects only to addresses the guard accepts.

    ``resolver`` and ``backend`` (the one that opens sockets) are seams for tests; by default the
    system resolver and httpcore's own backend are used.
    """

    def __init__(
        self,
        guard: NetGuard,
        *,
        resolver: Resolver = system_resolver,
        backend: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self.guard = guard
        self._resolve = resolver
        self._backend = backend or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await self._resolve_within(host, port, timeout)
        self.guard.check(host, addresses)
        last_error: Exception | None = None
        for address in addresses:
            try:
                return await self._backend.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
        if last_error is None:
            raise ConnectError(f"could not resolve {host}: no addresses")
        raise last_error

    async def _resolve_within(self, host: str, port: int, timeout: float | None) -> list[IPAddress]:
        try:
            with anyio.fail_after(timeout):
                return await self._resolve(host, port)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"resolving {host} took too long") from exc
        except (OSError, UnicodeError) as exc:  # socket.gaierror is an OSError
            raise ConnectError(f"could not resolve {host}: {_gai_message(exc)}") from exc

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise BlockedAddressError(f"refused: unix socket {path} is not a network address")

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)


class _CoreStream(httpx.AsyncByteStream):
    """An httpcore response body seen as an httpx stream; ``on_close`` runs once it is closed."""

    def __init__(self, stream: AsyncIterable[bytes], on_close: Callable[[], None]) -> None:
        self._stream = stream
        self._on_close: Callable[[], None] | None = on_close

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for part in self._stream:
            yield part

    async def aclose(self) -> None:
        try:
            aclose = getattr(self._stream, "aclose", None)
            if aclose is not None:
                await aclose()
        finally:
            on_close, self._on_close = self._on_close, None
            if on_close is not None:
                on_close()


Origin = tuple[bytes, bytes, int | None]
KEEPALIVE_SECONDS = 5.0


@dataclass(slots=True)
class _OriginPool:
    """The connections to one origin, the requests on them now, and when one last started."""

    pool: httpcore.AsyncConnectionPool
    active: int = 0
    last_used: float = 0.0

    def done(self) -> None:
        self.active -= 1
        self.last_used = time.monotonic()


class GuardedTransport(httpx.AsyncBaseTransport):
    """An httpx transport on httpcore pools whose every connection is opened by the guard.

    Built on httpcore's public API (not httpx's private pool attribute), so an httpx upgrade
    cannot silently drop the guard. httpcore exceptions pass through untranslated; ``Fetcher``
    translates them.

    One pool per origin: httpcore's pool looks at every connection it holds (a socket check on
    each) at every request and every response closed, so one pool for all hosts costs a worker
    more the more hosts it keeps connections to. A pool nobody used for the keep-alive time is
    closed (looked for at most once a second), as its idle connections would have been.
    """

    def __init__(
        self,
        backend: httpcore.AsyncNetworkBackend,
        *,
        ssl_context: ssl.SSLContext | None = None,
        max_connections: int = 100,
        max_keepalive_connections: int = 100,
    ) -> None:
        # Every open connection may stay open (for 5 s): a worker takes turns on many hosts,
        # and with fewer kept than in use most requests paid for a new connection and a close.
        context = ssl_context or httpx.create_ssl_context(trust_env=False)
        self._new_pool = functools.partial(
            httpcore.AsyncConnectionPool,
            ssl_context=context,
            max_connections=max_connections,
            max_keepalive_connections=max_keepalive_connections,
            keepalive_expiry=KEEPALIVE_SECONDS,
            http1=True,
            http2=False,
            network_backend=backend,
        )
        self._pools: dict[Origin, _OriginPool] = {}
        self._swept = time.monotonic()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.AsyncByteStream)
        url = request.url
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        await self._close_unused()
        origin = self._origin((url.raw_scheme, url.raw_host, url.port))
        origin.active += 1
        try:
            core_response = await origin.pool.handle_async_request(core_request)
        except BaseException:
            origin.done()
            raise
        assert isinstance(core_response.stream, AsyncIterable)
        return httpx.Response(
            status_code=core_response.status,
            headers=core_response.headers,
            stream=_CoreStream(core_response.stream, origin.done),
            extensions=core_response.extensions,
        )

    def _origin(self, key: Origin) -> _OriginPool:
        origin = self._pools.get(key)
        if origin is None:
            origin = self._pools[key] = _OriginPool(self._new_pool())
        origin.last_used = time.monotonic()
        return origin

    async def _close_unused(self) -> None:
        now = time.monotonic()
        if now - self._swept < 1.0:
            return
        self._swept = now
        unused = [
            key
            for key, origin in self._pools.items()
            if not origin.active and now - origin.last_used > KEEPALIVE_SECONDS
        ]
        closing = [self._pools.pop(key).pool for key in unused]  # before any await: a request
        for pool in closing:  # made meanwhile gets a new pool, never one being closed
            await pool.aclose()

    async def aclose(self) -> None:
        pools, self._pools = list(self._pools.values()), {}
        for origin in pools:
            await origin.pool.aclose()


def build_transport(
    guard: NetGuard,
    *,
    resolver: Resolver = system_resolver,
    ssl_context: ssl.SSLContext | None = None,
    backend: httpcore.AsyncNetworkBackend | None = None,
) -> GuardedTransport:
    """The transport a ``Fetcher`` uses: the guard on every connection.

    ``resolver``, ``ssl_context`` and ``backend`` are seams for tests (a fixed DNS answer, a test
    CA, a backend that records connection attempts).
    """
    return GuardedTransport(
        GuardedBackend(guard, resolver=resolver, backend=backend), ssl_context=ssl_context
    )
