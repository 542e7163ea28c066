"""When next: tables of examples for the pure schedule, and hypothesis properties."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.ingest.schedule import (
    ScheduleLimits,
    ServerAsk,
    after_error,
    after_gone,
    after_success,
    interval_for,
    jitter,
    publishing_interval,
    server_not_before,
)
from service.records import SourceForUpdate

NOW = datetime(2026, 11, 24, 14, 0, tzinfo=UTC)
EXACT = ScheduleLimits(jitter_fraction=0.0, arxiv_spread=timedelta(0))  # no jitter: exact tables
LIMITS = ScheduleLimits()
MIN, HOUR, DAY = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)
BLOG = "https://blog.example/feed.xml"
LISTING = "https://rss.arxiv.org/rss/cs.LG"


def source(
    *,
    url: str = BLOG,
    items_per_week: float = 168.0,  # one an hour: a 30-minute interval
    poll_minutes: int | None = None,
    source_id: int = 7,
    last_success_at: datetime | None = NOW - 3 * DAY,
) -> SourceForUpdate:
    return SourceForUpdate(
        id=source_id,
        name="s",
        url=url,
        kind="post",
        items_per_week=items_per_week,
        poll_minutes=poll_minutes,
        last_success_at=last_success_at,
    )


# --------------------------------------------------------------------------- the interval


@pytest.mark.parametrize(
    ("items_per_week", "expected"),
    [
        (0.0, 24 * HOUR),  # quiet: the longest interval
        (0.25, 24 * HOUR),  # a post a month
        (1.0, 24 * HOUR),  # weekly: 3.5 days wanted, clamped to a day
        (7.0, 12 * HOUR),  # daily: two polls a day
        (14.0, 6 * HOUR),
        (168.0, 30 * MIN),  # hourly
        (336.0, 15 * MIN),
        (1000.0, 15 * MIN),  # busier than the shortest interval allows
    ],
)
def test_the_interval_follows_how_often_a_source_publishes(
    items_per_week: float, expected: timedelta
) -> None:
    assert publishing_interval(items_per_week, LIMITS) == expected


@pytest.mark.parametrize(
    ("poll_minutes", "items_per_week", "expected"),
    [
        (180, 1000.0, 3 * HOUR),  # the override beats the publishing rate
        (10, 0.0, 10 * MIN),  # and the clamps: the operator asked for it
        (2880, 168.0, 2 * DAY),
        (None, 7.0, 12 * HOUR),
    ],
)
def test_poll_minutes_overrides_the_adaptive_interval(
    poll_minutes: int | None, items_per_week: float, expected: timedelta
) -> None:
    chosen = interval_for(source(poll_minutes=poll_minutes, items_per_week=items_per_week), LIMITS)
    assert chosen == expected


def test_the_interval_uses_the_rate_seen_in_the_feed_when_storage_knows_less() -> None:
    new = source(items_per_week=0.0)
    assert interval_for(new, LIMITS, observed_per_week=14.0) == 6 * HOUR
    assert interval_for(source(items_per_week=168.0), LIMITS, observed_per_week=1.0) == 30 * MIN


def test_limits_come_from_settings(make_settings: object) -> None:
    settings = make_settings(  # type: ignore[operator]
        min_interval_minutes=5, max_interval_minutes=120, backoff_cap_minutes=600
    )
    limits = ScheduleLimits.from_settings(settings)
    assert (limits.min_interval, limits.max_interval, limits.backoff_cap) == (
        5 * MIN,
        2 * HOUR,
        10 * HOUR,
    )


# --------------------------------------------------------------------------- after success


@pytest.mark.parametrize(
    ("asked", "expected"),
    [
        (ServerAsk(), NOW + 30 * MIN),
        (ServerAsk(max_age_seconds=3600), NOW + HOUR),
        (ServerAsk(max_age_seconds=60), NOW + 30 * MIN),  # shorter than ours: ours
        (ServerAsk(expires=NOW + 2 * HOUR), NOW + 2 * HOUR),
        (ServerAsk(expires=NOW - HOUR), NOW + 30 * MIN),  # already stale: ignored
        (ServerAsk(ttl_minutes=120), NOW + 2 * HOUR),
        (ServerAsk(ttl_minutes=5), NOW + 30 * MIN),
        (ServerAsk(retry_after=NOW + 3 * HOUR), NOW + 3 * HOUR),
        (
            ServerAsk(max_age_seconds=3600, ttl_minutes=90, expires=NOW + 45 * MIN),
            NOW + 90 * MIN,  # the longest ask wins
        ),
        (ServerAsk(max_age_seconds=30 * 86400), NOW + 7 * DAY),  # a month: at most a week
        (ServerAsk(retry_after=NOW + 366 * DAY), NOW + 7 * DAY),
    ],
)
def test_a_success_waits_at_least_as_long_as_the_server_asks(
    asked: ServerAsk, expected: datetime
) -> None:
    assert after_success(source(), NOW, EXACT, asked=asked) == expected


def test_server_not_before_is_none_when_nothing_is_asked() -> None:
    assert server_not_before(NOW, ServerAsk(), LIMITS) is None
    assert server_not_before(NOW, ServerAsk(expires=NOW), LIMITS) is None


# --------------------------------------------------------------------------- jitter


def test_jitter_is_deterministic_and_bounded() -> None:
    interval = 30 * MIN
    first = jitter(7, NOW, interval, LIMITS)
    assert jitter(7, NOW, interval, LIMITS) == first
    values = {jitter(source_id, NOW, interval, LIMITS) for source_id in range(200)}
    assert len(values) > 150  # sources due at the same time spread out
    assert all(timedelta(0) <= value < 3 * MIN for value in values)  # 10 % of 30 minutes


def test_jitter_of_long_waits_is_at_most_fifteen_minutes() -> None:
    values = [jitter(i, NOW, 7 * DAY, LIMITS) for i in range(200)]
    assert max(values) < 15 * MIN
    assert max(values) > 10 * MIN  # and it is used


def test_a_success_with_jitter_lands_within_its_bound() -> None:
    due = [after_success(source(source_id=i), NOW, LIMITS) for i in range(100)]
    assert all(NOW + 30 * MIN <= when < NOW + 33 * MIN for when in due)
    assert due == [after_success(source(source_id=i), NOW, LIMITS) for i in range(100)]


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("errors", "wait"),
    [
        (1, 30 * MIN),
        (2, HOUR),
        (3, 2 * HOUR),
        (4, 4 * HOUR),
        (5, 8 * HOUR),
        (6, 16 * HOUR),
        (7, 24 * HOUR),  # the cap
        (8, 24 * HOUR),  # then a probe every cap period ...
        (50, 24 * HOUR),
        (100_000, 24 * HOUR),  # ... forever: never disabled, never overflowing
    ],
)
def test_errors_back_off_exponentially_up_to_the_cap(errors: int, wait: timedelta) -> None:
    assert after_error(source(), NOW, EXACT, errors=errors) == NOW + wait


@pytest.mark.parametrize(
    ("retry_after", "expected"),
    [
        (NOW + 2 * HOUR, NOW + 2 * HOUR),  # Retry-After beyond the backoff wins
        (NOW + 10 * MIN, NOW + 30 * MIN),  # sooner than the backoff: the backoff
        (NOW + 30 * DAY, NOW + 7 * DAY),  # absurd: a week at most
    ],
)
def test_errors_honour_retry_after(retry_after: datetime, expected: datetime) -> None:
    assert after_error(source(), NOW, EXACT, errors=1, retry_after=retry_after) == expected


def test_a_quiet_source_backs_off_from_its_own_interval() -> None:
    quiet = source(items_per_week=0.0)
    assert after_error(quiet, NOW, EXACT, errors=1) == NOW + DAY
    assert after_error(quiet, NOW, EXACT, errors=9) == NOW + DAY


def test_a_source_never_reached_is_tried_hourly_then_backs_off() -> None:
    never = source(items_per_week=0.0, last_success_at=None)
    assert interval_for(never, LIMITS) == HOUR
    waits = [after_error(never, NOW, EXACT, errors=n) - NOW for n in (1, 2, 3, 5, 6, 20)]
    assert waits == [HOUR, 2 * HOUR, 4 * HOUR, 16 * HOUR, DAY, DAY]


def test_an_override_longer_than_the_cap_is_kept_while_failing() -> None:
    slow = source(poll_minutes=2880)
    assert after_error(slow, NOW, EXACT, errors=3) == NOW + 2 * DAY


def test_a_smaller_cap_from_settings_applies() -> None:
    limits = replace(EXACT, backoff_cap=3 * HOUR)
    assert after_error(source(), NOW, limits, errors=10) == NOW + 3 * HOUR


def test_gone_sources_are_probed_weekly() -> None:
    assert after_gone(source(), NOW, EXACT) == NOW + 7 * DAY
    jittered = after_gone(source(), NOW, LIMITS)
    assert NOW + 7 * DAY <= jittered < NOW + 7 * DAY + 15 * MIN


# --------------------------------------------------------------------------- properties

ids = st.integers(min_value=1, max_value=10**9)
moments = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31), timezones=st.just(UTC)
)
rates = st.floats(min_value=0.0, max_value=50_000.0, allow_nan=False)
overrides = st.none() | st.integers(min_value=5, max_value=10080)
urls = st.sampled_from([BLOG, "https://podcast.example/rss", "https://export.arxiv.org/api/q"])
sources = st.builds(
    lambda i, u, r, p: source(source_id=i, url=u, items_per_week=r, poll_minutes=p),
    ids,
    urls,
    rates,
    overrides,
)
offsets = st.none() | st.integers(min_value=-86400, max_value=40 * 86400)
asks = st.tuples(
    offsets,
    st.none() | st.integers(min_value=0, max_value=2**31),
    offsets,
    st.none() | st.integers(min_value=1, max_value=100_000),
)


def _ask(raw: tuple[int | None, int | None, int | None, int | None], now: datetime) -> ServerAsk:
    retry, age, expires, ttl = raw
    return ServerAsk(
        retry_after=None if retry is None else now + timedelta(seconds=retry),
        max_age_seconds=age,
        expires=None if expires is None else now + timedelta(seconds=expires),
        ttl_minutes=ttl,
    )


def _longest(src: SourceForUpdate, wait: timedelta) -> timedelta:
    override = timedelta(minutes=src.poll_minutes) if src.poll_minutes else timedelta(0)
    return max(wait, override) + LIMITS.max_jitter


@given(sources, moments, asks)
def test_success_is_after_now_within_the_longest_interval_unless_asked(
    src: SourceForUpdate, now: datetime, raw: tuple[int | None, int | None, int | None, int | None]
) -> None:
    asked = _ask(raw, now)
    due = after_success(src, now, LIMITS, asked=asked)
    assert due > now
    floor = server_not_before(now, asked, LIMITS)
    if floor is not None:
        assert due >= floor
        assert floor <= now + LIMITS.longest_server_wait
    assert due <= max(now + _longest(src, LIMITS.max_interval), floor or now)


@given(sources, moments, st.integers(min_value=1, max_value=500), offsets)
def test_errors_are_after_now_and_never_beyond_the_cap_unless_asked(
    src: SourceForUpdate, now: datetime, errors: int, retry: int | None
) -> None:
    retry_after = None if retry is None else now + timedelta(seconds=retry)
    due = after_error(src, now, LIMITS, errors=errors, retry_after=retry_after)
    assert due > now
    asked = min(retry_after, now + LIMITS.longest_server_wait) if retry_after else now
    assert due <= max(now + _longest(src, LIMITS.backoff_cap), asked)
    if retry_after is not None:
        assert due >= min(retry_after, now + LIMITS.longest_server_wait)


@given(sources, moments, st.integers(min_value=1, max_value=500), offsets)
def test_backoff_is_monotone_in_consecutive_errors(
    src: SourceForUpdate, now: datetime, errors: int, retry: int | None
) -> None:
    retry_after = None if retry is None else now + timedelta(seconds=retry)
    fewer = after_error(src, now, LIMITS, errors=errors, retry_after=retry_after)
    more = after_error(src, now, LIMITS, errors=errors + 1, retry_after=retry_after)
    assert fewer <= more


@given(sources, moments)
def test_gone_is_a_week_out(src: SourceForUpdate, now: datetime) -> None:
    due = after_gone(src, now, LIMITS)
    assert now + 7 * DAY <= due < now + 7 * DAY + LIMITS.max_jitter


@given(ids, moments, st.sampled_from(["updated", "empty", "not_modified", "unchanged"]))
def test_an_arxiv_listing_is_always_polled_within_four_days(
    source_id: int, now: datetime, outcome: str
) -> None:
    listing = source(url=LISTING, source_id=source_id, poll_minutes=180)
    due = after_success(listing, now, LIMITS, outcome=outcome)  # type: ignore[arg-type]
    assert now < due <= now + 4 * DAY
