"""Claims on sources: a lease on each source a worker polls, so many workers never poll one twice.

A claim is one atomic statement::

    UPDATE source SET lease_owner = :me, lease_until = :now + lease
    WHERE id IN (SELECT id FROM source
                 WHERE active AND next_poll_at <= :now
                   AND (lease_until IS NULL OR lease_until < :now)
                 ORDER BY next_poll_at, id LIMIT :n
                 FOR UPDATE SKIP LOCKED)              -- PostgreSQL: concurrent claimers skip
      AND (lease_until IS NULL OR lease_until < :now)  -- re-checked on the newest row version
    RETURNING id

On SQLite the same statement runs in a ``BEGIN IMMEDIATE`` transaction (``Database.write``), which
serializes claimers (SQLite compiles no ``FOR UPDATE``). A lease ends when the poll's outcome is
written (``apply_poll`` clears it), when the worker releases it (shutdown, a fetch abandoned), or
when it expires: the lease of a killed worker runs out and the source is claimed again.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select

from service.records import SourceForUpdate
from service.storage.engine import Database
from service.storage.models import Source
from service.storage.sources import load_for_update


def _lease_free(now: datetime) -> Any:
    return sa.or_(col(Source.lease_until).is_(None), col(Source.lease_until) < now)


def _claimable(
    now: datetime,
    *,
    due_only: bool,
    source_ids: Sequence[int] | None,
    exclude_ids: Sequence[int],
) -> list[Any]:
    conditions: list[Any] = [col(Source.active).is_(True), _lease_free(now)]
    if due_only:
        conditions.append(col(Source.next_poll_at) <= now)
    if source_ids is not None:
        conditions.append(col(Source.id).in_(list(source_ids)))
    if exclude_ids:
        conditions.append(col(Source.id).not_in(list(exclude_ids)))
    return conditions


def claim_due(
    db: Database,
    *,
    owner: str,
    now: datetime,
    limit: int | None,
    lease_seconds: float,
    due_only: bool = True,
    source_ids: Sequence[int] | None = None,
    exclude_ids: Sequence[int] = (),
) -> list[SourceForUpdate]:
    """Lease up to ``limit`` due sources (most overdue first) to ``owner`` and return them.

    ``due_only=False`` claims regardless of the due time (a manual poll); ``source_ids`` narrows
    the claim to those sources, ``exclude_ids`` leaves those out (already tried this round).
    Sources leased by someone else are never returned.
    """
    if source_ids is not None and not source_ids:
        return []
    candidates = (
        select(Source.id)
        .where(*_claimable(now, due_only=due_only, source_ids=source_ids, exclude_ids=exclude_ids))
        .order_by(col(Source.next_poll_at), col(Source.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claim = (
        sa.update(Source)
        .where(col(Source.id).in_(candidates), _lease_free(now))
        .values(lease_owner=owner, lease_until=now + timedelta(seconds=lease_seconds))
        .returning(col(Source.id))
    )
    with db.write() as session:
        ids = sorted(session.execute(claim).scalars().all())
        return load_for_update(session, ids, now)


def extend_leases(db: Database, *, owner: str, source_ids: Sequence[int], until: datetime) -> int:
    """Push the leases ``owner`` still holds on ``source_ids`` out to ``until`` (a heartbeat)."""
    if not source_ids:
        return 0
    stmt = (
        sa.update(Source)
        .where(col(Source.id).in_(list(source_ids)), col(Source.lease_owner) == owner)
        .values(lease_until=until)
    )
    with db.write() as session:
        return int(session.execute(stmt).rowcount)  # type: ignore[attr-defined]


def release_leases(db: Database, *, owner: str, source_ids: Sequence[int] | None = None) -> int:
    """Give back the leases ``owner`` holds (on ``source_ids``, or all); how many were held."""
    if source_ids is not None and not source_ids:
        return 0
    stmt = sa.update(Source).where(col(Source.lease_owner) == owner)
    if source_ids is not None:
        stmt = stmt.where(col(Source.id).in_(list(source_ids)))
    with db.write() as session:
        released = session.execute(stmt.values(lease_owner=None, lease_until=None))
        return int(released.rowcount)  # type: ignore[attr-defined]


def leased_elsewhere(
    db: Database, *, owner: str, now: datetime, source_ids: Sequence[int] | None = None
) -> list[tuple[str, str]]:
    """(source name, lease owner) of active sources someone else holds a live lease on."""
    stmt = select(Source.name, Source.lease_owner).where(
        col(Source.active).is_(True),
        col(Source.lease_owner).is_not(None),
        col(Source.lease_owner) != owner,
        col(Source.lease_until) >= now,
    )
    if source_ids is not None:
        stmt = stmt.where(col(Source.id).in_(list(source_ids)))
    with db.session() as session:
        return [(name, lease_owner or "") for name, lease_owner in session.exec(stmt)]
