"""JSON Feed 1.0 and 1.1 (https://jsonfeed.org/version/1.1) -> ``ParsedFeed``.

feedparser 6 does not read JSON Feed, so this small reader does: the same ``ParsedEntry`` fields as
the XML path (HTML content, dates as aware UTC with the raw strings kept, attachments as
enclosures), and a ``ParseError`` with a reason for JSON that is not a JSON Feed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from service.errors import ParseError
from service.records import ParsedEnclosure, ParsedEntry, ParsedFeed

JSON_FEED_VERSION_PREFIX = "https://jsonfeed.org/version/1"
_MEDIA_TYPES = ("audio/", "video/")


def looks_like_json(body: bytes, content_type: str | None) -> bool:
    """True when the server says JSON or the document opens with ``{``."""
    if content_type and "json" in content_type.lower():
        return True
    return body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{"


def read_json_feed(body: bytes) -> ParsedFeed:
    """Read a JSON Feed document or raise ``ParseError`` saying why it is not one."""
    document = _load(body)
    version = document.get("version") if isinstance(document, dict) else None
    if not isinstance(version, str) or not version.startswith(JSON_FEED_VERSION_PREFIX):
        raise ParseError("not a feed: JSON that is not a JSON Feed (no jsonfeed.org version)")
    items = document.get("items")
    if not isinstance(items, list):
        raise ParseError("not a feed: a JSON Feed without an items list")
    entries = tuple(_entry(item) for item in items if isinstance(item, dict))
    return ParsedFeed(
        title=_string(document.get("title")) or "",
        link=_string(document.get("home_page_url")),
        format="json11" if version.endswith("1.1") else "json1",
        entries=entries,
        language=_string(document.get("language")),
        image=_string(document.get("icon")) or _string(document.get("favicon")),
        is_podcast=any(
            (e.type or "").startswith(_MEDIA_TYPES) for x in entries for e in x.enclosures
        ),
    )


def _load(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise ParseError("not a feed: JSON that is not UTF-8") from exc
    except json.JSONDecodeError as exc:
        raise ParseError(f"not a feed: not valid JSON at line {exc.lineno} ({exc.msg})") from exc
    except RecursionError as exc:
        raise ParseError("not a feed: JSON nested too deeply") from exc


def _entry(item: Mapping[str, Any]) -> ParsedEntry:
    content_html, content_text = (
        _string(item.get("content_html")),
        _string(item.get("content_text")),
    )
    published = _string(item.get("date_published"))
    updated = _string(item.get("date_modified"))
    attachments = [a for a in _list(item.get("attachments")) if isinstance(a, dict)]
    url = _string(item.get("url"))
    return ParsedEntry(
        guid=_string(item.get("id")) or (str(item["id"]) if _is_number(item.get("id")) else None),
        title=_string(item.get("title")) or "",
        title_is_html=False,
        link=url or _string(item.get("external_url")),
        links=_unique(
            [url, _string(item.get("external_url"))] + [_string(a.get("url")) for a in attachments]
        ),
        summary=_string(item.get("summary")) or "",
        summary_is_html=False,
        content=content_html or content_text or "",
        content_is_html=content_html is not None,
        authors=_authors(item),
        published=_timestamp(published),
        published_raw=published,
        updated=_timestamp(updated),
        updated_raw=updated,
        terms=_unique(_string(tag) for tag in _list(item.get("tags"))),
        enclosures=tuple(_enclosure(a) for a in attachments if _string(a.get("url"))),
        itunes_duration=_duration(attachments),
        image=_string(item.get("image")) or _string(item.get("banner_image")),
    )


def _string(value: object) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _whole(value: object) -> int | None:
    """A non-negative JSON number as an int, else None."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return int(value)
    return None


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _unique(values: Iterable[str | None]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(value for value in values if value))


def _authors(item: Mapping[str, Any]) -> tuple[str, ...]:
    people = _list(item.get("authors")) or [item.get("author")]
    return _unique(_string(p.get("name")) for p in people if isinstance(p, dict))


def _enclosure(attachment: Mapping[str, Any]) -> ParsedEnclosure:
    return ParsedEnclosure(
        url=str(_string(attachment.get("url"))),
        type=_string(attachment.get("mime_type")),
        length=_whole(attachment.get("size_in_bytes")),
    )


def _duration(attachments: list[dict[str, Any]]) -> str | None:
    for attachment in attachments:
        seconds = _whole(attachment.get("duration_in_seconds"))
        if seconds is not None:
            return str(seconds)
    return None


def _timestamp(value: str | None) -> datetime | None:
    """An RFC 3339 date as aware UTC (a date without offset is taken as UTC)."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
