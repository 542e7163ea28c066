"""When digests are due: send instants across time zones and daylight saving, period keys,
catch-up, retries and the look-back window (pure; tables and a simulated worker)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.outputs.digest.schedule import (
    DigestSchedule,
    due_period,
    manual_period,
    needs_attempt,
    next_period,
    period_key,
    retry_at,
    send_instant,
    sends_on,
    window_days,
)
from service.storage.deliveries import DeliveryState


def _schedule(
    zone: str, at: str = "07:00", cadence: str = "daily", weekday: int = 0
) -> DigestSchedule:
    return DigestSchedule.parse(send_time=at, timezone=zone, cadence=cadence, weekday=weekday)


def _utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


# Expected instants worked out by hand from each zone's offsets (not by the code under test).
@pytest.mark.parametrize(
    ("zone", "day", "at", "expected"),
    [
        ("Europe/Berlin", date(2026, 11, 25), "07:30", _utc(2026, 11, 25, 6, 30)),  # CET +1
        ("Europe/Berlin", date(2026, 7, 1), "07:30", _utc(2026, 7, 1, 5, 30)),  # CEST +2
        # 29 March 2026: 02:00 -> 03:00. 02:30 does not exist: it goes at 03:30 CEST, once.
        ("Europe/Berlin", date(2026, 3, 29), "02:30", _utc(2026, 3, 29, 1, 30)),
        # 25 October 2026: 03:00 -> 02:00. 02:30 happens twice: the first (CEST) one.
        ("Europe/Berlin", date(2026, 10, 25), "02:30", _utc(2026, 10, 25, 0, 30)),
        ("America/New_York", date(2026, 3, 8), "02:30", _utc(2026, 3, 8, 7, 30)),  # gap: 03:30 EDT
        ("America/New_York", date(2026, 11, 1), "01:30", _utc(2026, 11, 1, 5, 30)),  # first, EDT
        ("America/New_York", date(2026, 11, 25), "07:00", _utc(2026, 11, 25, 12, 0)),  # EST -5
        ("Asia/Kolkata", date(2026, 11, 25), "07:00", _utc(2026, 11, 25, 1, 30)),  # +5:30
        # Lord Howe: half-hour DST. 4 October 2026 02:00 -> 02:30; 02:15 goes at 02:45 (+11).
        ("Australia/Lord_Howe", date(2026, 10, 4), "02:15", _utc(2026, 10, 3, 15, 45)),
        # 5 April 2026 02:00 -> 01:30; 01:45 happens twice: the first (+11) one.
        ("Australia/Lord_Howe", date(2026, 4, 5), "01:45", _utc(2026, 4, 4, 14, 45)),
        ("UTC", date(2026, 11, 25), "00:00", _utc(2026, 11, 25, 0, 0)),
    ],
)
def test_send_instants(zone: str, day: date, at: str, expected: datetime) -> None:
    assert send_instant(_schedule(zone, at), day) == expected


@pytest.mark.parametrize(
    ("cadence", "day", "key"),
    [
        ("daily", date(2026, 11, 25), "2026-11-25"),
        ("weekdays", date(2026, 11, 27), "2026-11-27"),
        ("weekly", date(2026, 11, 25), "2026-W48"),
        ("weekly", date(2027, 1, 1), "2026-W53"),  # ISO year 2026 has 53 weeks
        ("weekly", date(2024, 12, 30), "2025-W01"),  # a Monday in ISO week 1 of 2025
    ],
)
def test_period_keys(cadence: str, day: date, key: str) -> None:
    assert period_key(cadence, day) == key


@pytest.mark.parametrize(
    ("cadence", "weekday", "day", "sends"),
    [
        ("daily", 0, date(2026, 11, 28), True),  # a Saturday
        ("weekdays", 0, date(2026, 11, 27), True),  # Friday
        ("weekdays", 0, date(2026, 11, 28), False),  # Saturday
        ("weekdays", 0, date(2026, 11, 29), False),  # Sunday
        ("weekly", 2, date(2026, 11, 25), True),  # Wednesday, asked for Wednesday
        ("weekly", 0, date(2026, 11, 25), False),
    ],
)
def test_cadences(cadence: str, weekday: int, day: date, sends: bool) -> None:
    assert sends_on(_schedule("UTC", cadence=cadence, weekday=weekday), day) is sends


@pytest.mark.parametrize(
    ("schedule", "now", "key"),
    [
        (("Europe/Berlin", "07:30"), _utc(2026, 11, 25, 6, 29), None),  # a minute early
        (("Europe/Berlin", "07:30"), _utc(2026, 11, 25, 6, 30), "2026-11-25"),
        (("Europe/Berlin", "07:30"), _utc(2026, 11, 25, 18, 29), "2026-11-25"),  # 11:59 late
        (("Europe/Berlin", "07:30"), _utc(2026, 11, 25, 18, 30), None),  # 12 h late: skipped
        # 23:30 Berlin = 22:30 UTC; at 00:10 local the next day, the period due is still
        # the previous local date's.
        (("Europe/Berlin", "23:30"), _utc(2026, 11, 25, 23, 10), "2026-11-25"),
        (("America/New_York", "07:00", "weekdays"), _utc(2026, 11, 28, 13, 0), None),  # Sat
        (("America/New_York", "07:00", "weekdays"), _utc(2026, 11, 30, 12, 0), "2026-11-30"),
        (("Asia/Kolkata", "08:00", "weekly", 0), _utc(2026, 11, 23, 2, 30), "2026-W48"),
        (("Asia/Kolkata", "08:00", "weekly", 0), _utc(2026, 11, 24, 2, 30), None),
        (("Europe/Berlin", "02:30"), _utc(2026, 3, 29, 1, 29), None),
        (("Europe/Berlin", "02:30"), _utc(2026, 3, 29, 1, 30), "2026-03-29"),
        # the second 02:30 of 25 October is the same period: its delivery row stops a repeat
        (("Europe/Berlin", "02:30"), _utc(2026, 10, 25, 1, 30), "2026-10-25"),
    ],
)
def test_due_periods(schedule: tuple[object, ...], now: datetime, key: str | None) -> None:
    period = due_period(_schedule(*schedule), now)  # type: ignore[arg-type]
    assert (period.key if period else None) == key


def test_next_and_manual_periods() -> None:
    schedule = _schedule("Europe/Berlin", "07:30", "weekly", 4)  # Fridays
    now = _utc(2026, 11, 25, 12, 0)  # a Wednesday
    upcoming = next_period(schedule, now)
    assert upcoming.local_date == date(2026, 11, 27)
    assert upcoming.send_at == _utc(2026, 11, 27, 6, 30)
    assert manual_period(schedule, now).key == "2026-W48"


ZONES = ["Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "UTC"]
STARTS = [date(2026, 3, 3), date(2026, 3, 24), date(2026, 3, 31), date(2026, 9, 29)]
STARTS += [date(2026, 10, 20), date(2026, 10, 28)]
STEP = timedelta(minutes=15)


@settings(max_examples=40)
@given(
    zone=st.sampled_from(ZONES),
    hour=st.integers(0, 23),
    minute=st.sampled_from([0, 15, 30, 45]),
    cadence=st.sampled_from(["daily", "weekdays", "weekly"]),
    weekday=st.integers(0, 6),
    start=st.sampled_from(STARTS),
)
def test_a_worker_ticking_through_dst_sends_each_period_once_on_time(
    *, zone: str, hour: int, minute: int, cadence: str, weekday: int, start: date
) -> None:
    """A worker looks every 15 minutes for 16 days around DST changes; every local date the
    cadence sends on gets exactly one digest, at or just after its local send time."""
    schedule = DigestSchedule(time(hour, minute), ZoneInfo(zone), cadence, weekday)
    begin = datetime.combine(start, time(0), tzinfo=UTC)
    sent: dict[str, datetime] = {}
    for step in range(16 * 24 * 4):
        now = begin + step * STEP
        period = due_period(schedule, now)
        if period is not None and period.key not in sent:
            sent[period.key] = now
    checked = [start + timedelta(days=d) for d in range(2, 14)]
    for day in (d for d in checked if sends_on(schedule, d)):
        key = period_key(cadence, day)
        assert key in sent, (key, sent)
        local = sent[key].astimezone(schedule.zone)
        assert local.date() == day  # sent on its own local date
        wall = datetime.combine(day, schedule.send_time)
        late = local.replace(tzinfo=None) - wall
        assert timedelta(0) <= late < STEP + timedelta(hours=1)  # an hour at most: a DST gap
    keys = [period_key(cadence, d) for d in checked if sends_on(schedule, d)]
    assert len(keys) == len(set(keys))  # one period per sending date


def _state(status: str, *, retry: datetime | None = None, lease: datetime | None = None) -> object:
    return DeliveryState(1, "2026-11-25", status, 1, retry, lease)


NOW = _utc(2026, 11, 25, 7, 0)


@pytest.mark.parametrize(
    ("state", "attempt"),
    [
        (None, True),
        (_state("pending"), True),
        (_state("pending", retry=NOW + timedelta(minutes=1)), False),
        (_state("pending", retry=NOW), True),
        (_state("pending", lease=NOW + timedelta(minutes=1)), False),  # held by a live worker
        (_state("pending", lease=NOW - timedelta(seconds=1)), True),  # its worker died
        (_state("sending", lease=NOW - timedelta(hours=1)), False),  # never blindly again
        (_state("sent"), False),
        (_state("failed"), False),
        (_state("skipped"), False),
    ],
)
def test_which_deliveries_need_an_attempt(state: object, attempt: bool) -> None:
    assert needs_attempt(state, NOW) is attempt  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("attempts", "delay"),
    [(1, timedelta(minutes=5)), (2, timedelta(minutes=15)), (4, timedelta(minutes=135))],
)
def test_retries_back_off(attempts: int, delay: timedelta) -> None:
    assert retry_at(attempts, NOW) == NOW + delay


def test_retries_stop_after_five_attempts() -> None:
    assert retry_at(5, NOW) is None


@pytest.mark.parametrize(
    ("cadence", "since", "days"),
    [
        ("daily", None, 1),
        ("weekly", None, 7),
        ("daily", NOW - timedelta(hours=24), 1),
        ("daily", NOW - timedelta(hours=30), 2),
        ("weekdays", NOW - timedelta(days=3), 3),  # Monday's digest covers the weekend
        ("daily", NOW - timedelta(days=40), 14),  # after a long pause: two weeks at most
        ("daily", NOW - timedelta(minutes=1), 1),
    ],
)
def test_the_window_reaches_back_to_the_previous_digest(
    cadence: str, since: datetime | None, days: int
) -> None:
    assert window_days(cadence, since, NOW) == days
