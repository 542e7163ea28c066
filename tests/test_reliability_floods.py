"""A document crafted to be slow to read freezes nothing: floods polled beside healthy sources.

Each flood of ``hostiledocs.floods`` (one element with 30,000 attributes, elements nested 400,000
deep) takes many seconds in a parser, most of it in C holding the GIL. Here it is
served by the real feed server beside healthy feeds and polled by the real ``Poller`` (claims,
leases) and ``Pipeline``, while the API answers ``/healthz`` in the same event loop. The healthy
sources are stored in the same round; the flood is refused with a reason and its source backs off;
``/healthz`` keeps answering while the flood is still being read. Nothing here is timed: the
checks are outcomes, reasons and the order in which things happened.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from feedgen import Paper, Post, arxiv_listing, blog
from feedserver import FeedServer, Route
from hostiledocs import floods

from service.catalog import load_catalog
from service.clock import utcnow
from service.ingest.fetch import Fetcher, FetchLimits
from service.ingest.pipeline import Pipeline
from service.ingest.tag import Tagger
from service.outputs.api.app import create_app
from service.records import PollResult
from service.storage.engine import Database
from service.storage.models import Source
from service.storage.sources import add_source
from service.worker.poller import Poller

ROOT = Path(__file__).resolve().parent.parent
TAXONOMY = load_catalog(ROOT / "feeds.yaml").taxonomy
LIMITS = FetchLimits(timeout=20, deadline=20, allow_private_networks=True)
BUDGET_SECONDS = 2.0  # each flood needs far more than this (seconds to minutes) to be read
FLOODS = floods()
HEALTHY = {
    "blog": blog(
        "Healthy blog",
        "https://healthy.example",
        [Post("h1", "A healthy post", "https://healthy.example/1")],
    ),
    "arXiv": arxiv_listing("cs.LG", [Paper("2612.00001", "A Healthy Paper")]),
    "news": blog(
        "Healthy news",
        "https://news.example",
        [Post("n1", "Healthy news", "https://news.example/1")],
    ),
}


@pytest.fixture(scope="module")
def server() -> Iterator[FeedServer]:
    with FeedServer.running() as running:
        yield running


class Probe:
    """Asks ``/healthz`` again and again; counts the answers given while the flood was read."""

    def __init__(self, app: Any, flood_path: str, server: FeedServer) -> None:
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://api.test"
        )
        self.flood_path, self.server = flood_path, server
        self.flood_done = asyncio.Event()
        self.answers: list[int] = []
        self.while_reading = 0

    async def run(self) -> None:
        async with self.client:
            while not self.flood_done.is_set():
                served = bool(self.server.seen(self.flood_path))
                response = await self.client.get("/healthz")
                self.answers.append(response.status_code)
                if served and not self.flood_done.is_set():
                    self.while_reading += 1
                await asyncio.sleep(0.05)


async def poll_beside_healthy(
    db: Database, ids: dict[str, int], probe: Probe
) -> dict[str, PollResult]:
    def on_result(result: PollResult) -> None:
        if result.name == "flood":
            probe.flood_done.set()

    async with Fetcher(LIMITS) as fetcher:
        pipeline = Pipeline(
            db=db,
            tagger=Tagger(TAXONOMY),
            fetcher=fetcher,
            parse_budget_seconds=BUDGET_SECONDS,
        )
        poller = Poller(db=db, pipeline=pipeline, owner="floods", lease_seconds=3.0)
        probing = asyncio.create_task(probe.run())
        report = await poller.poll_now(list(ids.values()), on_result=on_result)
        probe.flood_done.set()
        await probing
    return {result.name: result for result in report.results}


@pytest.mark.parametrize("flood", list(FLOODS))
def test_a_flood_is_refused_while_healthy_sources_and_the_api_carry_on(
    db: Database, server: FeedServer, make_settings: Any, flood: str
) -> None:
    slug = flood.replace(" ", "-")
    urls = {
        name: server.route(f"/{slug}/{name}", Route.feed(body)) for name, body in HEALTHY.items()
    }
    urls["flood"] = server.route(f"/{slug}/flood", Route.feed(FLOODS[flood]))
    with db.write() as s:
        ids = {
            name: add_source(s, name=name, url=url, kind="post").id or 0
            for name, url in urls.items()
        }
    app = create_app(make_settings(), db=db)
    probe = Probe(app, f"/{slug}/flood", server)
    started = utcnow()

    results = asyncio.run(poll_beside_healthy(db, ids, probe))

    for name in HEALTHY:
        assert (results[name].outcome, results[name].items_new) == ("updated", 1), (
            name,
            results[name].reason,
        )
    refused = results["flood"]
    assert (refused.outcome, refused.error_kind) == ("error", "hostile_document")
    assert refused.reason is not None
    assert refused.reason.startswith("refused: ")
    if flood == "attribute flood":
        assert "30,000 attributes" in refused.reason
    else:
        assert f"took more than {BUDGET_SECONDS:g} s" in refused.reason
        assert probe.while_reading >= 3  # the API answered while the flood was being read
    assert probe.answers
    assert set(probe.answers) == {200}
    with db.session() as s:
        row = s.get(Source, ids["flood"])
        assert row is not None
        assert (row.state, row.consecutive_errors) == ("error", 1)
        assert row.next_poll_at > started + timedelta(minutes=1)  # backs off
        assert row.last_error == refused.reason
        assert row.lease_owner is None  # the lease was given back
