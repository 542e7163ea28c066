"""Why a feed is empty or short, in words: the API, the CLI, subscription feeds and digests say it.

    CandidateQuery -> load_window_facts (storage: three small counts and the newest older item)
        -> feed_reason (pure) -> "no items in the last 7 days; the newest is from 2026-08-04
        (arXiv cs.LG); widen with window_days (up to 365 days)"

Only computed when a feed is shorter than asked, so a full feed costs nothing more.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col

from service.rank.loader import CandidateQuery
from service.records import KINDS
from service.storage.models import Item, ItemSource, Source
from service.storage.profiles import MAX_WINDOW_DAYS

LEFT_OUT = "hidden, read or from muted sources"


@dataclass(frozen=True, slots=True)
class NewestItem:
    """The newest item published before the window: when, and one source it came from."""

    published: datetime
    source: str | None


@dataclass(frozen=True, slots=True)
class WindowFacts:
    """What storage holds around a feed's window (items of the feed's kinds only)."""

    stored: bool  # any item of these kinds at all
    in_window: int  # published in the window and first seen by the ranking instant
    seen_later: int  # published in the window but first seen after the ranking instant
    newest_before: NewestItem | None  # the newest one published before the window


def _kinds_of(query: CandidateQuery) -> list[sa.ColumnElement[bool]]:
    if set(query.kinds) == set(KINDS):
        return []
    return [col(Item.kind).in_(query.kinds)]


def _count(session: Session, *conditions: sa.ColumnElement[bool]) -> int:
    statement = sa.select(sa.func.count()).select_from(Item).where(*conditions)
    return int(session.execute(statement).scalar_one())


def _source_name(session: Session, item_id: int) -> str | None:
    statement = (
        sa.select(col(Source.name))
        .join(ItemSource, col(ItemSource.source_id) == col(Source.id))
        .where(col(ItemSource.item_id) == item_id)
        .order_by(col(ItemSource.first_seen_at), col(Source.id))
        .limit(1)
    )
    return session.execute(statement).scalar_one_or_none()


def _newest_before(
    session: Session, kinds: Sequence[sa.ColumnElement[bool]], since: datetime, at: datetime
) -> NewestItem | None:
    statement = (
        sa.select(col(Item.id), col(Item.published_at))
        .where(*kinds, col(Item.published_at) < since, col(Item.first_seen_at) <= at)
        .order_by(col(Item.published_at).desc(), col(Item.id).desc())
        .limit(1)
    )
    row = session.execute(statement).first()
    if row is None:
        return None
    published = (
        row.published_at if row.published_at.tzinfo else row.published_at.replace(tzinfo=UTC)
    )
    return NewestItem(published, _source_name(session, row.id))


def load_window_facts(session: Session, query: CandidateQuery) -> WindowFacts:
    """The facts ``feed_reason`` words, for the window and kinds of ``query``."""
    if not query.kinds:
        return WindowFacts(stored=False, in_window=0, seen_later=0, newest_before=None)
    kinds = _kinds_of(query)
    since = query.at - timedelta(days=query.window_days)
    in_range = [*kinds, col(Item.published_at) >= since]
    in_window = _count(session, *in_range, col(Item.first_seen_at) <= query.at)
    seen_later = _count(session, *in_range, col(Item.first_seen_at) > query.at)
    newest = _newest_before(session, kinds, since, query.at)
    stored = bool(in_window or seen_later or newest or _count(session, *kinds))
    return WindowFacts(stored, in_window, seen_later, newest)


def _noun(kinds: Sequence[str], count: int | None = None) -> str:
    items = "item" if count == 1 else "items"
    if not kinds or set(kinds) == set(KINDS):
        return items
    return f"{' or '.join(kinds)} {items}"


def feed_reason(
    facts: WindowFacts,
    *,
    shown: int,
    window_days: int,
    at: datetime,
    kinds: Sequence[str],
    widen: str | None,
    left_out: str = LEFT_OUT,
) -> str:
    """Why a feed of ``shown`` items (fewer than asked) is what it is, in one line (pure)."""
    noun = _noun(kinds)
    if not facts.stored:
        return (
            f"no {noun} stored yet: ingest files (staycurrent ingest) or let the poller fetch "
            "the sources"
        )
    days = f"{window_days} day{'' if window_days == 1 else 's'}"
    if shown == 0 and facts.in_window:
        parts = [f"all {facts.in_window} {noun} of the last {days} are left out ({left_out})"]
    elif shown == 0:
        parts = [f"no {noun} in the last {days}"]
    else:
        parts = [f"only {shown} {_noun(kinds, shown)} in the last {days}"]
        if facts.in_window > shown:
            parts.append(f"{facts.in_window - shown} more left out ({left_out})")
    if facts.seen_later:
        when = at.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
        parts.append(
            f"{facts.seen_later} more first seen after {when} UTC, the moment it is ranked as of"
        )
    newest = facts.newest_before
    if newest is not None:
        which = "the newest" if facts.in_window == 0 else "the newest before them"
        source = f" ({newest.source})" if newest.source else ""
        parts.append(f"{which} is from {newest.published:%Y-%m-%d}{source}")
        if widen and window_days < MAX_WINDOW_DAYS:
            parts.append(f"widen with {widen} (up to {MAX_WINDOW_DAYS} days)")
    return "; ".join(parts)
