"""When to poll a source next: a pure function of its state, what the server asked, and ``now``.

    interval  one week / (2 x items per week): about two polls between a source's items, clamped
              to [min_interval, max_interval]; a quiet source gets max_interval; ``poll_minutes``
              (feeds.yaml) overrides it
    success   now + interval + jitter, or later if the server asked (Retry-After, Cache-Control
              max-age, Expires, RSS <ttl>), which may push the poll out by longest_server_wait
    arXiv     a daily listing: just after its next weekday rebuild (midnight US Eastern + delay);
              polled again within the hour while a rebuild looks late (the bytes did not change)
    error     now + min(interval x 2^(errors-1), backoff_cap) + jitter: once at the cap, a probe
              every cap period forever; a source is never disabled for errors
    gone      (410) a probe every ``gone_probe`` (a week)

Jitter is deterministic: a fraction hashed from the source id and ``now`` (so tests reproduce),
never negative (a poll is never earlier than the server asked), at most ``jitter_fraction`` of the
wait and at most ``max_jitter``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from service.config import Settings
from service.ingest import arxiv_calendar
from service.records import PollOutcome, SourceForUpdate

WEEK = timedelta(days=7)
POLLS_PER_ITEM = 2
MAX_DOUBLINGS = 30
SHORTEST_OVERRIDE = timedelta(minutes=1)
# A source never fetched successfully has no known rate: try it hourly (and back off from there)
# rather than as a dormant feed, so a typo fixed or a server back up is noticed the same day.
FIRST_CONTACT_INTERVAL = timedelta(hours=1)
SAME_BYTES: frozenset[PollOutcome] = frozenset({"not_modified", "unchanged"})


@dataclass(frozen=True, slots=True)
class ScheduleLimits:
    """The knobs of the schedule; defaults match Settings' defaults."""

    min_interval: timedelta = timedelta(minutes=15)
    max_interval: timedelta = timedelta(hours=24)
    backoff_cap: timedelta = timedelta(hours=24)
    gone_probe: timedelta = timedelta(days=7)
    longest_server_wait: timedelta = timedelta(days=7)
    jitter_fraction: float = 0.1
    max_jitter: timedelta = timedelta(minutes=15)
    arxiv_delay: timedelta = timedelta(minutes=30)  # after midnight US Eastern
    arxiv_spread: timedelta = timedelta(minutes=10)  # jitter of the listings' daily poll
    arxiv_late_window: timedelta = timedelta(hours=4)  # a rebuild later than this is given up
    arxiv_late_retry: timedelta = timedelta(hours=1)

    @classmethod
    def from_settings(cls, settings: Settings) -> ScheduleLimits:
        return cls(
            min_interval=timedelta(minutes=settings.min_interval_minutes),
            max_interval=timedelta(minutes=settings.max_interval_minutes),
            backoff_cap=timedelta(minutes=settings.backoff_cap_minutes),
        )


@dataclass(frozen=True, slots=True)
class ServerAsk:
    """What the server said about coming back (each None when it said nothing)."""

    retry_after: datetime | None = None  # Retry-After, as a time
    max_age_seconds: int | None = None  # Cache-Control max-age
    expires: datetime | None = None  # Expires
    ttl_minutes: int | None = None  # RSS <ttl>


def unit_hash(source_id: int, now: datetime) -> float:
    """A number in [0, 1) fixed by the source and the time: the jitter's randomness."""
    digest = hashlib.sha256(f"{source_id}@{now.timestamp():.6f}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def jitter(source_id: int, now: datetime, wait: timedelta, limits: ScheduleLimits) -> timedelta:
    """How much later than ``now + wait`` to poll: in [0, min(fraction x wait, max_jitter))."""
    bound = min(wait * limits.jitter_fraction, limits.max_jitter)
    return bound * unit_hash(source_id, now)


def publishing_interval(items_per_week: float, limits: ScheduleLimits) -> timedelta:
    """About two polls between two items of a source, within [min_interval, max_interval]."""
    if items_per_week <= 0:
        return limits.max_interval
    wanted = WEEK.total_seconds() / (items_per_week * POLLS_PER_ITEM)  # float: no overflow
    if wanted >= limits.max_interval.total_seconds():
        return limits.max_interval
    return max(timedelta(seconds=wanted), limits.min_interval)


def interval_for(
    source: SourceForUpdate, limits: ScheduleLimits, *, observed_per_week: float = 0.0
) -> timedelta:
    """A healthy source's interval: its ``poll_minutes`` override, else from its publishing rate."""
    if source.poll_minutes:
        return max(timedelta(minutes=source.poll_minutes), SHORTEST_OVERRIDE)
    rate = max(source.items_per_week, observed_per_week)
    if rate <= 0 and source.last_success_at is None:
        return min(max(FIRST_CONTACT_INTERVAL, limits.min_interval), limits.max_interval)
    return publishing_interval(rate, limits)


def server_not_before(now: datetime, asked: ServerAsk, limits: ScheduleLimits) -> datetime | None:
    """The latest time any server hint asks for, at most ``longest_server_wait`` from now."""
    candidates = [asked.retry_after, asked.expires]
    if asked.max_age_seconds is not None:
        candidates.append(now + timedelta(seconds=asked.max_age_seconds))
    if asked.ttl_minutes is not None:
        candidates.append(now + timedelta(minutes=asked.ttl_minutes))
    known = [when for when in candidates if when is not None and when > now]
    if not known:
        return None
    return min(max(known), now + limits.longest_server_wait)


def _not_before(due: datetime, now: datetime, asked: ServerAsk, limits: ScheduleLimits) -> datetime:
    floor = server_not_before(now, asked, limits)
    return due if floor is None else max(due, floor)


def error_wait(interval: timedelta, errors: int, cap: timedelta) -> timedelta:
    """Exponential backoff: the interval doubled per error after the first, up to ``cap``."""
    doublings = min(max(errors - 1, 0), MAX_DOUBLINGS)
    ceiling = max(cap, interval)
    if interval.total_seconds() * 2**doublings >= ceiling.total_seconds():
        return ceiling
    factor: int = 2**doublings
    return interval * factor


def after_arxiv_listing(
    source: SourceForUpdate, now: datetime, outcome: PollOutcome, limits: ScheduleLimits
) -> datetime:
    """Just after the next weekday rebuild; sooner while today's rebuild looks late."""
    slot = arxiv_calendar.next_rebuild(now) + limits.arxiv_delay
    slot += limits.arxiv_spread * unit_hash(source.id, now)
    latest = arxiv_calendar.latest_rebuild(now)
    if outcome in SAME_BYTES and now < latest + limits.arxiv_late_window:
        return min(now + limits.arxiv_late_retry, slot)
    return slot


def after_success(
    source: SourceForUpdate,
    now: datetime,
    limits: ScheduleLimits,
    *,
    outcome: PollOutcome = "updated",
    asked: ServerAsk | None = None,
    observed_per_week: float = 0.0,
) -> datetime:
    """Next poll after a good answer (new bytes, the same bytes, 304 or an empty feed)."""
    asked = asked or ServerAsk()
    if arxiv_calendar.is_listing(source.url):
        return _not_before(after_arxiv_listing(source, now, outcome, limits), now, asked, limits)
    interval = interval_for(source, limits, observed_per_week=observed_per_week)
    due = now + interval + jitter(source.id, now, interval, limits)
    return _not_before(due, now, asked, limits)


def after_error(
    source: SourceForUpdate,
    now: datetime,
    limits: ScheduleLimits,
    *,
    errors: int,
    retry_after: datetime | None = None,
) -> datetime:
    """Next poll after ``errors`` failures in a row: backoff up to the cap, then probe forever."""
    wait = error_wait(interval_for(source, limits), errors, limits.backoff_cap)
    due = now + wait + jitter(source.id, now, wait, limits)
    return _not_before(due, now, ServerAsk(retry_after=retry_after), limits)


def after_gone(source: SourceForUpdate, now: datetime, limits: ScheduleLimits) -> datetime:
    """A removed feed (410) is probed weekly, in case the publisher brings it back."""
    return now + limits.gone_probe + jitter(source.id, now, limits.gone_probe, limits)
