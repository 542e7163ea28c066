"""Claims with leases, on SQLite and PostgreSQL: never two claimers on one source."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlmodel import col, select

from service.records import PollIntent
from service.storage.claims import claim_due, extend_leases, leased_elsewhere, release_leases
from service.storage.engine import Database
from service.storage.models import Source
from service.storage.sources import add_source, apply_poll

NOW = datetime(2026, 11, 24, 14, 0, tzinfo=UTC)
LEASE = 60.0


def make_sources(db: Database, count: int, *, due: datetime = NOW, prefix: str = "s") -> list[int]:
    with db.write() as s:
        rows = [
            add_source(
                s, name=f"{prefix}{i}", url=f"https://h{i % 5}.example/{prefix}{i}", kind="post"
            )
            for i in range(count)
        ]
        for row in rows:
            row.next_poll_at = due
        s.flush()
        return [row.id or 0 for row in rows]


def update(db: Database, source_id: int, **values: object) -> None:
    with db.write() as s:
        row = s.get(Source, source_id)
        assert row is not None
        for key, value in values.items():
            setattr(row, key, value)


def leases(db: Database) -> dict[int, str | None]:
    with db.session() as s:
        return {row.id or 0: row.lease_owner for row in s.exec(select(Source))}


def claim(db: Database, owner: str, *, now: datetime = NOW, limit: int | None = 100) -> list[int]:
    found = claim_due(db, owner=owner, now=now, limit=limit, lease_seconds=LEASE)
    return [source.id for source in found]


def test_two_claimers_never_get_the_same_source(db: Database) -> None:
    ids = make_sources(db, 60)
    taken: dict[str, list[int]] = {"a": [], "b": []}
    start = threading.Barrier(2)

    def claimer(owner: str) -> None:
        start.wait()
        while batch := claim(db, owner, limit=7):
            taken[owner] += batch

    threads = [threading.Thread(target=claimer, args=(owner,)) for owner in taken]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not set(taken["a"]) & set(taken["b"])
    assert sorted(taken["a"] + taken["b"]) == sorted(ids)
    owners = leases(db)
    assert all(owners[i] == "a" for i in taken["a"])
    assert all(owners[i] == "b" for i in taken["b"])


def test_only_active_due_and_unleased_sources_are_claimed(db: Database) -> None:
    due, later, inactive, held, expired = make_sources(db, 5)
    update(db, later, next_poll_at=NOW + timedelta(minutes=1))
    update(db, inactive, active=False)
    update(db, held, lease_owner="other", lease_until=NOW + timedelta(seconds=1))
    update(db, expired, lease_owner="dead", lease_until=NOW - timedelta(seconds=1))
    assert sorted(claim(db, "me")) == sorted([due, expired])
    owners = leases(db)
    assert (owners[held], owners[later], owners[inactive]) == ("other", None, None)


def test_most_overdue_first_and_the_limit_holds(db: Database) -> None:
    ids = make_sources(db, 4)
    for age, source_id in enumerate(ids):
        update(db, source_id, next_poll_at=NOW - timedelta(hours=age))
    assert sorted(claim(db, "me", limit=2)) == sorted(ids[2:])


def test_an_expired_lease_is_claimed_again(db: Database) -> None:
    (source_id,) = make_sources(db, 1)
    assert claim(db, "killed") == [source_id]
    assert claim(db, "other", now=NOW + timedelta(seconds=LEASE / 2)) == []
    assert claim(db, "other", now=NOW + timedelta(seconds=LEASE + 1)) == [source_id]
    assert leases(db)[source_id] == "other"


def test_writing_the_outcome_releases_the_lease(db: Database) -> None:
    (source_id,) = make_sources(db, 1)
    claim(db, "me")
    with db.write() as s:
        apply_poll(
            s,
            PollIntent(
                source_id=source_id,
                attempted_at=NOW,
                outcome="not_modified",
                next_poll_at=NOW + timedelta(hours=1),
                consecutive_errors=0,
                state="ok",
                status_code=304,
            ),
            worker="me",
        )
    with db.session() as s:
        row = s.get(Source, source_id)
        assert row is not None
        assert (row.lease_owner, row.lease_until) == (None, None)
    assert claim(db, "me", now=NOW + timedelta(minutes=1)) == []  # not due any more


def test_release_gives_back_only_ones_own_leases(db: Database) -> None:
    ids = make_sources(db, 5)
    mine = claim(db, "me", limit=3)
    theirs = claim(db, "them")
    assert release_leases(db, owner="me", source_ids=mine[:1]) == 1
    assert release_leases(db, owner="me") == 2
    owners = leases(db)
    assert all(owners[i] is None for i in mine)
    assert all(owners[i] == "them" for i in theirs)
    assert sorted(claim(db, "again")) == sorted(mine)
    assert len(ids) == len(mine) + len(theirs)


def test_a_heartbeat_extends_only_ones_own_leases(db: Database) -> None:
    ids = make_sources(db, 2)
    mine = claim(db, "me", limit=1)
    later = NOW + timedelta(seconds=LEASE * 3)
    assert extend_leases(db, owner="me", source_ids=ids, until=later) == 1
    assert claim(db, "other", now=NOW + timedelta(seconds=LEASE * 2)) == [
        i for i in ids if i not in mine
    ]


def test_a_manual_poll_claims_regardless_of_due_time_but_not_what_others_hold(
    db: Database,
) -> None:
    ids = make_sources(db, 4, due=NOW + timedelta(days=1))
    held = claim_due(
        db, owner="worker", now=NOW, limit=None, lease_seconds=LEASE, due_only=False,
        source_ids=ids[:1],
    )  # fmt: skip
    assert [s.id for s in held] == ids[:1]
    manual = claim_due(db, owner="cli", now=NOW, limit=None, lease_seconds=LEASE, due_only=False)
    assert sorted(s.id for s in manual) == sorted(ids[1:])
    assert leased_elsewhere(db, owner="cli", now=NOW) == [("s0", "worker")]
    excluded = claim_due(
        db, owner="x", now=NOW + timedelta(seconds=LEASE + 1), limit=None, lease_seconds=LEASE,
        due_only=False, exclude_ids=ids[1:],
    )  # fmt: skip
    assert [s.id for s in excluded] == ids[:1]


def test_a_claim_hands_out_what_the_pipeline_needs(db: Database) -> None:
    (source_id,) = make_sources(db, 1)
    update(db, source_id, etag='"v1"', poll_minutes=30, ttl_minutes=60, consecutive_errors=2)
    (claimed,) = claim_due(db, owner="me", now=NOW, limit=1, lease_seconds=LEASE)
    assert (claimed.id, claimed.etag, claimed.poll_minutes) == (source_id, '"v1"', 30)
    assert (claimed.ttl_minutes, claimed.consecutive_errors) == (60, 2)
    with db.session() as s:
        row = s.exec(select(Source).where(col(Source.id) == source_id)).one()
    assert row.lease_until == NOW + timedelta(seconds=LEASE)
