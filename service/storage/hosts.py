"""Host leases: turns to talk to a host, shared by every worker process through the database.

A host (or a group of hosts, such as arXiv's) has one ``host_lease`` row per request allowed at
once: ``example.org`` and ``example.org#1`` for two. Taking a turn is one atomic UPDATE of a free
row (no owner, or its lease expired), which returns when that row's last request ended, so the
caller can keep its distance; giving the turn back records when this request ended. A worker
killed mid-request leaves a lease that expires after ``hold``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select

from service.records import HostTurn
from service.storage.engine import Database
from service.storage.models import HostLease


def _free(now: Any) -> Any:
    return sa.or_(
        col(HostLease.owner).is_(None),
        col(HostLease.lease_until).is_(None),
        col(HostLease.lease_until) < now,
    )


def ensure_host_rows(db: Database, keys: Sequence[str]) -> None:
    """Create the lease rows named ``keys`` that do not exist yet."""
    insert = postgresql.insert if db.dialect == "postgresql" else sqlite.insert
    stmt = insert(HostLease).values([{"host": key} for key in keys]).on_conflict_do_nothing()
    with db.write() as session:
        session.execute(stmt)


# Taking and giving back turns happens twice per fetch: both statements are built once, with
# parameters, and run on the session's connection (no ORM work), which costs a fraction of
# building them each time.
def _take_statement() -> Any:
    now: Any = sa.bindparam("now")
    free_row = (
        select(HostLease.host)
        .where(col(HostLease.host).in_(sa.bindparam("keys", expanding=True)), _free(now))
        .order_by(col(HostLease.last_request_at).nulls_first(), col(HostLease.host))
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    return (
        sa.update(HostLease)
        .where(col(HostLease.host) == free_row, _free(now))
        .values(owner=sa.bindparam("owner"), lease_until=sa.bindparam("until"))
        .returning(col(HostLease.host), col(HostLease.last_request_at))
    )


def _give_back_statement(*, ended: bool) -> Any:
    values: dict[str, Any] = {"owner": None, "lease_until": None}
    if ended:
        values["last_request_at"] = sa.bindparam("ended")
    return (
        sa.update(HostLease)
        .where(
            col(HostLease.host) == sa.bindparam("key"), col(HostLease.owner) == sa.bindparam("me")
        )
        .values(**values)
    )


_TAKE = _take_statement()
_GIVE_BACK = {True: _give_back_statement(ended=True), False: _give_back_statement(ended=False)}


def take_host_turn(
    db: Database, *, keys: Sequence[str], owner: str, now: datetime, hold: timedelta
) -> HostTurn | None:
    """Lease one free row of ``keys`` to ``owner`` until ``now + hold``; None if all are busy."""
    params = {"keys": list(keys), "now": now, "owner": owner, "until": now + hold}
    with db.write() as session:
        row = session.connection().execute(_TAKE, params).first()
    return None if row is None else HostTurn(row[0], row[1])


def give_back_host_turn(
    db: Database, *, key: str, owner: str, request_ended_at: datetime | None
) -> None:
    """End ``owner``'s lease on ``key``, recording when its request ended (if one was made)."""
    ended = request_ended_at is not None
    params: dict[str, Any] = {"key": key, "me": owner}
    if ended:
        params["ended"] = request_ended_at
    with db.write() as session:
        session.connection().execute(_GIVE_BACK[ended], params)


def release_host_turns(db: Database, *, owner_prefix: str) -> int:
    """Give back every host lease whose owner starts with ``owner_prefix`` (at shutdown)."""
    pattern = owner_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    stmt = (
        sa.update(HostLease)
        .where(col(HostLease.owner).like(pattern, escape="\\"))
        .values(owner=None, lease_until=None)
    )
    with db.write() as session:
        return int(session.execute(stmt).rowcount)  # type: ignore[attr-defined]


class HostLeases:
    """The host-lease functions bound to one database (what ``HostLimiter`` needs)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def ensure(self, keys: Sequence[str]) -> None:
        ensure_host_rows(self.db, keys)

    def take(
        self, keys: Sequence[str], owner: str, now: datetime, hold: timedelta
    ) -> HostTurn | None:
        return take_host_turn(self.db, keys=keys, owner=owner, now=now, hold=hold)

    def give_back(self, key: str, owner: str, request_ended_at: datetime | None) -> None:
        give_back_host_turn(self.db, key=key, owner=owner, request_ended_at=request_ended_at)
