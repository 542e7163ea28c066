"""Digest deliveries: one row per (profile, period), moved through its states exactly once.

::

    (no row) --claim--> pending, claimed --begin_sending--> sending --mark_sent--> sent
                 ^          |    |                             |
                 |          |    '--mark_skipped--> skipped    '--mark_failed--> failed
                 '--------- '<-------- mark_retry (a transient SMTP failure, with backoff)
    sending whose lease ran out --expire_stuck--> failed ("outcome unknown")

Every transition is one conditional UPDATE (``WHERE status = ... AND claimed_by = ...``) in its
own committed transaction, and the row is created by an insert that does nothing when the
(profile, period) pair exists (``uq_delivery_period``). So of two workers racing for a period one
wins the claim and the other changes nothing; and ``sending`` is committed *before* the SMTP
conversation starts.

A claim in ``pending`` whose worker died (while composing, before any SMTP) is safe to take again
once its lease has run out. A row left in ``sending`` is not: the message may or may not have
been accepted before the crash. Email is better missed once than received twice, so such a row
becomes ``failed`` with the reason "outcome unknown" and is never sent again. A worker that was
only slow (its lease ran out while the server was still answering) may still record ``sent``.

``DeliveryItem`` rows are written with the ``sending`` transition; an item counts as "sent to this
profile" only through a delivery whose status is ``sent``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel, col, delete, select, update

from service.storage.engine import Database
from service.storage.models import Delivery, DeliveryItem, Profile

PENDING, SENDING, SENT, FAILED, SKIPPED = "pending", "sending", "sent", "failed", "skipped"
STATUSES = (PENDING, SENDING, SENT, FAILED, SKIPPED)
OUTCOME_UNKNOWN = (
    "outcome unknown: the sender stopped while talking to the mail server, so the message may "
    "have been delivered; not sent again to avoid a duplicate"
)
_CHUNK = 500


@dataclass(frozen=True, slots=True)
class DeliveryClaim:
    """A worker's hold on one (profile, period): only its ``claimant`` may move the row on."""

    delivery_id: int
    profile_id: int
    period: str
    claimant: str
    attempts: int  # including this one


@dataclass(frozen=True, slots=True)
class DeliveryState:
    """What the scheduler needs to know about an existing delivery row."""

    profile_id: int
    period: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    lease_until: datetime | None


def _insert_if_absent(session: Session, profile_id: int, period: str, now: datetime) -> None:
    dialect = session.get_bind().dialect.name
    table = SQLModel.metadata.tables[Delivery.__tablename__]
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    values = {"profile_id": profile_id, "period": period, "status": PENDING, "created_at": now}
    session.connection().execute(insert.values(**values).on_conflict_do_nothing())


def _claimable(now: datetime) -> list[sa.ColumnElement[bool]]:
    return [
        col(Delivery.status) == PENDING,
        sa.or_(col(Delivery.next_attempt_at).is_(None), col(Delivery.next_attempt_at) <= now),
        sa.or_(col(Delivery.lease_until).is_(None), col(Delivery.lease_until) <= now),
    ]


def claim_delivery(
    db: Database,
    *,
    profile_id: int,
    period: str,
    claimant: str,
    now: datetime,
    lease: timedelta,
) -> DeliveryClaim | None:
    """Hold (profile, period) for ``claimant``; None when it is sent, held or waiting to retry."""
    with db.write() as session:
        _insert_if_absent(session, profile_id, period, now)
        result = session.exec(
            update(Delivery)
            .where(
                col(Delivery.profile_id) == profile_id,
                col(Delivery.period) == period,
                *_claimable(now),
            )
            .values(claimed_by=claimant, lease_until=now + lease, attempts=Delivery.attempts + 1)
        )
        if result.rowcount != 1:
            return None
        row = session.exec(
            select(Delivery).where(Delivery.profile_id == profile_id, Delivery.period == period)
        ).one()
    assert row.id is not None
    return DeliveryClaim(row.id, profile_id, period, claimant, row.attempts)


def _held(claim: DeliveryClaim, *statuses: str) -> list[sa.ColumnElement[bool]]:
    return [
        col(Delivery.id) == claim.delivery_id,
        col(Delivery.claimed_by) == claim.claimant,
        col(Delivery.status).in_(statuses),
    ]


def _move(session: Session, claim: DeliveryClaim, statuses: Sequence[str], **values: Any) -> bool:
    result = session.exec(update(Delivery).where(*_held(claim, *statuses)).values(**values))
    return result.rowcount == 1


def begin_sending(
    db: Database,
    *,
    claim: DeliveryClaim,
    item_ids: Sequence[int],
    minutes: int,
    message_id: str,
    now: datetime,
    lease: timedelta,
) -> bool:
    """pending -> sending, with the items it carries; False if the claim was lost meanwhile."""
    with db.write() as session:
        moved = _move(
            session,
            claim,
            [PENDING],
            status=SENDING,
            lease_until=now + lease,
            item_count=len(item_ids),
            minutes=minutes,
            message_id=message_id,
            error=None,
        )
        if not moved:
            return False
        session.exec(delete(DeliveryItem).where(col(DeliveryItem.delivery_id) == claim.delivery_id))
        session.add_all(
            DeliveryItem(delivery_id=claim.delivery_id, item_id=i, profile_id=claim.profile_id)
            for i in dict.fromkeys(item_ids)
        )
    return True


def mark_sent(db: Database, *, claim: DeliveryClaim, now: datetime) -> bool:
    """sending -> sent (also from failed: a slow sender whose lease ran out did send)."""
    with db.write() as session:
        return _move(
            session,
            claim,
            [SENDING, FAILED],
            status=SENT,
            sent_at=now,
            lease_until=None,
            error=None,
        )


def mark_failed(db: Database, *, claim: DeliveryClaim, reason: str) -> bool:
    """pending or sending -> failed, for good, with the reason (the server's reply)."""
    with db.write() as session:
        return _move(
            session, claim, [PENDING, SENDING], status=FAILED, lease_until=None, error=reason
        )


def mark_retry(db: Database, *, claim: DeliveryClaim, reason: str, retry_at: datetime) -> bool:
    """pending or sending -> pending, free to claim again from ``retry_at`` (a transient failure:
    nothing was handed to the mail server)."""
    with db.write() as session:
        return _move(
            session,
            claim,
            [PENDING, SENDING],
            status=PENDING,
            claimed_by=None,
            lease_until=None,
            next_attempt_at=retry_at,
            error=reason,
        )


def mark_skipped(db: Database, *, claim: DeliveryClaim, reason: str) -> bool:
    """pending -> skipped: the period had nothing to send, and nothing was sent."""
    with db.write() as session:
        return _move(session, claim, [PENDING], status=SKIPPED, lease_until=None, error=reason)


def release_claim(db: Database, *, claim: DeliveryClaim) -> bool:
    """Give a pending claim back untouched (composing failed before any SMTP)."""
    with db.write() as session:
        return _move(session, claim, [PENDING], claimed_by=None, lease_until=None)


def expire_stuck(db: Database, *, now: datetime) -> int:
    """Every ``sending`` row whose lease ran out -> failed, outcome unknown. Returns how many."""
    with db.write() as session:
        result = session.exec(
            update(Delivery)
            .where(col(Delivery.status) == SENDING, col(Delivery.lease_until) < now)
            .values(status=FAILED, lease_until=None, error=OUTCOME_UNKNOWN)
        )
        return int(result.rowcount)


# --------------------------------------------------------------------------- reads


def digest_profiles(session: Session, *, after_id: int, limit: int) -> list[Profile]:
    """Up to ``limit`` profiles with the digest on and an address, by id after ``after_id``."""
    statement = (
        select(Profile)
        .where(
            col(Profile.digest_enabled).is_(True),
            col(Profile.email).is_not(None),
            col(Profile.id) > after_id,
        )
        .order_by(col(Profile.id))
        .limit(limit)
    )
    return list(session.exec(statement).all())


def delivery_states(
    session: Session, pairs: Iterable[tuple[int, str]]
) -> dict[tuple[int, str], DeliveryState]:
    """The rows of these (profile id, period) pairs that exist, by pair."""
    wanted = set(pairs)
    found: dict[tuple[int, str], DeliveryState] = {}
    profile_ids = sorted({profile_id for profile_id, _ in wanted})
    for start in range(0, len(profile_ids), _CHUNK):
        chunk = profile_ids[start : start + _CHUNK]
        periods = sorted({period for profile_id, period in wanted if profile_id in set(chunk)})
        rows = session.exec(
            select(Delivery).where(
                col(Delivery.profile_id).in_(chunk), col(Delivery.period).in_(periods)
            )
        )
        for row in rows:
            if (row.profile_id, row.period) in wanted:
                found[(row.profile_id, row.period)] = _state(row)
    return found


def _state(row: Delivery) -> DeliveryState:
    return DeliveryState(
        row.profile_id, row.period, row.status, row.attempts, row.next_attempt_at, row.lease_until
    )


def get_delivery(session: Session, *, profile_id: int, period: str) -> Delivery | None:
    return session.exec(
        select(Delivery).where(Delivery.profile_id == profile_id, Delivery.period == period)
    ).first()


def recent_deliveries(session: Session, *, profile_id: int, limit: int = 20) -> list[Delivery]:
    """The profile's newest deliveries first."""
    statement = (
        select(Delivery)
        .where(Delivery.profile_id == profile_id)
        .order_by(col(Delivery.created_at).desc(), col(Delivery.id).desc())
        .limit(limit)
    )
    return list(session.exec(statement).all())


def last_sent_at(session: Session, *, profile_id: int) -> datetime | None:
    """When the profile's latest digest went out (None before the first)."""
    statement = (
        select(Delivery.sent_at)
        .where(Delivery.profile_id == profile_id, Delivery.status == SENT)
        .order_by(col(Delivery.sent_at).desc())
        .limit(1)
    )
    return session.exec(statement).first()


def sent_item_ids(session: Session, *, profile_id: int, item_ids: Sequence[int]) -> set[int]:
    """Which of ``item_ids`` an earlier digest (status sent) already gave this profile."""
    found: set[int] = set()
    unique = list(dict.fromkeys(item_ids))
    for start in range(0, len(unique), _CHUNK):
        statement = (
            sa.select(col(DeliveryItem.item_id))
            .join(Delivery, col(Delivery.id) == col(DeliveryItem.delivery_id))
            .where(
                col(DeliveryItem.profile_id) == profile_id,
                col(DeliveryItem.item_id).in_(unique[start : start + _CHUNK]),
                col(Delivery.status) == SENT,
            )
        )
        found.update(int(item_id) for item_id in session.execute(statement).scalars())
    return found
