"""Pure parts of subscriptions: lenses, the per-day throttle, URLs, ticks, conditional GETs, art."""

from __future__ import annotations

import struct
import zlib
from collections import Counter
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.errors import InvalidInputError
from service.outputs.api.conditional import entity_tag, http_date, is_not_modified
from service.outputs.outlines import public_url
from service.outputs.subscriptions import LENS_TICK, ranking_instant, tick_start
from service.outputs.syndication.artwork import SIZE, artwork_png
from service.outputs.syndication.lens import Lens, lens_of, subscription_url, throttle

# --------------------------------------------------------------------------- lenses


@pytest.mark.parametrize(
    ("lens", "words"),
    [
        (Lens(depth=1.5), "depth: must be from 0 to 1"),
        (Lens(depth=-0.1), "depth: must be from 0 to 1"),
        (Lens(kinds=("paper", "tweet")), "kinds: must be among"),
        (Lens(limit=0), "limit: must be from 1 to 100"),
        (Lens(limit=101), "limit: must be from 1 to 100"),
        (Lens(max_per_day=0), "max_per_day: must be from 1 to 100"),
    ],
)
def test_a_bad_lens_is_refused_by_name(lens: Lens, words: str) -> None:
    with pytest.raises(InvalidInputError, match=words):
        lens.check()


def test_lens_of_orders_kinds_and_drops_repeats_so_each_lens_has_one_url() -> None:
    one = lens_of(kinds=["video", "paper", "paper"], topics=["nlp", "rag", "nlp"])
    other = lens_of(kinds=["paper", "video"], topics=["nlp", "rag"])
    assert one == other
    assert one.kinds == ("paper", "video") and one.topics == ("nlp", "rag")
    assert lens_of(kinds=[], topics=[]) == Lens()


@pytest.mark.parametrize(
    ("lens", "query", "label"),
    [
        (Lens(), [], ""),
        (lens_of(depth=1.0), [("depth", "1")], "depth 1"),
        (
            lens_of(depth=0.25, kinds=["podcast"]),
            [("depth", "0.25"), ("kinds", "podcast")],
            "depth 0.25 · podcasts",
        ),
        (
            lens_of(topics=["nlp"], limit=50, max_per_day=5),
            [("topics", "nlp"), ("limit", "50"), ("max_per_day", "5")],
            "nlp · 5 a day",
        ),
    ],
)
def test_lens_query_and_label(lens: Lens, query: list[tuple[str, str]], label: str) -> None:
    assert lens.query() == query
    assert lens.describe() == label


def test_subscription_url_carries_the_token_and_the_lens() -> None:
    lens = lens_of(depth=0.0, kinds=["paper", "podcast"])
    url = subscription_url("https://feeds.example.org/", "t0k/en+", "feed.atom", lens)
    parts = urlsplit(url)
    assert parts.path == "/v1/subscriptions/t0k%2Fen%2B/feed.atom"
    assert parse_qsl(parts.query) == [("depth", "0"), ("kinds", "paper,podcast")]
    assert (
        subscription_url("https://x.org", "t", "feed.rss")
        == "https://x.org/v1/subscriptions/t/feed.rss"
    )


# --------------------------------------------------------------------------- throttle

_RANKED = st.lists(st.integers(min_value=0, max_value=6), max_size=60)  # each item's day


@given(days=_RANKED, max_per_day=st.none() | st.integers(1, 5), limit=st.integers(1, 40))
def test_throttle_keeps_the_best_of_each_day_in_rank_order(
    days: list[int], max_per_day: int | None, limit: int
) -> None:
    ranked = list(enumerate(days))  # (rank, day)
    kept = throttle(ranked, day_of=lambda item: item[1], max_per_day=max_per_day, limit=limit)
    assert kept == sorted(kept) and len(kept) <= limit  # a subsequence of the ranking
    per_day = Counter(day for _, day in kept)
    if max_per_day is not None:
        assert all(count <= max_per_day for count in per_day.values())
    # nothing better was skipped unless its day was full or the feed was full
    for rank, day in ranked:
        if (rank, day) in kept:
            continue
        earlier = [k for k in kept if k[0] < rank]
        day_full = max_per_day is not None and sum(1 for _, d in earlier if d == day) >= max_per_day
        assert day_full or len(earlier) >= limit


def test_throttle_example() -> None:
    ranked = ["a1", "a2", "b1", "a3", "b2", "c1", "b3"]
    kept = throttle(ranked, day_of=lambda item: item[0], max_per_day=2, limit=10)
    assert kept == ["a1", "a2", "b1", "b2", "c1"]
    assert throttle(ranked, day_of=lambda item: item[0], max_per_day=1, limit=2) == ["a1", "b1"]
    assert throttle(ranked, day_of=lambda item: item[0], max_per_day=None, limit=3) == ranked[:3]


# --------------------------------------------------------------------------- ticks


@pytest.mark.parametrize(
    ("now", "start"),
    [
        ("2026-11-20T12:00:00+00:00", "2026-11-20T12:00:00+00:00"),
        ("2026-11-20T12:14:59.999+00:00", "2026-11-20T12:00:00+00:00"),
        ("2026-11-20T12:15:00+00:00", "2026-11-20T12:15:00+00:00"),
        ("2026-11-20T13:59:00+01:00", "2026-11-20T12:45:00+00:00"),
    ],
)
def test_tick_start(now: str, start: str) -> None:
    assert tick_start(datetime.fromisoformat(now)) == datetime.fromisoformat(start)
    assert timedelta(minutes=15) == LENS_TICK


NOON = datetime(2026, 11, 20, 12, 7, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("newest_seen", "expected"),
    [
        (None, datetime(2026, 11, 20, 12, 0, tzinfo=UTC)),  # nothing stored: the tick
        (datetime(2026, 11, 20, 11, 50, tzinfo=UTC), datetime(2026, 11, 20, 12, 0, tzinfo=UTC)),
        (  # rounded up: an item first seen at 12:05:01.0009 is in
            datetime(2026, 11, 20, 12, 5, 1, 900, tzinfo=UTC),
            datetime(2026, 11, 20, 12, 5, 2, tzinfo=UTC),
        ),
        (
            datetime(2026, 11, 20, 12, 5, 1, tzinfo=UTC),
            datetime(2026, 11, 20, 12, 5, 1, tzinfo=UTC),
        ),
        (datetime(2026, 11, 20, 12, 9, tzinfo=UTC), NOON),  # never after now
    ],
)
def test_ranking_instant_follows_the_newest_item(
    newest_seen: datetime | None, expected: datetime
) -> None:
    assert ranking_instant(NOON, newest_seen) == expected


# --------------------------------------------------------------------------- conditional GET

LAST = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
TAG = entity_tag(b"body")


@pytest.mark.parametrize(
    ("if_none_match", "if_modified_since", "expected"),
    [
        (None, None, False),
        (TAG, None, True),
        (f"W/{TAG}", None, True),
        (f'"other", {TAG}', None, True),
        ("*", None, True),
        ('"other"', None, False),
        ('"other"', http_date(LAST), False),  # If-None-Match wins over If-Modified-Since
        (None, http_date(LAST), True),
        (None, http_date(LAST + timedelta(hours=1)), True),
        (None, http_date(LAST - timedelta(seconds=1)), False),
        (None, "not a date", False),
        (None, "Fri, 20 Nov 2026 12:00:00", True),  # no zone: read as GMT
    ],
)
def test_is_not_modified(
    if_none_match: str | None, if_modified_since: str | None, expected: bool
) -> None:
    result = is_not_modified(
        if_none_match=if_none_match,
        if_modified_since=if_modified_since,
        etag=TAG,
        last_modified=LAST + timedelta(microseconds=500),
    )
    assert result is expected


def test_entity_tags_differ_with_the_body() -> None:
    assert entity_tag(b"a") != entity_tag(b"b")
    assert entity_tag(b"a") == entity_tag(b"a")
    assert TAG.startswith('"') and TAG.endswith('"')


# --------------------------------------------------------------------------- misc


@pytest.mark.parametrize(
    ("url", "public"),
    [
        ("https://example.org/feed.xml", "https://example.org/feed.xml"),
        ("https://user:secret@example.org/feed", "https://example.org/feed"),
        ("https://user@example.org:8443/f?a=1", "https://example.org:8443/f?a=1"),
        (None, None),
    ],
)
def test_public_url_leaves_credentials_out(url: str | None, public: str | None) -> None:
    assert public_url(url) == public


def test_the_artwork_is_a_square_png_podcast_apps_accept() -> None:
    png = artwork_png()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    length, kind = struct.unpack(">I4s", png[8:16])
    width, height, depth, color = struct.unpack(">IIBB", png[16:26])
    assert kind == b"IHDR" and (width, height) == (SIZE, SIZE) and 1400 <= SIZE <= 3000
    assert (depth, color) == (8, 2)
    idat = png.index(b"IDAT")
    (size,) = struct.unpack(">I", png[idat - 4 : idat])
    raw = zlib.decompress(png[idat + 4 : idat + 4 + size])
    assert len(raw) == SIZE * (1 + 3 * SIZE)
    assert length == 13 and png.endswith(b"IEND\xaeB`\x82")
