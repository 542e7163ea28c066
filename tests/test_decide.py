"""The decider of a poll: tables of examples (no server, no database), and properties."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.errors import (
    FetchError,
    GoneError,
    HTTPStatusError,
    ParseError,
    RateLimitedError,
    StaycurrentError,
    StorageError,
)
from service.ingest.decide import PERMANENT_REDIRECTS_TO_ADOPT, body_hash, decide
from service.ingest.schedule import ScheduleLimits
from service.records import (
    FetchedFeed,
    ItemWithTags,
    NormalizedItem,
    ParsedFeed,
    Processed,
    SourceForUpdate,
)

NOW = datetime(2026, 11, 24, 14, 0, tzinfo=UTC)
EXACT = ScheduleLimits(jitter_fraction=0.0)  # no jitter: exact tables
MIN, HOUR, DAY = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)
URL = "https://blog.example/feed.xml"
MOVED = "https://blog.example/new.xml"
BODY = b"<rss><channel><title>t</title></channel></rss>"

SOURCE = SourceForUpdate(
    id=7,
    name="blog",
    url=URL,
    kind="post",
    etag='"old"',
    last_modified="Mon, 23 Nov 2026 10:00:00 GMT",
    items_per_week=168.0,  # one an hour: a 30-minute interval
    last_success_at=NOW - 3 * DAY,
    ttl_minutes=None,
)


def answer(status: int = 200, **fields: object) -> FetchedFeed:
    body = None if status == 304 else BODY
    return FetchedFeed(URL, URL, status, body, NOW, **fields)  # type: ignore[arg-type]


def item(age: timedelta) -> ItemWithTags:
    published = NOW - age
    return ItemWithTags(NormalizedItem(f"url:{age}", "post", "t", None, "", "", published))


def processed(
    entries: int, *, ttl: int | None = None, ages: tuple[timedelta, ...] = ()
) -> Processed:
    feed = ParsedFeed(title="A blog", ttl_minutes=ttl)
    return Processed(feed, tuple(item(age) for age in ages), (), entries)


# --------------------------------------------------------------------------- outcomes


@pytest.mark.parametrize(
    ("fetched", "read", "outcome", "state", "errors"),
    [
        (answer(), processed(3), "updated", "ok", 0),
        (answer(), processed(0), "empty", "ok", 0),  # a valid feed without entries
        (answer(), None, "unchanged", "ok", 0),  # the same bytes as last time
        (answer(304), None, "not_modified", "ok", 0),
        (FetchError("connection refused"), None, "error", "error", 3),
        (ParseError("not a feed"), None, "error", "error", 3),
        (StorageError("disk full"), None, "error", "error", 3),
        (HTTPStatusError("404", status=404), None, "error", "error", 3),
        (GoneError("410", status=410), None, "gone", "gone", 3),
    ],
)
def test_what_an_attempt_means(
    fetched: FetchedFeed | StaycurrentError,
    read: Processed | None,
    outcome: str,
    state: str,
    errors: int,
) -> None:
    source = replace(SOURCE, consecutive_errors=2)
    intent = decide(source, fetched, read, NOW, EXACT)
    assert (intent.outcome, intent.state, intent.consecutive_errors) == (outcome, state, errors)
    assert intent.attempted_at == NOW and intent.source_id == source.id
    assert intent.succeeded is (state == "ok")
    assert intent.keep_validators is (state != "ok")


@pytest.mark.parametrize(
    ("fetched", "read", "next_in"),
    [
        (answer(), processed(3), 30 * MIN),  # the interval of an hourly source
        (answer(), None, 30 * MIN),
        (answer(cache_max_age=7200), None, 2 * HOUR),  # the server's max-age is longer
        (answer(cache_max_age=60), None, 30 * MIN),  # shorter: the interval wins
        (answer(expires=NOW + 5 * HOUR), None, 5 * HOUR),
        (answer(), processed(3, ttl=240), 4 * HOUR),  # RSS <ttl>
        (answer(cache_max_age=30 * 86400), None, 7 * DAY),  # at most longest_server_wait
        (FetchError("refused"), None, 30 * MIN),  # first error: the interval itself
        (RateLimitedError("429", status=429, retry_after=NOW + 3 * HOUR), None, 3 * HOUR),
        (GoneError("410", status=410), None, 7 * DAY),  # probed weekly
    ],
)
def test_when_next(
    fetched: FetchedFeed | StaycurrentError, read: Processed | None, next_in: timedelta
) -> None:
    assert decide(SOURCE, fetched, read, NOW, EXACT).next_poll_at == NOW + next_in


def test_a_304_keeps_the_stored_ttl_and_validators_the_server_did_not_resend() -> None:
    source = replace(SOURCE, ttl_minutes=120)
    intent = decide(source, answer(304), None, NOW, EXACT)
    assert intent.next_poll_at == NOW + 2 * HOUR
    assert (intent.etag, intent.last_modified) == (SOURCE.etag, SOURCE.last_modified)
    assert intent.content_hash is None and intent.ttl_minutes is None


def test_new_bytes_bring_their_validators_hash_title_and_ttl() -> None:
    intent = decide(SOURCE, answer(etag='"new"'), processed(2, ttl=60), NOW, EXACT)
    assert (intent.etag, intent.last_modified) == ('"new"', None)  # never the stale one
    assert intent.content_hash == body_hash(BODY)
    assert (intent.feed_title, intent.ttl_minutes) == ("A blog", 60)


def test_the_rate_a_feed_shows_shortens_the_interval_of_a_new_source() -> None:
    new = replace(SOURCE, items_per_week=0.0, last_success_at=None)
    busy = processed(56, ages=tuple(i * 12 * HOUR for i in range(56)))  # two a day, four weeks
    assert decide(new, answer(), busy, NOW, EXACT).next_poll_at == NOW + 6 * HOUR  # 14 a week
    old = processed(56, ages=tuple(29 * DAY + i * HOUR for i in range(56)))  # none this month
    assert decide(new, answer(), old, NOW, EXACT).next_poll_at == NOW + HOUR  # first contact
    assert decide(new, answer(), processed(0), NOW, EXACT).next_poll_at == NOW + HOUR


def test_an_error_keeps_the_redirect_seen_and_says_why() -> None:
    source = replace(SOURCE, redirect_url=MOVED, redirect_count=2)
    error = HTTPStatusError("server said 500", status=500)
    intent = decide(source, error, None, NOW, EXACT)
    assert (intent.redirect_url, intent.redirect_count, intent.new_url) == (MOVED, 2, None)
    assert (intent.status_code, intent.error_kind) == (500, error.kind)
    assert intent.error_reason == "server said 500"


# --------------------------------------------------------------------------- redirects


@pytest.mark.parametrize(
    ("seen", "count", "target", "expected"),
    [
        (None, 0, None, (None, 0, None)),  # no redirect
        (None, 0, URL, (None, 0, None)),  # a redirect to itself is none
        (None, 0, MOVED, (MOVED, 1, None)),  # first time
        (MOVED, 1, MOVED, (MOVED, 2, None)),
        (MOVED, PERMANENT_REDIRECTS_TO_ADOPT - 1, MOVED, (MOVED, 3, MOVED)),  # adopted
        (MOVED, 2, "https://else.example/f", ("https://else.example/f", 1, None)),  # restarts
        (MOVED, 2, None, (None, 0, None)),  # not redirected this time: forgotten
    ],
)
def test_a_permanent_redirect_is_adopted_after_three_polls_in_a_row(
    seen: str | None, count: int, target: str | None, expected: tuple[str | None, int, str | None]
) -> None:
    source = replace(SOURCE, redirect_url=seen, redirect_count=count)
    intent = decide(source, answer(permanent_redirect=target), None, NOW, EXACT)
    assert (intent.redirect_url, intent.redirect_count, intent.new_url) == expected


# --------------------------------------------------------------------------- properties


@given(
    errors=st.integers(min_value=0, max_value=200),
    rate=st.floats(min_value=0.0, max_value=5000.0),
    cap_hours=st.integers(min_value=1, max_value=96),
)
def test_backoff_is_monotone_and_bounded(errors: int, rate: float, cap_hours: int) -> None:
    limits = ScheduleLimits(backoff_cap=timedelta(hours=cap_hours))
    source = replace(SOURCE, items_per_week=rate)
    failing, exact = FetchError("refused"), replace(limits, jitter_fraction=0.0)
    this = decide(replace(source, consecutive_errors=errors), failing, None, NOW, exact)
    more = decide(replace(source, consecutive_errors=errors + 1), failing, None, NOW, exact)
    assert NOW < this.next_poll_at <= more.next_poll_at  # never sooner for more errors
    ceiling = max(limits.backoff_cap, limits.max_interval)
    assert more.next_poll_at - NOW <= ceiling  # and never past the cap (or the longest interval)
    jittered = decide(replace(source, consecutive_errors=errors), failing, None, NOW, limits)
    assert jittered.next_poll_at - NOW <= ceiling + limits.max_jitter


@given(
    status=st.sampled_from([200, 304]),
    errors=st.integers(min_value=0, max_value=50),
    entries=st.one_of(st.none(), st.integers(min_value=0, max_value=100)),
)
def test_any_good_answer_clears_the_errors(status: int, errors: int, entries: int | None) -> None:
    read = processed(entries) if entries is not None and status == 200 else None
    intent = decide(replace(SOURCE, consecutive_errors=errors), answer(status), read, NOW, EXACT)
    assert (intent.consecutive_errors, intent.state, intent.error_reason) == (0, "ok", None)
    assert intent.next_poll_at > NOW
