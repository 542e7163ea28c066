"""Google Reader ids, stream ids and paging tokens (pure): tables of examples."""

from __future__ import annotations

import pytest

from service.errors import InvalidInputError
from service.outputs.greader.ids import (
    MalformedIdError,
    SortKey,
    StreamId,
    continuation_of,
    long_item_id,
    parse_continuation,
    parse_count,
    parse_item_id,
    parse_seconds,
    parse_stream_id,
    short_item_id,
)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("tag:google.com,2005:reader/item/000000000000002a", 42),
        ("tag:google.com,2005:reader/item/000000000000002A", 42),
        ("42", 42),
        (" 42 ", 42),
        ("000000000000002a", 42),
        ("0000000000000042", 0x42),  # 16 characters with a leading zero: the bare hex form
        ("1234567890123456", 1234567890123456),  # 16 digits, no leading zero: decimal
    ],
)
def test_item_ids_in_every_form(given: str, expected: int) -> None:
    assert parse_item_id(given) == expected


@pytest.mark.parametrize(
    "given",
    [
        "",
        "tag:google.com,2005:reader/item/",
        "tag:google.com,2005:reader/item/2a",
        "tag:google.com,2005:reader/item/zzzzzzzzzzzzzzzz",
        "tag:google.com,2005:reader/item/0000000000000000",
        "00000000000000zz",
        "ffffffffffffffff",
        "12abc",
        "0",
        "1" * 21,
        "1e5",
        "tag:example.com,2005:reader/item/000000000000002a",
        "-9223372036854775807",  # a negative short id (signed 64 bits) is beyond our ids
    ],
)
def test_malformed_item_ids(given: str) -> None:
    with pytest.raises(MalformedIdError):
        parse_item_id(given)


def test_ids_round_trip() -> None:
    for item_id in (1, 42, 2**31 - 1, 2**63 - 1):
        assert parse_item_id(long_item_id(item_id)) == item_id
        assert parse_item_id(short_item_id(item_id)) == item_id
    assert long_item_id(42) == "tag:google.com,2005:reader/item/000000000000002a"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("user/-/state/com.google/reading-list", StreamId("reading-list")),
        ("user/1234/state/com.google/starred", StreamId("starred")),
        ("user/-/state/com.google/read", StreamId("read")),
        ("user/-/label/Deep", StreamId("label", "Deep")),
        ("user/-/label/Your feed", StreamId("label", "Your feed")),
        ("feed/https://example.org/rss?a=1", StreamId("feed", "https://example.org/rss?a=1")),
    ],
)
def test_stream_ids(given: str, expected: StreamId) -> None:
    assert parse_stream_id(given) == expected
    assert parse_stream_id(expected.text) == expected


@pytest.mark.parametrize(
    "given",
    ["", "feed/", "user/-/label/", "user/x/label/Deep", "user/-/state/com.google/nope", "x" * 3000],
)
def test_malformed_stream_ids(given: str) -> None:
    with pytest.raises(MalformedIdError):
        parse_stream_id(given)


def test_continuations_round_trip_and_refuse_forgeries() -> None:
    key = SortKey(1_763_640_000_123_456, 987)
    assert parse_continuation(continuation_of(key)) == key
    for bad in ("", "abc", "1.2.3", "g.1", "-1.2", "1" * 17 + ".1"):
        with pytest.raises(MalformedIdError):
            parse_continuation(bad)


def test_counts_and_times() -> None:
    assert parse_count(None, default=20, most=1000) == 20
    assert parse_count("10000", default=20, most=1000) == 1000
    for bad in ("0", "-1", "ten", "1.5"):
        with pytest.raises(InvalidInputError):
            parse_count(bad, default=20, most=1000)
    assert parse_seconds("ot", "1763640000") == 1763640000
    assert parse_seconds("ot", "1763640000123456") == 1763640000  # microseconds, scaled
    assert parse_seconds("ot", None) is None
    for bad in ("-5", "yesterday", "1" * 20):
        with pytest.raises(InvalidInputError):
            parse_seconds("nt", bad)
