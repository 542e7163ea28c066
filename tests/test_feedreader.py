"""The typed lxml reader (``ingest.feedreader``): feedparser's meaning of each field, what it
declines (and feedparser then reads), what it refuses. The corpus is checked by test_golden."""

from __future__ import annotations

import ast
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hostiledocs import attribute_flood, namespace_flood

from service.errors import HostileDocumentError
from service.ingest.dates import parse_date
from service.ingest.feedreader import Unsupported, read_feed
from service.ingest.parse import parse_feed

ROOT = Path(__file__).resolve().parent.parent
URL = "https://feeds.example.org/dir/feed.xml"


def rss(items: str, *, declarations: str = "", channel: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"{declarations}><channel>'
        f"<title>T</title><link>https://example.org/</link>{channel}{items}</channel></rss>"
    ).encode()


def atom(entries: str, *, feed: str = "") -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>A</title><id>https://example.org/feed-id</id>{feed}{entries}</feed>"
    ).encode()


def test_an_element_with_too_many_attributes_refuses_the_document() -> None:
    with pytest.raises(HostileDocumentError, match="attributes"):
        parse_feed(attribute_flood(2_000))


def test_a_guid_that_is_a_permalink_is_the_link_when_there_is_none() -> None:
    feed = read_feed(
        rss(
            "<item><title>a</title><guid>https://example.org/a</guid></item>"
            '<item><title>b</title><guid isPermaLink="false">b-1</guid></item>'
            "<item><title>c</title><guid>c-2</guid><link>/posts/c</link></item>"
        ),
        url=URL,
    )
    a, b, c = feed.entries
    assert (a.guid, a.link) == ("https://example.org/a", "https://example.org/a")
    assert (b.guid, b.link) == ("b-1", None)  # not a permalink: neither resolved nor a link
    assert c.guid == "https://feeds.example.org/dir/c-2"  # a permalink resolves, as feedparser's
    assert c.link == "https://feeds.example.org/posts/c"
    assert c.links == ("https://feeds.example.org/posts/c",)


def test_an_atom_id_is_the_link_of_an_entry_or_feed_without_an_alternate_link() -> None:
    feed = read_feed(
        atom(
            "<entry><title>x</title><id>https://example.org/x</id>"
            '<link rel="related" href="https://example.org/pdf"/></entry>'
            "<entry><title>y</title><id>tag:example.org,2026:y</id>"
            '<link href="https://example.org/y"/></entry>'
        )
    )
    x, y = feed.entries
    assert feed.link == "https://example.org/feed-id"
    assert x.link == "https://example.org/x"
    assert x.links == ("https://example.org/pdf",)
    assert (y.guid, y.link) == ("tag:example.org,2026:y", "https://example.org/y")


def test_summary_and_content_are_assigned_as_feedparser_assigns_them() -> None:
    content = "<content:encoded><![CDATA[<p>full</p>]]></content:encoded>"
    feed = read_feed(
        rss(
            f"<item><title>1</title><description>&lt;b&gt;short&lt;/b&gt;</description>{content}"
            "</item>"
            "<item><title>2</title><itunes:summary>plain words</itunes:summary>"
            "<description>a second summary</description></item>"
            f"<item><title>3</title>{content}</item>",
            declarations=(
                ' xmlns:content="http://purl.org/rss/1.0/modules/content/"'
                ' xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"'
            ),
        )
    )
    first, second, third = feed.entries
    assert (first.summary, first.summary_is_html) == ("<b>short</b>", True)
    assert (first.content, first.content_is_html) == ("<p>full</p>", True)
    # the second summary-like element before any content is content (plain text here)
    assert (second.summary, second.summary_is_html) == ("plain words", False)
    assert (second.content, second.content_is_html) == ("a second summary", False)
    assert (third.summary, third.summary_is_html) == ("<p>full</p>", True)
    assert feed.is_podcast


def test_atom_text_types_and_plain_text_that_looks_like_html() -> None:
    feed = read_feed(
        atom(
            '<entry><id>i</id><title type="html">A &amp;lt;b&amp;gt;</title>'
            "<summary>x &lt; y</summary>"
            '<content type="html">&lt;p&gt;c&lt;/p&gt;</content></entry>'
        )
    )
    [entry] = feed.entries
    assert entry.title_is_html and not entry.summary_is_html and entry.content_is_html
    rss_feed = read_feed(rss("<item><title>Fish &amp;amp; chips</title></item>"))
    assert rss_feed.entries[0].title_is_html  # an RSS title holding an entity is HTML
    assert not read_feed(rss("<item><title>Plain</title></item>")).entries[0].title_is_html


def test_extensions_are_read_whatever_the_prefix_and_the_podcast_namespace_in_any_case() -> None:
    body = rss(
        "<item><title>e</title><i:duration>01:02:03</i:duration><i:episode>7</i:episode>"
        '<i:image href="https://example.org/e.png"/>'
        '<pc:transcript url="https://example.org/t.srt" type="application/srt"/>'
        '<enclosure url="https://example.org/e.mp3" length="123" type="audio/mpeg"/></item>',
        declarations=(
            ' xmlns:i="http://www.itunes.com/dtds/podcast-1.0.dtd"'
            ' xmlns:pc="https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/1.0.md"'
        ),
    )
    [entry] = read_feed(body).entries
    assert (entry.itunes_duration, entry.episode) == ("01:02:03", "7")
    assert entry.image == "https://example.org/e.png"
    assert entry.transcript_url == "https://example.org/t.srt"
    assert [(e.url, e.type, e.length) for e in entry.enclosures] == [
        ("https://example.org/e.mp3", "audio/mpeg", 123)
    ]


def test_arxiv_extensions() -> None:
    body = atom(
        '<entry xmlns:arxiv="http://arxiv.org/schemas/atom"><id>http://arxiv.org/abs/2601.00001v1'
        "</id><title>P</title><arxiv:announce_type>new</arxiv:announce_type>"
        '<arxiv:primary_category term="cs.LG"/><arxiv:comment>9 pages</arxiv:comment>'
        "<arxiv:doi>10.1/x</arxiv:doi></entry>"
    )
    [entry] = read_feed(body).entries
    assert entry.arxiv_announce_type == "new"
    assert entry.arxiv_primary_category == "cs.LG"
    assert (entry.arxiv_comment, entry.arxiv_doi) == ("9 pages", "10.1/x")


def test_rss_090_is_read() -> None:
    body = (
        b'<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"'
        b' xmlns="http://my.netscape.com/rdf/simple/0.9/"><channel><title>N</title>'
        b"<link>https://n.example/</link></channel><item><title>one</title>"
        b"<link>https://n.example/1</link></item></rdf:RDF>"
    )
    feed = read_feed(body)
    assert feed.format == "rss090"
    assert [(e.title, e.link) for e in feed.entries] == [("one", "https://n.example/1")]


def test_junk_after_the_root_is_recovered_with_feedparsers_warning() -> None:
    body = rss("<item><title>kept</title></item>") + b"<script>junk()</script>"
    feed = read_feed(body)
    assert [e.title for e in feed.entries] == ["kept"]
    assert feed.warning is not None
    assert feed.warning.endswith("(junk after document element)")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (rss("<item><title>R&D</title></item>"), "not well-formed"),
        (b'<?xml version="1.0"?><rss version="2.0"><item><title>x</title></item></rss>', ""),
        (atom('<entry><id>i</id><content type="xhtml"><div>x</div></content></entry>'), "markup"),
        (rss("<item><title>a <b>bold</b> title</title></item>"), "markup inside"),
    ],
)
def test_what_it_declines_goes_to_feedparser(body: bytes, reason: str) -> None:
    with pytest.raises(Unsupported) as declined:
        read_feed(body)
    assert reason in declined.value.reason
    assert parse_feed(body).format  # feedparser reads it (or refuses it with its own reason)


def test_xhtml_content_is_read_by_feedparser() -> None:
    body = atom(
        '<entry><id>i</id><title>x</title><content type="xhtml">'
        '<div xmlns="http://www.w3.org/1999/xhtml"><p>hello</p></div></content></entry>'
    )
    [entry] = parse_feed(body).entries
    assert "<p>hello</p>" in entry.content and entry.content_is_html


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Mon, 04 Nov 2024 08:00:00 GMT", datetime(2024, 11, 4, 8, tzinfo=UTC)),
        ("2025-08-20T04:00:19.866337+00:00", datetime(2025, 8, 20, 4, 0, 19, tzinfo=UTC)),
        ("2024-11-04", datetime(2024, 11, 4, tzinfo=UTC)),
        ("Τρι, 29 Ιούν 2004 12:53:00 GMT", datetime(2004, 6, 29, 12, 53, tzinfo=UTC)),
        ("not a date", None),
        ("", None),
    ],
)
def test_dates_are_utc_to_the_second(raw: str, expected: datetime | None) -> None:
    assert parse_date(raw) == expected


def test_no_private_feedparser_names_are_used() -> None:
    """feedparser is used through its package's public names only."""
    used: list[str] = []
    for path in sorted((ROOT / "service").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("feedparser"):
                used.append(f"{path.name}: from {node.module} import ...")
            elif isinstance(node, ast.Import):
                used += [
                    f"{path.name}: import {a.name}" for a in node.names if "feedparser." in a.name
                ]
            elif (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "feedparser"
                and node.attr.startswith("_")
            ):
                used.append(f"{path.name}: feedparser.{node.attr}")
    assert not used, used


def test_a_namespace_flood_is_read_like_any_feed() -> None:
    """25,000 namespaces declared on the root, one element of each in the entry: slow for
    feedparser's SAX handlers (once among the floods), read in one pass here, nothing lost."""
    parsed = parse_feed(namespace_flood())
    assert [entry.title for entry in parsed.entries] == ["namespace flood"]
