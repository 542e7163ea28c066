"""arXiv's calendar: daily rebuilds at midnight New York time, none at weekends, DST-aware."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from service.ingest import arxiv_calendar
from service.ingest.schedule import ScheduleLimits, ServerAsk, after_error, after_success
from service.records import PollOutcome, SourceForUpdate

EXACT = ScheduleLimits(jitter_fraction=0.0, arxiv_spread=timedelta(0))
LISTING = "https://rss.arxiv.org/rss/cs.LG"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def listing(*, poll_minutes: int | None = None, url: str = LISTING) -> SourceForUpdate:
    return SourceForUpdate(
        id=3, name="arXiv cs.LG", url=url, kind="paper", poll_minutes=poll_minutes
    )


@pytest.mark.parametrize(
    ("now", "rebuild"),
    [
        # winter: New York is UTC-5, midnight there is 05:00 UTC
        ("2026-01-13 10:00", "2026-01-14 05:00"),  # Tuesday -> Wednesday
        ("2026-01-14 04:59", "2026-01-14 05:00"),  # a minute before Wednesday's rebuild
        ("2026-01-14 05:00", "2026-01-15 05:00"),  # exactly at one: the next
        ("2026-01-16 06:00", "2026-01-19 05:00"),  # Friday after its rebuild -> Monday
        # summer: UTC-4, midnight is 04:00 UTC
        ("2026-07-14 10:00", "2026-07-15 04:00"),
        ("2026-07-18 12:00", "2026-07-20 04:00"),  # Saturday -> Monday
        ("2026-07-20 03:59", "2026-07-20 04:00"),  # Sunday 23:59 in New York
        # across the change of clocks (2026-03-08 and 2026-11-01, both Sundays)
        ("2026-03-06 12:00", "2026-03-09 04:00"),  # Friday in EST -> Monday in EDT
        ("2026-10-30 12:00", "2026-11-02 05:00"),  # Friday in EDT -> Monday in EST
    ],
)
def test_next_rebuild_is_the_next_weekday_midnight_in_new_york(now: str, rebuild: str) -> None:
    assert arxiv_calendar.next_rebuild(utc(now)) == utc(rebuild)


@pytest.mark.parametrize(
    ("now", "rebuild"),
    [
        ("2026-01-14 05:00", "2026-01-14 05:00"),
        ("2026-01-14 04:59", "2026-01-13 05:00"),
        ("2026-07-19 12:00", "2026-07-17 04:00"),  # Sunday: Friday's was the last
    ],
)
def test_latest_rebuild(now: str, rebuild: str) -> None:
    assert arxiv_calendar.latest_rebuild(utc(now)) == utc(rebuild)


@pytest.mark.parametrize(
    ("now", "day"),
    [
        ("2026-07-18 03:00", None),  # Friday 23:00 in New York
        ("2026-07-18 12:00", "Saturday"),
        ("2026-07-20 03:30", "Sunday"),  # Monday in UTC, still Sunday in New York
        ("2026-01-19 05:00", None),  # Monday
        ("2026-11-26 12:00", None),  # Thanksgiving: a weekday (the listing may be empty)
    ],
)
def test_days_without_a_listing_are_saturday_and_sunday_in_new_york(
    now: str, day: str | None
) -> None:
    assert arxiv_calendar.quiet_day(utc(now)) == day


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://rss.arxiv.org/rss/cs.LG", True),
        ("http://export.arxiv.org/rss/cs.CL", True),
        ("https://rss.arxiv.org/atom/cs.CV", True),
        ("https://rss.arxiv.org/rss/cs.LG+cs.AI", True),
        ("http://export.arxiv.org/api/query?search_query=cat:cs.LG", False),  # the API
        ("https://arxiv.org/abs/2401.00001", False),
        ("https://example.org/rss/cs.LG", False),
    ],
)
def test_which_urls_are_daily_listings(url: str, expected: bool) -> None:
    assert arxiv_calendar.is_listing(url) is expected


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("arxiv.org", True),
        ("rss.arxiv.org", True),
        ("export.arxiv.org", True),
        ("ARXIV.ORG.", True),
        ("notarxiv.org", False),
        ("arxiv.org.example.com", False),
    ],
)
def test_which_hosts_are_arxiv(host: str, expected: bool) -> None:
    assert arxiv_calendar.is_arxiv_host(host) is expected


# --------------------------------------------------------------------------- when next, arXiv


@pytest.mark.parametrize(
    ("now", "outcome", "expected"),
    [
        # polled just after Tuesday's rebuild (00:31 New York, winter): next after Wednesday's
        ("2026-01-13 05:31", "updated", "2026-01-14 05:30"),
        # the same in summer
        ("2026-07-14 04:31", "updated", "2026-07-15 04:30"),
        # Friday's listing -> Monday (no poll at the weekend)
        ("2026-01-16 05:31", "updated", "2026-01-19 05:30"),
        # a new source first polled on a Saturday gets the empty weekend listing -> Monday
        ("2026-07-18 12:00", "empty", "2026-07-20 04:30"),
        # a holiday (Thanksgiving, Thursday): an empty weekday listing is normal -> Friday
        ("2026-11-26 05:31", "empty", "2026-11-27 05:30"),
        # the same bytes just after midnight: the rebuild is late, look again in an hour
        ("2026-01-13 05:31", "not_modified", "2026-01-13 06:31"),
        ("2026-01-13 05:31", "unchanged", "2026-01-13 06:31"),
        # ... but not for ever: four hours after midnight, wait for the next rebuild
        ("2026-01-13 09:30", "unchanged", "2026-01-14 05:30"),
        # a late retry never goes past the next regular poll
        ("2026-01-14 04:45", "unchanged", "2026-01-14 05:30"),
    ],
)
def test_a_listing_is_polled_once_after_each_weekday_rebuild(
    now: str, outcome: PollOutcome, expected: str
) -> None:
    assert after_success(listing(), utc(now), EXACT, outcome=outcome) == utc(expected)


def test_the_calendar_wins_over_poll_minutes_for_listings() -> None:
    due = after_success(listing(poll_minutes=180), utc("2026-01-13 05:31"), EXACT)
    assert due == utc("2026-01-14 05:30")


def test_the_server_can_still_ask_for_later() -> None:
    now = utc("2026-01-13 05:31")
    due = after_success(listing(), now, EXACT, asked=ServerAsk(max_age_seconds=2 * 86400))
    assert due == now + timedelta(days=2)


def test_listing_polls_spread_over_a_few_minutes_but_stay_reproducible() -> None:
    now = utc("2026-01-13 05:31")
    limits = ScheduleLimits()
    due = [
        after_success(SourceForUpdate(id=i, name=f"l{i}", url=LISTING, kind="paper"), now, limits)
        for i in range(50)
    ]
    assert all(utc("2026-01-14 05:30") <= d < utc("2026-01-14 05:40") for d in due)
    assert len(set(due)) > 40


def test_errors_on_a_listing_back_off_like_any_source() -> None:
    now = utc("2026-01-13 05:31")
    busy = SourceForUpdate(id=3, name="l", url=LISTING, kind="paper", items_per_week=1000)
    assert after_error(busy, now, EXACT, errors=1) == now + timedelta(minutes=15)
    assert after_error(busy, now, EXACT, errors=3) == now + timedelta(hours=1)
