"""When to poll a source next: a pure function of its state, what the server asked, and ``now``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from service.config import Settings
from service.records import SourceForUpdate

DEFAULT_INTERVAL = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class ScheduleLimits:
    min_interval: timedelta = timedelta(minutes=15)
    max_interval: timedelta = timedelta(hours=24)
    backoff_cap: timedelta = timedelta(hours=24)

    @classmethod
    def from_settings(cls, settings: Settings) -> ScheduleLimits:
        return cls(
            min_interval=timedelta(minutes=settings.min_interval_minutes),
            max_interval=timedelta(minutes=settings.max_interval_minutes),
            backoff_cap=timedelta(minutes=settings.backoff_cap_minutes),
        )


def base_interval(source: SourceForUpdate, limits: ScheduleLimits) -> timedelta:
    """The interval for a healthy source: its override, else clamped to the limits."""
    if source.poll_minutes:
        return timedelta(minutes=source.poll_minutes)
    return min(max(DEFAULT_INTERVAL, limits.min_interval), limits.max_interval)


def next_after_success(
    source: SourceForUpdate,
    now: datetime,
    limits: ScheduleLimits,
    *,
    not_before: datetime | None = None,
) -> datetime:
    """Next poll after a good fetch: the interval, or later if the server asked for that."""
    due = now + base_interval(source, limits)
    return max(due, not_before) if not_before else due


def next_after_error(
    source: SourceForUpdate,
    now: datetime,
    limits: ScheduleLimits,
    *,
    errors: int,
    retry_after: datetime | None = None,
) -> datetime:
    """Exponential backoff from the interval up to the cap; never gives up."""
    interval = base_interval(source, limits)
    factor: int = 2 ** min(max(errors - 1, 0), 20)
    wait = min(interval * factor, limits.backoff_cap)
    due = now + wait
    return max(due, retry_after) if retry_after else due
