"""Worker processes for real: many on one PostgreSQL, one killed with SIGKILL, SIGTERM, serve.

Feeds come from the local feed server on several 127.0.0.x addresses; the server counts requests
and the most in flight at once per host.
"""

from __future__ import annotations

import json
import signal
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from feedgen import Post, blog
from feedserver import FeedServer, Route
from sqlmodel import col, func, select
from workerprocs import Running, cli_env, start, wait_until

from service.storage.engine import Database
from service.storage.models import HostLease, Item, ItemSource, PollLog, Source
from service.storage.sources import add_source

HOSTS = ("127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4")


def add_sources(db: Database, urls: list[str]) -> list[int]:
    with db.write() as s:
        return [
            add_source(s, name=f"source {i}", url=url, kind="post").id or 0
            for i, url in enumerate(urls)
        ]


def count(db: Database, table: type, *where: object) -> int:
    with db.session() as s:
        return s.exec(select(func.count()).select_from(table).where(*where)).one()  # type: ignore[arg-type]


def sources(db: Database) -> list[Source]:
    with db.session() as s:
        return list(s.exec(select(Source)))


def live_host_leases(db: Database) -> list[str]:
    now = datetime.now(UTC)
    with db.session() as s:
        rows = s.exec(select(HostLease)).all()
    return [row.host for row in rows if row.owner and row.lease_until and row.lease_until > now]


def one_post_feed(i: int) -> bytes:
    post = Post(f"p{i}", f"Post {i}", f"https://blog.example/{i}")
    return blog(f"Blog {i}", "https://blog.example", [post])


@pytest.mark.postgres
@pytest.mark.slow
def test_three_workers_poll_each_of_200_sources_exactly_once(
    postgres_url: str, tmp_path: Path
) -> None:
    db = Database(postgres_url)
    with FeedServer.running(hosts=HOSTS) as server:
        urls = [
            server.route(f"/many/{i}", Route.feed(one_post_feed(i), delay=0.05), host=HOSTS[i % 4])
            for i in range(200)
        ]
        add_sources(db, urls)
        env = cli_env(
            postgres_url, poll_batch_size=10, poll_per_host=2, poll_concurrency=20, http_deadline=5
        )
        workers = [start(["worker", "--once"], env, tmp_path, f"w{n}") for n in range(3)]
        statuses = [worker.finish() for worker in workers]
        assert statuses == [0, 0, 0], "\n".join(w.output() for w in workers)
        hits = [server.hits(f"/many/{i}") for i in range(200)]
        peaks = {host: server.max_concurrent(host) for host in HOSTS}
    assert hits == [1] * 200  # every source exactly once in the round
    assert all(peak <= 2 for peak in peaks.values()), peaks  # the per-host limit, all workers
    assert count(db, PollLog) == 200
    with db.session() as s:
        polled_by = set(s.exec(select(PollLog.worker)))
    assert len(polled_by) >= 2  # the work was shared
    assert {row.last_outcome for row in sources(db)} == {"updated"}
    assert [row.name for row in sources(db) if row.lease_owner] == []
    assert live_host_leases(db) == []
    db.dispose()


def shared_and_own_posts(i: int) -> bytes:
    posts = [
        Post(f"own-{i}-a", f"Own {i} a", f"https://blog.example/{i}/a"),
        Post(f"own-{i}-b", f"Own {i} b", f"https://blog.example/{i}/b"),
        Post("shared", "The same post in every feed", "https://blog.example/shared"),
    ]
    return blog(f"Blog {i}", "https://blog.example", posts)


@pytest.mark.slow
def test_a_worker_killed_mid_round_loses_nothing_and_duplicates_nothing(
    db_url: str, tmp_path: Path
) -> None:
    total, quick = 24, 12  # the first 12 feeds answer at once, the others hang until the kill
    db = Database(db_url)
    with FeedServer.running(hosts=HOSTS[:2]) as server:
        urls = [
            server.route(
                f"/kill/{i}",
                Route.feed(shared_and_own_posts(i), delay=0.05, gate=None if i < quick else "kill"),
                host=HOSTS[i % 2],
            )
            for i in range(total)
        ]
        add_sources(db, urls)
        env = cli_env(
            db_url,
            poll_batch_size=6,
            poll_per_host=2,
            poll_lease_seconds=2,
            http_deadline=1.5,
            http_timeout=1.5,
        )
        first = start(["worker", "--once"], env, tmp_path, "first")
        wait_until(
            lambda: count(db, PollLog) >= quick and sum(map(server.in_flight, HOSTS[:2])) > 0,
            "the quick feeds polled and a slow one in flight",
        )
        first.process.send_signal(signal.SIGKILL)
        first.finish()
        server.open_gate("kill")
        held = [row for row in sources(db) if row.lease_owner]
        assert held  # the killed worker's batch in flight
        assert count(db, PollLog) == quick
        wait_until(
            lambda: all(row.lease_until and row.lease_until < datetime.now(UTC) for row in held),
            "the killed worker's leases to expire",
        )
        second = start(["worker", "--once"], env, tmp_path, "second")
        assert second.finish() == 0, second.output()
    rows = sources(db)
    assert [row.name for row in rows if row.last_attempt_at is None] == []  # every source polled
    assert [row.name for row in rows if row.lease_owner] == []  # no stuck lease
    assert live_host_leases(db) == []
    expected = {f"https://blog.example/{i}/{x}" for i in range(total) for x in "ab"}
    expected.add("https://blog.example/shared")
    with db.session() as s:
        stored = list(s.exec(select(Item.url)))
    assert sorted(stored) == sorted(expected)  # none lost, none twice
    assert count(db, ItemSource) == 3 * total
    db.dispose()


def start_worker_with_gated_feeds(
    sqlite_url: str, tmp_path: Path, server: FeedServer, gate: str, **settings: object
) -> tuple[Database, Running]:
    db = Database(sqlite_url)
    add_sources(
        db,
        [server.route(f"/{gate}/{i}", Route.feed(one_post_feed(i), gate=gate)) for i in range(8)],
    )
    env = cli_env(sqlite_url, poll_per_host=2, poll_tick_seconds=0.5, **settings)
    worker = start(["worker"], env, tmp_path, gate)
    wait_until(lambda: server.in_flight("127.0.0.1") == 2, "two fetches in flight")
    return db, worker


def test_sigterm_lets_fetches_in_flight_finish_then_exits_0_with_leases_released(
    sqlite_url: str, tmp_path: Path
) -> None:
    with FeedServer.running() as server:
        db, worker = start_worker_with_gated_feeds(sqlite_url, tmp_path, server, "term-finish")
        worker.process.send_signal(signal.SIGTERM)
        wait_until(lambda: "stopping:" in worker.output(), "the worker to start stopping")
        server.open_gate("term-finish")  # the two in flight may now finish
        assert worker.finish(timeout=10) == 0, worker.output()
        hits = len(server.seen())
    assert hits == 2  # nothing new started after SIGTERM
    assert count(db, PollLog) == 2  # the two in flight finished and were stored
    assert count(db, Source, col(Source.last_attempt_at).is_(None)) == 6
    assert [row.name for row in sources(db) if row.lease_owner] == []
    assert live_host_leases(db) == []
    db.dispose()


def test_sigterm_abandons_fetches_that_outlast_the_grace(sqlite_url: str, tmp_path: Path) -> None:
    with FeedServer.running() as server:
        db, worker = start_worker_with_gated_feeds(
            sqlite_url, tmp_path, server, "term-abandon", worker_shutdown_grace_seconds=0.5
        )
        worker.process.send_signal(signal.SIGTERM)
        assert worker.finish(timeout=10) == 0, worker.output()
        server.open_gate("term-abandon")  # let the server's own handlers end
    assert "abandoned 1 job runs" in worker.output()
    assert "Traceback" not in worker.output()
    assert count(db, PollLog) == 0  # nothing half-written
    assert [row.name for row in sources(db) if row.lease_owner] == []
    assert live_host_leases(db) == []
    db.dispose()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_serve_runs_the_api_and_the_poller_in_one_process(sqlite_url: str, tmp_path: Path) -> None:
    port = free_port()
    with FeedServer.running() as server:
        db = Database(sqlite_url)
        (source_id,) = add_sources(db, [server.route("/serve/feed", Route.feed(one_post_feed(1)))])
        env = cli_env(sqlite_url, port=port, poll_tick_seconds=0.5, data_dir=tmp_path / "data")
        serving = start(["serve"], env, tmp_path, "serve")
        wait_until(lambda: count(db, PollLog) == 1, "the embedded poller to poll")
        health_url = f"http://127.0.0.1:{port}/v1/sources/{source_id}/health"
        wait_until(lambda: _answers(health_url), "the API to answer")
        health = httpx.get(health_url, timeout=5).json()
        serving.process.send_signal(signal.SIGTERM)
        assert serving.finish(timeout=10) == 0, serving.output()
    assert health["status"] == "ok"
    assert health["sentence"].startswith("updated (200); next poll")
    assert [row.name for row in sources(db) if row.lease_owner] == []
    db.dispose()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_a_manual_poll_skips_what_a_worker_is_polling(sqlite_url: str, tmp_path: Path) -> None:
    with FeedServer.running() as server:
        db = Database(sqlite_url)
        busy, free = add_sources(
            db, [server.route(f"/manual/{i}", Route.feed(one_post_feed(i))) for i in range(2)]
        )
        with db.write() as s:
            row = s.get(Source, busy)
            assert row is not None
            row.lease_owner, row.lease_until = "worker-1", datetime.now(UTC) + timedelta(hours=1)
            row.next_poll_at = datetime.now(UTC) + timedelta(days=1)
        done = start(["poll"], cli_env(sqlite_url), tmp_path, "poll")
        assert done.finish() == 0, done.output()
        hits = [server.hits(f"/manual/{i}") for i in range(2)]
    assert "skipped source 0: being polled now by worker-1" in done.output()
    assert hits == [0, 1]  # the free one, although not due; the busy one left alone
    assert count(db, PollLog, col(PollLog.source_id) == free) == 1
    status = start(["sources", "status", "--json"], cli_env(sqlite_url), tmp_path, "status")
    assert status.finish() == 0
    by_name = {row["name"]: row for row in map(json.loads, status.stdout.read_text().splitlines())}
    assert by_name["source 0"]["polling_now"] is True
    assert by_name["source 1"]["last_status"] == 200
    db.dispose()
