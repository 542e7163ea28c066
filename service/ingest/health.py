"""A source's health in words: a pure function of what storage knows about it and ``now``.

``describe(facts, now)`` says what happened last and what happens next, in one sentence a user
understands ("not modified (304); next poll 14:05 UTC", "backing off after 5 errors: timed out
after 30 s; next try 14:05 UTC", "arXiv publishes no listing on Saturday; next poll …").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from service.ingest import arxiv_calendar
from service.records import SourceFacts

Status = Literal["new", "ok", "quiet", "backing_off", "gone", "inactive"]
LOCAL_REASON = "local source (files ingested by hand)"


@dataclass(frozen=True, slots=True)
class SourceHealth:
    """A source's health: the facts, a status word, and the sentence that explains them."""

    id: int
    name: str
    url: str
    status: Status
    reason: str  # what the last attempt said, in words
    sentence: str  # the reason, what happens next, and whether a poll is running
    polling_now: bool
    last_attempt_at: datetime | None
    last_success_at: datetime | None
    last_status: int | None
    consecutive_errors: int
    next_poll_at: datetime | None  # None for an inactive source
    items_last_7_days: int


def clock_time(when: datetime, now: datetime) -> str:
    """``14:05 UTC`` today, ``2026-11-30 14:05 UTC`` on another day."""
    when = when.astimezone(UTC)
    if when.date() == now.astimezone(UTC).date():
        return when.strftime("%H:%M UTC")
    return when.strftime("%Y-%m-%d %H:%M UTC")


def _next(label: str, facts: SourceFacts, now: datetime) -> str:
    if facts.next_poll_at <= now:
        return f"{label} due now"
    return f"{label} {clock_time(facts.next_poll_at, now)}"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _success_reason(facts: SourceFacts) -> str:
    status = f" ({facts.last_status})" if facts.last_status else ""
    if facts.last_outcome == "not_modified":
        return f"not modified{status}"
    if facts.last_outcome == "unchanged":
        return "unchanged: the same bytes as last time"
    if facts.last_outcome == "empty" and arxiv_calendar.is_listing(facts.url):
        return "arXiv published an empty listing (no announcement that day, e.g. a holiday)"
    if facts.last_outcome == "empty":
        return f"the feed is empty{status}"
    return f"updated{status}"


def _assess(facts: SourceFacts, now: datetime) -> tuple[Status, str, str]:
    """(status, reason, what happens next) for an active source."""
    if facts.last_attempt_at is None:
        return "new", "new: never polled yet", _next("first poll", facts, now)
    if facts.state == "gone":
        reason = facts.last_error or "the publisher removed this feed (410)"
        return "gone", f"gone: {reason}; probing weekly", _next("next probe", facts, now)
    if facts.consecutive_errors > 0:
        errors = _plural(facts.consecutive_errors, "error")
        reason = f"backing off after {errors}: {facts.last_error or 'unknown error'}"
        return "backing_off", reason, _next("next try", facts, now)
    quiet = arxiv_calendar.quiet_day(now) if arxiv_calendar.is_listing(facts.url) else None
    if quiet is not None:
        return "quiet", f"arXiv publishes no listing on {quiet}", _next("next poll", facts, now)
    return "ok", _success_reason(facts), _next("next poll", facts, now)


def describe(facts: SourceFacts, now: datetime) -> SourceHealth:
    """The health of one source at ``now``."""
    polling = facts.lease_until is not None and facts.lease_until > now
    if not facts.active:
        status: Status = "inactive"
        reason = LOCAL_REASON if facts.origin == "local" else "removed from the catalog: not polled"
        sentence = reason
    else:
        status, reason, upcoming = _assess(facts, now)
        sentence = f"{reason}; {upcoming}"
    if polling:
        sentence = (
            "being polled now for the first time"
            if status == "new"
            else f"being polled now; last time: {reason}"
        )
    return SourceHealth(
        id=facts.id,
        name=facts.name,
        url=facts.url,
        status=status,
        reason=reason,
        sentence=sentence,
        polling_now=polling,
        last_attempt_at=facts.last_attempt_at,
        last_success_at=facts.last_success_at,
        last_status=facts.last_status,
        consecutive_errors=facts.consecutive_errors,
        next_poll_at=facts.next_poll_at if facts.active else None,
        items_last_7_days=facts.items_last_7_days,
    )
