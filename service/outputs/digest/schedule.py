"""When a digest is due (pure): local send times, period keys, daylight saving, retries.

A *period* is what one digest covers, named by a key: a local date for daily and weekday digests
(``2026-11-25``), an ISO week for weekly ones (``2026-W48``). The unique (profile, period) row in
``delivery`` makes each period send at most once, whatever the clocks do.

The send instant of a local date is its ``HH:MM`` in the profile's IANA zone, resolved like
PEP 495 ``fold=0``:

- a wall time that does not exist (spring forward: 02:30 in Berlin on the last Sunday of March)
  is read with the offset in force before the change, so the digest goes at 03:30 local, once;
- a wall time that happens twice (autumn: 02:30) is its first occurrence; the second 02:30
  belongs to the same local date, hence the same period, which is already taken.

A period is *due* when its send instant has passed by less than ``CATCH_UP``: a worker that was
down for a day sends the current period, not a pile of old ones. Everything here takes ``now``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from service.storage.deliveries import PENDING, DeliveryState
from service.storage.models import Profile

CADENCES = ("daily", "weekdays", "weekly")
CATCH_UP = timedelta(hours=12)
LOOK_BACK_DAYS = 8  # every cadence sends at least once in any 8 local days
MAX_ATTEMPTS = 5
RETRY_FIRST = timedelta(minutes=5)
RETRY_FACTOR = 3
MAX_WINDOW_DAYS = 14  # a digest after a long pause looks back two weeks at most


@dataclass(frozen=True, slots=True)
class DigestSchedule:
    """When one profile wants its digest."""

    send_time: time
    zone: ZoneInfo
    cadence: str = "daily"  # daily | weekdays | weekly
    weekday: int = 0  # 0 = Monday (weekly only)

    @classmethod
    def parse(
        cls, *, send_time: str, timezone: str, cadence: str = "daily", weekday: int = 0
    ) -> DigestSchedule:
        """From stored text: ``HH:MM`` and an IANA zone name (checked when saved)."""
        if cadence not in CADENCES:
            raise ValueError(f"cadence must be one of {', '.join(CADENCES)} (got {cadence!r})")
        hours, minutes = (int(part) for part in send_time.split(":"))
        return cls(time(hours, minutes), ZoneInfo(timezone), cadence, weekday)

    @classmethod
    def of(cls, profile: Profile) -> DigestSchedule:
        return cls.parse(
            send_time=profile.digest_time,
            timezone=profile.timezone,
            cadence=profile.digest_cadence,
            weekday=profile.digest_weekday,
        )


@dataclass(frozen=True, slots=True)
class Period:
    """One digest's period: its key and the instant (UTC) its digest is meant to go."""

    key: str
    send_at: datetime
    local_date: date


def sends_on(schedule: DigestSchedule, day: date) -> bool:
    """Whether the cadence sends on this local date."""
    if schedule.cadence == "weekdays":
        return day.weekday() < 5
    if schedule.cadence == "weekly":
        return day.weekday() == schedule.weekday
    return True


def period_key(cadence: str, day: date) -> str:
    """``2026-11-25`` for daily and weekday digests, ``2026-W48`` (ISO week) for weekly ones."""
    if cadence == "weekly":
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    return day.isoformat()


def send_instant(schedule: DigestSchedule, day: date) -> datetime:
    """The UTC instant of ``HH:MM`` on a local date (fold=0: gaps shift forward, repeats first)."""
    local = datetime.combine(day, schedule.send_time, tzinfo=schedule.zone)
    return local.astimezone(UTC)


def period_on(schedule: DigestSchedule, day: date) -> Period:
    return Period(period_key(schedule.cadence, day), send_instant(schedule, day), day)


def latest_period(schedule: DigestSchedule, now: datetime) -> Period | None:
    """The period whose send instant is the latest at or before ``now``."""
    today = now.astimezone(schedule.zone).date()
    for back in range(LOOK_BACK_DAYS + 1):
        day = today - timedelta(days=back)
        if sends_on(schedule, day) and send_instant(schedule, day) <= now:
            return period_on(schedule, day)
    return None


def next_period(schedule: DigestSchedule, now: datetime) -> Period:
    """The first period whose send instant is after ``now``."""
    today = now.astimezone(schedule.zone).date()
    for ahead in range(LOOK_BACK_DAYS + 2):
        day = today + timedelta(days=ahead)
        if sends_on(schedule, day) and send_instant(schedule, day) > now:
            return period_on(schedule, day)
    raise AssertionError("every cadence sends within a week")


def due_period(
    schedule: DigestSchedule, now: datetime, *, catch_up: timedelta = CATCH_UP
) -> Period | None:
    """The period to send now: its send instant has passed, by less than ``catch_up``."""
    period = latest_period(schedule, now)
    if period is None or now - period.send_at >= catch_up:
        return None
    return period


def manual_period(schedule: DigestSchedule, now: datetime) -> Period:
    """The period a digest sent by hand now belongs to: that of today's local date."""
    today = now.astimezone(schedule.zone).date()
    return Period(period_key(schedule.cadence, today), now.astimezone(UTC), today)


def needs_attempt(state: DeliveryState | None, now: datetime) -> bool:
    """A period with no row, or a pending row free to claim (not held, retry time reached)."""
    if state is None:
        return True
    if state.status != PENDING:
        return False
    waiting = state.next_attempt_at is not None and state.next_attempt_at > now
    held = state.lease_until is not None and state.lease_until > now
    return not waiting and not held


def retry_at(attempts: int, now: datetime) -> datetime | None:
    """When to try again after ``attempts`` transient failures (5, 15, 45, 135 min); None: stop."""
    if attempts >= MAX_ATTEMPTS:
        return None
    delay: timedelta = RETRY_FIRST * RETRY_FACTOR ** max(0, attempts - 1)
    return now + delay


def period_length(cadence: str) -> timedelta:
    return timedelta(days=7) if cadence == "weekly" else timedelta(days=1)


def window_days(cadence: str, since: datetime | None, now: datetime) -> int:
    """Days the digest looks back: to the previous digest, or one period before the first."""
    elapsed = now - since if since is not None else period_length(cadence)
    days = math.ceil(elapsed / timedelta(days=1))
    return min(MAX_WINDOW_DAYS, max(1, days))
