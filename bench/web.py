"""The reading page: each page's time and the slider's re-rank round trip, at the largest scale.

A SQLite file gets a generated corpus (``tests/corpusgen.py``, through ``bench.api``'s builder)
with a few profiles, trends computed and a few items saved. ``staycurrent api`` serves it on
loopback in a child process (one uvicorn worker). One client signs in through the page's own
form (a cookie session, as a browser would) and asks for each page in turn, one request at a
time: the round trip on loopback is an upper bound of the server's time. The baseline, in the
same run and on the same server: each page's API twin (the same data as JSON, e.g. ``/v1/feed``
for the feed page) and ``/healthz`` (the floor of a request). The slider's request
(``/app/feed/list?depth=…``) cycles over 21 settings of the dial.
"""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.api import Server, build_database
from bench.report import Context, Section, Table, Target

NAME = "web"
TITLE = "Reading page: server time of each page and the slider's re-rank round trip"

PAGE_MS = 50.0
SLIDER_MS = 100.0
DEPTHS = tuple(round(n / 20, 2) for n in range(21))
SEARCH_TERMS = ("language models", "diffusion", "graph neural network", "quantization")


@dataclass(frozen=True)
class Timing:
    path: str
    requests: int
    p50_ms: float
    p95_ms: float
    worst_ms: float


def _prepare(path: Path, *, items: int) -> list[str]:
    tokens = build_database(path, items=items, profiles=3, seed=items % 1000 + 3)

    from datetime import UTC, datetime

    from service.outputs.trends import refresh_trends
    from service.storage.engine import Database

    db = Database(f"sqlite:///{path}")
    try:
        refresh_trends(db, now=datetime.now(UTC), force=True)
    finally:
        db.dispose()
    return tokens


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    if found is None:
        raise RuntimeError("the page carries no CSRF token")
    return found.group(1)


def sign_in(client: httpx.Client, token: str) -> str:
    """Sign in through the form; the session's CSRF token."""
    form = client.get("/app/login")
    answer = client.post("/app/login", data={"token": token, "csrf": _csrf(form.text)})
    answer.raise_for_status()
    if "Sign out" not in answer.text:
        raise RuntimeError("signing in did not open the feed")
    return _csrf(answer.text)


def _time(
    client: httpx.Client, name: str, paths: Callable[[int], str], count: int, warmup: int
) -> Timing:
    for n in range(warmup):
        client.get(paths(n)).raise_for_status()
    took = []
    for n in range(count):
        started = time.perf_counter()
        answer = client.get(paths(n))
        took.append((time.perf_counter() - started) * 1000)
        answer.raise_for_status()
    took.sort()
    p95 = took[min(len(took) - 1, round(0.95 * (len(took) - 1)))]
    return Timing(name, count, statistics.median(took), p95, took[-1])


def _item_ids(client: httpx.Client) -> list[int]:
    return [int(n) for n in re.findall(r'id="item-(\d+)"', client.get("/app/").text)]


def _save_some(client: httpx.Client, csrf: str, ids: list[int]) -> None:
    for item in ids[:5]:
        data = {"signal": "save", "csrf": csrf, "back": "/app/"}
        client.post(f"/app/items/{item}/feedback", data=data).raise_for_status()


PageFn = Callable[[int], str]


def _pages(ids: list[int]) -> dict[str, tuple[PageFn, PageFn | None]]:
    """Each page (by name): its path, and the path of the API answer with the same data."""

    def search(n: int) -> str:
        return SEARCH_TERMS[n % len(SEARCH_TERMS)]

    return {
        "/healthz (floor)": (lambda n: "/healthz", None),
        "/app/ (feed page)": (lambda n: "/app/", lambda n: "/v1/feed"),
        "/app/feed/list?depth= (slider)": (
            lambda n: f"/app/feed/list?depth={DEPTHS[n % 21]}",
            lambda n: f"/v1/feed?depth={DEPTHS[n % 21]}",
        ),
        "/app/saved": (lambda n: "/app/saved", None),
        "/app/items/{id}": (
            lambda n: f"/app/items/{ids[n % len(ids)]}",
            lambda n: f"/v1/items/{ids[n % len(ids)]}/similar",
        ),
        "/app/search?q=": (
            lambda n: f"/app/search?q={search(n)}",
            lambda n: f"/v1/items?q={search(n)}&limit=30",
        ),
        "/app/trends": (lambda n: "/app/trends", lambda n: "/v1/trends?limit=20"),
        "/app/sources": (lambda n: "/app/sources", lambda n: "/v1/sources?limit=500"),
        "/app/settings": (lambda n: "/app/settings", lambda n: "/v1/profiles/me"),
    }


def measure(
    base: str, token: str, *, count: int, warmup: int
) -> list[tuple[Timing, Timing | None]]:
    """Each page's timing, and its API twin's (same data as JSON) measured right after it."""
    with (
        httpx.Client(base_url=base, timeout=60, follow_redirects=True) as client,
        httpx.Client(base_url=base, timeout=60) as api,
    ):
        csrf = sign_in(client, token)
        ids = _item_ids(client)
        _save_some(client, csrf, ids)
        api.headers["Authorization"] = f"Bearer {token}"
        measured = []
        for name, (page, twin) in _pages(ids).items():
            timing = _time(client, name, page, count, warmup)
            twin_timing = _time(api, name, twin, count, warmup) if twin else None
            measured.append((timing, twin_timing))
    return measured


def _targets(timings: list[Timing]) -> tuple[Target, ...]:
    pages = [t for t in timings if t.path.startswith("/app/") and "slider" not in t.path]
    worst_page = max(pages, key=lambda t: t.p95_ms)
    slider = next(t for t in timings if "slider" in t.path)
    return (
        Target(
            "every page ≤ 50 ms of server time (p95 round trip, an upper bound)",
            f"≤ {PAGE_MS:.0f} ms",
            f"{worst_page.p95_ms:.1f} ms (slowest: {worst_page.path})",
            worst_page.p95_ms <= PAGE_MS,
        ),
        Target(
            "the slider's re-rank ≤ 100 ms round trip on loopback (p95)",
            f"≤ {SLIDER_MS:.0f} ms",
            f"{slider.p95_ms:.1f} ms",
            slider.p95_ms <= SLIDER_MS,
        ),
    )


def run(ctx: Context) -> Section:
    items = max(ctx.scales)
    count, warmup = (5, 1) if ctx.tiny else (40, 5)
    path = ctx.workdir / f"web-{items}.db"
    ctx.log(f"  web: {items:,} items")
    tokens = _prepare(path, items=items)
    server = Server(path, ctx.workdir, workers=1)
    try:
        server.wait_ready()
        measured = measure(server.base, tokens[0], count=count, warmup=warmup)
    finally:
        server.stop()
    timings = [page for page, _twin in measured]
    twins = {page.path: twin for page, twin in measured}
    by_path = {t.path: t for t in timings}
    feed, slider = by_path["/app/ (feed page)"], by_path["/app/feed/list?depth= (slider)"]
    api = twins["/app/ (feed page)"]
    assert api is not None
    targets = _targets(timings)
    notes = [
        f"{count} sequential requests per page after {warmup} warm-up ones, one client on the "
        "same machine as the server (loopback). Round trips include the client's own time, so "
        "the server's share is less. Each page's API twin (the same data as JSON: /v1/feed for "
        "the feed and the slider, /v1/items/{id}/similar for an item page, /v1/items?q=, "
        "/v1/trends, /v1/sources, /v1/profiles/me) is timed right after it on the same server.",
        f"The feed page costs {feed.p50_ms / api.p50_ms:.2f}× /v1/feed (p50 {api.p50_ms:.1f} ms): "
        "ranking is the cost, the page adds its template.",
        *[f"Missed: {t.name}: {t.measured}." for t in targets if not t.met],
    ]
    numbers = {
        "items": float(items),
        "feed_page_p50_ms": round(feed.p50_ms, 2),
        "feed_page_p95_ms": round(feed.p95_ms, 2),
        "slider_p50_ms": round(slider.p50_ms, 2),
        "slider_p95_ms": round(slider.p95_ms, 2),
        "api_feed_p50_ms": round(api.p50_ms, 2),
        "feed_page_over_api": round(feed.p50_ms / api.p50_ms, 3),
        "slowest_page_p95_ms": round(
            max(t.p95_ms for t in timings if t.path.startswith("/app")), 2
        ),
    }
    table = Table(
        f"Round trip per page at {items:,} items (ms), and its API twin",
        ("page", "requests", "p50 ms", "p95 ms", "worst ms", "API twin p50 ms", "page / twin"),
        tuple(
            (
                t.path,
                t.requests,
                round(t.p50_ms, 2),
                round(t.p95_ms, 2),
                round(t.worst_ms, 2),
                round(twin.p50_ms, 2) if twin else "",
                round(t.p50_ms / twin.p50_ms, 2) if twin else "",
            )
            for t, twin in measured
        ),
    )
    return Section(NAME, TITLE, numbers, (table,), targets, tuple(notes))
