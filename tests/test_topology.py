"""docker-compose.yml without Docker: the same services as local processes on PostgreSQL.

    migrate (one-shot)  ->  api (uvicorn workers)  +  worker x replicas
                              ^ polled throughout       | 200 sources on 4 local hosts
                                                        | digests to a real SMTP server

The commands, the replica count and the containers' environment come from docker-compose.yml
and the Dockerfile; only addresses are local (database, SMTP, port, feeds on 127.0.0.x). The
database starts empty, so ``migrate`` really migrates. Checked: every source is fetched exactly
once (each is due once: after its poll the next one is hours away, while the workers tick every
half second), both workers share the work, per-host limits hold across them, the API answers every
probe while the round runs, and each digest arrives exactly once with its delivery marked sent.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from corpusgen import generate_corpus
from deployfiles import (
    dockerfile_environment,
    dockerfile_instructions,
    final_stage,
    load_compose,
    service_environment,
)
from feedgen import Post, blog
from feedserver import FeedServer, Route
from processkit import answers, free_port, json_lines, stop_leftovers
from smtpserver import SMTPServer, smtp_server
from sqlmodel import col, func, select
from workerprocs import ROOT, SECRET, Running, cli_env, start, wait_until

from service.storage.engine import Database
from service.storage.models import Delivery, PollLog, Source
from service.storage.profiles import create_profile
from service.storage.sources import add_source

HOSTS = ("127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4")
SOURCES = 200
PROFILES = 6
API_WORKERS = 2
TICK = 0.5
COMPOSE = load_compose()
OPERATOR_ENV = {"POSTGRES_PASSWORD": "unused-locally", "STAYCURRENT_SECRET_KEY": SECRET}


@pytest.fixture
def empty_postgres(postgres_server_url: str) -> Iterator[str]:
    """A new, empty PostgreSQL database (no schema) beside the session's; dropped afterwards."""
    url = sa.engine.make_url(postgres_server_url)
    name = f"{url.database}_topology"
    admin = sa.create_engine(postgres_server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    yield url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture
def launched() -> Iterator[list[Running]]:
    """Processes a test starts; whatever still runs at the end (a failed test) is stopped."""
    processes: list[Running] = []
    yield processes
    stop_leftovers(processes)


def service_argv(service: str) -> list[str]:
    """The compose service's command; the API with API_WORKERS uvicorn workers on 2 cores."""
    argv = list(COMPOSE["services"][service]["command"])
    if "--workers" in argv:
        argv[argv.index("--workers") + 1] = str(API_WORKERS)
    return argv


def service_env(
    service: str, db_url: str, smtp: SMTPServer, port: int, data_dir: Path
) -> dict[str, str]:
    """The container's environment (Dockerfile ENV, then compose), with local addresses."""
    container = dockerfile_environment(final_stage(dockerfile_instructions()))
    container |= service_environment(COMPOSE, service, OPERATOR_ENV)
    local = {
        "database_url": db_url,
        "host": "127.0.0.1",
        "port": port,
        "base_url": f"http://127.0.0.1:{port}",
        "feeds_file": ROOT / "feeds.yaml",
        "data_dir": data_dir,
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp.port,
        "poll_tick_seconds": TICK,
        "poll_batch_size": 20,  # several claims per round, so two workers can share it
        "http_deadline": 20,
    }
    return cli_env(db_url) | container | cli_env(db_url, **local)


def due_feed(i: int) -> bytes:
    post = Post(f"topology-{i}", f"Post {i}", f"https://blog{i % 7}.example/{i}")
    return blog(f"Blog {i}", f"https://blog{i % 7}.example", [post])


def add_due_sources(db: Database, server: FeedServer) -> None:
    """SOURCES sources, due a minute ago, whose feeds wait for the gate "round"."""
    urls = [
        server.route(f"/t/{i}", Route.feed(due_feed(i), gate="round"), host=HOSTS[i % len(HOSTS)])
        for i in range(SOURCES)
    ]
    due = datetime.now(UTC) - timedelta(minutes=1)
    with db.write() as session:
        for i, url in enumerate(urls):
            source = add_source(session, name=f"topology {i}", url=url, kind="post")
            source.next_poll_at = due


def add_due_profiles(db: Database) -> str:
    """PROFILES profiles whose daily digest was due an hour ago; returns one API token."""
    send_time = (datetime.now(UTC) - timedelta(hours=1)).strftime("%H:%M")
    tokens = [
        create_profile(
            db,
            name=f"reader{i}",
            changes={
                "interests": {"nlp": 1.0},
                "email": f"reader{i}@example.org",
                "digest_enabled": True,
                "digest_time": send_time,
                "timezone": "UTC",
            },
        ).api_token
        for i in range(PROFILES)
    ]
    return tokens[0]


def seed(db: Database, server: FeedServer) -> str:
    """Items of the last day (for the digests), the due sources and profiles."""
    generate_corpus(db, items=150, seed=5, now=datetime.now(UTC), span_days=1)
    with db.write() as session:  # the corpus's own sources are not on this machine: not due
        session.execute(
            sa.update(Source).values(next_poll_at=datetime.now(UTC) + timedelta(days=7))
        )
    add_due_sources(db, server)
    return add_due_profiles(db)


@dataclass
class Prober:
    """Asks the API in a loop (a thread) and keeps every answer that was not a 200."""

    base: str
    token: str
    answered: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _probe(self, client: httpx.Client, path: str, **options: Any) -> None:
        try:
            status = client.get(path, **options).status_code
        except httpx.HTTPError as exc:
            self.failures.append(f"{path}: {exc!r}")
            return
        if status != 200:
            self.failures.append(f"{path}: {status}")
        self.answered[path] = self.answered.get(path, 0) + 1

    def _run(self) -> None:
        bearer = {"Authorization": f"Bearer {self.token}"}
        with httpx.Client(base_url=self.base, timeout=10) as client:
            while not self._stop.is_set():
                self._probe(client, "/healthz")
                self._probe(client, "/v1/feed", headers=bearer)
                self._probe(client, "/readyz")
                self._probe(client, "/v1/items?limit=5")
                self._stop.wait(0.2)  # leave the two cores to the processes under test

    def __enter__(self) -> Prober:
        self._thread = threading.Thread(target=self._run, name="api-prober", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        assert self._thread is not None
        self._thread.join(timeout=15)


def count(db: Database, *columns: Any, where: Any = True) -> int:
    with db.session() as session:
        return int(session.exec(select(func.count(*columns)).where(where)).one())


def lease_holders(db: Database) -> int:
    return count(db, sa.distinct(Source.lease_owner), where=col(Source.lease_owner).is_not(None))


def stop_all(processes: list[Running]) -> list[int]:
    for running in processes:
        running.process.terminate()
    return [running.finish(timeout=20) for running in processes]


@pytest.mark.postgres
@pytest.mark.slow
def test_the_compose_topology_polls_each_source_once_serves_throughout_mails_each_digest_once(
    empty_postgres: str, tmp_path: Path, launched: list[Running]
) -> None:
    port = free_port()
    with FeedServer.running(hosts=HOSTS) as server, smtp_server() as smtp:
        env = {
            name: service_env(name, empty_postgres, smtp, port, tmp_path / "data")
            for name in ("migrate", "api", "worker")
        }
        migrate = start(service_argv("migrate"), env["migrate"], tmp_path, "migrate")
        assert migrate.finish() == 0, migrate.output()
        assert "migrated empty database" in migrate.output()
        db = Database(empty_postgres)
        token = seed(db, server)

        api = start(service_argv("api"), env["api"], tmp_path, "api")
        launched.append(api)
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: answers(f"{base}/readyz"), "the API to be ready", timeout=30)
        replicas = COMPOSE["services"]["worker"]["deploy"]["replicas"]
        with Prober(base, token) as prober:
            workers = [
                start(service_argv("worker"), env["worker"], tmp_path, f"worker{n}")
                for n in range(replicas)
            ]
            launched.extend(workers)
            wait_until(lambda: lease_holders(db) == replicas, "every worker to hold leases", 60)
            server.open_gate("round")
            wait_until(lambda: count(db, PollLog.id) == SOURCES, "every source polled", 60)
            wait_until(lambda: len(smtp.messages) == PROFILES, "every digest sent")
            time.sleep(4 * TICK)  # more ticks: nothing is due any more, so nothing is fetched
        statuses = stop_all([*workers, api])
        assert statuses == [0] * (replicas + 1), "\n".join(p.output() for p in [*workers, api])
        hits = [server.hits(f"/t/{i}") for i in range(SOURCES)]
        peaks = {host: server.max_concurrent(host) for host in HOSTS}

    assert hits == [1] * SOURCES  # no source fetched twice
    assert all(peak <= 2 for peak in peaks.values()), peaks  # per host, across both workers
    with db.session() as session:
        polled_by = set(session.exec(select(PollLog.worker)))
        deliveries = list(session.exec(select(Delivery)))
    assert len(polled_by) == replicas  # the work was shared
    assert count(db, Source.id, where=col(Source.lease_owner).is_not(None)) == 0

    assert prober.failures == []  # the API answered every probe
    assert min(prober.answered.values()) >= 10 and len(prober.answered) == 4

    inboxes = [len(smtp.received_by(f"reader{i}@example.org")) for i in range(PROFILES)]
    assert inboxes == [1] * PROFILES  # each digest exactly once
    assert sorted((d.status, d.attempts) for d in deliveries) == [("sent", 1)] * PROFILES

    api_lines = json_lines(api.stderr.read_text())  # compose asks for JSON logs: all of them
    assert any(r.get("route") == "/v1/feed" and r["status"] == 200 for r in api_lines)
    records = [r for w in workers for r in json_lines(w.stderr.read_text())]
    rounds = [r for r in records if r["msg"] == "poll round done"]
    assert sum(r["sources"] for r in rounds) == SOURCES
    assert sum(r["items_new"] for r in rounds) == SOURCES
    sent = [r for r in records if r["msg"] == "digest sent"]
    assert sorted(r["profile"] for r in sent) == [f"reader{i}" for i in range(PROFILES)]
    assert all(r["items"] > 0 and r["period"] for r in sent)
    db.dispose()
