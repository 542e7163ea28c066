"""Feed documents for the parse/normalize/tag tests: hand-written fixtures and generated ones."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from service.ingest.normalize import normalize_feed
from service.ingest.parse import parse_feed
from service.records import Kind, Normalized, ParsedFeed, SourceContext

FIXTURES = Path(__file__).resolve().parent / "fixtures"
FETCHED_AT = datetime(2024, 11, 6, 12, 0, tzinfo=UTC)


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def context(
    kind: Kind = "post", feed_url: str = "https://feeds.example.org/feed.xml"
) -> SourceContext:
    return SourceContext(feed_url=feed_url, kind=kind, fetched_at=FETCHED_AT)


def parse_fixture(name: str, url: str = "") -> ParsedFeed:
    return parse_feed(fixture_bytes(name), url=url)


def normalize_fixture(name: str, kind: Kind = "post", feed_url: str = "") -> Normalized:
    ctx = context(kind, feed_url or "https://feeds.example.org/feed.xml")
    return normalize_feed(parse_feed(fixture_bytes(name), url=ctx.feed_url), ctx)


def rss(items: str, *, prolog: str = '<?xml version="1.0" encoding="utf-8"?>\n') -> bytes:
    """An RSS 2.0 document around ``items`` (raw XML), as UTF-8 bytes."""
    return (
        f'{prolog}<rss version="2.0"><channel><title>Test feed</title>'
        f"<link>https://feeds.example.org/</link><description>d</description>"
        f"{items}</channel></rss>"
    ).encode()


def rss_item(title: str, link: str, description: str = "", extra: str = "") -> str:
    return (
        f"<item><title>{title}</title><link>{link}</link>"
        f"<description>{description}</description>{extra}</item>"
    )


def many_items(count: int) -> bytes:
    items = "".join(
        rss_item(f"Item {n}", f"https://feeds.example.org/items/{n}", f"Body {n}")
        for n in range(count)
    )
    return rss(items)
