"""A mix of faulty and healthy feed sources on the feed server, for reliability runs.

``FeedMix`` programs a ``FeedServer`` with sources that misbehave in every way ``FAULTS`` lists —
error statuses with and without Retry-After, resets, hangs, slow drips, truncated bodies, pages
and bytes that are not feeds, broken encodings, redirect loops, redirects to private addresses,
410, gzip bombs, oversize bodies — beside healthy sources whose items change every round. Each
fault says what a poll must record: a phrase of the reason stored on the source (``expect``), or,
for a fault a feed reader should shrug off (a wrong content type, a permanent move, a misdeclared
encoding), ``expect=None``: the feed's items are stored as if nothing were wrong.

    mix = FeedMix(server, public_hosts=("127.0.0.2", "127.0.0.3"), private_host="127.0.0.1")
    mix.add_to(db)
    for round_no in range(10):
        mix.serve(round_no, published=now)   # this round's items on every feed that serves any
        ...                                  # poll every source
    mix.served                               # {item URL: title} of everything served so far

The SSRF faults need the guard on with the public hosts allowed through the ``NetGuard.allow``
seam (``mix.guard()``), so a redirect to the private host or to 169.254.169.254 is refused.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from ipaddress import ip_network

from feedgen import Post, blog
from feedserver import MIB, FeedServer, Route, gzip_bomb

from service.ingest.fetch import FetchLimits
from service.ingest.netguard import NetGuard
from service.storage.engine import Database
from service.storage.sources import add_source

MAX_BODY = 256 * 1024  # the body cap of a mix run: bombs and oversize bodies pass it
LIMITS = FetchLimits(timeout=0.8, deadline=1.2, max_body=MAX_BODY, max_redirects=3)
NEW_PER_ROUND = 2
WINDOW = 4  # items in each round's document: two new, two from the round before
RETRY_AT = "Wed, 21 Oct 2099 07:28:00 GMT"

Programs = list[tuple[str, tuple[Route, ...], str]]  # (path, routes served in turn, host)


@dataclass(frozen=True)
class Place:
    """Where one source lives on the server: its path and host (and the loopback host)."""

    server: FeedServer
    path: str
    host: str
    private_host: str

    def url(self, suffix: str = "", host: str | None = None) -> str:
        return self.server.url(self.path + suffix, host or self.host)


Program = Callable[[Place, bytes], Programs]
"""The routes one source serves in a round, given that round's feed document."""


@dataclass(frozen=True)
class Fault:
    """One way a source misbehaves and what a poll must record for it.

    ``expect``: words of ``Source.last_error`` (with ``state``), or None when the fault is to be
    tolerated (the source's items are stored, no error). ``warning``: words of the poll's
    reason for a tolerated fault that still deserves a note.
    """

    name: str
    program: Program
    expect: str | None
    state: str = "error"
    warning: str | None = None
    adopts_url: bool = False  # a permanent move: the source's URL becomes the new one

    @property
    def tolerated(self) -> bool:
        return self.expect is None


def answering(*routes: Route) -> Program:
    """The source's path answers ``routes`` (in turn), whatever the round's document."""
    return lambda place, _body: [(place.path, routes, place.host)]


def feed_served(**options: object) -> Program:
    """The round's document, served with ``options`` (content type, chunked, ...)."""
    return lambda place, body: [(place.path, (Route.feed(body, **options),), place.host)]


def transformed(change: Callable[[bytes], bytes], **options: object) -> Program:
    return lambda place, body: [(place.path, (Route.feed(change(body), **options),), place.host)]


def compressed(place: Place, body: bytes) -> Programs:
    return [(place.path, (Route.compressed(body),), place.host)]


def moved(status: int) -> Program:
    """A redirect (``status``) from the source's path to where the document now lives."""

    def program(place: Place, body: bytes) -> Programs:
        return [
            (place.path, (Route.redirect(place.url("/moved"), status=status),), place.host),
            (place.path + "/moved", (Route.feed(body),), place.host),
        ]

    return program


def redirected_to(target: Callable[[Place], str]) -> Program:
    def program(place: Place, body: bytes) -> Programs:
        routes: Programs = [(place.path, (Route.redirect(target(place)),), place.host)]
        # what a redirect to the private host would reach, were it followed
        routes.append((place.path + "/inside", (Route.feed(body),), place.private_host))
        return routes

    return program


def redirect_loop(place: Place, _body: bytes) -> Programs:
    return [
        (place.path, (Route.redirect(place.url("/b"), status=302),), place.host),
        (place.path + "/b", (Route.redirect(place.url(), status=302),), place.host),
    ]


def redirect_chain(place: Place, body: bytes) -> Programs:
    hops = [place.path, *(f"{place.path}/{n}" for n in range(1, 7))]
    routes: Programs = [
        (hop, (Route.redirect(place.server.url(nxt, place.host), status=307),), place.host)
        for hop, nxt in itertools.pairwise(hops)
    ]
    return [*routes, (hops[-1], (Route.feed(body),), place.host)]


def at_private_host(place: Place, body: bytes) -> Programs:
    return [(place.path, (Route.feed(body),), place.private_host)]


def latin1(body: bytes) -> bytes:
    """The document in windows-1252 bytes while its declaration still says utf-8."""
    return body.decode("utf-8").encode("cp1252")


def declared(encoding: str) -> Callable[[bytes], bytes]:
    return lambda body: body.replace(b"encoding='utf-8'", f"encoding='{encoding}'".encode(), 1)


def random_bytes(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


HTML_PAGE = (
    b"<!DOCTYPE html><html><head><title>Welcome</title></head>"
    b"<body><h1>Our blog moved</h1><p>Read us on the web.</p></body></html>"
)
_TEXT = "text/plain"
JSON_LATIN1 = (
    '{"version": "https://jsonfeed.org/version/1.1", "title": "Caf\u00e9", "items": '
    '[{"id": "1", "title": "Cr\u00e8me", "content_text": "x"}]}'
).encode("latin-1")

FAULTS: tuple[Fault, ...] = (
    Fault("500", answering(Route(500, b"oops", _TEXT)), "answered 500 Internal Server Error"),
    Fault("502", answering(Route(502, b"bad", _TEXT)), "answered 502 Bad Gateway"),
    Fault("503", answering(Route(503, b"", _TEXT)), "is unavailable (503 Service Unavailable)"),
    Fault(
        "503 with Retry-After",
        answering(Route(503, b"", _TEXT, headers=(("Retry-After", "120"),))),
        "the server asks to wait until",
    ),
    Fault("429", answering(Route(429, b"", _TEXT)), "rate limited (429); the server did not say"),
    Fault(
        "429 with Retry-After",
        answering(Route(429, b"", _TEXT, headers=(("Retry-After", RETRY_AT),))),
        "rate limited (429); the server asks to wait until 20",
    ),
    Fault("404", answering(Route(404, b"nope", _TEXT)), "answered 404 Not Found"),
    Fault("connection reset", answering(Route(reset=True)), "connection reset by the server"),
    Fault("hang", answering(Route(hang=True)), "timed out after"),
    Fault(
        "slow drip",
        feed_served(drip=0.05, drip_bytes=4),
        "timed out after 1.2 s",
    ),
    Fault(
        "truncated body",
        feed_served(cut_after=300),
        "the connection closed before the whole feed arrived",
    ),
    Fault(
        "HTML page",
        answering(Route.feed(HTML_PAGE, content_type="text/html")),
        "not a feed: the document is an HTML page",
    ),
    Fault(
        "random bytes",
        answering(Route.feed(random_bytes(4096, 1), content_type="application/octet-stream")),
        "not a feed",
    ),
    Fault(
        "bytes that are not HTTP",
        answering(Route(raw=random_bytes(512, 2) + b"\r\n\r\n")),
        "the server's answer is not valid HTTP",
    ),
    Fault(
        "silence, then close",
        answering(Route(raw=b"")),
        "the server closed the connection without answering",
    ),
    Fault("empty body", answering(Route.feed(b"")), "not a feed: the document is empty"),
    Fault(
        "JSON Feed not in UTF-8",
        answering(Route.feed(JSON_LATIN1, content_type="application/feed+json")),
        "not a feed: JSON that is not UTF-8",
    ),
    Fault("redirect loop", redirect_loop, "redirect loop back to"),
    Fault("too many redirects", redirect_chain, "redirected more than 3 times"),
    Fault(
        "redirect to loopback",
        redirected_to(lambda p: p.url("/inside", p.private_host)),
        "is a loopback address",
    ),
    Fault(
        "redirect to cloud metadata",
        redirected_to(lambda _p: "http://169.254.169.254/latest/meta-data/"),
        "169.254.169.254 is a link-local address",
    ),
    Fault(
        "redirect to a name of loopback",
        redirected_to(lambda p: f"http://localhost:{p.server.port}{p.path}/inside"),
        "localhost resolves to",
    ),
    Fault(
        "redirect to another scheme",
        redirected_to(lambda _p: "file:///etc/passwd"),
        "not an http(s) URL",
    ),
    Fault("feed on a private address", at_private_host, "is a loopback address"),
    Fault(
        "410 Gone",
        answering(Route(410, b"", _TEXT)),
        "the publisher removed this feed (410 Gone)",
        state="gone",
    ),
    Fault(
        "gzip bomb",
        answering(Route(body=gzip_bomb(64 * MIB), headers=(("Content-Encoding", "gzip"),))),
        "the feed is larger than",
    ),
    Fault(
        "oversize body",
        answering(Route.feed(bytes(2 * MAX_BODY))),
        "the feed is larger than",
    ),
    Fault(
        "oversize chunked body",
        answering(Route.feed(b"<rss>" + b" " * (2 * MAX_BODY), chunked=True)),
        "the feed is larger than",
    ),
    Fault(
        "corrupt gzip",
        answering(Route(body=b"\x1f\x8bnot gzip at all", headers=(("Content-Encoding", "gzip"),))),
        "the server sent a body that is not valid gzip",
    ),
    # ---- faults a feed reader should tolerate: the items arrive as if nothing were wrong
    Fault("text/plain content type", feed_served(content_type=_TEXT), None),
    Fault("no content type", feed_served(content_type=None), None),
    Fault("HTML content type", feed_served(content_type="text/html"), None),
    Fault("chunked", feed_served(chunked=True), None),
    Fault("gzip encoded", compressed, None),
    Fault("301 move", moved(301), None, adopts_url=True),
    Fault("302 detour", moved(302), None),
    Fault(
        "windows-1252 declared as UTF-8",
        transformed(latin1),
        None,
        warning="wrong character encoding: document declared as utf-8",
    ),
    Fault(
        "unknown encoding declared",
        transformed(declared("x-klingon")),
        None,
        warning="wrong character encoding: document declared as x-klingon",
    ),
    Fault(
        "NUL and control characters in titles",
        transformed(lambda body: body.replace("Café".encode(), "Caf\x00é\x01\x7f".encode())),
        None,
        warning="not well-formed XML",
    ),
    Fault(
        "UTF-8 declared as UTF-16",
        transformed(declared("utf-16")),
        None,
        warning="document declared as utf-16, but parsed as utf-8",
    ),
)


@dataclass(frozen=True)
class MixSource:
    """One source of a mix: its name, where it lives and its fault (None: healthy)."""

    name: str
    place: Place
    fault: Fault | None

    @property
    def url(self) -> str:
        return self.place.url(host=self.place.private_host) if self._private else self.place.url()

    @property
    def _private(self) -> bool:
        return self.fault is not None and self.fault.program is at_private_host

    @property
    def serves_items(self) -> bool:
        return self.fault is None or self.fault.tolerated


@dataclass
class FeedMix:
    """Healthy and faulty sources on one server; see the module docstring."""

    server: FeedServer
    public_hosts: tuple[str, ...]
    private_host: str
    healthy: int = 50
    copies: int = 1  # sources per fault
    prefix: str = "/mix"
    sources: list[MixSource] = field(default_factory=list)
    served: dict[str, str] = field(default_factory=dict)  # item URL -> title

    def __post_init__(self) -> None:
        faults: list[Fault | None] = [f for f in FAULTS for _ in range(self.copies)]
        faults += [None] * self.healthy
        for number, fault in enumerate(faults):
            host = self.public_hosts[number % len(self.public_hosts)]
            place = Place(self.server, f"{self.prefix}/{number}", host, self.private_host)
            label = fault.name if fault else "healthy"
            self.sources.append(MixSource(f"{label} #{number}", place, fault))

    def guard(self) -> NetGuard:
        """The SSRF guard of the run: on, with only the public hosts let through."""
        return NetGuard(allow=[ip_network(f"{host}/32") for host in self.public_hosts])

    def add_to(self, db: Database) -> dict[int, MixSource]:
        """Every source as a row of ``db``; returns them by id."""
        with db.write() as session:
            rows = [
                (add_source(session, name=s.name, url=s.url, kind="post"), s) for s in self.sources
            ]
            return {row.id or 0: source for row, source in rows}

    def document(self, source: MixSource, round_no: int, published: datetime) -> bytes:
        """The source's feed in ``round_no``: a window of items, two new each round."""
        first = round_no * NEW_PER_ROUND
        posts = [
            Post(
                f"{source.place.path}/{k}",
                f"Café notes {k} from {source.name}",
                f"https://feeds.example.org{source.place.path}/{k}",
                body=f"<p>Item {k}, as served in round {round_no}.</p>",
                published=published - timedelta(minutes=k),
            )
            for k in range(first, first + WINDOW)
        ]
        return blog(source.name, "https://feeds.example.org", posts)

    def serve(self, round_no: int, *, published: datetime) -> None:
        """Program every source for ``round_no`` and note the items it serves."""
        for source in self.sources:
            body = self.document(source, round_no, published)
            program = source.fault.program if source.fault else feed_served()
            for path, routes, host in program(source.place, body):
                self.server.route(path, *routes, host=host)
            if source.serves_items:
                self._note(source, round_no)

    def items_in(self, source: MixSource, round_no: int) -> dict[str, str]:
        """{item URL: title} of the source's document in ``round_no``."""
        first = round_no * NEW_PER_ROUND
        base = f"https://feeds.example.org{source.place.path}"
        return {
            f"{base}/{k}": f"Café notes {k} from {source.name}"
            for k in range(first, first + WINDOW)
        }

    def _note(self, source: MixSource, round_no: int) -> None:
        self.served.update(self.items_in(source, round_no))
