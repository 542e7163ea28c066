"""One bad feed never hurts the others: 1,000 polls over faulty and healthy sources, nothing lost.

100 sources on the fault-injecting feed server (``faultfeeds``): two per fault of ``FAULTS``
(error statuses, resets, hangs, drips, truncation, non-feeds, broken encodings, redirect loops,
redirects to private addresses with the SSRF guard on, 410, gzip bomb, oversize bodies, and the
faults to tolerate), the other 20 healthy; every feed that serves items has new ones each round.
Ten rounds through the real ``Poller`` (claims, leases) and ``Pipeline``, with a clock that moves
eight days a round so every source is due each time; on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from faultfeeds import FAULTS, LIMITS, FeedMix, MixSource
from feedserver import FeedServer
from sqlmodel import func, select

from service.catalog import load_catalog
from service.clock import utcnow
from service.ingest.fetch import Fetcher
from service.ingest.pipeline import Pipeline
from service.ingest.tag import Tagger
from service.records import PollResult
from service.storage.engine import Database
from service.storage.models import Item, ItemSource, PollLog, Source
from service.worker.poller import Poller

ROOT = Path(__file__).resolve().parent.parent
TAXONOMY = load_catalog(ROOT / "feeds.yaml").taxonomy
PRIVATE = "127.0.0.1"
PUBLIC = ("127.0.0.2", "127.0.0.3", "127.0.0.4")
SOURCES = 100
ROUNDS = 10
ROUND_STEP = timedelta(days=8)  # beyond every wait: back-off cap, gone probe, Retry-After


class Clock:
    """A clock the test moves: every source is due again after each step."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


async def poll_rounds(db: Database, mix: FeedMix, rounds: int) -> list[list[PollResult]]:
    """``rounds`` rounds of the real poller; each round's feeds are served just before it."""
    clock = Clock(utcnow() + timedelta(minutes=1))
    async with Fetcher(LIMITS, guard=mix.guard()) as fetcher:
        pipeline = Pipeline(
            db=db,
            tagger=Tagger(TAXONOMY),
            fetcher=fetcher,
            concurrency=50,
            per_host=12,
            worker_id="reliability",
            clock=clock,
        )
        poller = Poller(
            db=db, pipeline=pipeline, owner="reliability", batch_size=SOURCES, clock=clock
        )
        reports = []
        for round_no in range(rounds):
            mix.serve(round_no, published=clock.now)
            reports.append(list((await poller.run_round()).results))
            clock.now += ROUND_STEP
    return reports


def count(db: Database, table: type) -> int:
    with db.session() as s:
        return s.exec(select(func.count()).select_from(table)).one()


def rows_by_id(db: Database) -> dict[int, Source]:
    with db.session() as s:
        return {row.id or 0: row for row in s.exec(select(Source))}


def figures(by_id: dict[int, MixSource], reports: list[list[PollResult]], db: Database) -> dict:
    survived = Counter(
        by_id[r.source_id].fault.name  # type: ignore[union-attr]
        for report in reports
        for r in report
        if by_id[r.source_id].fault is not None and r.outcome in ("error", "gone")
    )
    return {
        "polls": sum(map(len, reports)),
        "fault types": len(FAULTS),
        "faults survived": sum(survived.values()),
        "by fault": dict(sorted(survived.items())),
        "items stored": count(db, Item),
    }


def rows_in(by_id: dict[int, MixSource], rows: dict[int, Source]) -> list[Source]:
    return [rows[source_id] for source_id in by_id]


def unexpected(source: MixSource, row: Source) -> str | None:
    """What is wrong with the row a source's polls left, or None when it is as expected."""
    fault = source.fault
    got = (row.state, row.last_error, row.consecutive_errors)
    if fault is None or fault.tolerated:
        return None if got == ("ok", None, 0) else f"{source.name}: {got}"
    if row.state != fault.state or fault.expect not in (row.last_error or ""):
        return f"{source.name}: {got}, expected {fault.state!r} and {fault.expect!r}"
    return None if row.consecutive_errors == ROUNDS else f"{source.name}: {got}"


@pytest.mark.slow
def test_a_thousand_polls_over_faulty_and_healthy_sources_lose_nothing(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    with FeedServer.running(hosts=(PRIVATE, *PUBLIC)) as server:
        mix = FeedMix(server, PUBLIC, PRIVATE, copies=2, healthy=SOURCES - 2 * len(FAULTS))
        by_id = mix.add_to(db)
        reports = asyncio.run(poll_rounds(db, mix, ROUNDS))
        reached_inside = server.seen(host=PRIVATE)
    rows = rows_by_id(db)

    # the worker never crashed: every source polled once in every round, nothing unexpected
    assert [sorted(r.source_id for r in report) for report in reports] == [sorted(by_id)] * ROUNDS
    assert count(db, PollLog) == SOURCES * ROUNDS
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert reached_inside == []  # no redirect or URL ever reached the private address

    # every faulty source says why, in words matching its fault; tolerated ones just work
    wrong = [w for w in map(unexpected, by_id.values(), rows_in(by_id, rows)) if w]
    assert not wrong, "\n".join(wrong)
    for fault_id, source in by_id.items():
        if source.fault is not None and source.fault.warning is not None:
            notes = [r.reason for report in reports for r in report if r.source_id == fault_id]
            assert all(source.fault.warning in (note or "") for note in notes), notes
        if source.fault is not None and source.fault.adopts_url:
            assert rows[fault_id].url == source.place.url("/moved")

    # every item of every document a healthy (or tolerated) source delivered is stored, once,
    # under its title. A document is lost only when its fetch did not complete, and then only
    # by a timeout: on a loaded machine the run's tight deadline (1.2 s) can catch a healthy
    # fetch, whose items that were in no later document the server never sees asked for again.
    delivered: dict[str, str] = {}
    for round_no, report in enumerate(reports):
        for result in report:
            source = by_id[result.source_id]
            if not source.serves_items:
                continue
            if result.outcome == "error":
                assert result.error_kind == "fetch_timeout", (source.name, round_no, result.reason)
            else:
                delivered.update(mix.items_in(source, round_no))
    assert set(delivered) <= set(mix.served)
    with db.session() as s:
        stored = [(item.url, item.title) for item in s.exec(select(Item))]
    assert sorted(stored) == sorted(delivered.items())
    assert count(db, ItemSource) == len(delivered)
    assert [row.name for row in rows.values() if row.lease_owner or row.lease_until] == []

    print("\nreliability figures:", json.dumps(figures(by_id, reports, db)))
