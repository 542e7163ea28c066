"""parse_feed: fields extracted from each format, refusals with reasons, bytes never a path."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from feed_documents import fixture_bytes, parse_fixture, rss, rss_item

from service.errors import ParseError
from service.ingest.parse import parse_feed
from service.records import ParsedEnclosure


def test_rss_arxiv_listing_fields() -> None:
    feed = parse_fixture("parse_arxiv_rss.xml")
    assert feed.format == "rss20"
    assert feed.skip_days == ("Saturday", "Sunday")
    assert feed.updated == datetime(2024, 11, 5, 5, 0, tzinfo=UTC)
    assert feed.warning is None
    entry = feed.entries[0]
    assert entry.guid == "oai:arXiv.org:2411.01234v2"
    assert entry.link == "https://arxiv.org/abs/2411.01234"
    assert entry.terms == ("cs.LG", "cs.AI")
    assert entry.arxiv_announce_type == "replace"
    assert entry.authors == ("Ada Lovelace, Alan Turing, Grace Hopper",)
    assert entry.published == datetime(2024, 11, 5, 5, 0, tzinfo=UTC)
    assert entry.published_raw == "Tue, 05 Nov 2024 00:00:00 -0500"
    assert entry.updated is None  # no fallback from feedparser's updated->published mapping


def test_api_entry_fields() -> None:
    entry = parse_fixture("parse_arxiv_api.xml").entries[0]
    assert entry.arxiv_primary_category == "hep-th"
    assert entry.arxiv_comment == "12 pages, 2 figures"
    assert entry.arxiv_journal_ref == "Phys. Lett. B 450 (1999) 1-10"
    assert entry.arxiv_doi == "10.1016/S0370-2693(99)00001-1"
    assert entry.links == (
        "https://arxiv.org/abs/hep-th/9901001v2",
        "https://arxiv.org/pdf/hep-th/9901001v2",
    )


def test_podcast_fields() -> None:
    feed = parse_fixture("parse_podcast.xml")
    assert feed.is_podcast
    assert feed.ttl_minutes == 60
    assert feed.image == "https://radio.example.org/cover.jpg"
    entry = feed.entries[0]
    assert entry.enclosures == (
        ParsedEnclosure("https://cdn.example.org/gdr/ep12.mp3?token=abc", "audio/mpeg", 52428800),
    )
    assert (entry.itunes_duration, entry.episode, entry.season) == ("1:02:03", "12", "2")
    assert entry.image == "https://radio.example.org/ep12.jpg"
    assert entry.transcript_url == "https://radio.example.org/ep12.vtt"  # any prefix for the ns
    assert entry.summary_is_html


def test_xml_base_and_html_title() -> None:
    feed = parse_fixture("parse_relative_links.xml")
    entry = feed.entries[0]
    assert entry.title_is_html
    assert entry.base == "https://blog.example.com/ml/posts/"
    assert entry.content.startswith('<p onclick="steal()">')  # raw: normalize sanitizes


def test_json_feed() -> None:
    feed = parse_feed(fixture_bytes("parse_json_feed.json"))
    assert feed.format == "json11"
    assert feed.is_podcast
    first, second = feed.entries
    assert first.guid == "https://json.example.net/posts/1"
    assert first.published == datetime(2024, 10, 30, 8, 0, tzinfo=UTC)
    assert first.updated == datetime(2024, 10, 31, 10, 0, tzinfo=UTC)
    assert first.authors == ("Jane Doe",)
    assert first.terms == ("llm", "practice")
    assert first.itunes_duration == "600"
    assert first.enclosures == (
        ParsedEnclosure("https://json.example.net/a.mp3", "audio/mpeg", 1234),
    )
    assert (second.guid, second.content, second.content_is_html) == (
        "2",
        "A note without title or URL.",
        False,
    )


def test_a_bozo_feed_with_entries_is_accepted_with_a_warning() -> None:
    body = rss(rss_item("Record, replay & measure", "https://feeds.example.org/a"))
    feed = parse_feed(body)
    assert len(feed.entries) == 1
    assert feed.warning is not None
    assert feed.warning.startswith("not well-formed XML at line 2")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "not a feed: the document is empty"),
        (b"  \n ", "not a feed: the document is empty"),
        (
            b"<!DOCTYPE html><html><head><title>Hi</title></head><body><p>x</body></html>",
            "not a feed: the document is an HTML page",
        ),
        (
            b'<?xml version="1.0"?><opml version="2.0"><body/></opml>',
            "not a feed: the document is an OPML subscription list (import it)",
        ),
        (b"just some text", "not a feed: the document holds no XML element"),
        (
            b'<?xml version="1.0"?><catalog><book/></catalog>',
            "not a feed: the root element is <catalog>, not RSS, Atom or RDF",
        ),
        (
            b'<rss version="2.0">\n<channel a=1><title>x</title></channel></rss>',
            "not a feed: not well-formed XML at line 2 (not well-formed (invalid token))",
        ),
        (b'{"items": []}', "not a feed: JSON that is not a JSON Feed (no jsonfeed.org version)"),
        (
            b'{"version": "https://jsonfeed.org/version/1", "items": [',
            "not a feed: not valid JSON at line 1 (Expecting value)",
        ),
        (
            b'{"version": "https://jsonfeed.org/version/1"}',
            "not a feed: a JSON Feed without an items list",
        ),
    ],
)
def test_refusals_say_why(body: bytes, reason: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse_feed(body)
    assert caught.value.reason == reason


def test_arxiv_api_error_document() -> None:
    body = b"""<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>arXiv</title>
    <entry><id>https://arxiv.org/api/errors#incorrect_id_format_for_abc</id><title>Error</title>
    <summary>incorrect id format for abc</summary></entry></feed>"""
    with pytest.raises(ParseError) as caught:
        parse_feed(body)
    assert caught.value.reason == "the arXiv API returned an error: incorrect id format for abc"


@pytest.mark.parametrize(
    "body",
    [
        b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>API</title></feed>',
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>weekend</title></channel></rss>',
    ],
)
def test_a_valid_empty_feed_is_not_an_error(body: bytes) -> None:
    assert parse_feed(body).entries == ()


def test_a_body_naming_a_local_file_is_not_read(tmp_path: Path) -> None:
    secret = tmp_path / "feed.xml"
    secret.write_bytes(rss(rss_item("from disk", "https://feeds.example.org/disk")))
    with pytest.raises(ParseError):
        parse_feed(str(secret).encode())


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_wide_encodings(codec: str) -> None:
    text = rss(
        rss_item("Größe", "https://feeds.example.org/g"),
        prolog='<?xml version="1.0" encoding="utf-16"?>\n',
    ).decode()
    feed = parse_feed(text.encode(codec))
    assert [entry.title for entry in feed.entries] == ["Größe"]


def test_leading_whitespace_and_comments_before_the_declaration() -> None:
    body = b"\n<!-- generated -->\n" + rss(rss_item("ok", "https://feeds.example.org/ok"))
    feed = parse_feed(body)
    assert feed.warning is None
    assert feed.entries[0].title == "ok"


def test_charset_from_content_type_when_the_document_declares_none() -> None:
    body = (
        rss(rss_item("caf\xe9", "https://feeds.example.org/c"), prolog="")
        .decode()
        .encode("latin-1")
    )
    feed = parse_feed(body, content_type="application/rss+xml; charset=iso-8859-1")
    assert feed.entries[0].title == "caf\xe9"


def test_relative_links_resolve_against_the_feed_url() -> None:
    body = rss(rss_item("rel", "/posts/1"))
    assert (
        parse_feed(body, url="https://site.example/feed.xml").entries[0].link
        == "https://site.example/posts/1"
    )
