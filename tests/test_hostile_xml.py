"""Hostile XML is inert: XXE (file, http), billion laughs, quadratic blowup, prologs, depth, size.

Memory is measured with tracemalloc (peak of Python-allocated memory, expat included); no timings
are asserted.
"""

from __future__ import annotations

import threading
import tracemalloc
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from feed_documents import context, many_items, rss, rss_item

from service.errors import ParseError
from service.ingest.normalize import normalize_feed
from service.ingest.parse import parse_feed
from service.records import ParsedFeed

MAX_EXTRA_BYTES = 50 * 1024 * 1024


def peak_memory(run: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def parse_or_refuse(body: bytes) -> ParsedFeed | None:
    try:
        return parse_feed(body)
    except ParseError:
        return None


def all_text(feed: ParsedFeed | None) -> str:
    if feed is None:
        return ""
    parts = [feed.title]
    for entry in feed.entries:
        parts += [entry.title, entry.summary, entry.content, *entry.authors]
    return "\n".join(parts)


def doc_with_doctype(doctype: str, title: str = "&xxe;", description: str = "&xxe;") -> bytes:
    prolog = f'<?xml version="1.0" encoding="utf-8"?>\n{doctype}\n'
    return rss(rss_item(title, "https://feeds.example.org/a", description), prolog=prolog)


class _CountingHandler(BaseHTTPRequestHandler):
    hits: list[str] = []  # noqa: RUF012 - shared by the test server's threads on purpose

    def do_GET(self) -> None:
        self.hits.append(self.path)
        body = b'<!ENTITY leaked "LEAKED-OVER-HTTP">'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def entity_server() -> Iterator[tuple[str, list[str]]]:
    """A real local HTTP server that records every request an external entity would make."""
    hits: list[str] = []
    handler = type("Handler", (_CountingHandler,), {"hits": hits})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()
    server.server_close()
    thread.join()


def test_xxe_file_is_not_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET-MARKER-42")
    body = doc_with_doctype(f'<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file://{secret}">]>')
    feed = parse_or_refuse(body)
    assert feed is not None and len(feed.entries) == 1
    assert "SECRET-MARKER-42" not in all_text(feed)


def test_xxe_http_is_not_fetched(entity_server: tuple[str, list[str]]) -> None:
    base, hits = entity_server
    doctypes = [
        f'<!DOCTYPE rss [<!ENTITY xxe SYSTEM "{base}/entity">]>',
        f'<!DOCTYPE rss SYSTEM "{base}/external.dtd">',
        f'<!DOCTYPE rss [<!ENTITY % remote SYSTEM "{base}/param.dtd"> %remote; ]>',
        f'<!DOCTYPE rss PUBLIC "-//X//Y" "{base}/public.dtd" [<!ENTITY xxe "x">]>',
    ]
    for doctype in doctypes:
        feed = parse_or_refuse(doc_with_doctype(doctype, title="&leaked; &xxe;"))
        assert "LEAKED-OVER-HTTP" not in all_text(feed)
    assert hits == []


def test_billion_laughs_is_inert() -> None:
    entities = ['<!ENTITY lol "lol">'] + [
        f'<!ENTITY lol{n} "{("&lol" + str(n - 1) + ";") * 10 if n > 1 else "&lol;" * 10}">'
        for n in range(1, 10)
    ]
    body = doc_with_doctype(f"<!DOCTYPE lolz [{''.join(entities)}]>", "&lol9;", "&lol9;")
    result: list[ParsedFeed | None] = []
    peak = peak_memory(lambda: result.append(parse_or_refuse(body)))
    assert peak < MAX_EXTRA_BYTES
    assert "lollol" not in all_text(result[0])


def quadratic_blowup() -> bytes:
    """One ~20 KB entity referenced thousands of times: an ~80 KB document."""
    entity = "A" * 20_000
    refs = "&big;" * 12_000
    # The declaration on its own line: feedparser's own DOCTYPE handling would keep it.
    body = doc_with_doctype(f'<!DOCTYPE rss [\n<!ENTITY big "{entity}">\n]>', refs, refs)
    assert 75_000 < len(body) < 150_000
    return body


def test_quadratic_blowup_is_inert() -> None:
    body = quadratic_blowup()
    result: list[ParsedFeed | None] = []
    peak = peak_memory(lambda: result.append(parse_or_refuse(body)))
    assert peak < MAX_EXTRA_BYTES
    assert "A" * 1000 not in all_text(result[0])


def test_entity_declared_in_a_prolog_comment_is_not_expanded() -> None:
    """feedparser collects ``<!ENTITY`` lines anywhere before the root, comments included."""
    entity = "B" * 20_000
    prolog = (
        f'<?xml version="1.0"?>\n<!--\n<!ENTITY big "{entity}">\n-->\n<!ENTITY big2 "{entity}">\n'
    )
    refs = "&big;&big2;" * 2_000
    body = rss(rss_item(refs, "https://feeds.example.org/a", refs), prolog=prolog)
    feed = parse_or_refuse(body)
    assert "B" * 1000 not in all_text(feed)


def test_internal_subset_with_nested_and_quoted_brackets() -> None:
    doctype = (
        "<!DOCTYPE rss [\n"
        '  <!ENTITY a "]>">\n'
        "  <!ENTITY b '<![INCLUDE[ x ]]>'>\n"
        "  <!-- a comment with ]> inside -->\n"
        "  <?pi with ]> inside ?>\n"
        "  <![INCLUDE[ <![IGNORE[ nested ]]> ]]>\n"
        "]>"
    )
    feed = parse_feed(doc_with_doctype(doctype, title="Kept title", description="&a; &b;"))
    assert [entry.title for entry in feed.entries] == ["Kept title"]
    assert "]>" not in all_text(feed)


def test_doctype_in_a_utf16_document() -> None:
    body = doc_with_doctype('<!DOCTYPE rss [<!ENTITY big "' + "C" * 5000 + '">]>', "Titel", "&big;")
    text = body.decode().replace('encoding="utf-8"', 'encoding="utf-16"')
    feed = parse_feed(text.encode("utf-16"))
    assert [entry.title for entry in feed.entries] == ["Titel"]
    assert "C" * 100 not in all_text(feed)


def test_undefined_entities_left_by_the_removal_do_not_crash() -> None:
    body = doc_with_doctype("", title="Caf&eacute; &nbsp; &undefined; &amp; co", description="&x;")
    feed = parse_feed(body)
    assert len(feed.entries) == 1
    assert feed.entries[0].title.startswith("Café")


@pytest.mark.parametrize(
    ("prolog", "reason"),
    [
        (
            '<!DOCTYPE rss [<!ENTITY a "x">',
            "not a feed: not well-formed XML (a DOCTYPE declaration never ends)",
        ),
        (
            "<!-- never closed <!ENTITY a 'x'>",
            "not a feed: not well-formed XML (a comment before the root never ends)",
        ),
        (
            "<!DOCTYPE rss [" + "<!--" * 200_000,
            "not a feed: not well-formed XML (a DOCTYPE declaration never ends)",
        ),
        (
            "<!DOCTYPE rss [" + '"' * 100_001,
            "not a feed: not well-formed XML (a DOCTYPE declaration never ends)",
        ),
    ],
)
def test_unterminated_prolog_constructs_are_refused(prolog: str, reason: str) -> None:
    body = prolog.encode() + b"<rss><channel><item><title>x</title></item></channel></rss>"
    with pytest.raises(ParseError) as caught:
        parse_feed(body)
    assert caught.value.reason == reason


@pytest.mark.parametrize("depth", [1_000, 50_000])
def test_deeply_nested_elements_do_not_crash(depth: int) -> None:
    nested = "<x>" * depth + "deep" + "</x>" * depth
    escaped_html = "&lt;div&gt;" * depth + "deep" + "&lt;/div&gt;" * depth
    body = rss(rss_item("Nested", "https://feeds.example.org/n", escaped_html, extra=nested))
    feed = parse_or_refuse(body)
    assert feed is not None and [entry.title for entry in feed.entries] == ["Nested"]
    normalized = normalize_feed(feed, context())
    assert len(normalized.items) == 1
    assert len(normalized.items[0].summary_html) <= 20_000


def test_ten_thousand_entries() -> None:
    feed = parse_feed(many_items(10_000))
    assert len(feed.entries) == 10_000
    normalized = normalize_feed(feed, context())
    assert len({item.canonical_key for item in normalized.items}) == 10_000
