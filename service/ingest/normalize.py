"""Normalize (pure): ``ParsedFeed`` + ``SourceContext`` -> frozen ``NormalizedItem`` records.

For each entry: its kind (paper, podcast, video, post; the source's kind is a strong hint), a
plain-text title, a canonical absolute link, the summary as bounded plain text and as sanitized
HTML, authors, a publication date in aware UTC (clamped to the fetch time when more than a day
ahead), arXiv and podcast details, the arXiv papers a post or episode mentions, reading (or
listening) minutes, a canonical key (``arxiv:<id>``, ``url:<link>``, ``hash:<sha256>``) and a
content hash over every stored field. Entries that cannot become items are skipped with a reason.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import operator
import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from service.ingest.arxiv import (
    arxiv_info,
    extract_arxiv_ids,
    has_arxiv_markers,
    strip_listing_prefix,
    strip_old_title_suffix,
)
from service.ingest.dates import parse_date
from service.ingest.markup import (
    all_printable,
    plain_text,
    printable,
    safe_html,
    strip_tags,
    truncate,
)
from service.ingest.podcast import media_enclosure, parse_duration, podcast_info
from service.ingest.quotes import paper_key, quoted_title_keys
from service.ingest.urls import absolute_url, canonical_url
from service.records import (
    ArxivInfo,
    Kind,
    Normalized,
    NormalizedItem,
    ParsedEnclosure,
    ParsedEntry,
    ParsedFeed,
    SourceContext,
)

TITLE_LIMIT = 500
SUMMARY_TEXT_LIMIT = 2_000
SUMMARY_HTML_LIMIT = 8_000
MAX_KEY_URL_LENGTH = 1_000
MAX_MENTIONS = 50
MAX_TERMS = 50
TERM_LIMIT = 100
WORDS_PER_MINUTE = 230
ABSTRACT_MINUTES = 2
FUTURE_TOLERANCE = timedelta(days=1)
_YOUTUBE_HOSTS = frozenset({"youtube.com", "www.youtube.com", "m.youtube.com", "youtu.be"})
# published_at is left out: storage keeps the first one it saw, and an undated entry gets the
# fetch time, which would otherwise make the same bytes look changed on every poll. title_key and
# quotes follow from the title and summary, which are in.
_HASHED_FIELDS = tuple(
    field.name
    for field in dataclasses.fields(NormalizedItem)
    if field.name not in {"content_hash", "published_at", "title_key", "quotes"}
)
_ENTRY_FIELDS = tuple(field.name for field in dataclasses.fields(ParsedEntry))
_ENTRY_VALUES = operator.attrgetter(*_ENTRY_FIELDS)
_AUTHOR_SEPARATOR = re.compile(r"\s*,\s*|\s+and\s+")


def normalize_feed(feed: ParsedFeed, ctx: SourceContext) -> Normalized:
    """Every entry of ``feed`` as a ``NormalizedItem``, or a reason why it was skipped."""
    items: list[NormalizedItem] = []
    skipped: list[str] = []
    seen: dict[str, int] = {}
    for number, entry in enumerate(feed.entries, start=1):
        result = normalize_entry(entry, ctx, feed)
        if isinstance(result, str):
            skipped.append(f"entry {number}: {result}")
        elif result.canonical_key in seen:
            first = seen[result.canonical_key]
            skipped.append(
                f"entry {number}: the same work as entry {first} ({result.canonical_key})"
            )
        else:
            seen[result.canonical_key] = number
            items.append(result)
    return Normalized(items=tuple(items), skipped=tuple(skipped))


def normalize_entry(
    entry: ParsedEntry, ctx: SourceContext, feed: ParsedFeed | None = None
) -> NormalizedItem | str:
    """One entry as an item, or a sentence saying why it cannot be one.

    ``feed`` lends its image to episodes without one and its date to entries without any.
    """
    feed = feed or ParsedFeed()
    entry = printable_entry(entry)
    base = _entry_base(entry, ctx)
    enclosure = media_enclosure(entry)
    info = arxiv_info(entry)
    kind = decide_kind(entry, ctx.kind, info, enclosure)
    if kind != "paper":
        info = None
    title, summary_text, summary_html = _texts(entry, info, base)
    podcast = None
    if enclosure is not None and kind in ("podcast", "video"):
        enclosure_url = absolute_url(enclosure.url, base)
        image = absolute_url(entry.image or printable(feed.image or ""), base)
        if enclosure_url:
            podcast = podcast_info(entry, enclosure, enclosure_url=enclosure_url, image=image)
    url = info.abs_url if info else canonical_url(entry.link, base)
    if url is None and podcast is not None:
        url = podcast.enclosure_url  # an episode without a web page: its audio is the link
    if not (title or url or summary_text):
        return "no title, link or text"
    published, updated = _dates(entry, feed.updated, ctx.fetched_at)
    fields = {
        "canonical_key": canonical_key(info, url, title, summary_text),
        "kind": kind,
        "title": title or truncate(summary_text, 100) or str(url),
        "url": url,
        "summary_text": summary_text,
        "summary_html": summary_html,
        "published_at": published,
        "updated_at": updated,
        "guid": entry.guid,
        "authors": _authors(entry, paper=info is not None),
        "arxiv": info,
        "podcast": podcast,
        "reading_minutes": _minutes(kind, entry),
        "mentions": () if kind == "paper" else _mentions(entry),
        "terms": tuple(truncate(t, TERM_LIMIT) for t in entry.terms[:MAX_TERMS]),
    }
    # Built once: the hash is taken over the same values content_hash(item) would read.
    digest = _digest(tuple(fields[name] for name in _HASHED_FIELDS))
    return NormalizedItem(**fields, content_hash=digest, **_title_keys(kind, fields))  # type: ignore[arg-type]


def printable_entry(entry: ParsedEntry) -> ParsedEntry:
    """``entry`` with ``printable`` applied to every string it holds: feeds do carry NULs,
    control characters and (JSON Feeds) lone surrogates, which PostgreSQL or UTF-8 refuse."""
    values = _ENTRY_VALUES(entry)
    if all_printable(_strings_in(values)):
        return entry  # the common case: one scan over every string of the entry
    changes = {
        name: cleaned
        for name, value in zip(_ENTRY_FIELDS, values, strict=True)
        if (cleaned := _printable_value(value)) is not value
    }
    return dataclasses.replace(entry, **changes) if changes else entry  # type: ignore[arg-type]


def _strings_in(values: Iterable[object]) -> list[str]:
    """Every string ``_printable_value`` would clean in ``values``."""
    found: list[str] = []
    for value in values:
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, tuple):
            found += _strings_in(value)
        elif isinstance(value, ParsedEnclosure):
            found.append(value.url)
            if value.type:
                found.append(value.type)
    return found


def _printable_value(value: object) -> object:
    """``value`` (a string, a tuple of them, enclosures) made printable; itself when it was."""
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, tuple):
        cleaned = tuple(_printable_value(part) for part in value)
        return value if all(a is b for a, b in zip(cleaned, value, strict=True)) else cleaned
    if isinstance(value, ParsedEnclosure):
        url, kind = printable(value.url), printable(value.type) if value.type else value.type
        unchanged = url is value.url and kind is value.type
        return value if unchanged else dataclasses.replace(value, url=url, type=kind)
    return value


# --------------------------------------------------------------------------- decisions


def decide_kind(
    entry: ParsedEntry, source_kind: Kind, info: ArxivInfo | None, enclosure: ParsedEnclosure | None
) -> Kind:
    """paper (arXiv), podcast (audio/video enclosure), video (YouTube), post; the source's kind
    decides first for papers and videos."""
    if source_kind == "paper" or (info is not None and has_arxiv_markers(entry)):
        return "paper"
    if source_kind == "video":
        return "video"
    if enclosure is not None:
        return "podcast"
    if _is_youtube(entry):
        return "video"
    return "podcast" if source_kind == "podcast" else "post"


def _is_youtube(entry: ParsedEntry) -> bool:
    if (entry.guid or "").startswith("yt:video:"):
        return True
    if "youtu" not in (entry.link or "").lower():
        return False  # the host is spelled out in the link: no need to parse it
    link = canonical_url(entry.link)
    return link is not None and link.split("/", 3)[2] in _YOUTUBE_HOSTS


def canonical_key(info: ArxivInfo | None, url: str | None, title: str, summary: str) -> str:
    """``arxiv:<id>`` for papers, else ``url:<canonical link>`` (hashed past 1,000 characters),
    else ``hash:<sha256 of title and summary>``."""
    if info is not None:
        return f"arxiv:{info.arxiv_id}"
    if url:
        if len(url) > MAX_KEY_URL_LENGTH:
            return f"url:sha256:{hashlib.sha256(url.encode()).hexdigest()}"
        return f"url:{url}"
    digest = hashlib.sha256(f"{title}\n{summary}".encode()).hexdigest()
    return f"hash:{digest}"


def content_hash(item: NormalizedItem) -> str:
    """sha256 over every stored field that can change (not ``published_at``, not itself)."""
    return _digest(tuple(getattr(item, name) for name in _HASHED_FIELDS))


def _digest(values: tuple[object, ...]) -> str:
    return hashlib.sha256(repr(values).encode()).hexdigest()  # nested records repr whole


# --------------------------------------------------------------------------- fields


def _entry_base(entry: ParsedEntry, ctx: SourceContext) -> str | None:
    """The URL relative links are resolved against: xml:base (itself resolved) or the feed URL."""
    feed_url = ctx.feed_url or None
    if entry.base:
        return _resolved_base(entry.base, feed_url) or feed_url
    return feed_url


@lru_cache(maxsize=256)
def _resolved_base(base: str, feed_url: str | None) -> str | None:
    """``absolute_url`` of an xml:base, memoized: every entry of a feed usually has the same."""
    return absolute_url(base, feed_url)


def _texts(entry: ParsedEntry, info: ArxivInfo | None, base: str | None) -> tuple[str, str, str]:
    title = plain_text(entry.title, is_html=entry.title_is_html, limit=TITLE_LIMIT)
    if info is not None:
        title = strip_old_title_suffix(title)
        abstract = strip_listing_prefix(
            plain_text(entry.summary, is_html=entry.summary_is_html, limit=SUMMARY_TEXT_LIMIT * 2)
        )
        text = truncate(abstract, SUMMARY_TEXT_LIMIT)
        return title, text, safe_html(text, is_html=False, limit=SUMMARY_HTML_LIMIT)
    source, is_html = (entry.summary, entry.summary_is_html)
    if not source.strip():
        source, is_html = entry.content, entry.content_is_html
    text = plain_text(source, is_html=is_html, limit=SUMMARY_TEXT_LIMIT)
    markup = safe_html(source, is_html=is_html, base=base, limit=SUMMARY_HTML_LIMIT)
    return title, text, markup


def _authors(entry: ParsedEntry, *, paper: bool) -> tuple[str, ...]:
    names: list[str] = []
    for raw in entry.authors:
        name = plain_text(raw, is_html="<" in raw or "&" in raw, limit=200)
        names.extend(_AUTHOR_SEPARATOR.split(name) if paper else [name])
    return tuple(dict.fromkeys(name for name in names if name))


def _dates(
    entry: ParsedEntry, feed_date: datetime | None, fetched_at: datetime
) -> tuple[datetime, datetime | None]:
    """Published: the entry's, else its update, else the feed's date, else the fetch time."""
    published = entry.published or parse_date(entry.published_raw)
    updated = entry.updated or parse_date(entry.updated_raw)
    return clamp_date(published or updated or feed_date, fetched_at), (
        clamp_date(updated, fetched_at) if updated else None
    )


def clamp_date(value: datetime | None, fetched_at: datetime) -> datetime:
    """Aware UTC; the fetch time when missing or more than a day after it."""
    if value is None or value > fetched_at + FUTURE_TOLERANCE:
        return fetched_at.astimezone(UTC)
    return value.astimezone(UTC)


def _title_keys(kind: Kind, fields: dict[str, object]) -> dict[str, object]:
    """A paper's title key; the titles a post that names no arXiv id quotes."""
    if kind == "paper":
        return {"title_key": paper_key(str(fields["title"]))}
    if fields["mentions"]:
        return {}
    return {"quotes": quoted_title_keys(str(fields["summary_html"]), str(fields["summary_text"]))}


def _mentions(entry: ParsedEntry) -> tuple[str, ...]:
    text = " ".join((*entry.links, entry.link or "", entry.title, entry.summary, entry.content))
    return extract_arxiv_ids(text)[:MAX_MENTIONS]


def _minutes(kind: Kind, entry: ParsedEntry) -> int | None:
    """Minutes to read (posts by words, papers an abstract's 2) or to listen (by duration)."""
    if kind == "paper":
        return ABSTRACT_MINUTES
    if kind in ("podcast", "video"):
        seconds = parse_duration(entry.itunes_duration)
        return max(1, math.ceil(seconds / 60)) if seconds else None
    body = entry.content if len(entry.content) > len(entry.summary) else entry.summary
    return max(1, round(len(strip_tags(body).split()) / WORDS_PER_MINUTE))
