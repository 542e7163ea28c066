"""Delivery rows on SQLite and PostgreSQL: one claim per (profile, period), every transition
conditional on the claimant, stuck sends failed rather than repeated, and which items count as
sent."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from corpusgen import generate_corpus
from sqlmodel import select

from service.storage.deliveries import (
    OUTCOME_UNKNOWN,
    DeliveryClaim,
    begin_sending,
    claim_delivery,
    delivery_states,
    digest_profiles,
    expire_stuck,
    get_delivery,
    last_sent_at,
    mark_failed,
    mark_retry,
    mark_sent,
    mark_skipped,
    release_claim,
    sent_item_ids,
)
from service.storage.engine import Database
from service.storage.models import Delivery, DeliveryItem, Item
from service.storage.profiles import create_profile, update_profile

NOW = datetime(2026, 11, 24, 6, 30, tzinfo=UTC)
LEASE = timedelta(minutes=5)


@pytest.fixture
def ids(db: Database) -> tuple[int, int, list[int]]:
    generate_corpus(db, items=30, seed=2)
    ada = create_profile(db, name="ada", changes={"email": "ada@example.org"}).profile
    bob = create_profile(db, name="bob", changes={"email": "bob@example.org"}).profile
    with db.session() as session:
        items = [i for i in session.exec(select(Item.id).order_by(Item.id)).all() if i]
    assert ada.id and bob.id
    return ada.id, bob.id, items


def _claim(db: Database, profile_id: int, who: str, now: datetime = NOW) -> DeliveryClaim | None:
    return claim_delivery(
        db, profile_id=profile_id, period="2026-11-24", claimant=who, now=now, lease=LEASE
    )


def _row(db: Database, profile_id: int) -> Delivery:
    with db.session() as session:
        row = get_delivery(session, profile_id=profile_id, period="2026-11-24")
    assert row is not None
    return row


def _sending(db: Database, claim: DeliveryClaim, items: list[int], now: datetime = NOW) -> bool:
    return begin_sending(
        db, claim=claim, item_ids=items, minutes=7, message_id="<m@x>", now=now, lease=LEASE
    )


def test_a_period_is_claimed_once(db: Database, ids: tuple[int, int, list[int]]) -> None:
    ada, bob, _ = ids
    first = _claim(db, ada, "w1")
    assert first is not None and first.attempts == 1
    assert _claim(db, ada, "w2") is None  # held
    assert _claim(db, bob, "w2") is not None  # another profile's period is its own
    row = _row(db, ada)
    assert (row.status, row.claimed_by, row.lease_until) == ("pending", "w1", NOW + LEASE)


def test_a_dead_claim_before_sending_is_taken_over(
    db: Database, ids: tuple[int, int, list[int]]
) -> None:
    ada, _, items = ids
    first = _claim(db, ada, "w1")
    assert first is not None
    later = NOW + LEASE
    second = _claim(db, ada, "w2", later)
    assert second is not None and second.attempts == 2
    assert not _sending(db, first, items[:2], later)  # the first worker lost its claim
    assert _sending(db, second, items[:2], later)
    assert _row(db, ada).claimed_by == "w2"


def test_sending_is_never_claimed_again_and_a_stuck_send_fails(
    db: Database, ids: tuple[int, int, list[int]]
) -> None:
    ada, _, items = ids
    claim = _claim(db, ada, "w1")
    assert claim is not None and _sending(db, claim, items[:3])
    assert _row(db, ada).status == "sending" and _row(db, ada).item_count == 3
    much_later = NOW + timedelta(hours=3)
    assert _claim(db, ada, "w2", much_later) is None
    assert expire_stuck(db, now=NOW + LEASE - timedelta(seconds=1)) == 0  # lease not over yet
    assert expire_stuck(db, now=much_later) == 1
    row = _row(db, ada)
    assert (row.status, row.error) == ("failed", OUTCOME_UNKNOWN)
    assert _claim(db, ada, "w2", much_later) is None
    # a sender that was only slow did hand the message over: it may still record that
    assert mark_sent(db, claim=claim, now=much_later)
    assert _row(db, ada).status == "sent"


def test_a_transient_failure_waits_for_its_retry_time(
    db: Database, ids: tuple[int, int, list[int]]
) -> None:
    ada, _, items = ids
    claim = _claim(db, ada, "w1")
    assert claim is not None and _sending(db, claim, items[:2])
    retry = NOW + timedelta(minutes=5)
    assert mark_retry(db, claim=claim, reason="451 later", retry_at=retry)
    row = _row(db, ada)
    assert (row.status, row.error, row.next_attempt_at) == ("pending", "451 later", retry)
    assert _claim(db, ada, "w2", retry - timedelta(seconds=1)) is None
    again = _claim(db, ada, "w2", retry)
    assert again is not None and again.attempts == 2


def test_only_the_claimant_moves_a_row(db: Database, ids: tuple[int, int, list[int]]) -> None:
    ada, _, items = ids
    claim = _claim(db, ada, "w1")
    assert claim is not None
    impostor = DeliveryClaim(claim.delivery_id, ada, claim.period, "w2", 1)
    assert not _sending(db, impostor, items)
    assert not mark_failed(db, claim=impostor, reason="x")
    assert not mark_skipped(db, claim=impostor, reason="x")
    assert not release_claim(db, claim=impostor)
    assert _row(db, ada).status == "pending"
    assert mark_skipped(db, claim=claim, reason="nothing new")
    assert not mark_sent(db, claim=claim, now=NOW)  # skipped is final
    assert _row(db, ada).status == "skipped"


def test_a_released_claim_is_free_at_once(db: Database, ids: tuple[int, int, list[int]]) -> None:
    ada, _, _ = ids
    claim = _claim(db, ada, "w1")
    assert claim is not None and release_claim(db, claim=claim)
    assert _claim(db, ada, "w2") is not None


def test_items_count_as_sent_only_through_a_sent_delivery(
    db: Database, ids: tuple[int, int, list[int]]
) -> None:
    ada, bob, items = ids
    with db.session() as session:
        assert last_sent_at(session, profile_id=ada) is None
    claim = _claim(db, ada, "w1")
    assert claim is not None and _sending(db, claim, items[:4])
    with db.session() as session:
        assert sent_item_ids(session, profile_id=ada, item_ids=items) == set()  # not yet sent
    assert mark_sent(db, claim=claim, now=NOW)
    failed = claim_delivery(
        db, profile_id=ada, period="2026-11-25", claimant="w1", now=NOW, lease=LEASE
    )
    assert failed is not None and _sending(db, failed, items[4:6])
    assert mark_failed(db, claim=failed, reason="550 no")
    with db.session() as session:
        assert sent_item_ids(session, profile_id=ada, item_ids=items) == set(items[:4])
        assert sent_item_ids(session, profile_id=bob, item_ids=items) == set()
        assert last_sent_at(session, profile_id=ada) == NOW
        rows = session.exec(select(DeliveryItem).where(DeliveryItem.profile_id == ada)).all()
    assert len(rows) == 6


def test_resending_replaces_the_recorded_items(
    db: Database, ids: tuple[int, int, list[int]]
) -> None:
    ada, _, items = ids
    claim = _claim(db, ada, "w1")
    assert claim is not None and _sending(db, claim, items[:3])
    assert mark_retry(db, claim=claim, reason="451", retry_at=NOW)
    again = _claim(db, ada, "w2")
    assert again is not None and _sending(db, again, items[5:7])
    with db.session() as session:
        rows = session.exec(select(DeliveryItem.item_id).where(DeliveryItem.profile_id == ada))
        assert set(rows.all()) == set(items[5:7])


def test_profiles_with_the_digest_on_in_batches(
    db: Database, ids: tuple[int, int, list[int]]
) -> None:
    ada, bob, _ = ids
    update_profile(db, profile_id=ada, changes={"digest_enabled": True})
    update_profile(db, profile_id=bob, changes={"digest_enabled": True})
    carol = create_profile(db, name="carol", changes={"digest_enabled": True}).profile  # no email
    assert carol.id is not None
    with db.session() as session:
        first = digest_profiles(session, after_id=0, limit=1)
        rest = digest_profiles(session, after_id=first[0].id or 0, limit=10)
    assert [p.name for p in first + rest] == ["ada", "bob"]
    assert _claim(db, ada, "w1") is not None
    with db.session() as session:
        states = delivery_states(session, [(ada, "2026-11-24"), (bob, "2026-11-24")])
    assert list(states) == [(ada, "2026-11-24")]
    assert states[(ada, "2026-11-24")].status == "pending"


def test_concurrent_claims_have_one_winner(db: Database, ids: tuple[int, int, list[int]]) -> None:
    ada, _, _ = ids
    workers = 6
    start = threading.Barrier(workers)
    won: list[DeliveryClaim] = []
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        own = Database(db.url, pool_size=1)
        try:
            start.wait()
            claim = _claim(own, ada, f"w{n}")
            if claim is not None:
                won.append(claim)
        except BaseException as exc:
            errors.append(exc)
        finally:
            own.dispose()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(won) == 1
    with db.session() as session:
        rows = session.exec(select(Delivery).where(Delivery.profile_id == ada)).all()
    assert len(rows) == 1 and rows[0].claimed_by == won[0].claimant
