"""feedparser's reading of a document its strict parser refuses, without the doomed strict pass.

For a document that is not well-formed, ``feedparser.parse`` first runs expat with its SAX handler
(Python code for every element) until expat stops at the error, throws that work away, keeps
expat's error as the bozo exception and reads the whole document again with its loose (sgmllib)
parser. ``read_refused_feed`` asks expat the same question through the same SAX reader, with a
handler that does nothing, and then runs feedparser's loose parser exactly as ``feedparser.parse``
does: same decoding, same base URI, same entities, same result keys.

It returns None when expat accepts the document after all (libxml2 is stricter in a few corners):
feedparser's full parse then decides. The one behaviour it does not reproduce is a crash of
feedparser's strict handler on input so broken that it raises before expat's error; such a
document is read by the loose parser instead of raising.
"""

from __future__ import annotations

import contextlib
import io
import xml.sax
from collections.abc import Mapping
from typing import Any

import feedparser.api
from feedparser.encodings import convert_to_utf8
from feedparser.sanitizer import replace_doctype
from feedparser.urls import make_safe_absolute_uri
from feedparser.util import FeedParserDict


class _Refusal(xml.sax.handler.ContentHandler):
    """Keeps the parser's error as feedparser's strict handler does, and nothing else."""

    def __init__(self) -> None:
        super().__init__()
        self.exc: BaseException | None = None

    def error(self, exception: BaseException) -> None:
        self.exc = exception

    warning = error

    def fatalError(self, exception: BaseException) -> None:
        self.exc = exception
        raise exception


def expat_refusal(data: bytes) -> BaseException | None:
    """The exception feedparser's strict parse of ``data`` (UTF-8) ends with, or None."""
    # The very reader feedparser builds; the prolog is clean and external entities are off.
    reader = xml.sax.make_parser(feedparser.api.PREFERRED_XML_PARSERS)  # noqa: S317
    reader.setFeature(xml.sax.handler.feature_namespaces, 1)
    with contextlib.suppress(xml.sax.SAXNotSupportedException):
        reader.setFeature(xml.sax.handler.feature_external_ges, 0)
    refusal = _Refusal()
    reader.setContentHandler(refusal)
    reader.setErrorHandler(refusal)  # type: ignore[arg-type]  # keeps errors, as feedparser's
    source = xml.sax.xmlreader.InputSource()
    source.setByteStream(io.BytesIO(data))
    try:
        reader.parse(source)
    except xml.sax.SAXException as exc:
        return refusal.exc or exc
    return None


def read_refused_feed(data: bytes, headers: Mapping[str, str]) -> Any:
    """What ``feedparser.parse(BytesIO(data), response_headers=headers, sanitize_html=False,
    resolve_relative_uris=False)`` returns for a document expat refuses (or whose encoding is
    unknown, which feedparser reads loosely straight away); None if expat accepts it."""
    result = FeedParserDict(bozo=False, entries=[], feed=FeedParserDict(), headers={})
    result["headers"].update(headers)
    utf8 = convert_to_utf8(result["headers"], data, result)
    use_strict_parser = bool(result["encoding"])
    result["version"], utf8, entities = replace_doctype(utf8)
    content_location = result["headers"].get("content-location", "")
    href = result.get("href", "")
    baseuri = (
        make_safe_absolute_uri(href, content_location)
        or make_safe_absolute_uri(content_location)
        or href
    )
    baselang = result["headers"].get("content-language", None)
    if use_strict_parser:
        refusal = expat_refusal(utf8)
        if refusal is None:
            return None
        result["bozo"] = 1
        result["bozo_exception"] = refusal
    loose = feedparser.api.LooseFeedParser(baseuri, baselang, "utf-8", entities)
    loose.resolve_relative_uris = False
    loose.sanitize_html = False
    loose.feed(utf8.decode("utf-8", "replace"))
    result["feed"] = loose.feeddata
    result["entries"] = loose.entries
    result["version"] = result["version"] or loose.version
    result["namespaces"] = loose.namespaces_in_use
    return result
