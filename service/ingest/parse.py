"""Parse: the bytes of a feed document -> ``ParsedFeed`` (typed, still raw), or ``ParseError``.

    body --clean_prolog--> XML, no DOCTYPE --+-- feedreader.read_feed (lxml) --+--> ParsedFeed
                                             +-- feedparser.parse (declined) ---+
    body (JSON) ----------------------------read_json_feed--> ParsedFeed

The fast path is ``feedreader``: a typed lxml reader of well-formed RSS / RDF / Atom. A document it
declines (``Unsupported``: not well-formed, an unknown root, XHTML content ...) is read by
``feedparser.parse`` (public API only) and ``_feed_from`` turns its result into the records. A
document over a limit (``HostileDocumentError``) reaches no other reader; any other exception is
a bug and is not hidden.

- feedparser only ever receives a byte stream (``io.BytesIO``): handed ``bytes`` it first tries
  ``open(body)``, so a body that names a local file would be read from disk.
- The prolog is cleaned first (``prolog.clean_prolog``): XXE, billion laughs and the quadratic
  blowup become undefined entity references, which feedparser survives.
- feedparser runs with ``sanitize_html=False, resolve_relative_uris=False`` (its sanitizer and URI
  resolution dominate its cost); normalize sanitizes, with nh3, only the fields we store.
- A bozo feed that still yields entries is accepted with ``ParsedFeed.warning`` set; one that
  yields nothing raises ``ParseError`` whose reason says why, unless it is a valid empty feed (an
  arXiv listing on a weekend, an API query without results).
"""

from __future__ import annotations

import dataclasses
import io
import re
import time
import xml.sax
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import feedparser

from service.errors import ParseError
from service.ingest.dates import struct_to_utc
from service.ingest.feedreader import (
    Unsupported,
    has_media,
    read_feed,
    unique,
    unique_enclosures,
    whole_number,
)
from service.ingest.jsonfeed import looks_like_json, read_json_feed
from service.ingest.prolog import CleanDocument, clean_prolog
from service.records import ParsedEntry, ParsedFeed

ARXIV_NAMESPACES = frozenset({"http://arxiv.org/schemas/atom"})
PODCAST_NAMESPACES = frozenset(
    {
        "https://podcastindex.org/namespace/1.0",
        "https://github.com/podcastindex-org/podcast-namespace/blob/main/docs/1.0.md",
    }
)
ITUNES_NAMESPACE = "http://www.itunes.com/dtds/podcast-1.0.dtd"
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_ARXIV_API_ERRORS = ("http://arxiv.org/api/errors", "https://arxiv.org/api/errors")
_SKIP_DAYS = re.compile(rb"<skipDays\b[^>]*>(.*?)</skipDays\s*>", re.S | re.I)
_DAY = re.compile(rb"<day\b[^>]*>\s*([A-Za-z]+)\s*</day\s*>", re.I)
_ENCODING_DECLARED = re.compile(rb"^[^>]{0,200}?encoding[ \t\r\n]*=", re.S)
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def parse_feed(body: bytes, *, content_type: str | None = None, url: str = "") -> ParsedFeed:
    """Parse a feed document (RSS 0.9x/1.0/2.0, Atom, JSON Feed) or raise ``ParseError``."""
    if not body.strip():
        raise ParseError("not a feed: the document is empty")
    if looks_like_json(body, content_type):
        return read_json_feed(body)
    document = clean_prolog(body)
    charset = _charset(document.data, content_type)
    base = url if url.startswith(("http://", "https://")) else ""
    try:
        feed = read_feed(document.data, charset=charset, url=base)
    except Unsupported:
        feed = _feed_from(_run_feedparser(document.data, charset, base), document)
    _refuse_arxiv_api_error(feed)
    if feed.format.startswith("rss"):
        skip_days = _skip_days(document.data)
        if skip_days:
            feed = dataclasses.replace(feed, skip_days=skip_days)
    return feed


def _charset(data: bytes, content_type: str | None) -> str | None:
    """The charset of the Content-Type, unless the document declares its encoding."""
    if not content_type or _ENCODING_DECLARED.match(data):
        return None
    _, found, charset = content_type.lower().partition("charset=")
    return charset.split(";")[0].strip().strip("\"'") or None if found else None


def _run_feedparser(data: bytes, charset: str | None, url: str) -> Any:
    headers: dict[str, str] = {}
    if charset:
        headers["content-type"] = f"text/xml; charset={charset}"
    if url:
        headers["content-location"] = url
    return feedparser.parse(
        io.BytesIO(data),
        response_headers=headers,
        sanitize_html=False,
        resolve_relative_uris=False,
    )


def _feed_from(result: Any, document: CleanDocument) -> ParsedFeed:
    """The records of feedparser's result."""
    prefixes = _prefixes(result.get("namespaces", {}))
    entries = tuple(_entry_from(entry, prefixes) for entry in result.entries)
    if not entries:
        _refuse_empty(result, document)
    feed = dict(result.feed)  # plain reads: the keys read here are not remapped by feedparser
    return ParsedFeed(
        title=str(feed.get("title", "")),
        link=feed.get("link") or None,
        format=str(result.get("version", "")),
        entries=entries,
        ttl_minutes=whole_number(feed.get("ttl")),
        language=feed.get("language") or None,
        image=_image_of(feed),
        updated=_date_of(feed, "updated")[1] or _date_of(feed, "published")[1],
        is_podcast="itunes" in prefixes or any(has_media(entry) for entry in entries),
        warning=_warning(result),
    )


def _warning(result: Any) -> str | None:
    """The bozo reason worth recording; a missing or non-XML Content-Type is not one."""
    if not result.get("bozo") or isinstance(result.bozo_exception, feedparser.NonXMLContentType):
        return None
    return describe_problem(result.bozo_exception)


# --------------------------------------------------------------------------- refusals


def _refuse_arxiv_api_error(feed: ParsedFeed) -> None:
    """The export.arxiv.org API answers a bad query with an Atom feed holding one Error entry."""
    entries = feed.entries
    if len(entries) == 1 and (entries[0].guid or "").startswith(_ARXIV_API_ERRORS):
        message = entries[0].summary.strip() or "no reason given"
        raise ParseError(f"the arXiv API returned an error: {message}")


def _refuse_empty(result: Any, document: CleanDocument) -> None:
    """Raise unless an entry-less result is a valid empty feed."""
    root = (document.root or "").rpartition(":")[2].lower()
    if root == "html":
        raise ParseError("not a feed: the document is an HTML page")
    if root == "opml":
        raise ParseError("not a feed: the document is an OPML subscription list (import it)")
    if not root:
        raise ParseError("not a feed: the document holds no XML element")
    if result.get("bozo") and _is_fatal(result.bozo_exception):
        raise ParseError(f"not a feed: {describe_problem(result.bozo_exception)}")
    if not result.get("version"):
        raise ParseError(f"not a feed: the root element is <{document.root}>, not RSS, Atom or RDF")


def _is_fatal(problem: BaseException) -> bool:
    return not isinstance(problem, feedparser.ThingsNobodyCaresAboutButMe)


def describe_problem(problem: BaseException) -> str:
    """A sentence for a bozo exception: what is wrong with the document."""
    if isinstance(problem, xml.sax.SAXParseException):
        return f"not well-formed XML at line {problem.getLineNumber()} ({problem.getMessage()})"
    if isinstance(problem, feedparser.CharacterEncodingOverride):
        return f"wrong character encoding: {problem}"
    if isinstance(problem, feedparser.CharacterEncodingUnknown):
        return f"unknown character encoding: {problem}"
    if isinstance(problem, feedparser.NonXMLContentType):
        return f"not served as XML: {problem}"
    return str(problem) or type(problem).__name__


# --------------------------------------------------------------------------- entries


def _prefixes(namespaces: Mapping[str, str]) -> dict[str, tuple[str, ...]]:
    """Which key prefixes feedparser used for the namespaces we read (documents choose them)."""
    found: dict[str, list[str]] = {"arxiv": [], "podcast": [], "itunes": []}
    for prefix, uri in namespaces.items():
        lowered = str(uri).lower().rstrip("/")
        if lowered in ARXIV_NAMESPACES:
            found["arxiv"].append(prefix.lower())
        elif lowered in PODCAST_NAMESPACES:
            found["podcast"].append(prefix.lower())
        elif lowered == ITUNES_NAMESPACE:
            found["itunes"].append("itunes")
    return {name: tuple(values) for name, values in found.items() if values}


def _namespaced(entry: Mapping[str, Any], prefixes: tuple[str, ...], name: str) -> Any:
    for prefix in prefixes:
        value = entry.get(f"{prefix}_{name}" if prefix else name)
        if value:
            return value
    return None


def _entry_from(item: Mapping[str, Any], prefixes: Mapping[str, tuple[str, ...]]) -> ParsedEntry:
    arxiv, podcast = prefixes.get("arxiv", ()), prefixes.get("podcast", ())
    enclosures = _enclosure_links(item)
    # Plain dict reads from here: no key read below is one FeedParserDict remaps.
    entry = dict(item)
    summary_detail = entry.get("summary_detail") or {}
    content = (entry.get("content") or [{}])[0]
    published_raw, published = _date_of(entry, "published")
    updated_raw, updated = _date_of(entry, "updated")
    return ParsedEntry(
        guid=_text(entry.get("id")),
        title=str(entry.get("title", "")),
        title_is_html=(entry.get("title_detail") or {}).get("type") in _HTML_TYPES,
        link=_text(entry.get("link")),
        links=unique(_hrefs(entry, enclosures)),
        base=_text(content.get("base")) or _text(summary_detail.get("base")),
        summary=str(entry.get("summary", "")),
        summary_is_html=summary_detail.get("type", "text/html") != "text/plain",
        content=str(content.get("value", "")),
        content_is_html=content.get("type", "text/html") != "text/plain",
        authors=_authors(entry),
        published=published,
        published_raw=published_raw,
        updated=updated,
        updated_raw=updated_raw,
        terms=unique(str(tag.get("term") or "").strip() for tag in entry.get("tags") or ()),
        enclosures=unique_enclosures(_enclosure_triples(enclosures)),
        itunes_duration=_text(entry.get("itunes_duration")),
        episode=_text(entry.get("itunes_episode")),
        season=_text(entry.get("itunes_season")),
        image=_image_of(entry),
        transcript_url=_attribute(_namespaced(entry, podcast, "transcript"), "url"),
        arxiv_announce_type=_text(_namespaced(entry, arxiv, "announce_type")),
        arxiv_primary_category=_attribute(_namespaced(entry, arxiv, "primary_category"), "term"),
        arxiv_comment=_text(_namespaced(entry, arxiv, "comment")),
        arxiv_journal_ref=_text(_namespaced(entry, arxiv, "journal_ref")),
        arxiv_doi=_text(_namespaced(entry, arxiv, "doi")),
    )


def _text(value: object) -> str | None:
    """A stripped non-empty string, or None (feedparser leaves '' and dicts around)."""
    if not isinstance(value, str):
        return None
    return value.strip() or None


def _attribute(value: object, name: str) -> str | None:
    if isinstance(value, Mapping):
        return _text(value.get(name))
    return None


def _hrefs(entry: Mapping[str, Any], enclosures: list[dict[str, Any]]) -> Iterable[str]:
    for link in entry.get("links") or ():
        yield str(link.get("href") or "").strip()
    for enclosure in enclosures:
        yield str(enclosure.get("href") or "").strip()


def _enclosure_links(entry: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``FeedParserDict.get("enclosures")``: the links whose rel is enclosure, without rel (none
    when a link has no rel at all)."""
    try:
        links: list[Any] = dict.__getitem__(entry, "links")  # type: ignore[index]
        return [
            {name: value for name, value in link.items() if name != "rel"}
            for link in links
            if link["rel"] == "enclosure"
        ]
    except KeyError:
        return []


def _authors(entry: Mapping[str, Any]) -> tuple[str, ...]:
    names = [str(author.get("name") or "").strip() for author in entry.get("authors") or ()]
    if not any(names):
        names = [str(entry.get("author") or "").strip()]
    return unique(names)


def _date_of(entry: Any, field: str) -> tuple[str | None, datetime | None]:
    # dict.get: FeedParserDict.get("updated") falls back to "published" (with a warning).
    raw = _text(dict.get(entry, field))
    parsed = dict.get(entry, f"{field}_parsed")
    return raw, (struct_to_utc(parsed) if isinstance(parsed, time.struct_time) else None)


def _enclosure_triples(
    enclosures: list[dict[str, Any]],
) -> list[tuple[str, str | None, str | None]]:
    return [
        (str(e.get("href") or ""), _text(e.get("type")), _text(e.get("length"))) for e in enclosures
    ]


def _image_of(node: Mapping[str, Any]) -> str | None:
    image = node.get("image")
    if isinstance(image, Mapping):
        found = _text(image.get("href")) or _text(image.get("url"))
        if found:
            return found
    for thumbnail in node.get("media_thumbnail") or ():
        found = _attribute(thumbnail, "url")
        if found:
            return found
    return None


def _skip_days(data: bytes) -> tuple[str, ...]:
    """RSS ``<skipDays>`` (feedparser keeps only the last ``<day>``)."""
    match = _SKIP_DAYS.search(data)
    if match is None:
        return ()
    named = {day.decode("ascii").capitalize() for day in _DAY.findall(match.group(1))}
    return tuple(day for day in _WEEKDAYS if day in named)
