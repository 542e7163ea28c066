"""Host turns in the database: arXiv's one-at-a-time-and-3-s rule and per-host limits, for all
workers at once. A virtual clock where we can, one real-time run against a stand-in arXiv host."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address, IPv6Address, ip_address
from pathlib import Path

import pytest
from feedgen import Paper, arxiv_listing
from feedserver import FeedServer, Route, SeenRequest

from service.catalog import load_catalog
from service.errors import StorageError
from service.ingest.fetch import Fetcher, FetchLimits
from service.ingest.netguard import NetGuard, build_transport
from service.ingest.pipeline import Pipeline
from service.ingest.politeness import HostLimiter, HostRule
from service.ingest.tag import Tagger
from service.records import HostTurn
from service.storage.engine import Database
from service.storage.hosts import HostLeases, release_host_turns, take_host_turn
from service.storage.sources import add_source, load_for_update

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 24, 14, 0, tzinfo=UTC)
HOLD = timedelta(seconds=60)


class VirtualClock:
    """Time that moves only when someone sleeps; a sleeper never wakes before its time."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def now(self) -> datetime:
        return self.current

    async def sleep(self, seconds: float) -> None:
        wake = self.current + timedelta(seconds=seconds)
        await asyncio.sleep(0)
        self.current = max(self.current, wake)


class Probe:
    """Counts requests inside their gate, and when each began."""

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.inside = 0
        self.peak = 0
        self.starts: list[datetime] = []

    async def request(self, limiter: HostLimiter, host: str, seconds: float = 0.5) -> None:
        async with limiter.gate(host):
            self.inside += 1
            self.peak = max(self.peak, self.inside)
            self.starts.append(self.clock.now())
            await self.clock.sleep(seconds)
            self.inside -= 1


def limiters(db: Database, clock: VirtualClock, count: int = 2) -> list[HostLimiter]:
    """One limiter per pretend worker process: they share nothing but the database."""
    return [
        HostLimiter(
            HostLeases(db), owner=f"w{i}", per_host=2, clock=clock.now, sleep=clock.sleep, hold=HOLD
        )
        for i in range(count)
    ]


def test_arxiv_hosts_share_one_rule_and_others_get_their_own(tmp_path: Path) -> None:
    limiter = HostLimiter(
        HostLeases(Database(f"sqlite:///{tmp_path / 'x.db'}")), owner="w", per_host=3
    )
    arxiv = HostRule("arxiv.org", 1, timedelta(seconds=3))
    assert limiter.rule("rss.arxiv.org") == arxiv
    assert limiter.rule("export.arxiv.org") == arxiv
    assert limiter.rule("arxiv.org") == arxiv
    assert limiter.rule("Blog.Example") == HostRule("blog.example", 3)
    assert HostRule("blog.example", 3).lease_keys() == (
        "blog.example",
        "blog.example#1",
        "blog.example#2",
    )


def test_arxiv_requests_go_one_at_a_time_3_s_apart_across_workers(db: Database) -> None:
    clock = VirtualClock(NOW)
    probe = Probe(clock)
    workers = limiters(db, clock)
    hosts = ("rss.arxiv.org", "export.arxiv.org", "arxiv.org")

    async def everyone() -> None:
        await asyncio.gather(*(probe.request(workers[i % 2], hosts[i % 3]) for i in range(8)))

    asyncio.run(everyone())
    assert (len(probe.starts), probe.peak) == (8, 1)
    starts = sorted(probe.starts)
    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    # each request takes 0.5 s and the next may begin 3 s after it ended
    assert min(gaps) >= timedelta(seconds=3.5)


def test_other_hosts_get_per_host_requests_at_once_across_workers(db: Database) -> None:
    clock = VirtualClock(NOW)
    blog, other = Probe(clock), Probe(clock)
    workers = limiters(db, clock, count=3)

    async def everyone() -> None:
        await asyncio.gather(
            *(blog.request(workers[i % 3], "blog.example") for i in range(9)),
            *(other.request(workers[i % 3], "other.example") for i in range(3)),
        )

    asyncio.run(everyone())
    assert (len(blog.starts), len(other.starts)) == (9, 3)
    assert blog.peak <= 2
    assert other.peak <= 2


def test_a_turn_is_taken_atomically_and_comes_back_when_its_lease_expires(db: Database) -> None:
    turns = HostLeases(db)
    keys = ("blog.example", "blog.example#1")
    turns.ensure(keys)
    first = take_host_turn(db, keys=keys, owner="a/1", now=NOW, hold=HOLD)
    second = take_host_turn(db, keys=keys, owner="b/1", now=NOW, hold=HOLD)
    assert first is not None
    assert second is not None
    assert {first.key, second.key} == set(keys)
    assert take_host_turn(db, keys=keys, owner="c/1", now=NOW, hold=HOLD) is None
    ended = NOW + timedelta(seconds=1)
    turns.give_back(first.key, "not-the-owner", ended)  # nothing happens
    assert take_host_turn(db, keys=keys, owner="c/1", now=NOW, hold=HOLD) is None
    turns.give_back(first.key, "a/1", ended)
    again = take_host_turn(db, keys=keys, owner="c/1", now=NOW, hold=HOLD)
    assert again is not None
    assert (again.key, again.last_request_at) == (first.key, ended)
    # "b" was killed: its turn comes back once its lease has run out
    late = NOW + HOLD + timedelta(seconds=1)
    revived = take_host_turn(db, keys=keys, owner="d/1", now=late, hold=HOLD)
    assert revived is not None
    assert revived.key == second.key
    assert release_host_turns(db, owner_prefix="c/") == 1


# --------------------------------------------------------------------------- real time


class TimedFeedServer(FeedServer):
    """The feed server, noting when each request arrived."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.arrivals: list[tuple[str, float]] = []

    def _arrive(self, request: SeenRequest) -> None:
        self.arrivals.append((request.host, time.monotonic()))
        super()._arrive(request)


@pytest.fixture(scope="module")
def arxiv_standin() -> Iterator[TimedFeedServer]:
    with TimedFeedServer.running() as server:
        yield server  # type: ignore[misc]


async def to_loopback(host: str, port: int) -> list[IPv4Address | IPv6Address]:
    """A resolver for tests: every name is this machine (the stand-in arXiv)."""
    return [ip_address("127.0.0.1")]


def test_a_stand_in_arxiv_sees_requests_spaced_across_two_workers(
    db: Database, arxiv_standin: TimedFeedServer
) -> None:
    spacing = 0.3
    server = arxiv_standin
    seen_before = len(server.arrivals)
    urls = []
    for i, host in enumerate(["rss.arxiv.org", "export.arxiv.org"] * 3):
        path = f"/rss/cs.X{i}"
        paper = Paper(f"2611.{i:05d}", f"Paper {i}")
        server.route(path, Route.feed(arxiv_listing(f"cs.X{i}", [paper]), delay=0.05), host=host)
        urls.append(f"http://{host}:{server.port}{path}")
    with db.write() as s:
        ids = [
            add_source(s, name=f"arXiv {i}", url=url, kind="paper").id or 0
            for i, url in enumerate(urls)
        ]
    taxonomy = load_catalog(ROOT / "feeds.yaml").taxonomy

    async def worker(name: str, mine: list[int]) -> list[str]:
        guard = NetGuard(allow_all=True)
        limits = FetchLimits(timeout=5, deadline=5, allow_private_networks=True)
        transport = build_transport(guard, resolver=to_loopback)
        async with Fetcher(limits, guard=guard, transport=transport) as fetcher:
            limiter = HostLimiter(
                HostLeases(db), owner=name, arxiv_spacing=timedelta(seconds=spacing), hold=HOLD
            )
            pipeline = Pipeline(
                db=db, tagger=Tagger(taxonomy), fetcher=fetcher, host_gate=limiter.gate
            )
            with db.session() as s:
                sources = load_for_update(s, mine, datetime.now(UTC))
            return [r.outcome for r in await pipeline.poll(sources)]

    async def both() -> list[list[str]]:
        return list(await asyncio.gather(worker("a", ids[::2]), worker("b", ids[1::2])))

    outcomes = asyncio.run(both())
    assert sorted([outcome for each in outcomes for outcome in each]) == ["updated"] * 6
    times = sorted(at for _host, at in server.arrivals[seen_before:])
    assert len(times) == 6
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert min(gaps) >= spacing


class FlakyTurns:
    """Host turns in memory whose first two ``take`` calls fail like an unreachable database."""

    def __init__(self) -> None:
        self.failures = 2
        self.holder: dict[str, str] = {}

    def ensure(self, keys: Sequence[str]) -> None:
        return None

    def take(
        self, keys: Sequence[str], owner: str, now: datetime, hold: timedelta
    ) -> HostTurn | None:
        if self.failures:
            self.failures -= 1
            raise StorageError("the database refused the write: connection refused")
        free = [key for key in keys if key not in self.holder]
        if not free:
            return None
        self.holder[free[0]] = owner
        return HostTurn(free[0], None)

    def give_back(self, key: str, owner: str, request_ended_at: datetime | None) -> None:
        if self.holder.get(key) == owner:
            del self.holder[key]


def test_a_turn_waits_out_a_database_that_refuses(caplog: pytest.LogCaptureFixture) -> None:
    clock = VirtualClock(NOW)
    probe = Probe(clock)
    turns = FlakyTurns()
    limiter = HostLimiter(turns, owner="w", clock=clock.now, sleep=clock.sleep)
    asyncio.run(probe.request(limiter, "blog.example"))
    assert len(probe.starts) == 1
    assert probe.starts[0] >= NOW + timedelta(seconds=2)  # two waits of 1 s while refused
    assert turns.holder == {}  # given back
    assert "waiting for the database to take a turn on blog.example" in caplog.text
