"""The worker in-process: rounds of claims and polls, the APScheduler jobs, a graceful stop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from feedgen import Post, blog
from feedserver import FeedServer, Route
from sqlmodel import col, func, select

from service.catalog import load_catalog
from service.storage.engine import Database
from service.storage.models import PollLog, Source
from service.storage.sources import add_source
from service.worker.compose import polling
from service.worker.scheduler import Job, Worker

ROOT = Path(__file__).resolve().parent.parent
TAXONOMY = load_catalog(ROOT / "feeds.yaml").taxonomy
HOSTS = ("127.0.0.1", "127.0.0.2")


@pytest.fixture(scope="module")
def server() -> Iterator[FeedServer]:
    with FeedServer.running(hosts=HOSTS) as running:
        yield running


def feed(name: str) -> bytes:
    return blog(name, "https://blog.example", [Post(name, name, f"https://blog.example/{name}")])


def add_sources(db: Database, urls: list[str]) -> list[int]:
    with db.write() as s:
        return [
            add_source(s, name=url.rsplit("/", 2)[-1], url=url, kind="post").id or 0 for url in urls
        ]


def poll_logs(db: Database) -> int:
    with db.session() as s:
        return s.exec(select(func.count()).select_from(PollLog)).one()


def leased(db: Database) -> list[str | None]:
    with db.session() as s:
        return [owner for owner in s.exec(select(Source.lease_owner)) if owner is not None]


async def eventually(check: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    for _ in range(int(timeout / 0.02)):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_round_polls_every_due_source_once_in_batches(
    db: Database, server: FeedServer, make_settings: Any
) -> None:
    names = [f"round{i}" for i in range(23)]
    urls = [
        server.route(
            f"/r/{db.dialect}/{name}", Route.feed(feed(name), delay=0.01), host=HOSTS[i % 2]
        )
        for i, name in enumerate(names)
    ]
    ids = add_sources(db, urls)
    settings = make_settings(
        database_url=db.url, allow_private_networks=True, poll_batch_size=5, poll_per_host=2
    )

    async def two_rounds() -> tuple[int, int]:
        async with polling(settings, db, TAXONOMY) as poller:
            first = await poller.run_round()
            second = await poller.run_round()
        return len(first.results), len(second.results)

    assert asyncio.run(two_rounds()) == (23, 0)  # the second finds nothing due
    assert [server.hits(f"/r/{db.dialect}/{name}") for name in names] == [1] * 23
    assert all(server.max_concurrent(host) <= 2 for host in HOSTS)
    assert poll_logs(db) == 23
    assert leased(db) == []
    with db.session() as s:
        polled = s.exec(select(Source.id).where(col(Source.last_outcome) == "updated")).all()
    assert sorted(polled) == sorted(ids)


def test_stopping_a_round_lets_the_fetch_in_flight_finish_and_starts_no_other(
    db: Database, server: FeedServer, make_settings: Any
) -> None:
    gate = f"stop-{db.dialect}"
    urls = [
        server.route(f"/stop/{db.dialect}/{i}", Route.feed(feed(f"stop{i}"), gate=gate))
        for i in range(6)
    ]
    add_sources(db, urls)
    settings = make_settings(
        database_url=db.url, allow_private_networks=True, poll_per_host=1, poll_concurrency=1
    )

    async def stopped_round() -> int:
        async with polling(settings, db, TAXONOMY) as poller:
            round_ = asyncio.create_task(poller.run_round())
            await eventually(lambda: server.in_flight("127.0.0.1") == 1, "a fetch in flight")
            poller.stop()
            server.open_gate(gate)
            return len((await round_).results)

    assert asyncio.run(stopped_round()) == 1
    assert poll_logs(db) == 1
    assert leased(db) == []  # the five never started are free for the next worker
    with db.session() as s:
        untouched = s.exec(select(Source).where(col(Source.last_attempt_at).is_(None))).all()
    assert len(untouched) == 5


def test_the_scheduler_runs_every_job_at_its_interval_until_stopped() -> None:
    runs: dict[str, int] = {"fast": 0, "failing": 0}

    async def fast() -> None:
        runs["fast"] += 1

    async def failing() -> None:
        runs["failing"] += 1
        raise RuntimeError("a bad run")

    async def scenario() -> tuple[int, int]:
        worker = Worker(
            [
                Job("fast", timedelta(seconds=0.05), fast),
                Job("failing", timedelta(seconds=0.05), failing),
            ]
        )
        await worker.start()
        await eventually(lambda: runs["fast"] >= 3 and runs["failing"] >= 3, "three runs each")
        await worker.stop()
        after_stop = dict(runs)
        await asyncio.sleep(0.2)
        return runs["fast"] - after_stop["fast"], runs["failing"] - after_stop["failing"]

    assert asyncio.run(scenario()) == (0, 0)  # nothing ran after stop; a failure did not stop it


def test_stop_asks_jobs_to_wind_down_and_abandons_them_after_the_grace() -> None:
    seen: list[str] = []

    async def stuck() -> None:
        seen.append("started")
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            seen.append("abandoned")
            raise

    async def scenario() -> None:
        worker = Worker(
            [Job("stuck", timedelta(hours=1), stuck, stop=lambda: seen.append("asked"))],
            grace_seconds=0.1,
        )
        await worker.start()
        await eventually(lambda: "started" in seen, "the job to start")
        await worker.stop()

    asyncio.run(scenario())
    assert seen == ["started", "asked", "abandoned"]


def test_run_once_runs_each_job_once_and_returns() -> None:
    runs: list[str] = []

    async def job(name: str) -> None:
        runs.append(name)

    async def scenario() -> None:
        jobs = [
            Job("poll", timedelta(hours=1), lambda: job("poll")),
            Job("digest", timedelta(minutes=1), lambda: job("digest")),
        ]
        await Worker(jobs).run_once(asyncio.Event())

    asyncio.run(scenario())
    assert sorted(runs) == ["digest", "poll"]
