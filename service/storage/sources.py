"""Sources: what the pipeline needs before a poll, and the poll state it writes after one."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from service.clock import utcnow
from service.errors import ConflictError, NotFoundError
from service.records import Kind, Level, PollIntent, SourceFacts, SourceForUpdate
from service.storage.engine import Database
from service.storage.models import ItemSource, PollLog, Source


def for_update(source: Source, *, items_per_week: float = 0.0) -> SourceForUpdate:
    """The frozen view of a source row that the pipeline works with."""
    assert source.id is not None
    return SourceForUpdate(
        id=source.id,
        name=source.name,
        url=source.url,
        kind=source.kind,  # type: ignore[arg-type]
        level=source.level,  # type: ignore[arg-type]
        topics=tuple(source.topics),
        etag=source.etag,
        last_modified=source.last_modified,
        content_hash=source.content_hash,
        poll_minutes=source.poll_minutes,
        consecutive_errors=source.consecutive_errors,
        state=source.state,
        redirect_url=source.redirect_url,
        redirect_count=source.redirect_count,
        last_success_at=source.last_success_at,
        items_per_week=items_per_week,
        ttl_minutes=source.ttl_minutes,
    )


def items_dated_since(
    session: Session, source_ids: Sequence[int] | None, since: datetime, now: datetime
) -> dict[int, int]:
    """Per source, its items whose own date falls in [since, now] (all sources when None).

    Counted on the sightings' copy of the item's date (``item_published_at``, kept by triggers),
    one range of ``ix_item_source_source_published`` per source: no join with ``item``.
    """
    ids = sa.select(col(Source.id)) if source_ids is None else list(source_ids)
    stmt = (
        select(ItemSource.source_id, func.count())
        .where(
            col(ItemSource.source_id).in_(ids),
            col(ItemSource.item_published_at) >= since,
            col(ItemSource.item_published_at) <= now,
        )
        .group_by(col(ItemSource.source_id))
    )
    return dict(session.exec(stmt).all())


def items_per_week(session: Session, source_ids: Sequence[int], now: datetime) -> dict[int, float]:
    """How often each source publishes: its items dated within the last four weeks, per week.

    Counted by the items' own dates, not by when we first saw them, so a new source whose feed
    carries two years of posts is not mistaken for a busy one.
    """
    if not source_ids:
        return {}
    counts = items_dated_since(session, source_ids, now - timedelta(days=28), now)
    return {source_id: count / 4.0 for source_id, count in counts.items()}


def load_for_update(
    session: Session, source_ids: Sequence[int], now: datetime
) -> list[SourceForUpdate]:
    rows = session.exec(select(Source).where(col(Source.id).in_(source_ids))).all()
    rates = items_per_week(session, source_ids, now)
    by_id = {row.id: row for row in rows}
    return [
        for_update(by_id[i], items_per_week=rates.get(i, 0.0)) for i in source_ids if i in by_id
    ]


def find_source(session: Session, name_or_id: str) -> Source:
    """A source by exact name, or by id when given digits; NotFoundError otherwise."""
    stmt = select(Source).where(Source.name == name_or_id)
    source = session.exec(stmt).first()
    if source is None and name_or_id.isdigit():
        source = session.get(Source, int(name_or_id))
    if source is None:
        raise NotFoundError(f"no source named {name_or_id!r}")
    return source


def add_source(
    session: Session,
    *,
    name: str,
    url: str,
    kind: Kind,
    level: Level = "practitioner",
    topics: Sequence[str] = (),
    origin: str = "api",
    poll_minutes: int | None = None,
) -> Source:
    """Insert a new source; ConflictError if its name or URL is taken."""
    clash = session.exec(
        select(Source).where(sa.or_(col(Source.name) == name, col(Source.url) == url))
    ).first()
    if clash is not None:
        what = "name" if clash.name == name else "URL"
        raise ConflictError(f"a source with this {what} exists already: {clash.name!r}")
    source = Source(
        name=name,
        url=url,
        kind=kind,
        level=level,
        topics=list(topics),
        origin=origin,
        poll_minutes=poll_minutes,
    )
    session.add(source)
    session.flush()
    return source


def apply_poll(
    session: Session,
    intent: PollIntent,
    *,
    worker: str = "",
    items_new: int = 0,
    items_updated: int = 0,
    finished_at: datetime | None = None,
) -> None:
    """Write one attempt's outcome on the source (and release its lease) and log the attempt.

    Runs once per poll, so both rows are written with statements built once (no ORM load of the
    source, no unit of work): an UPDATE of the columns the outcome sets and an INSERT of the log.
    """
    conn = session.connection()
    values = _poll_values(intent)
    if intent.new_url:
        values |= _adopted_url(conn, intent.source_id, intent.new_url)
    updated = conn.execute(_UPDATE_SOURCE, {"poll_source_id": intent.source_id, **values})
    if not updated.rowcount:
        raise NotFoundError(f"source {intent.source_id} vanished during its poll")
    log_row = {
        "source_id": intent.source_id,
        "worker": worker,
        "started_at": intent.attempted_at,
        "finished_at": finished_at or utcnow(),
        "outcome": intent.outcome,
        "status_code": intent.status_code,
        "error_kind": intent.error_kind,
        "items_new": items_new,
        "items_updated": items_updated,
    }
    conn.execute(_INSERT_POLL_LOG, log_row)


_SOURCE_TABLE: sa.Table = Source.__table__  # type: ignore[attr-defined]
# The SET clause is made of the parameters' keys (the compiled form is cached per set of keys).
_UPDATE_SOURCE = sa.update(_SOURCE_TABLE).where(
    _SOURCE_TABLE.c.id == sa.bindparam("poll_source_id")
)
_INSERT_POLL_LOG = sa.insert(PollLog.__table__)  # type: ignore[attr-defined]
_SOURCE_URL = sa.select(_SOURCE_TABLE.c.url).where(_SOURCE_TABLE.c.id == sa.bindparam("id"))
_URL_TAKEN = sa.select(_SOURCE_TABLE.c.id).where(_SOURCE_TABLE.c.url == sa.bindparam("url"))


def _poll_values(intent: PollIntent) -> dict[str, Any]:
    """The source columns one attempt's outcome sets."""
    values: dict[str, Any] = {
        "last_attempt_at": intent.attempted_at,
        "last_outcome": intent.outcome,
        "last_status": intent.status_code,
        "next_poll_at": intent.next_poll_at,
        "consecutive_errors": intent.consecutive_errors,
        "state": intent.state,
        "last_error": intent.error_reason,
        "last_error_kind": intent.error_kind,
        "retry_after_until": intent.retry_after_until,
        "redirect_url": intent.redirect_url,
        "redirect_count": intent.redirect_count,
        "lease_owner": None,
        "lease_until": None,
        "updated_at": utcnow(),
    }
    if intent.succeeded:
        values["last_success_at"] = intent.attempted_at
    if not intent.keep_validators:
        values["etag"] = intent.etag
        values["last_modified"] = intent.last_modified
    if intent.content_hash is not None:
        values["content_hash"] = intent.content_hash
    if intent.ttl_minutes is not None:
        values["ttl_minutes"] = intent.ttl_minutes
    if intent.feed_title:
        values["feed_title"] = intent.feed_title[:500]
    return values


def _adopted_url(conn: sa.Connection, source_id: int, new_url: str) -> dict[str, Any]:
    """The columns that move a source to ``new_url``; none when another source polls it already
    (ours is kept) or the source is there already."""
    if conn.execute(_URL_TAKEN, {"url": new_url}).first() is not None:
        return {}
    if conn.execute(_SOURCE_URL, {"id": source_id}).scalar() == new_url:
        return {}
    return {
        "url": new_url,
        "etag": None,
        "last_modified": None,
        "content_hash": None,
        "redirect_url": None,
        "redirect_count": 0,
    }


def record_content_hash(session: Session, source_id: int, content_hash: str) -> None:
    """Remember the hash of the last bytes ingested for a source (local ingest).

    ``updated_at`` moves too: ranking's window cache (``rank.loader``) sees by it that items of
    the source may have changed."""
    stmt = (
        sa.update(Source)
        .where(col(Source.id) == source_id)
        .values(content_hash=content_hash, updated_at=utcnow())
    )
    if session.connection().execute(stmt).rowcount != 1:
        raise NotFoundError(f"source {source_id} does not exist")


def _facts(source: Source, items_last_7_days: int) -> SourceFacts:
    assert source.id is not None
    return SourceFacts(
        id=source.id,
        name=source.name,
        url=source.url,
        kind=source.kind,
        active=source.active,
        state=source.state,
        next_poll_at=source.next_poll_at,
        consecutive_errors=source.consecutive_errors,
        last_attempt_at=source.last_attempt_at,
        last_success_at=source.last_success_at,
        last_status=source.last_status,
        last_outcome=source.last_outcome,
        last_error=source.last_error,
        last_error_kind=source.last_error_kind,
        retry_after_until=source.retry_after_until,
        lease_owner=source.lease_owner,
        lease_until=source.lease_until,
        items_last_7_days=items_last_7_days,
        origin=source.origin,
    )


def source_facts(
    session: Session, now: datetime, source_ids: Sequence[int] | None = None
) -> list[SourceFacts]:
    """What is known about each source's polling (all, or ``source_ids``), by name."""
    stmt = select(Source).order_by(col(Source.name))
    if source_ids is not None:
        stmt = stmt.where(col(Source.id).in_(list(source_ids)))
    rows = session.exec(stmt).all()
    recent = items_dated_since(session, source_ids, now - timedelta(days=7), now)
    return [_facts(row, recent.get(row.id or 0, 0)) for row in rows]


POLL_LOG_KEPT = timedelta(days=30)


def prune_poll_log(db: Database, before: datetime) -> int:
    """Delete poll log rows that started before ``before``; return how many."""
    with db.write() as session:
        result = session.execute(sa.delete(PollLog).where(col(PollLog.started_at) < before))
        return int(getattr(result, "rowcount", 0) or 0)
