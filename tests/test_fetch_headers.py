"""Tables for the pure header parsers: Retry-After, Cache-Control, Expires, status phrases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.ingest.headers import (
    MAX_AGE_CEILING,
    MAX_RETRY_AFTER,
    cache_directives,
    describe_status,
    parse_expires,
    parse_http_date,
    parse_max_age,
    parse_retry_after,
)

NOW = datetime(2025, 3, 14, 14, 0, tzinfo=UTC)
NOV_6 = datetime(1994, 11, 6, 8, 49, 37, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Sun, 06 Nov 1994 08:49:37 GMT", NOV_6),  # IMF-fixdate
        ("Sunday, 06-Nov-94 08:49:37 GMT", NOV_6),  # RFC 850
        ("Sun Nov  6 08:49:37 1994", NOV_6),  # asctime
        ("  Sun, 06 Nov 1994 08:49:37 GMT  ", NOV_6),
        ("Sun, 06 Nov 1994 10:49:37 +0200", NOV_6),  # not HTTP, but unambiguous
        ("", None),
        ("   ", None),
        (None, None),
        ("0", None),
        ("-1", None),
        ("tomorrow", None),
        ("Sun, 32 Nov 1994 08:49:37 GMT", None),
        ("Sun, 06 Nov 1994 25:49:37 GMT", None),
    ],
)
def test_parse_http_date(value: str | None, expected: datetime | None) -> None:
    assert parse_http_date(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", NOW + timedelta(seconds=120)),
        ("0", NOW),
        (" 3600 ", NOW + timedelta(hours=1)),
        ("Fri, 14 Mar 2025 16:30:00 GMT", datetime(2025, 3, 14, 16, 30, tzinfo=UTC)),
        ("Fri, 14 Mar 2025 12:00:00 GMT", datetime(2025, 3, 14, 12, 0, tzinfo=UTC)),  # past
        ("99999999999999999999", NOW + MAX_RETRY_AFTER),  # clamped, no overflow
        ("Fri, 14 Mar 2125 16:30:00 GMT", NOW + MAX_RETRY_AFTER),
        ("-5", None),
        ("1.5", None),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after(value: str | None, expected: datetime | None) -> None:
    assert parse_retry_after(value, NOW) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("max-age=600", 600),
        ("public, max-age=600", 600),
        ("MAX-AGE=600, must-revalidate", 600),
        ('max-age="300"', 300),
        ("max-age = 60", 60),
        ("s-maxage=120", 120),
        ("max-age=60, s-maxage=120", 60),
        ("s-maxage=120, max-age=60", 60),
        ("max-age=60, max-age=120", 60),  # the first wins
        ("max-age=0", 0),
        ("no-cache", None),
        ("no-store, max-age=30", 30),  # no-store governs keeping bytes, not poll frequency
        ("private, no-cache=Set-Cookie, max-age=90", 90),
        ("max-age=-1", None),
        ("max-age=soon", None),
        ("max-age", None),
        ("max-age=99999999999", MAX_AGE_CEILING),
        ("", None),
        (None, None),
    ],
)
def test_parse_max_age(value: str | None, expected: int | None) -> None:
    assert parse_max_age(value) == expected


def test_cache_directives_keeps_names_and_arguments() -> None:
    assert cache_directives('Public, Max-Age=10, no-cache="Set-Cookie", immutable') == {
        "public": None,
        "max-age": "10",
        "no-cache": "Set-Cookie",
        "immutable": None,
    }


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Fri, 14 Mar 2025 15:00:00 GMT", datetime(2025, 3, 14, 15, 0, tzinfo=UTC)),
        ("0", None),
        ("-1", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_expires(value: str | None, expected: datetime | None) -> None:
    assert parse_expires(value) == expected


@pytest.mark.parametrize(
    ("status", "text"),
    [(404, "404 Not Found"), (410, "410 Gone"), (503, "503 Service Unavailable"), (599, "599")],
)
def test_describe_status(status: int, text: str) -> None:
    assert describe_status(status) == text


@given(st.text(max_size=80))
def test_parsers_never_raise_and_return_aware_utc(value: str) -> None:
    for parsed in (parse_http_date(value), parse_retry_after(value, NOW), parse_expires(value)):
        assert parsed is None or parsed.utcoffset() == timedelta(0)
    max_age = parse_max_age(value)
    assert max_age is None or 0 <= max_age <= MAX_AGE_CEILING
