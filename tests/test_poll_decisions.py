"""What the pipeline decides after real HTTP answers: the server's hints, backoff, gone, and an
empty arXiv listing that is normal, not an error."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from ipaddress import IPv4Address, IPv6Address, ip_address
from pathlib import Path

import pytest
from feedgen import Post, arxiv_listing, blog
from feedserver import FeedServer, Route
from sqlmodel import select

from service.catalog import load_catalog
from service.ingest.arxiv_calendar import EASTERN
from service.ingest.fetch import Fetcher, FetchLimits
from service.ingest.netguard import NetGuard, build_transport
from service.ingest.pipeline import Pipeline
from service.ingest.tag import Tagger
from service.records import PollResult
from service.storage.engine import Database
from service.storage.models import Source
from service.storage.sources import add_source, load_for_update

ROOT = Path(__file__).resolve().parent.parent
TAXONOMY = load_catalog(ROOT / "feeds.yaml").taxonomy
MIN, HOUR = timedelta(minutes=1), timedelta(hours=1)
POSTS = [Post("p1", "A post", "https://blog.example/p1")]


@pytest.fixture(scope="module")
def server() -> Iterator[FeedServer]:
    with FeedServer.running() as running:
        yield running


async def to_loopback(host: str, port: int) -> list[IPv4Address | IPv6Address]:
    return [ip_address("127.0.0.1")]


def poll(db: Database, source_id: int) -> PollResult:
    async def go() -> list[PollResult]:
        guard = NetGuard(allow_all=True)
        transport = build_transport(guard, resolver=to_loopback)
        limits = FetchLimits(timeout=5, deadline=5, allow_private_networks=True)
        async with Fetcher(limits, guard=guard, transport=transport) as fetcher:
            pipeline = Pipeline(db=db, tagger=Tagger(TAXONOMY), fetcher=fetcher)
            with db.session() as s:
                sources = load_for_update(s, [source_id], datetime.now(UTC))
            return await pipeline.poll(sources)

    (result,) = asyncio.run(go())
    return result


def add(db: Database, url: str, *, kind: str = "post", poll_minutes: int | None = 15) -> int:
    with db.write() as s:
        row = add_source(
            s,
            name=url.rsplit("/", 1)[-1],
            url=url,
            kind=kind,
            poll_minutes=poll_minutes,  # type: ignore[arg-type]
        )
        return row.id or 0


def row(db: Database, source_id: int) -> Source:
    with db.session() as s:
        found = s.exec(select(Source).where(Source.id == source_id)).one()
    assert found.last_attempt_at is not None
    return found


def waited(db: Database, source_id: int) -> timedelta:
    found = row(db, source_id)
    assert found.last_attempt_at is not None
    return found.next_poll_at - found.last_attempt_at


def test_cache_control_max_age_delays_the_next_poll(db: Database, server: FeedServer) -> None:
    body = blog("Blog", "https://blog.example", POSTS)
    url = server.route(
        "/hint/max-age", Route.feed(body, headers=(("Cache-Control", "max-age=7200"),))
    )
    source_id = add(db, url)
    assert poll(db, source_id).outcome == "updated"
    assert waited(db, source_id) == 2 * HOUR


def test_expires_delays_the_next_poll(db: Database, server: FeedServer) -> None:
    expires = (datetime.now(UTC) + 3 * HOUR).replace(microsecond=0)
    header = ("Expires", format_datetime(expires, usegmt=True))
    url = server.route(
        "/hint/expires", Route.feed(blog("B", "https://b.example", POSTS), headers=(header,))
    )
    source_id = add(db, url)
    poll(db, source_id)
    assert row(db, source_id).next_poll_at == expires


def test_rss_ttl_delays_the_next_poll_also_after_a_304(db: Database, server: FeedServer) -> None:
    body = blog("Blog", "https://blog.example", POSTS, ttl=300)
    url = server.route("/hint/ttl", Route.feed(body, etag='"t1"'))
    source_id = add(db, url)
    assert poll(db, source_id).outcome == "updated"
    assert waited(db, source_id) == 5 * HOUR
    assert poll(db, source_id).outcome == "not_modified"  # no body: the stored <ttl> still holds
    assert waited(db, source_id) == 5 * HOUR


def test_retry_after_on_429_beats_the_first_backoff(db: Database, server: FeedServer) -> None:
    url = server.route("/hint/429", Route(status=429, headers=(("Retry-After", "7200"),)))
    source_id = add(db, url)
    assert poll(db, source_id).outcome == "error"
    assert waited(db, source_id) == 2 * HOUR


def test_errors_back_off_from_the_interval(db: Database, server: FeedServer) -> None:
    url = server.route("/hint/500", Route(status=500))
    source_id = add(db, url)
    for errors, wait in ((1, 15 * MIN), (2, 30 * MIN), (3, 60 * MIN)):
        assert poll(db, source_id).outcome == "error"
        found = row(db, source_id)
        assert found.consecutive_errors == errors
        assert wait <= waited(db, source_id) < wait * 1.1  # jitter: at most 10 %
    assert found.state == "error"


def test_a_gone_feed_is_probed_a_week_later(db: Database, server: FeedServer) -> None:
    source_id = add(db, server.route("/hint/410", Route(status=410)))
    assert poll(db, source_id).outcome == "gone"
    assert timedelta(days=7) <= waited(db, source_id) < timedelta(days=7, minutes=15)
    assert row(db, source_id).state == "gone"


def test_an_empty_arxiv_listing_is_normal_and_waits_for_the_next_weekday_rebuild(
    db: Database, server: FeedServer
) -> None:
    path = "/rss/cs.LG"
    server.route(path, Route.feed(arxiv_listing("cs.LG", [])), host="rss.arxiv.org")
    source_id = add(db, f"http://rss.arxiv.org:{server.port}{path}", kind="paper", poll_minutes=180)
    result = poll(db, source_id)
    assert (result.outcome, result.items_new, result.reason) == ("empty", 0, None)
    found = row(db, source_id)
    assert (found.state, found.consecutive_errors, found.last_error) == ("ok", 0, None)
    assert found.last_success_at is not None
    assert found.last_attempt_at is not None
    in_new_york = found.next_poll_at.astimezone(EASTERN)
    assert in_new_york.weekday() < 5  # Monday to Friday
    assert (0, 30) <= (in_new_york.hour, in_new_york.minute) < (0, 40)  # just after midnight
    assert found.next_poll_at - found.last_attempt_at <= timedelta(days=3, hours=1)
