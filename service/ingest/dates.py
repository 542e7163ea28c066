"""Dates as feeds write them -> aware UTC datetimes, to the second.

RFC 822 (``email.utils``) and ISO 8601 / W3C-DTF (``datetime.fromisoformat``) cover nearly every
feed; a date neither reads (a Greek or Korean month name, an odd layout) goes to feedparser's own
date handlers through its public ``parse``, in a one-element document.
"""

from __future__ import annotations

import calendar
import io
import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import lru_cache
from xml.sax.saxutils import escape

import feedparser


@lru_cache(maxsize=4096)
def parse_date(raw: str | None) -> datetime | None:
    """The UTC date ``raw`` names (naive taken as UTC; fractions of a second dropped), or None."""
    text = (raw or "").strip()
    if not text:
        return None
    parsed = _standard_date(text)
    if parsed is None:
        return _feedparser_date(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC).replace(microsecond=0)
    except (OverflowError, ValueError):
        return None


def _standard_date(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None


def _feedparser_date(text: str) -> datetime | None:
    document = f"<rss><channel><pubDate>{escape(text)}</pubDate></channel></rss>"
    result = feedparser.parse(io.BytesIO(document.encode("utf-8")))
    parsed = result.feed.get("published_parsed")
    return struct_to_utc(parsed) if isinstance(parsed, time.struct_time) else None


@lru_cache(maxsize=4096)
def struct_to_utc(value: time.struct_time) -> datetime | None:
    """feedparser's UTC ``struct_time`` as an aware datetime; None if it is not a real date."""
    try:
        return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
    except (OverflowError, ValueError, OSError):
        return None
