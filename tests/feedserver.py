"""A real, programmable HTTP/1.1 server for fetch, poller and reliability tests.

It speaks raw HTTP over asyncio streams, so a route can misbehave in ways a framework would not
allow: drip the body a byte at a time, cut the connection mid-body, reset it, hang, lie about the
length, send random bytes instead of HTTP. It listens on one ephemeral port on one or several
loopback addresses (``127.0.0.x``), counts requests per path and tracks how many requests are in
flight at once per Host, so tests can assert politeness limits.

Two ways to run it::

    with FeedServer.running(hosts=("127.0.0.1", "127.0.0.2")) as server:   # own thread and loop
        url = server.route("/feed.xml", Route.feed(b"<rss .../>", etag='"v1"'))
        ...                                   # any process on this machine may fetch ``url``
        assert server.hits("/feed.xml") == 1

    async with FeedServer() as server:       # inside the test's running event loop
        ...

Routes are plain frozen data. Several routes given for one path are served in turn, the last one
repeating (``server.route("/f", Route(status=503), Route.feed(body))``: one 503, then the feed).
A route may be bound to one Host (``host="127.0.0.2"`` or a name a test resolver maps).
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import socket
import ssl
import struct
import threading
import zlib
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field, replace
from http import HTTPStatus
from types import TracebackType
from typing import Self

MIB = 1024 * 1024
_HEAD_LIMIT = 64 * 1024


@dataclass(frozen=True)
class Route:
    """What the server answers on one path: an HTTP response, or a way to misbehave."""

    status: int = 200
    body: bytes = b""
    content_type: str | None = "application/rss+xml; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()
    etag: str | None = None  # answer 304 when If-None-Match carries it
    last_modified: str | None = None  # answer 304 when If-Modified-Since equals it
    chunked: bool = False  # Transfer-Encoding: chunked instead of Content-Length
    content_length: int | None = None  # announce this length instead of the real one
    delay: float = 0.0  # seconds before the status line
    gate: str | None = None  # hold the answer until ``server.open_gate(gate)``
    drip: float | None = None  # seconds between body pieces of ``drip_bytes``
    drip_bytes: int = 1
    cut_after: int | None = None  # close the connection after this many body bytes
    reset: bool = False  # answer nothing: reset the connection (RST)
    hang: bool = False  # answer nothing: wait until the client gives up
    raw: bytes | None = None  # send these bytes instead of an HTTP response, then close
    close: bool = False  # Connection: close after answering

    @classmethod
    def feed(cls, body: bytes, **options: object) -> Route:
        """A 200 serving ``body``."""
        return cls(body=body, **options)  # type: ignore[arg-type]

    @classmethod
    def redirect(cls, location: str, status: int = 301, **options: object) -> Route:
        """A redirect to ``location`` (absolute or relative, sent as is)."""
        headers = (("Location", location),)
        return cls(status=status, content_type=None, headers=headers, **options)  # type: ignore[arg-type]

    @classmethod
    def compressed(cls, body: bytes, encoding: str = "gzip", **options: object) -> Route:
        """A 200 whose body is ``body`` encoded with ``encoding`` (gzip, deflate, raw-deflate)."""
        encoded = encode(body, encoding)
        name = "deflate" if encoding == "raw-deflate" else encoding
        route = cls(body=encoded, **options)  # type: ignore[arg-type]
        return replace(route, headers=(*route.headers, ("Content-Encoding", name)))


def encode(body: bytes, encoding: str) -> bytes:
    """``body`` compressed as a server would send it with that Content-Encoding."""
    if encoding == "gzip":
        return gzip.compress(body, mtime=0)
    if encoding == "deflate":
        return zlib.compress(body)
    if encoding == "raw-deflate":
        compressor = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
        return compressor.compress(body) + compressor.flush()
    raise ValueError(f"unknown encoding {encoding!r}")


def gzip_bomb(decoded_size: int = 1024 * MIB, block: int = MIB) -> bytes:
    """A single-member gzip stream of ``decoded_size`` zero bytes (1 GiB -> about 1 MB).

    Built without compressing a gigabyte: after a full flush a deflate compressor forgets its
    history, so compressing the same block again yields the same bytes, which are repeated.
    """
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    zeros = bytes(block)
    segment = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    count, remainder = divmod(decoded_size, block)
    tail = compressor.compress(bytes(remainder)) + compressor.flush(zlib.Z_FINISH)
    crc = 0
    for _ in range(count):
        crc = zlib.crc32(zeros, crc)
    crc = zlib.crc32(bytes(remainder), crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    trailer = struct.pack("<II", crc, decoded_size & 0xFFFFFFFF)
    return header + segment * count + tail + trailer


@dataclass(frozen=True)
class SeenRequest:
    """One request as the server received it."""

    method: str
    path: str  # without the query string
    target: str  # as sent, query included
    host: str  # the Host header without the port
    headers: dict[str, str]  # lower-cased names
    local_address: str  # the 127.0.0.x it arrived on


@dataclass
class _Tally:
    """Counters shared between the server's loop and the test (guarded by ``lock``)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: list[SeenRequest] = field(default_factory=list)
    in_flight: Counter[str] = field(default_factory=Counter)
    peak: Counter[str] = field(default_factory=Counter)
    connections: int = 0


class FeedServer:
    """The server; see the module docstring."""

    def __init__(
        self, hosts: tuple[str, ...] = ("127.0.0.1",), *, tls: ssl.SSLContext | None = None
    ) -> None:
        self.hosts = hosts
        self.tls = tls
        self.port = 0
        self._routes: dict[tuple[str | None, str], list[Route]] = {}
        self._served: Counter[tuple[str | None, str]] = Counter()
        self._tally = _Tally()
        self._servers: list[asyncio.Server] = []
        self._handlers: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._gates: dict[str, asyncio.Event] = {}

    # ---------------------------------------------------------------- programming and reading

    def url(self, path: str, host: str | None = None) -> str:
        """The URL of ``path`` on ``host`` (default: the first address served)."""
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{host or self.hosts[0]}:{self.port}{path}"

    def route(self, path: str, *routes: Route, host: str | None = None) -> str:
        """Serve ``routes`` on ``path`` (in turn, the last repeating); returns its URL."""
        if not routes:
            raise ValueError("give at least one Route")
        with self._tally.lock:
            self._routes[(host, path)] = list(routes)
            self._served[(host, path)] = 0
        return self.url(path, host if host in self.hosts else None)

    def hits(self, path: str, host: str | None = None) -> int:
        """How many requests arrived for ``path`` (on ``host`` only, if given)."""
        return len(self.seen(path, host))

    def seen(self, path: str | None = None, host: str | None = None) -> list[SeenRequest]:
        """The requests received, optionally only those for ``path`` and/or ``host``."""
        with self._tally.lock:
            found = list(self._tally.requests)
        return [
            r
            for r in found
            if (path is None or r.path == path)
            and (host is None or host in (r.host, r.local_address))
        ]

    def in_flight(self, host: str) -> int:
        """Requests for ``host`` received and not yet answered, now."""
        with self._tally.lock:
            return self._tally.in_flight[host]

    def open_gate(self, name: str) -> None:
        """Release every request held by routes with ``gate=name``, and those still to come."""
        assert self._loop is not None, "the server is not running"
        self._loop.call_soon_threadsafe(self._gate(name).set)

    def _gate(self, name: str) -> asyncio.Event:
        return self._gates.setdefault(name, asyncio.Event())

    def max_concurrent(self, host: str) -> int:
        """The most requests that were in flight at once for ``host`` (Host header name)."""
        with self._tally.lock:
            return self._tally.peak[host]

    def reset_peaks(self) -> None:
        """Forget the most-in-flight counts (to measure the next round on its own)."""
        with self._tally.lock:
            self._tally.peak.clear()

    @property
    def connections(self) -> int:
        """TCP connections accepted so far."""
        with self._tally.lock:
            return self._tally.connections

    # ---------------------------------------------------------------- running

    async def start(self) -> None:
        """Listen on every host, on one shared ephemeral port."""
        self._loop = asyncio.get_running_loop()
        for _attempt in range(20):
            try:
                await self._listen()
                return
            except OSError:
                await self._close_servers()
        raise OSError(f"could not find a free port shared by {self.hosts}")

    async def _listen(self) -> None:
        port = 0
        for host in self.hosts:
            server = await asyncio.start_server(
                self._connection, host, port, limit=_HEAD_LIMIT, reuse_address=True, ssl=self.tls
            )
            self._servers.append(server)
            port = server.sockets[0].getsockname()[1]
        self.port = port

    async def _close_servers(self) -> None:
        for server in self._servers:
            server.close()
        self._servers.clear()

    async def aclose(self) -> None:
        """Stop listening and drop every open connection."""
        await self._close_servers()
        for writer in list(self._writers):
            writer.transport.abort()
        if self._handlers:
            _, pending = await asyncio.wait(list(self._handlers), timeout=5)
            for task in pending:
                task.cancel()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    @classmethod
    @contextlib.contextmanager
    def running(
        cls, hosts: tuple[str, ...] = ("127.0.0.1",), *, tls: ssl.SSLContext | None = None
    ) -> Iterator[FeedServer]:
        """Run a server in a thread of its own (its own event loop) for the ``with`` block."""
        server = cls(hosts, tls=tls)
        ready = threading.Event()
        stop: list[asyncio.Event] = []
        failure: list[BaseException] = []

        async def main() -> None:
            stop.append(asyncio.Event())
            try:
                await server.start()
            except BaseException as exc:
                failure.append(exc)
                ready.set()
                return
            ready.set()
            await stop[0].wait()
            await server.aclose()

        thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
        thread.start()
        ready.wait()
        if failure:
            raise failure[0]
        try:
            yield server
        finally:
            assert server._loop is not None
            server._loop.call_soon_threadsafe(stop[0].set)
            thread.join(timeout=10)

    # ---------------------------------------------------------------- serving

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        self._writers.add(writer)
        with self._tally.lock:
            self._tally.connections += 1
        local = writer.get_extra_info("sockname")[0]
        try:
            while await self._exchange(reader, writer, local):
                pass
        except (
            ConnectionError,
            ssl.SSLError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
        ):
            pass
        finally:
            self._handlers.discard(task)
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(ConnectionError, OSError, asyncio.CancelledError):
                await writer.wait_closed()

    async def _exchange(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, local: str
    ) -> bool:
        """Serve one request; whether the connection stays open for another."""
        head = await reader.readuntil(b"\r\n\r\n")
        request = _parse_head(head, local)
        length = request.headers.get("content-length", "0")
        if length.isdigit() and int(length):
            await reader.readexactly(int(length))
        route = self._pick(request)
        self._arrive(request)
        try:
            if route.gate is not None:
                await self._gate(route.gate).wait()
            return await _answer(route, request, reader, writer)
        finally:
            self._leave(request.host)

    def _pick(self, request: SeenRequest) -> Route:
        with self._tally.lock:
            for key in ((request.host, request.path), (None, request.path)):
                routes = self._routes.get(key)
                if routes is not None:
                    turn = self._served[key]
                    self._served[key] += 1
                    return routes[min(turn, len(routes) - 1)]
        return Route(status=404, body=b"not found", content_type="text/plain")

    def _arrive(self, request: SeenRequest) -> None:
        with self._tally.lock:
            self._tally.requests.append(request)
            self._tally.in_flight[request.host] += 1
            current = self._tally.in_flight[request.host]
            self._tally.peak[request.host] = max(self._tally.peak[request.host], current)

    def _leave(self, host: str) -> None:
        with self._tally.lock:
            self._tally.in_flight[host] -= 1


def _parse_head(head: bytes, local: str) -> SeenRequest:
    lines = head.decode("latin-1").split("\r\n")
    method, target, _version = [*lines[0].split(" ", 2), "", ""][:3]
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    host = headers.get("host", local)
    hostname = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    return SeenRequest(
        method=method,
        path=target.split("?", 1)[0],
        target=target,
        host=hostname.strip("[]"),
        headers=headers,
        local_address=local,
    )


def _not_modified(route: Route, request: SeenRequest) -> bool:
    if_none_match = request.headers.get("if-none-match")
    if route.etag is not None and if_none_match is not None:
        tags = [tag.strip() for tag in if_none_match.split(",")]
        return route.etag in tags or "*" in tags
    since = request.headers.get("if-modified-since")
    return route.last_modified is not None and since == route.last_modified


def _head(route: Route, status: int, body: bytes, *, closing: bool) -> bytes:
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Unknown"
    lines = [f"HTTP/1.1 {status} {phrase}"]
    if route.content_type and status != 304:
        lines.append(f"Content-Type: {route.content_type}")
    if route.etag:
        lines.append(f"ETag: {route.etag}")
    if route.last_modified:
        lines.append(f"Last-Modified: {route.last_modified}")
    lines.extend(f"{name}: {value}" for name, value in route.headers)
    if route.chunked and status != 304:
        lines.append("Transfer-Encoding: chunked")
    elif status != 304:
        announced = len(body) if route.content_length is None else route.content_length
        lines.append(f"Content-Length: {announced}")
    if closing:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def _answer(
    route: Route, request: SeenRequest, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> bool:
    """Write the route's answer; whether the connection may serve another request."""
    if route.delay:
        await asyncio.sleep(route.delay)
    if writer.is_closing():
        return False
    if route.reset:
        _reset(writer)
        return False
    if route.hang:
        while await reader.read(1024):
            pass
        return False
    if route.raw is not None:
        writer.write(route.raw)
        await writer.drain()
        return False
    status, body = (304, b"") if _not_modified(route, request) else (route.status, route.body)
    closing = route.close or route.cut_after is not None
    writer.write(_head(route, status, body, closing=closing))
    if status != 304:
        await _write_body(route, body, writer)
    await writer.drain()
    return not closing


def _reset(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def _write_body(route: Route, body: bytes, writer: asyncio.StreamWriter) -> None:
    if route.cut_after is not None:
        body = body[: route.cut_after]
    async for piece in _pieces(route, body):
        if writer.is_closing():
            return
        writer.write(b"%x\r\n%b\r\n" % (len(piece), piece) if route.chunked else piece)
        await writer.drain()
    if route.chunked and route.cut_after is None:
        writer.write(b"0\r\n\r\n")


async def _pieces(route: Route, body: bytes) -> AsyncIterator[bytes]:
    if route.drip is None:
        if body:
            yield body
        return
    for start in range(0, len(body), route.drip_bytes):
        yield body[start : start + route.drip_bytes]
        await asyncio.sleep(route.drip)
