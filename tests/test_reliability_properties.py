"""Properties over random and hostile inputs (hypothesis), beyond the per-stage ones.

Already covered elsewhere, and not repeated here: URL canonicalization, durations, arXiv ids and
dates in ``normalize_entry`` (``test_ingest_properties``), the scheduling functions
(``test_schedule``), the ranking invariants — deterministic order, no item twice, hidden items
never shown (``test_rank_select``). Here: the whole normalize over random entries, dates read
back from real feed documents, and storing a batch twice.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any

import pytest
from feedcheck import markup_problems
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import col, select

from service.ingest.markup import printable
from service.ingest.normalize import FUTURE_TOLERANCE, normalize_feed
from service.ingest.parse import parse_feed
from service.ingest.urls import canonical_url, is_tracking_parameter
from service.records import (
    ItemWithTags,
    NormalizedItem,
    ParsedEnclosure,
    ParsedEntry,
    ParsedFeed,
    SourceContext,
)
from service.storage.engine import Database
from service.storage.items import store_items
from service.storage.models import Item, ItemLink, ItemSource, ItemTag, Source

FETCHED_AT = datetime(2026, 11, 24, 5, 0, tzinfo=UTC)
FRAGMENTS = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(2)">',
    '<a href="javascript:alert(3)">x</a>',
    '<a href="&#106;avascript:alert(4)">y</a>',
    "<iframe src='https://evil.example'></iframe>",
    '<svg onload="alert(5)"><circle/></svg>',
    "<p style='width: expression(alert(6))'>p</p>",
    '<meta http-equiv="refresh" content="0;url=https://evil.example">',
    "&amp;lt;b&amp;gt;",
    "&#0;&#1;&#xD800;",
    "\x00",
    "\x01\x08\x0b\x1f\x7f",
    "\ud800",
    "\ufffe",
    "https://example.org/a?utm_source=x&id=1#frag",
    "arXiv:2401.12345v2",
    "https://arxiv.org/abs/2401.12345",
    "  \n\t ",
    "Café ☕ 数据",
]
texts = st.lists(
    st.one_of(st.sampled_from(FRAGMENTS), st.text(st.characters(exclude_categories=()))),
    max_size=4,
).map("".join)
maybe_texts = st.none() | texts
links = (
    st.none()
    | st.sampled_from(
        [
            "https://blog.example/post?utm_medium=rss&x=1",
            "http://BLOG.example:80/a/../b/",
            "/relative/path",
            "javascript:alert(1)",
            "https://blog.example/a\x00b",
            "https://huggingface.co/papers/2401.12345",
            "https://www.youtube.com/watch?v=abc",
            "",
        ]
    )
    | texts
)
zones = st.sampled_from(
    [UTC, timezone(timedelta(hours=-12)), timezone(timedelta(hours=14)), timezone.min]
)
dates = st.none() | st.datetimes(
    min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1), timezones=zones
)
enclosures = st.builds(
    ParsedEnclosure,
    url=links.map(lambda link: link or "https://cdn.example/a.mp3"),
    type=st.none() | st.sampled_from(["audio/mpeg", "video/mp4", "text/html"]) | texts,
    length=st.none() | st.integers(-5, 2**40),
)
entries = st.builds(
    ParsedEntry,
    guid=maybe_texts,
    title=texts,
    title_is_html=st.booleans(),
    link=links,
    links=st.lists(links.map(str), max_size=3).map(tuple),
    base=st.none() | st.sampled_from(["https://blog.example/dir/", "not a url", "ftp://x/"]),
    summary=texts,
    summary_is_html=st.booleans(),
    content=texts,
    content_is_html=st.booleans(),
    authors=st.lists(texts, max_size=3).map(tuple),
    published=dates,
    published_raw=maybe_texts,
    updated=dates,
    updated_raw=st.none() | st.sampled_from(["2024-01-01T00:00:00", "Mon, 1 Jan 2024"]) | texts,
    terms=st.lists(texts, max_size=3).map(tuple),
    enclosures=st.lists(enclosures, max_size=2).map(tuple),
    itunes_duration=maybe_texts,
    episode=maybe_texts,
    season=maybe_texts,
    image=links,
    transcript_url=links,
    arxiv_announce_type=st.none() | st.sampled_from(["new", "cross", "bogus"]),
    arxiv_primary_category=maybe_texts,
    arxiv_comment=maybe_texts,
    arxiv_journal_ref=maybe_texts,
    arxiv_doi=maybe_texts,
)
contexts = st.builds(
    SourceContext,
    feed_url=st.sampled_from(["https://blog.example/feed.xml", "https://rss.arxiv.org/rss/cs.LG"]),
    kind=st.sampled_from(["paper", "podcast", "post", "video"]),
    fetched_at=st.just(FETCHED_AT),
)
feeds = st.builds(
    ParsedFeed,
    entries=st.lists(entries, max_size=4).map(tuple),
    image=links,
    updated=dates,
)


def strings_in(value: Any) -> list[str]:
    """Every string a record holds, however deep (tuples, nested records)."""
    if isinstance(value, str):
        return [value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [s for f in dataclasses.fields(value) for s in strings_in(getattr(value, f.name))]
    if isinstance(value, tuple | list):
        return [s for part in value for s in strings_in(part)]
    return []


def unstorable(text: str) -> list[str]:
    """Characters a database or an XML document refuses: NUL and other C0 controls (not tab or
    newlines), DEL, lone surrogates, U+FFFE and U+FFFF."""
    return [
        ch
        for ch in text
        if (ord(ch) < 0x20 and ch not in "\t\n\r")
        or ch == "\x7f"
        or 0xD800 <= ord(ch) <= 0xDFFF
        or ch in "\ufffe\uffff"
    ]


def check_item(item: NormalizedItem) -> None:
    assert item.canonical_key and item.title
    for moment in (item.published_at, item.updated_at):
        if moment is not None:
            assert moment.tzinfo is UTC or moment.utcoffset() == timedelta(0)
            assert moment <= FETCHED_AT + FUTURE_TOLERANCE
    assert [s for s in strings_in(item) if unstorable(s)] == []
    assert markup_problems(item.summary_html) == []
    if item.url is not None:
        assert item.url.startswith(("http://", "https://"))
        assert not any(ch.isspace() for ch in item.url)
    if item.url is not None and item.kind in ("post", "paper"):
        assert canonical_url(item.url) == item.url
        query = item.url.partition("?")[2]
        assert not any(is_tracking_parameter(piece) for piece in query.split("&") if piece)


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("T\x00wo", "Two"),
        ("a\x01\x08b\x0b\x0c\x0e\x1fc\x7f", "abc"),
        ("tab\tnew\nline\rreturn", "tab\tnew\nline\rreturn"),
        ("lone \ud800 surrogate \udfff", "lone  surrogate "),
        ("non\ufffe-\uffffcharacters", "non-characters"),
        ("Café ☕ \u0085 \u200b 数据 \U0001f600", "Café ☕ \u0085 \u200b 数据 \U0001f600"),
    ],
)
def test_printable_drops_only_what_storage_or_xml_refuse(text: str, kept: str) -> None:
    assert printable(text) == kept


@given(feeds, contexts)
def test_normalize_of_any_entries_never_raises_and_yields_storable_aware_items(
    feed: ParsedFeed, ctx: SourceContext
) -> None:
    normalized = normalize_feed(feed, ctx)
    assert len(normalized.items) + len(normalized.skipped) == len(feed.entries)
    for item in normalized.items:
        check_item(item)


# --------------------------------------------------------------------------- dates in documents

moments = st.datetimes(
    min_value=datetime(1971, 1, 1),
    max_value=datetime(2099, 12, 31),
    timezones=st.builds(
        lambda quarters: timezone(timedelta(minutes=15 * quarters)), st.integers(-48, 56)
    ),
).map(lambda moment: moment.replace(microsecond=0))


def rss_with_date(pub_date: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
        "<link>https://blog.example/</link><description>d</description><item><title>x</title>"
        f"<link>https://blog.example/x</link><pubDate>{pub_date}</pubDate></item></channel></rss>"
    ).encode()


def atom_with_dates(published: str, updated: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        "<title>t</title><id>urn:x</id><updated>2024-01-01T00:00:00Z</updated><entry>"
        '<title>x</title><id>urn:x:1</id><link href="https://blog.example/x"/>'
        f"<published>{published}</published><updated>{updated}</updated></entry></feed>"
    ).encode()


@given(moments)
def test_an_rfc_822_pub_date_reads_back_as_the_same_instant_in_utc(moment: datetime) -> None:
    (entry,) = parse_feed(rss_with_date(format_datetime(moment))).entries
    assert entry.published == moment
    assert entry.published is not None and entry.published.utcoffset() == timedelta(0)


@given(moments, moments)
def test_rfc_3339_dates_read_back_as_the_same_instants_in_utc(
    published: datetime, updated: datetime
) -> None:
    (entry,) = parse_feed(atom_with_dates(published.isoformat(), updated.isoformat())).entries
    assert (entry.published, entry.updated) == (published, updated)


@given(texts.filter(lambda t: "<" not in t and "&" not in t and not unstorable(t)))
def test_any_pub_date_text_gives_an_aware_date_no_later_than_the_clamp(text: str) -> None:
    feed = parse_feed(rss_with_date(text))
    ctx = SourceContext(feed_url="https://blog.example/f", kind="post", fetched_at=FETCHED_AT)
    (item,) = normalize_feed(feed, ctx).items
    assert item.published_at.utcoffset() == timedelta(0)
    assert item.published_at <= FETCHED_AT + FUTURE_TOLERANCE


# --------------------------------------------------------------------------- storing twice


def snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the item tables, but the time each item was last seen in a source."""
    with db.session() as s:
        rows = s.exec(select(Item).order_by(col(Item.id)))
        items = [tuple(row.model_dump().items()) for row in rows]
        seen = [
            (row.item_id, row.source_id, row.guid, row.first_seen_at)
            for row in s.exec(select(ItemSource))
        ]
        tags = [tuple(row.model_dump().items()) for row in s.exec(select(ItemTag))]
        links = [tuple(row.model_dump().items()) for row in s.exec(select(ItemLink))]
    return {"item": items, "item_source": sorted(seen), "tag": sorted(tags), "link": sorted(links)}


def source_id(db: Database, name: str) -> int:
    with db.write() as s:
        found = s.exec(select(Source).where(Source.name == name)).first()
        if found is None:
            found = Source(name=name, url=f"https://{name}.example/feed", kind="post")
            s.add(found)
            s.flush()
        return found.id or 0


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(feeds, contexts, st.sampled_from(["one", "two"]))
def test_storing_any_batch_twice_changes_nothing_the_second_time(
    db: Database, feed: ParsedFeed, ctx: SourceContext, source: str
) -> None:
    batch = [ItemWithTags(item) for item in normalize_feed(feed, ctx).items]
    sid = source_id(db, source)
    with db.write() as s:
        store_items(s, source_id=sid, items=batch, now=FETCHED_AT)
    before = snapshot(db)
    with db.write() as s:
        again = store_items(s, source_id=sid, items=batch, now=FETCHED_AT + timedelta(hours=1))
    assert (again.new, again.updated) == (0, 0)
    assert snapshot(db) == before


def test_a_guid_two_entries_share_rewrites_nothing_on_the_next_poll(db: Database) -> None:
    """Feeds repeat guids; the property above found two entries under one guid flip-flopping."""

    def post(url: str, title: str) -> ItemWithTags:
        return ItemWithTags(
            NormalizedItem(
                canonical_key=f"url:{url}",
                kind="post",
                title=title,
                url=url,
                summary_text=title,
                summary_html=f"<p>{title}</p>",
                published_at=FETCHED_AT,
                guid="https://blog.example/",  # the site's URL as every entry's guid
                content_hash=title,
            )
        )

    batch = [post("https://blog.example/1", "One"), post("https://blog.example/2", "Two")]
    sid = source_id(db, "shared-guids")
    counts = []
    for hours in range(3):
        with db.write() as s:
            stored = store_items(
                s, source_id=sid, items=batch, now=FETCHED_AT + timedelta(hours=hours)
            )
        counts.append((stored.new, stored.updated, stored.unchanged))
    assert counts == [(2, 0, 0), (0, 0, 2), (0, 0, 2)]
    with db.session() as s:
        titles = {row.url: (row.title, row.changed_at) for row in s.exec(select(Item))}
    assert titles == {
        "https://blog.example/1": ("One", FETCHED_AT),
        "https://blog.example/2": ("Two", FETCHED_AT),
    }
