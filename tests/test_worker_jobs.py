"""The worker's jobs besides polling: the digest sender and poll-log housekeeping."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from corpusgen import generate_corpus
from smtpserver import smtp_server
from sqlmodel import select

from service.config import Settings
from service.storage.engine import Database
from service.storage.models import Delivery, PollLog, Source
from service.storage.profiles import create_profile
from service.storage.sources import prune_poll_log
from service.worker.compose import worker_jobs
from service.worker.jobs import digest_job, housekeeping_job


def test_prune_keeps_recent_poll_log_rows(db: Database) -> None:
    now = datetime(2026, 11, 25, tzinfo=UTC)
    with db.write() as s:
        source = Source(name="s", url="https://s.example/feed", kind="post")
        s.add(source)
        s.flush()
        assert source.id is not None
        for days in (0, 10, 29, 31, 90):
            s.add(
                PollLog(
                    source_id=source.id, started_at=now - timedelta(days=days), outcome="updated"
                )
            )
    assert prune_poll_log(db, now - timedelta(days=30)) == 2
    with db.session() as s:
        kept = sorted((now - row.started_at).days for row in s.exec(select(PollLog)))
    assert kept == [0, 10, 29]


def test_the_digest_job_runs_only_where_mail_is_configured(
    make_settings: Callable[..., Settings], db: Database
) -> None:
    class FakePoller:  # worker_jobs only reads the poller's run/stop hooks and database
        def __init__(self) -> None:
            self.db = db

        async def run_round(self) -> None:
            return None

        def stop(self) -> None:
            return None

    without = worker_jobs(make_settings(), FakePoller())  # type: ignore[arg-type]
    with_mail = worker_jobs(make_settings(smtp_host="127.0.0.1"), FakePoller())  # type: ignore[arg-type]
    assert [job.name for job in without] == ["poll", "housekeeping", "trends"]
    assert [job.name for job in with_mail] == ["poll", "housekeeping", "trends", "digest"]
    assert next(j for j in with_mail if j.name == "digest").every == timedelta(minutes=1)


def test_the_digest_job_sends_a_due_digest_once(
    db: Database, make_settings: Callable[..., Settings]
) -> None:
    now = datetime.now(UTC)
    generate_corpus(db, items=120, seed=3, now=now - timedelta(minutes=5), span_days=2)
    send_time = (now - timedelta(minutes=2)).strftime("%H:%M")
    if send_time > now.strftime("%H:%M"):  # just after midnight UTC: yesterday's slot
        send_time = "00:00"
    create_profile(
        db,
        name="ada",
        changes={
            "interests": {"nlp": 1.0},
            "email": "ada@example.org",
            "digest_enabled": True,
            "digest_time": send_time,
            "timezone": "UTC",
        },
    )
    with smtp_server() as server:
        settings = make_settings(
            smtp_host="127.0.0.1",
            smtp_port=server.port,
            smtp_starttls=False,
            smtp_from="Staycurrent <digest@example.org>",
        )
        job = digest_job(settings, db)
        asyncio.run(job.run())
        asyncio.run(job.run())  # the next minute: nothing more for this period
        received = server.received_by("ada@example.org")
    assert len(received) == 1
    assert received[0].message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    with db.session() as s:
        [delivery] = s.exec(select(Delivery)).all()
    assert delivery.status == "sent"


def test_housekeeping_job_prunes(db: Database) -> None:
    with db.write() as s:
        source = Source(name="s", url="https://s.example/feed", kind="post")
        s.add(source)
        s.flush()
        assert source.id is not None
        s.add(
            PollLog(
                source_id=source.id,
                started_at=datetime.now(UTC) - timedelta(days=400),
                outcome="error",
            )
        )
    asyncio.run(housekeeping_job(db).run())
    with db.session() as s:
        assert s.exec(select(PollLog)).all() == []
