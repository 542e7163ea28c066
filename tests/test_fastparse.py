"""The fast lxml reader gives feedparser's reading, field by field, wherever it accepts a document.

Every corpus file, every parse fixture, generated listings, blogs and podcasts, and random
documents (hypothesis) are read by both readers; where the fast reader accepts, the ``ParsedFeed``
records (or the ``ParseError`` reasons) are equal and normalize makes the same items of them. The
corpus files it declines are listed with the reason. Hostile XML stays inert on the fast path.
"""

from __future__ import annotations

import contextlib
import threading
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import FIXTURES, corpus_files
from fastparse_documents import FEED_DOCUMENTS, broken_documents, encoded_documents
from fastparse_oracle import Readings, both_readers, field_differences, loose_readers
from feed_documents import many_items, rss, rss_item
from feedgen import DAY, Post, arxiv_listing, blog, hours_ago, random_papers
from feedparser.urls import _urljoin
from hypothesis import given, settings
from hypothesis import strategies as st

from service.ingest.fastparse import Unsupported, read_feed
from service.ingest.feedstate import join_uri
from service.ingest.looseparse import read_refused_feed
from service.ingest.normalize import normalize_feed
from service.ingest.parse import parse_feed
from service.ingest.prolog import clean_prolog
from service.records import Kind, ParsedFeed, SourceContext

FEED_URL = "https://feeds.example.org/dir/feed.xml"
URLS = ("", FEED_URL)  # without a URL, and with one relative links resolve against
# Corpus files the fast reader leaves to feedparser, and why (a phrase of its reason).
DECLINED = {
    "broken_dylanharris_bogus_xml_decl_rss_prefix.xml": "not well-formed",
    "broken_incomplete_cdata_feedparser_min.xml": "not well-formed",
    "broken_junk_after_root_cloudflare_script.xml": "not well-formed",
    "broken_unescaped_ampersand_in_title.xml": "not well-formed",
    "podcast_no_agenda_podcast2.0.xml": "not well-formed",  # an undefined entity
    "opml_castify_podcast_app_export.opml": "the root element is <opml>",
    "opml_kilimchoi_engineering_blogs.opml": "the root element is <opml>",
    "opml_turing_ai_rss_feeds.opml": "the root element is <opml>",
}
NOT_XML = {"odd_jsonfeed_v1_humanwhocodes.json"}  # JSON Feed: read before either XML reader
CORPUS_XML = [path for path in corpus_files() if path.name not in NOT_XML]
FETCHED_AT = datetime(2026, 5, 1, tzinfo=UTC)


def assert_same_reading(readings: Readings) -> None:
    assert readings.fast is not None, f"declined: {readings.declined_because}"
    differences = field_differences(readings.fast, readings.reference)
    assert not differences, "\n".join(differences[:20])


def assert_same_items(fast: ParsedFeed, reference: ParsedFeed, url: str) -> None:
    kinds: tuple[Kind, ...] = ("post", "paper", "podcast")
    for kind in kinds:
        ctx = SourceContext(feed_url=url or FEED_URL, kind=kind, fetched_at=FETCHED_AT)
        assert normalize_feed(fast, ctx) == normalize_feed(reference, ctx)


# --------------------------------------------------------------------------- corpus


@pytest.mark.corpus
@pytest.mark.parametrize("path", CORPUS_XML, ids=lambda path: path.name)
@pytest.mark.parametrize("url", URLS, ids=("no-url", "url"))
def test_corpus_file_reads_the_same(corpus: Path, path: Path, url: str) -> None:
    readings = both_readers(path.read_bytes(), url=url)
    if path.name in DECLINED:
        assert readings.declined_because is not None
        assert DECLINED[path.name] in readings.declined_because
        return
    assert_same_reading(readings)
    if isinstance(readings.fast, ParsedFeed) and isinstance(readings.reference, ParsedFeed):
        assert_same_items(readings.fast, readings.reference, url)


@pytest.mark.corpus
def test_most_of_the_corpus_takes_the_fast_path(corpus: Path) -> None:
    accepted = [path.name for path in CORPUS_XML if path.name not in DECLINED]
    assert len(accepted) == len(CORPUS_XML) - len(DECLINED)
    assert len(accepted) >= 0.8 * len(CORPUS_XML)


@pytest.mark.corpus
@pytest.mark.parametrize("name", sorted(DECLINED))
def test_declined_files_are_read_by_feedparser_as_before(corpus: Path, name: str) -> None:
    path = next(path for path in CORPUS_XML if path.name == name)
    reference = both_readers(path.read_bytes(), url=FEED_URL).reference
    try:
        feed: ParsedFeed | str = parse_feed(path.read_bytes(), url=FEED_URL)
    except Exception as exc:  # the refusal reason is what is compared
        feed = getattr(exc, "reason", repr(exc))
    assert feed == reference


# --------------------------------------------------------------------------- fixtures, generated


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("parse_*.xml")), ids=lambda path: path.name)
@pytest.mark.parametrize("url", URLS, ids=("no-url", "url"))
def test_parse_fixture_reads_the_same(path: Path, url: str) -> None:
    readings = both_readers(path.read_bytes(), url=url)
    assert_same_reading(readings)


def _podcast_posts() -> list[Post]:
    return [
        Post(
            f"ep-{n}",
            f"Episode {n}: caf\u00e9 & <friends>",
            f"/episodes/{n}",
            body=f"<p>Show notes {n} with <a href='/notes/{n}'>links</a></p>",
            published=hours_ago(n),
            enclosure=(f"https://cdn.example.org/ep{n}.mp3", "audio/mpeg", 1000 + n),
            duration=("1:02:03", "3600", "45:00")[n % 3],
        )
        for n in range(30)
    ]


GENERATED = {
    "arxiv-listing": lambda: arxiv_listing("cs.LG", random_papers(300)),
    "arxiv-listing-weekend": lambda: arxiv_listing("cs.CL", [], day=DAY),
    "blog": lambda: blog(
        "A blog",
        "https://blog.example.org/",
        [Post(f"g{n}", f"Post {n}", f"https://blog.example.org/{n}") for n in range(40)],
        ttl=60,
    ),
    "podcast": lambda: blog("A podcast", "https://pod.example.org/", _podcast_posts()),
    "many-items": lambda: many_items(500),
    "hand-written-rss": lambda: rss(rss_item("T &amp; &lt;b&gt;x", "/a", "&lt;p&gt;d&lt;/p&gt;")),
}


@pytest.mark.parametrize("name", sorted(GENERATED))
@pytest.mark.parametrize("url", URLS, ids=("no-url", "url"))
def test_generated_feed_reads_the_same(name: str, url: str) -> None:
    readings = both_readers(GENERATED[name](), url=url)
    assert_same_reading(readings)
    if isinstance(readings.fast, ParsedFeed) and isinstance(readings.reference, ParsedFeed):
        assert_same_items(readings.fast, readings.reference, url)


@settings(max_examples=150)
@given(FEED_DOCUMENTS)
def test_random_documents_read_the_same(document: bytes) -> None:
    for url in URLS:
        readings = both_readers(document, url=url)
        if readings.fast is None:
            # The only thing the generator makes that the fast reader leaves to feedparser:
            # content with an empty type, which feedparser would try to decode as base64.
            assert readings.declined_because == "base64 content"
            continue
        assert_same_reading(readings)


@settings(max_examples=80)
@given(encoded_documents())
def test_random_encodings_read_the_same(case: tuple[bytes, str | None]) -> None:
    document, content_type = case
    for url in URLS:
        readings = both_readers(document, url=url, content_type=content_type)
        if readings.fast is not None:
            assert_same_reading(readings)
        else:  # declined: only where feedparser's strict parser fails too, or base64
            assert readings.declined_because is not None
            reference = readings.reference
            assert readings.declined_because == "base64 content" or (
                isinstance(reference, str) or reference.warning is not None
            )


# --------------------------------------------------------------------------- what it declines


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        (b"<opml version='2.0'><body/></opml>", "the root element is <opml>"),
        (b"<html><body>hi</body></html>", "the root element is <html>"),
        (b"<rss><channel><title>a &nbsp; b</title></channel></rss>", "not well-formed"),
        (b"<rss><channel></channel></rss><junk/>", "not well-formed"),
        (
            b'<feed xmlns="http://www.w3.org/2005/Atom"><entry><content type="xhtml">'
            b'<div xmlns="http://www.w3.org/1999/xhtml"><p>x</p></div></content></entry></feed>',
            "XHTML or base64 content",
        ),
        (
            b"<rss><channel><item><description>a <b>bold</b> claim</description></item>"
            b"</channel></rss>",
            "an element inside content",
        ),
        (
            b'<rss xmlns:georss="http://www.georss.org/georss"><channel><item>'
            b"<georss:point>45 -71</georss:point></item></channel></rss>",
            "not ported",
        ),
        (b'<feed xmlns="http://purl.org/atom/ns#" version="0.3"/>', "feed version atom03"),
        (
            b'<rss xmlns:a="https://one.example/"><channel><item xmlns:a="https://two.example/">'
            b"<a:x>1</a:x></item></channel></rss>",
            "bound to two URIs",
        ),
        (b"<rss><channel><rss/></channel></rss>", "a nested <rss>"),
        (b'<rss xmlns=""><channel/></rss>', "undeclared with an empty URI"),
        (b"<rss><channel><item><\xc3\xa9l\xc3\xa9ment/></item></channel></rss>", "non-ASCII"),
    ],
)
def test_documents_it_leaves_to_feedparser(document: bytes, reason: str) -> None:
    with pytest.raises(Unsupported, match=reason):
        read_feed(clean_prolog(document).data, {})


# --------------------------------------------------------------------------- not well-formed


@pytest.mark.corpus
@pytest.mark.parametrize(
    "name", sorted(name for name, reason in DECLINED.items() if reason == "not well-formed")
)
@pytest.mark.parametrize("url", URLS, ids=("no-url", "url"))
def test_broken_corpus_file_is_read_loosely_as_feedparser_does(
    corpus: Path, name: str, url: str
) -> None:
    path = next(path for path in CORPUS_XML if path.name == name)
    shortcut, reference = loose_readers(path.read_bytes(), url=url)
    assert shortcut is not None  # expat refuses it too
    assert not field_differences(shortcut, reference)


@settings(max_examples=100)
@given(broken_documents())
def test_random_broken_documents_are_read_loosely_as_feedparser_does(document: bytes) -> None:
    for url in URLS:
        shortcut, reference = loose_readers(document, url=url)
        if shortcut is not None:  # None: expat accepts it, feedparser's full parse decides
            differences = field_differences(shortcut, reference)
            assert not differences, "\n".join(differences[:20])


def test_a_document_only_libxml2_refuses_goes_to_feedparser() -> None:
    """libxml2 stops at 256 levels of nesting, expat does not: feedparser reads it strictly."""
    nested = "<x>" * 300 + "deep" + "</x>" * 300
    document = rss(rss_item("Nested", "https://feeds.example.org/n", "d", extra=nested))
    with pytest.raises(Unsupported) as declined:
        read_feed(clean_prolog(document).data, {})
    assert declined.value.malformed
    assert read_refused_feed(clean_prolog(document).data, {}) is None
    assert parse_feed(document) == both_readers(document).reference


# --------------------------------------------------------------------------- hostile XML


def _peak_memory(document: bytes) -> int:
    tracemalloc.start()
    try:
        with contextlib.suppress(Unsupported):
            read_feed(document, {})
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _with_doctype(doctype: str, text: str) -> bytes:
    prolog = f'<?xml version="1.0" encoding="utf-8"?>\n{doctype}\n'
    return rss(rss_item(text, "https://feeds.example.org/a", text), prolog=prolog)


BILLION_LAUGHS = (
    '<!DOCTYPE lolz [<!ENTITY lol0 "lol">'
    + "".join(f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, 10))
    + "]>"
)
QUADRATIC = '<!DOCTYPE rss [\n<!ENTITY big "' + "A" * 20_000 + '">\n]>'


class _Recorder(BaseHTTPRequestHandler):
    hits: list[str] = []  # noqa: RUF012 - one list per server, set by the fixture

    def do_GET(self) -> None:
        self.hits.append(self.path)
        body = b'<!ENTITY leaked "LEAKED">'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def entity_server() -> Iterator[tuple[str, list[str]]]:
    """A real local HTTP server that records any request an external entity would make."""
    hits: list[str] = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), type("Handler", (_Recorder,), {"hits": hits}))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.mark.parametrize(
    ("doctype", "text", "marker"),
    [
        (BILLION_LAUGHS, "&lol9;", "lollollol"),
        (QUADRATIC, "&big;" * 12_000, "A" * 1000),
    ],
    ids=("billion-laughs", "quadratic-blowup"),
)
def test_entity_expansion_stays_inert_on_the_fast_path(
    doctype: str, text: str, marker: str
) -> None:
    raw = _with_doctype(doctype, text)
    cleaned = clean_prolog(raw).data
    assert _peak_memory(raw) < 20 * 1024 * 1024  # the raw document: declined, not expanded
    with pytest.raises(Unsupported):  # a DOCTYPE is never read on the fast path
        read_feed(raw, {})
    # As parse_feed hands it over, the references are undefined: declined, feedparser reads it.
    with pytest.raises(Unsupported, match="not well-formed"):
        read_feed(cleaned, {})
    assert marker not in repr(parse_feed(raw))


def test_xxe_is_not_read_or_fetched_on_the_fast_path(
    tmp_path: Path, entity_server: tuple[str, list[str]]
) -> None:
    base, hits = entity_server
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET-MARKER-42")
    doctypes = [
        f'<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file://{secret}">]>',
        f'<!DOCTYPE rss [<!ENTITY xxe SYSTEM "{base}/entity">]>',
        f'<!DOCTYPE rss SYSTEM "{base}/external.dtd">',
        f'<!DOCTYPE rss [<!ENTITY % remote SYSTEM "{base}/param.dtd"> %remote; ]>',
    ]
    for doctype in doctypes:
        raw = _with_doctype(doctype, "&xxe;")
        for document in (raw, clean_prolog(raw).data):
            try:
                result = read_feed(document, {})
            except Unsupported:
                continue
            assert "SECRET-MARKER-42" not in repr(result)
            assert "LEAKED" not in repr(result)
    assert hits == []


def test_hostile_documents_without_entities_are_read_fast_and_the_same() -> None:
    """What is left of a hostile document after the prolog is cleaned, when it uses no entity,
    goes the fast way, and reads as feedparser reads it."""
    raw = _with_doctype(QUADRATIC, "Plain title")
    readings = both_readers(raw, url=FEED_URL)
    assert_same_reading(readings)


def test_a_doctype_that_reaches_lxml_is_declined_unexpanded() -> None:
    """parse_feed cleans the prolog first; should a DOCTYPE reach the reader, it declines."""
    document = (
        b'<!DOCTYPE rss [<!ENTITY a "expanded">]><rss><channel><title>&a;</title></channel></rss>'
    )
    with pytest.raises(Unsupported, match="a DOCTYPE"):
        read_feed(document, {})


_URI_PARTS = st.sampled_from(
    ("https:", "http:", "HTTP:", "ftp:", "javascript:", "//", "///", "/", "a", "b.c", "?q=1", "#f")
)
_BASES = st.sampled_from(("", "https://base.example/dir/page", "http://b.example", "file:///x"))


@settings(max_examples=300)
@given(_BASES, st.lists(_URI_PARTS, max_size=6).map("".join))
def test_join_uri_is_feedparsers_urljoin(base: str, uri: str) -> None:
    assert join_uri(base, uri) == _urljoin(base, uri)
