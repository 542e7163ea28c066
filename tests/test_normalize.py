"""normalize: titles, canonical links, safe summaries, dates, keys, kinds, minutes, mentions."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from feed_documents import FETCHED_AT, context, normalize_fixture

from service.ingest.dates import parse_date
from service.ingest.markup import plain_text, safe_html
from service.ingest.normalize import (
    canonical_key,
    clamp_date,
    normalize_entry,
    normalize_feed,
)
from service.ingest.urls import canonical_url
from service.records import ParsedEnclosure, ParsedEntry, ParsedFeed


def test_relative_links_xml_base_tracking_and_double_escaping() -> None:
    first, future = normalize_fixture("parse_relative_links.xml").items
    assert first.title == "Attention & Memory"
    assert first.url == "https://blog.example.com/ml/posts/attention.html?page=2"
    assert first.canonical_key == "url:https://blog.example.com/ml/posts/attention.html?page=2"
    assert future.url == "https://blog.example.com/ml/future/"


def test_content_comes_out_inert() -> None:
    item = normalize_fixture("parse_relative_links.xml").items[0]
    html = item.summary_html.lower()
    for hostile in ("<script", "onclick", "onerror", "javascript:", "<iframe", "<style", "alert("):
        assert hostile not in html
    assert 'href="https://blog.example.com/ml/posts/figures/one.png"' in item.summary_html
    assert 'src="https://blog.example.com/ml/posts/x.png"' in item.summary_html
    assert item.summary_text == "See the figure click"


def test_future_dates_are_clamped_to_the_fetch_time() -> None:
    future = normalize_fixture("parse_relative_links.xml").items[1]
    assert future.published_at == FETCHED_AT


def test_podcast_episode() -> None:
    first, second = normalize_fixture("parse_podcast.xml", kind="podcast").items
    assert first.kind == "podcast"
    assert first.url == "https://radio.example.org/episodes/12"
    assert first.podcast is not None
    assert first.podcast.enclosure_url == "https://cdn.example.org/gdr/ep12.mp3?token=abc"
    assert (first.podcast.duration_seconds, first.podcast.episode, first.podcast.season) == (
        3723,
        12,
        2,
    )
    assert first.podcast.transcript_url == "https://radio.example.org/ep12.vtt"
    assert first.podcast.image_url == "https://radio.example.org/ep12.jpg"
    assert first.reading_minutes == 63
    # No link: the (absolute) audio URL stands in; the feed's image stands in for the episode's.
    assert second.url == "https://feeds.example.org/media/ep11.m4a"
    assert second.podcast is not None
    assert second.podcast.image_url == "https://radio.example.org/cover.jpg"
    assert second.reading_minutes == 1


def test_json_feed_items() -> None:
    first, second = normalize_fixture("parse_json_feed.json").items
    assert first.kind == "podcast"  # it carries an audio attachment
    assert first.mentions == ("2303.08774",)
    assert first.published_at == datetime(2024, 10, 30, 8, 0, tzinfo=UTC)
    assert second.title == "A note without title or URL."
    assert second.canonical_key.startswith("hash:")
    assert second.published_at == FETCHED_AT


@pytest.mark.parametrize(
    ("link", "base", "expected"),
    [
        ("HTTPS://Example.COM:443/a?utm_source=x&b=1#frag", None, "https://example.com/a?b=1"),
        ("http://example.com:80", None, "http://example.com/"),
        ("http://example.com:8080/x", None, "http://example.com:8080/x"),
        (
            "/p?fbclid=1&gclid=2&ref=hn&id=3",
            "https://site.example/feed",
            "https://site.example/p?id=3",
        ),
        ("post.html", "https://site.example/blog/", "https://site.example/blog/post.html"),
        ("//cdn.example/x", "https://site.example/", "https://cdn.example/x"),
        ("https://user:pw@site.example/a b", None, "https://site.example/a%20b"),
        ("https://site.example/caf\u00e9", None, "https://site.example/caf%C3%A9"),
        ("javascript:alert(1)", None, None),
        ("mailto:x@example.com", None, None),
        ("/relative/without/base", None, None),
        ("https://site.example:99999/", None, None),
        ("", None, None),
    ],
)
def test_canonical_url(link: str, base: str | None, expected: str | None) -> None:
    assert canonical_url(link, base) == expected


@pytest.mark.parametrize(
    ("value", "is_html", "expected"),
    [
        ("Science &amp; technology", True, "Science & technology"),
        ("Double &amp;amp; escaped", True, "Double & escaped"),
        ("Tom &amp;amp; Jerry", False, "Tom & Jerry"),
        ("<b>Bold</b>\n\n  and   <i>italic</i>", True, "Bold and italic"),
        ("<p>One</p><p>Two</p>", True, "One Two"),
        ("<script>alert(1)</script>Safe<style>p{}</style>", True, "Safe"),
        ("a < b and c > d", False, "a < b and c > d"),
    ],
)
def test_plain_text(value: str, is_html: bool, expected: str) -> None:
    assert plain_text(value, is_html=is_html) == expected


def test_plain_text_is_bounded() -> None:
    text = plain_text("word " * 5000, limit=2000)
    assert len(text) <= 2000
    assert text.endswith("…")


def test_safe_html_is_bounded_and_escapes_plain_text() -> None:
    assert len(safe_html("<p>" + "x" * 50_000 + "</p>", limit=8000)) < 8100
    assert safe_html("a <b> c", is_html=False, limit=100) == "<p>a &lt;b&gt; c</p>"


def test_canonical_keys() -> None:
    long_url = "https://site.example/" + "a" * 1200
    assert canonical_key(None, "https://site.example/x", "t", "s") == "url:https://site.example/x"
    hashed = canonical_key(None, long_url, "t", "s")
    assert hashed.startswith("url:sha256:") and len(hashed) == len("url:sha256:") + 64
    assert canonical_key(None, None, "t", "s") != canonical_key(None, None, "t", "s2")


def entry(**fields: object) -> ParsedEntry:
    values: dict[str, object] = {
        "title": "A post",
        "link": "https://site.example/p",
        "summary": "Body",
    }
    values.update(fields)
    return ParsedEntry(**values)  # type: ignore[arg-type]


def normalize_one(parsed: ParsedEntry, kind: str = "post") -> object:
    return normalize_entry(parsed, context(kind))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fields", "source_kind", "expected"),
    [
        ({}, "post", "post"),
        ({"link": "https://www.youtube.com/watch?v=abc"}, "post", "video"),
        ({"guid": "yt:video:abc"}, "post", "video"),
        (
            {"enclosures": (ParsedEnclosure("https://a.example/e.mp3", "audio/mpeg"),)},
            "post",
            "podcast",
        ),
        (
            {"enclosures": (ParsedEnclosure("https://a.example/e.mp4", "video/mp4"),)},
            "video",
            "video",
        ),
        ({}, "podcast", "podcast"),
        ({"link": "https://arxiv.org/abs/2401.00001"}, "post", "post"),
        ({"link": "https://arxiv.org/abs/2401.00001"}, "paper", "paper"),
        ({"guid": "oai:arXiv.org:2401.00001v1"}, "post", "paper"),
    ],
)
def test_kind(fields: dict[str, object], source_kind: str, expected: str) -> None:
    item = normalize_one(entry(**fields), source_kind)
    assert item.kind == expected


def test_dates_fall_back_and_are_aware_utc() -> None:
    updated = datetime(2024, 1, 2, tzinfo=UTC)
    item = normalize_one(entry(updated=updated))
    assert item.published_at == updated
    raw = normalize_one(entry(published_raw="2024-02-17T17:01:40-0500"))
    assert raw.published_at == datetime(2024, 2, 17, 22, 1, 40, tzinfo=UTC)
    assert parse_date("Mon, 04 Nov 2024 08:00:00 GMT") == datetime(2024, 11, 4, 8, tzinfo=UTC)
    assert parse_date("not a date") is None
    assert clamp_date(FETCHED_AT + timedelta(hours=23), FETCHED_AT) == FETCHED_AT + timedelta(
        hours=23
    )
    assert clamp_date(FETCHED_AT + timedelta(hours=25), FETCHED_AT) == FETCHED_AT


def test_reading_minutes_for_posts() -> None:
    short = normalize_one(entry(summary="word"))
    long = normalize_one(entry(content="<p>" + "word " * 2300 + "</p>"))
    assert short.reading_minutes == 1
    assert long.reading_minutes == 10


def test_content_hash_changes_with_any_stored_field() -> None:
    base = normalize_one(entry())
    assert base == normalize_one(entry())
    for changed in (entry(title="Other"), entry(summary="Other"), entry(authors=("X",))):
        assert normalize_one(changed).content_hash != base.content_hash


def test_skipped_entries_have_reasons() -> None:
    feed = ParsedFeed(
        entries=(
            entry(),
            ParsedEntry(),
            entry(title="Same link again"),
        )
    )
    result = normalize_feed(feed, context())
    assert len(result.items) == 1
    assert result.skipped == (
        "entry 2: no title, link or text",
        "entry 3: the same work as entry 1 (url:https://site.example/p)",
    )


def test_mentions_only_for_non_papers() -> None:
    text = "We discuss arXiv:2401.00001 and https://arxiv.org/pdf/2312.00002v2."
    post = normalize_one(entry(summary=text))
    assert post.mentions == ("2401.00001", "2312.00002")
    paper = normalize_one(replace(entry(summary=text), guid="oai:arXiv.org:2402.00003v1"))
    assert paper.mentions == ()
