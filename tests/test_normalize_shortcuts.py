"""The shortcuts normalize takes for speed decide exactly as the long way does.

- the stored content hash is ``content_hash`` of the stored item (built in one construction);
- a link with a control character is refused (a regular expression instead of a scan);
- an entry is a video only when its link's host is YouTube's (a substring pre-check first);
- an entry's xml:base is resolved against the feed URL once per feed (memoized);
- links in sanitized HTML are found without testing a word boundary at every position;
- text without markup skips the HTML cleaner (it would give the text back);
- an entry's strings are checked for unprintable characters in one scan.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

import pytest
from feed_documents import context
from feedgen import Post, arxiv_listing, blog, random_papers
from hypothesis import given, settings
from hypothesis import strategies as st

from service.ingest import markup
from service.ingest.markup import safe_html
from service.ingest.normalize import (
    content_hash,
    decide_kind,
    normalize_entry,
    normalize_feed,
    printable_entry,
)
from service.ingest.parse import parse_feed
from service.ingest.urls import absolute_url, canonical_url
from service.records import ParsedEnclosure, ParsedEntry, SourceContext

CONTROL_CHARACTERS = [chr(code) for code in range(32)] + ["\x7f"]


@pytest.mark.parametrize(
    "body",
    [
        arxiv_listing("cs.LG", random_papers(20)),
        blog(
            "B",
            "https://b.example/",
            [
                Post(f"g{n}", f"Post {n}", f"https://b.example/{n}", duration="3:00")
                for n in range(5)
            ],
        ),
    ],
    ids=("arxiv", "blog"),
)
def test_stored_hash_is_the_hash_of_the_stored_item(body: bytes) -> None:
    items = normalize_feed(parse_feed(body), context()).items
    assert items
    for item in items:
        assert item.content_hash == content_hash(item)


@pytest.mark.parametrize("character", CONTROL_CHARACTERS, ids=lambda c: f"U+{ord(c):04X}")
def test_links_with_a_control_character_are_refused(character: str) -> None:
    link = f"https://example.org/a{character}b"
    assert canonical_url(link) is None
    assert absolute_url(link) is None
    assert canonical_url("https://example.org/ab") == "https://example.org/ab"


@pytest.mark.parametrize(
    ("link", "kind"),
    [
        ("https://www.youtube.com/watch?v=abc", "video"),
        ("HTTPS://WWW.YOUTUBE.COM/watch?v=abc", "video"),
        ("https://youtu.be/abc", "video"),
        ("https://m.youtube.com/watch?v=abc", "video"),
        ("https://example.org/youtube.com/watch", "post"),
        ("https://notyoutube.com/watch", "post"),
        ("https://example.org/post", "post"),
        (None, "post"),
    ],
)
def test_videos_are_recognised_by_the_host_of_their_link(link: str | None, kind: str) -> None:
    entry = ParsedEntry(title="t", link=link)
    assert decide_kind(entry, "post", None, None) == kind


def test_xml_base_is_resolved_against_each_feed_url() -> None:
    entry = ParsedEntry(title="t", link="post", base="/dir/")
    fetched = datetime(2026, 5, 1, tzinfo=UTC)
    for host in ("a.example", "b.example"):
        ctx = SourceContext(feed_url=f"https://{host}/feed.xml", kind="post", fetched_at=fetched)
        item = normalize_entry(entry, ctx)
        assert not isinstance(item, str)
        assert item.url == f"https://{host}/dir/post"


# The link rewriting as it was before the expression lost its leading \b (the specification).
_LINK_BEFORE = re.compile(r'\b(href|src)="([^"]*)"')


def _rewrite_before(match: re.Match[str], base: str | None) -> str:
    name, raw = match.group(1), match.group(2)
    if raw.startswith(("http://", "https://", "mailto:")):
        return match.group()
    resolved = canonical_url(html.unescape(raw), base) if base else None
    return f'{name}=""' if resolved is None else f'{name}="{html.escape(resolved)}"'


def _safe_html_before(value: str, base: str | None, limit: int) -> str:
    cleaned = markup._SAFE.clean(markup._DOUBLE_ESCAPED.sub("&", value[:limit])).strip()
    return _LINK_BEFORE.sub(lambda match: _rewrite_before(match, base), cleaned)


_FRAGMENTS = st.sampled_from(
    (
        '<a href="/rel">x</a>',
        '<a href="https://abs.example/">y</a>',
        '<a href="mailto:a@b.example">m</a>',
        '<img src="pic.png" alt="p">',
        '<img src="javascript:alert(1)">',
        '<a data-href="/d" href="sub/page?a=1&amp;b=2">z</a>',
        'text href="/in-text" and imgsrc="/glued" and x="a href="/tricky"',
        "<p>para</p>",
        '"',
        "=",
        "href=",
        " ",
    )
)


@settings(max_examples=300)
@given(st.lists(_FRAGMENTS, max_size=12), st.sampled_from((None, "https://base.example/d/")))
def test_link_rewriting_matches_the_previous_expression(
    fragments: list[str], base: str | None
) -> None:
    value = "".join(fragments)
    assert safe_html(value, base=base, limit=8_000) == _safe_html_before(value, base, 8_000)


# plain_text as it was before it skipped the cleaner for text without markup (the specification).
def _plain_text_before(value: str, *, is_html: bool, limit: int | None) -> str:
    if not value:
        return ""
    if limit is not None:
        value = value[: limit * 8]
    if is_html or "<" in value:
        value = markup._TEXT_ONLY.clean(markup._BLOCK_TAG.sub(" <", value))
    text = html.unescape(value)
    if markup._ENTITY.search(text):
        text = html.unescape(text)
    text = " ".join(markup.printable(text).split())
    return markup.truncate(text, limit) if limit is not None else text


_AWKWARD = "\x00\x01\x0b\x0c\x1f\x7f\x85\xa0\u2028\u3000\ufeff\ufffe\ufdd0\r\n\t >\"'=;#é😀\u0301"
_TEXTS = st.lists(
    st.one_of(
        st.sampled_from(_AWKWARD),
        st.characters(blacklist_categories=("Cs",)),  # normalize drops lone surrogates first
    ),
    max_size=40,
).map("".join)
_MARKUP = st.sampled_from(("", "", "", "<", "&", "&amp;", "<b>x</b>", "&lt;"))


@settings(max_examples=1_000)
@given(_TEXTS, _MARKUP, st.booleans(), st.sampled_from((None, 5, 2_000)))
def test_plain_text_skips_the_cleaner_only_where_it_would_change_nothing(
    text: str, markup_piece: str, is_html: bool, limit: int | None
) -> None:
    value = text + markup_piece
    got = markup.plain_text(value, is_html=is_html, limit=limit)
    assert got == _plain_text_before(value, is_html=is_html, limit=limit)


_ENTRY_TEXTS = st.text(st.sampled_from("ab \n\x00\x1f\x7f\ud800\ufffe"), max_size=8)


@settings(max_examples=300)
@given(
    _ENTRY_TEXTS,
    st.lists(_ENTRY_TEXTS, max_size=3),
    st.one_of(st.none(), _ENTRY_TEXTS),
    st.lists(st.tuples(_ENTRY_TEXTS, st.one_of(st.none(), _ENTRY_TEXTS)), max_size=2),
)
def test_printable_entry_cleans_exactly_what_a_field_by_field_pass_cleans(
    title: str, authors: list[str], guid: str | None, enclosures: list[tuple[str, str | None]]
) -> None:
    entry = ParsedEntry(
        title=title,
        authors=tuple(authors),
        guid=guid,
        enclosures=tuple(ParsedEnclosure(url, kind) for url, kind in enclosures),
    )
    cleaned = printable_entry(entry)
    assert cleaned.title == markup.printable(title)
    assert cleaned.authors == tuple(markup.printable(a) for a in authors)
    assert cleaned.guid == (markup.printable(guid) if guid is not None else None)
    assert [(e.url, e.type) for e in cleaned.enclosures] == [
        (markup.printable(url), markup.printable(kind) if kind else kind)
        for url, kind in enclosures
    ]
    if cleaned == entry:
        assert cleaned is entry  # nothing to clean: the very same record
