"""The fast path: a typed lxml reader of well-formed RSS 0.9x/1.0/2.0 and Atom 1.0.

    bytes --lxml (safe parser)--> tree --one pass over the channel and its items--> ParsedFeed

libxml2 builds the tree in C; Python then reads only the elements a ``ParsedEntry`` holds, by their
namespaced names (``{uri}local``), so the prefixes a document chooses do not matter. The fields
mean what feedparser's keys of the same name mean (``parse._feed_from`` reads those for the
documents this reader declines), as the golden files in ``tests/golden`` check on the corpus.

``read_feed`` raises ``Unsupported`` for what it does not model, and ``parse.parse_feed`` hands the
document to ``feedparser.parse`` instead: XML that libxml2 refuses (feedparser's loose parser and
its warning apply), a root other than ``rss``, ``rdf:RDF`` or Atom 1.0 ``feed``, XHTML or base64
content, markup inside a text element. An element with more than ``isolation.MAX_ATTRIBUTES``
attributes refuses the document (``HostileDocumentError``) before any attribute is read.

The lxml parser is safe: no entity substitution, no network, no DTD loading, libxml2's default
limits on depth and text size (``huge_tree=False``). The prolog has been cleaned before
(``prolog.clean_prolog``), so there is no DOCTYPE left to declare entities anyway.
"""

from __future__ import annotations

import contextlib
import dataclasses
import html.entities
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urljoin

from lxml import etree

from service.errors import HostileDocumentError
from service.ingest.dates import parse_date
from service.ingest.isolation import too_many_attributes
from service.records import ParsedEnclosure, ParsedEntry, ParsedFeed

ATOM = "{http://www.w3.org/2005/Atom}"
RSS10 = "{http://purl.org/rss/1.0/}"
RSS090 = "{http://my.netscape.com/rdf/simple/0.9/}"
RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
DC = "{http://purl.org/dc/elements/1.1/}"
DCTERMS = "{http://purl.org/dc/terms/}"
CONTENT = "{http://purl.org/rss/1.0/modules/content/}"
ITUNES_URI = "http://www.itunes.com/dtds/podcast-1.0.dtd"
ITUNES = "{" + ITUNES_URI + "}"
MEDIA = ("{http://search.yahoo.com/mrss/}", "{http://search.yahoo.com/mrss}")
PODCAST = (
    "{https://podcastindex.org/namespace/1.0}",
    "{https://github.com/podcastindex-org/podcast-namespace/blob/main/docs/1.0.md}",
)
ARXIV = "{http://arxiv.org/schemas/atom}"
XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_NOT_RSS = frozenset({ATOM[1:-1], RSS10[1:-1], RSS090[1:-1], RDF[1:-1]})
_RSS_VERSIONS = {"0.91": "rss091u", "0.92": "rss092", "0.93": "rss093", "0.94": "rss094"}
_ATOM_TYPES = {"text": "text/plain", "html": "text/html", "xhtml": "application/xhtml+xml"}
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_MEDIA_TYPES = ("audio/", "video/")
_SCHEME_SLASHES = re.compile(r"^([A-Za-z][A-Za-z0-9+\-.]*://)(/*)(.*?)")
# An absolute http(s) URL that urljoin would return unchanged: no whitespace or control
# characters (urlsplit removes tabs and newlines), no empty query or fragment marker.
_PLAIN_ABSOLUTE = re.compile(r"https?://[^/?#\s]+[^\s?#]*(\?[^\s?#]+)?(#[^\s]+)?\Z")
_UNDEFINED_ENTITY = re.compile(r"Entity '[^']*' not defined")
_JUNK_AFTER_ROOT = re.compile(r"Extra content at the end of the document")
# A bare & (group 1 empty) or a named reference; character references are left alone.
_REFERENCE = re.compile(rb"&(?:([A-Za-z_][\w.-]*);|(?!#\d+;|#x[0-9A-Fa-f]+;))")
_XML_ENTITIES = frozenset({b"amp", b"lt", b"gt", b"quot", b"apos"})
_DECLARED_ENCODING = re.compile(rb"<\?xml[^>]{0,200}?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)")
# Entry start tags, counted in the bytes to check that a recovered tree lost none.
_ENTRY_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(?:item|entry)[\s>/]")
_C1 = re.compile("[\x80-\x9f]")
_CLOSE_TAG = re.compile(r"</(\w+)>")
_ENTITY = re.compile(r"&#?\w+;")
_NAMED_ENTITY = re.compile(r"&(\w+);")
_LINK_ENTITY = re.compile(r"&([A-Za-z0-9_]+);")
_EMAIL = re.compile(
    r"(([a-zA-Z0-9_\-.+]+)@((\[[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.)|(([a-zA-Z0-9\-]+\.)+))"
    r"([a-zA-Z]{2,4}|[0-9]{1,3})(\]?))(\?subject=\S+)?"
)
# Windows-1252 characters that documents put in the C1 range (feedparser maps them too).
_CP1252 = {
    code: bytes([code]).decode("cp1252")
    for code in range(0x80, 0xA0)
    if code not in (0x81, 0x8D, 0x8F, 0x90, 0x9D)
}


_CONTENT_TAGS = frozenset({f"{CONTENT}encoded", f"{ATOM}content"})
# The elements an entry's summary and content come from, and the media type each has unless its
# ``type`` attribute says otherwise.
_BODY_DEFAULTS = {
    f"{CONTENT}encoded": "text/html",
    f"{ATOM}content": "text/plain",
    "description": "text/html",
    f"{RSS10}description": "text/html",
    f"{RSS090}description": "text/html",
    f"{DC}description": "text/html",
    f"{ATOM}summary": "text/plain",
    f"{ITUNES}summary": "text/plain",
    **{f"{media}description": "text/html" for media in MEDIA},
}


@dataclass(slots=True)
class _Body:
    """What ``_Reader._body`` found: summary and content, each with its type and xml:base."""

    summary: str = ""
    summary_is_html: bool = True
    summary_base: str | None = None
    has_summary: bool = False
    content: str = ""
    content_is_html: bool = True
    content_base: str | None = None
    has_content: bool = False

    @property
    def base(self) -> str | None:
        return self.content_base or self.summary_base or None


class Unsupported(Exception):  # a decision, not a failure: feedparser reads it
    """This reader does not model the document; feedparser reads it instead."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def read_feed(data: bytes, *, charset: str | None = None, url: str = "") -> ParsedFeed:
    """The ``ParsedFeed`` of an RSS or Atom document, or ``Unsupported``.

    A document that is not well-formed is read here only when its fault is one of ``_repaired``'s
    (then with feedparser's warning); any other is ``Unsupported``."""
    try:
        return _read_root(_parse_xml(data, charset, url, recover=False))
    except etree.XMLSyntaxError as exc:
        return _repaired(data, charset, url, exc)


def _repaired(data: bytes, charset: str | None, url: str, exc: etree.XMLSyntaxError) -> ParsedFeed:
    """The faults of real feeds that have one reading, the one feedparser gives them:

    - entity references never defined: an HTML entity (``&eacute;``) is its character, any other
      name (a typo) and a bare ``&`` are written out as text, as feedparser's loose parser does;
    - no declared encoding and bytes that are not UTF-8: read as Windows-1252, as feedparser
      falls back to it (no warning, as with feedparser);
    - declared UTF-16 or UTF-32 without a byte-order mark on ASCII bytes: read as UTF-8;
    - junk after the root element: read as libxml2 recovers it, if every entry survived.
    """
    message, line = exc.msg or "", exc.lineno or 0
    if _UNDEFINED_ENTITY.match(message) or message.startswith("xmlParseEntityRef: no name"):
        words = "undefined entity" if _UNDEFINED_ENTITY.match(message) else "invalid token"
        escaped = _REFERENCE.sub(_escape_reference, data)
        feed = _strict(escaped, charset, url, message)
        return dataclasses.replace(feed, warning=_not_well_formed(line, words, feed.warning))
    declared = _DECLARED_ENCODING.match(data)
    if message.startswith("Invalid bytes in character encoding") and not (declared or charset):
        return _strict(data, "windows-1252", url, message)
    wide = declared and declared.group(1).lower().startswith((b"utf-16", b"utf-32"))
    if wide and declared and data[:5] == b"<?xml":  # no byte-order mark: ASCII-compatible
        feed = _strict(data, "utf-8", url, message)
        name = declared.group(1).decode("ascii").lower()
        wrong = f"wrong character encoding: document declared as {name}, but parsed as utf-8"
        return dataclasses.replace(feed, warning=wrong)
    if _JUNK_AFTER_ROOT.match(message):
        feed = _read_root(_parse_xml(data, charset, url, recover=True))
        written = len(_ENTRY_TAG.findall(data))
        if written and len(feed.entries) >= written:
            return dataclasses.replace(
                feed, warning=_not_well_formed(line, "junk after document element")
            )
    raise Unsupported(f"not well-formed for libxml2: {message}")


def _strict(data: bytes, charset: str | None, url: str, problem: str) -> ParsedFeed:
    try:
        return _read_root(_parse_xml(data, charset, url, recover=False))
    except etree.XMLSyntaxError as exc:
        raise Unsupported(f"not well-formed for libxml2: {problem}; {exc.msg}") from exc


def _not_well_formed(line: int, words: str, warning: str | None = None) -> str:
    """A warning in the words feedparser (expat) used for the same fault."""
    if words == "invalid token":
        words = "not well-formed (invalid token)"
    return warning or f"not well-formed XML at line {line} ({words})"


def _escape_reference(match: re.Match[bytes]) -> bytes:
    """A bare ``&`` or a reference to an undefined entity, written out as text."""
    name = match.group(1)
    if name is None:
        return b"&amp;"
    if name in _XML_ENTITIES:
        return bytes(match.group(0))
    codepoint = html.entities.name2codepoint.get(name.decode("ascii", "replace"))
    if codepoint is not None:  # an HTML entity: its character (by number: any encoding)
        return b"&#%d;" % codepoint
    return b"&amp;" + name + b";"


def _read_root(root: Any) -> ParsedFeed:
    tag = root.tag if isinstance(root.tag, str) else ""
    if tag == "rss" or (tag.endswith("}rss") and tag[1:-4] not in _NOT_RSS):
        # An <rss> in a default namespace of its own is RSS all the same (feedparser's reading).
        return _Reader(root).rss(root, tag[:-3])
    if tag == f"{RDF}RDF":
        return _Reader(root).rdf(root)
    if tag == f"{ATOM}feed":
        return _Reader(root).atom(root)
    raise Unsupported(f"the root element is <{tag}>")


def _parse_xml(data: bytes, charset: str | None, url: str, *, recover: bool) -> Any:
    parser = etree.XMLParser(
        encoding=charset,
        recover=recover,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        collect_ids=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        root = etree.fromstring(data, parser, base_url=url or None)
    except (LookupError, ValueError) as exc:  # an unknown encoding; bytes lxml will not read
        raise Unsupported(f"not read by libxml2: {exc}") from exc
    except etree.XMLSyntaxError as exc:
        if not recover:
            raise
        raise Unsupported(f"not well-formed for libxml2: {exc.msg}") from exc
    if root is None or root.getroottree().docinfo.doctype:
        raise Unsupported("no root element, or a DOCTYPE (clean the prolog first)")
    return root


_Kids = dict[Any, list[Any]]


class _Reader:
    """One document: the shared state of reading its channel and items."""

    def __init__(self, root: Any) -> None:
        encoding = (root.getroottree().docinfo.encoding or "utf-8").lower()
        self.utf8 = encoding in ("utf-8", "utf8")
        self.in_atom = False
        self.is_podcast = ITUNES_URI in root.nsmap.values()
        self.body_defaults = _BODY_DEFAULTS
        # The podcast namespace as the document spells it (feedparser matches it in any case).
        self.podcast = PODCAST + tuple(
            f"{{{uri}}}"
            for uri in root.nsmap.values()
            if f"{{{uri.lower().rstrip('/')}}}" in PODCAST and f"{{{uri}}}" not in PODCAST
        )

    # ------------------------------------------------------------------ documents

    def rss(self, root: Any, namespace: str) -> ParsedFeed:
        attribute = _attributes(root).get("version", "")
        version = _RSS_VERSIONS.get(attribute) or ("rss20" if attribute.startswith("2.") else "rss")
        self.body_defaults = {**_BODY_DEFAULTS, f"{namespace}description": "text/html"}
        channel = root.find(f"{namespace}channel")
        if channel is None or len(root) > 1:  # feedparser reads items wherever they are
            raise Unsupported("an <rss> whose only child is not one <channel>")
        self.is_podcast = self.is_podcast or ITUNES_URI in channel.nsmap.values()
        items = channel.iterfind(f"{namespace}item")
        entries = tuple(self._rss_entry(item, namespace) for item in items)
        return self._feed(version, channel, entries, root, namespace=namespace)

    def rdf(self, root: Any) -> ParsedFeed:
        namespace = RSS10 if root.find(f"{RSS10}channel") is not None else RSS090
        if namespace == RSS090 and root.find(f"{RSS090}channel") is None:
            raise Unsupported("an RDF document without an RSS channel")
        version = "rss10" if namespace == RSS10 else "rss090"
        channel = root.find(f"{namespace}channel")
        entries = tuple(
            self._rss_entry(item, namespace) for item in root.iterfind(f"{namespace}item")
        )
        return self._feed(version, channel, entries, root, namespace=namespace)

    def atom(self, root: Any) -> ParsedFeed:
        self.in_atom = True
        kids = _children(root)
        entries = tuple(self._atom_entry(entry) for entry in kids.get(f"{ATOM}entry", ()))
        title = self._text_of(_first(kids, f"{ATOM}title"))
        return ParsedFeed(
            title=title,
            link=_alternate(self._links(kids))
            or self._text_of(_first(kids, f"{ATOM}id"), uri=root)  # feedparser: the id is a link
            or None,
            format="atom10",
            entries=entries,
            language=self._root_language(root),
            image=self._feed_image(root),
            updated=self._date(kids, (f"{ATOM}updated", f"{ATOM}modified", f"{DC}date"))[1]
            or self._date(kids, (f"{ATOM}published", f"{ATOM}issued"))[1],
            is_podcast=self.is_podcast or any(map(has_media, entries)),
        )

    def _feed(
        self,
        version: str,
        channel: Any,
        entries: tuple[ParsedEntry, ...],
        root: Any,
        *,
        namespace: str = "",
    ) -> ParsedFeed:
        if channel is None:
            return ParsedFeed(format=version, entries=entries)
        kids = _children(channel)
        language = self._text_of(_first(kids, f"{namespace}language")) or self._text_of(
            _first(kids, f"{DC}language")
        )
        link = self._text_of(_first(kids, f"{namespace}link"), uri=channel) or _alternate(
            self._links(kids)
        )
        return ParsedFeed(
            title=self._text_of(_first(kids, f"{namespace}title")),
            link=_unescaped_link(link) or None,
            format=version,
            entries=entries,
            ttl_minutes=whole_number(self._text_of(_first(kids, f"{namespace}ttl"))),
            language=language or self._root_language(root),
            image=self._feed_image(channel, namespace),
            updated=self._date(kids, (f"{namespace}lastBuildDate", f"{DC}date"))[1]
            or self._date(kids, (f"{namespace}pubDate",))[1],
            is_podcast=self.is_podcast or any(map(has_media, entries)),
        )

    # ------------------------------------------------------------------ entries

    def _rss_entry(self, item: Any, namespace: str) -> ParsedEntry:
        kids = _children(item)
        guid_element = _first(kids, f"{namespace}guid")
        permalink = guid_element is not None and (
            _attributes(guid_element).get("isPermaLink", "true").lower() == "true"
        )
        guid = self._text_of(guid_element, uri=item if permalink else None)
        if not guid:
            guid = _attributes(item).get(f"{RDF}about", "").strip()
        link_text = self._text_of(_first(kids, f"{namespace}link"), uri=item)
        link = _unescaped_link(link_text.replace("&amp;", "&"))
        links = [link] if link else []
        enclosures = [self._rss_enclosure(e) for e in kids.get(f"{namespace}enclosure", ())]
        title = self._title(kids, namespace)
        return self._entry(
            item,
            kids,
            guid=guid or None,
            title=title,
            title_is_html=_looks_like_html(title),
            link=link or (guid if permalink and guid else None),
            links=links,
            authors=self._authors(
                kids, (f"{namespace}author", f"{DC}creator", f"{DC}author", f"{ITUNES}author")
            ),
            enclosures=enclosures,
            terms=self._rss_terms(kids, namespace),
            dates=(
                (f"{namespace}pubDate", f"{DCTERMS}issued"),
                (f"{DC}date", f"{DCTERMS}modified"),
            ),
        )

    def _atom_entry(self, entry: Any) -> ParsedEntry:
        kids = _children(entry)
        links = self._links(kids)
        title_element = _first(kids, f"{ATOM}title")
        title = self._text_of(title_element)
        guid = self._text_of(_first(kids, f"{ATOM}id"), uri=entry)  # feedparser: a permalink
        return self._entry(
            entry,
            kids,
            guid=guid or None,
            title=title,
            title_is_html=title_element is not None
            and self._type(title_element, "text/plain", title) in _HTML_TYPES,
            link=_alternate(links) or guid or None,
            links=[href for href, _, _ in links],
            authors=self._atom_authors(kids),
            enclosures=[self._atom_enclosure(link) for link in links if link[1] == "enclosure"],
            terms=self._atom_terms(kids),
            dates=(
                (f"{ATOM}published", f"{ATOM}issued", f"{DCTERMS}issued"),
                (f"{ATOM}updated", f"{ATOM}modified", f"{DC}date", f"{DCTERMS}modified"),
            ),
        )

    def _entry(
        self,
        item: Any,
        kids: _Kids,
        *,
        links: list[str],
        enclosures: list[tuple[str, str | None, str | None]],
        terms: Iterable[str],
        dates: tuple[tuple[str, ...], tuple[str, ...]],
        **fields: Any,
    ) -> ParsedEntry:
        body = self._body(item)
        published_raw, published = self._date(kids, dates[0])
        updated_raw, updated = self._date(kids, dates[1])
        hrefs = [*links, *(href for href, _, _ in enclosures)]
        return ParsedEntry(
            **fields,
            links=unique(href.strip() for href in hrefs),
            base=body.base,
            summary=body.summary,
            summary_is_html=body.summary_is_html,
            content=body.content,
            content_is_html=body.content_is_html,
            published=published,
            published_raw=published_raw,
            updated=updated,
            updated_raw=updated_raw,
            terms=unique(term.strip() for term in terms),
            enclosures=unique_enclosures(enclosures),
            itunes_duration=self._text_of(_first(kids, f"{ITUNES}duration")) or None,
            episode=self._text_of(_first(kids, f"{ITUNES}episode")) or None,
            season=self._text_of(_first(kids, f"{ITUNES}season")) or None,
            image=self._entry_image(kids),
            transcript_url=_last_attribute(kids, self.podcast, "transcript", "url"),
            arxiv_announce_type=self._text_of(_first(kids, f"{ARXIV}announce_type")) or None,
            arxiv_primary_category=_last_attribute(kids, (ARXIV,), "primary_category", "term"),
            arxiv_comment=self._text_of(_first(kids, f"{ARXIV}comment")) or None,
            arxiv_journal_ref=self._text_of(_first(kids, f"{ARXIV}journal_ref")) or None,
            arxiv_doi=self._text_of(_first(kids, f"{ARXIV}doi")) or None,
        )

    # ------------------------------------------------------------------ fields

    def _text_of(self, element: Any, *, uri: Any = None) -> str:
        """The stripped text of an element that holds only text ('' if absent); resolved against
        the xml:base in effect at ``uri`` when it is a link."""
        if element is None:
            return ""
        text = (_entity_text(element) if len(element) else element.text or "").strip()
        if text and not text.isascii():
            text = self._repaired(text)
        if uri is not None and text:
            return _resolve(_base(element), text)
        return text

    def _repaired(self, text: str) -> str:
        """feedparser's repairs of non-ASCII text: UTF-8 read as Latin-1 is decoded again, and
        Windows-1252 characters in the C1 range are mapped to what they were meant to be."""
        if self.utf8:
            with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
                text = text.encode("iso-8859-1").decode("utf-8")
        return text.translate(_CP1252) if _C1.search(text) else text

    def _type(self, element: Any, default: str, text: str) -> str:
        """The media type of a text element, as feedparser maps it: Atom's ``text``, ``html``,
        ``xhtml``; outside Atom, plain text that looks like HTML is HTML."""
        attributes = _attributes(element)
        written: str = attributes.get("type", default).lower()
        kind = _ATOM_TYPES.get(written, written)
        if kind == "application/xhtml+xml" or "mode" in attributes:
            raise Unsupported(f"{kind} content in <{etree.QName(element).localname}>")
        if kind == "text/plain" and not self.in_atom and _looks_like_html(text):
            return "text/html"
        return kind

    def _body(self, item: Any) -> _Body:
        """The summary and the first content of an entry, as feedparser assigns them: the first
        summary-like element is the summary, and one that follows it before any content is
        content; a plain or HTML content is the summary when there is none."""
        body = _Body()
        summary_depth: int | None = None
        defaults = self.body_defaults
        for element in item.iter(*defaults):
            if element is item:
                continue
            text = self._text_of(element)
            if element.tag in _CONTENT_TAGS or (body.has_summary and not body.has_content):
                default = defaults[element.tag] if element.tag in _CONTENT_TAGS else ""
                kind = self._type(element, default or "text/plain", text)
                if not body.has_content:
                    body.content, body.content_is_html = text, kind != "text/plain"
                    body.content_base, body.has_content = _base(element), True
                if not body.has_summary and kind in ("text/plain", *_HTML_TYPES):
                    body.summary, body.has_summary = text, True  # no type: taken as HTML
                continue
            depth = 0 if element.getparent() is item else 1
            if summary_depth is None or depth <= summary_depth:
                kind = self._type(element, defaults[element.tag], text)
                body.summary, body.summary_is_html = text, kind != "text/plain"
                body.summary_base, body.has_summary = _base(element), True
                summary_depth = depth
        return body

    def _title(self, kids: _Kids, namespace: str) -> str:
        for name in (f"{namespace}title", f"{DC}title"):
            found = _first(kids, name)
            if found is not None:
                return self._text_of(found)
        return ""

    def _links(self, kids: _Kids) -> list[tuple[str, str, str]]:
        """(href resolved, rel, type) of each Atom link of ``node``, defaults as feedparser's."""
        found = []
        for link in kids.get(f"{ATOM}link", ()):
            attributes = _attributes(link)
            href = attributes.get("href")
            if href is None:
                continue
            rel = attributes.get("rel", "alternate").lower()
            default = "application/atom+xml" if rel == "self" else "text/html"
            kind = attributes.get("type", default).lower()
            found.append((_resolve(_base(link), href), rel, kind))
        return found

    def _rss_enclosure(self, element: Any) -> tuple[str, str | None, str | None]:
        attributes = _attributes(element)
        href = attributes.get("url") or attributes.get("href") or ""
        return href, attributes.get("type"), attributes.get("length")

    def _atom_enclosure(self, link: tuple[str, str, str]) -> tuple[str, str | None, str | None]:
        return link[0], link[2], None

    def _authors(self, kids: _Kids, names: tuple[str, ...]) -> tuple[str, ...]:
        texts = [self._text_of(e) for name in names for e in kids.get(name, ())]
        found = unique(_author_name(text) for text in texts)
        return found or unique(texts[-1:])

    def _atom_authors(self, kids: _Kids) -> tuple[str, ...]:
        names = []
        for author in kids.get(f"{ATOM}author", ()):
            name = self._text_of(author.find(f"{ATOM}name"))
            names.append(name or self._text_of(author.find(f"{ATOM}email")))
        return unique(names) or self._authors(kids, (f"{DC}creator",))

    def _rss_terms(self, kids: _Kids, namespace: str) -> Iterator[str]:
        for element in kids.get(f"{namespace}category", ()):
            yield _attributes(element).get("term") or self._text_of(element)
        yield from self._extension_terms(kids)

    def _atom_terms(self, kids: _Kids) -> Iterator[str]:
        for element in kids.get(f"{ATOM}category", ()):
            yield _attributes(element).get("term") or self._text_of(element)
        yield from self._extension_terms(kids)

    def _extension_terms(self, kids: _Kids) -> Iterator[str]:
        for element in kids.get(f"{DC}subject", ()):
            yield self._text_of(element)
        for media in MEDIA:
            for element in kids.get(f"{media}category", ()):
                yield self._text_of(element)
            for element in kids.get(f"{media}keywords", ()):
                yield from self._text_of(element).split(",")
        for element in kids.get(f"{ITUNES}category", ()):
            yield _attributes(element).get("text", "")
        for element in kids.get(f"{ITUNES}keywords", ()):
            yield from self._text_of(element).split(",")

    def _date(self, kids: _Kids, names: tuple[str, ...]) -> tuple[str | None, datetime | None]:
        """The raw text and the UTC date of the last of ``names`` present (in that order)."""
        raw = None
        for name in names:
            for element in kids.get(name, ()):
                raw = self._text_of(element) or raw
        return raw, parse_date(raw)

    def _entry_image(self, kids: _Kids) -> str | None:
        for element in kids.get(f"{ITUNES}image", ()):
            attributes = _attributes(element)
            found: str = (attributes.get("href") or attributes.get("url") or "").strip()
            if found:
                return found
        for element in _media_elements(kids, "thumbnail"):
            thumbnail: str = _attributes(element).get("url", "").strip()
            if thumbnail:
                return thumbnail
        return None

    def _feed_image(self, channel: Any, namespace: str = "") -> str | None:
        """The last image the channel names: an RSS ``<image><url>``, an ``itunes:image``, an
        Atom ``<logo>``."""
        found: str | None = None
        for element in channel:
            if element.tag == f"{namespace}image" and not self.in_atom:
                found = self._text_of(element.find(f"{namespace}url"), uri=element) or found
            elif element.tag == f"{ITUNES}image":
                attributes = _attributes(element)
                found = attributes.get("href") or attributes.get("url") or found
            elif element.tag == f"{ATOM}logo":
                found = self._text_of(element, uri=element) or found
        return found.strip() if found else None

    def _root_language(self, root: Any) -> str | None:
        language = _attributes(root).get(XML_LANG) or _attributes(root).get("lang")
        return language.replace("_", "-") if language else None


# --------------------------------------------------------------------------- helpers


def _entity_text(element: Any) -> str:
    """The text of an element whose only children are entity references libxml2 left undefined
    (in a recovered document): written out as they were. Markup inside is ``Unsupported``."""
    parts = [element.text or ""]
    for child in element:
        if not isinstance(child, etree._Entity):
            raise Unsupported(f"markup inside <{etree.QName(element).localname}>")
        parts += (child.text or "", child.tail or "")
    return "".join(parts)


def _children(node: Any) -> _Kids:
    """The child elements of ``node`` by tag, each list in document order."""
    kids: _Kids = {}
    for child in node:
        found = kids.get(child.tag)
        if found is None:
            kids[child.tag] = [child]
        else:
            found.append(child)
    return kids


def _first(kids: _Kids, tag: str) -> Any:
    found = kids.get(tag)
    return found[0] if found else None


def _media_elements(kids: _Kids, local: str) -> Iterator[Any]:
    """Media RSS ``local`` elements of an entry: its own, then those in media:group and
    media:content (feedparser reads them at any depth)."""
    for media in MEDIA:
        yield from kids.get(f"{media}{local}", ())
    for media in MEDIA:
        for holder in (*kids.get(f"{media}group", ()), *kids.get(f"{media}content", ())):
            yield from holder.iterchildren(f"{media}{local}")


def _attributes(element: Any) -> Any:
    """The attributes of ``element`` (read with ``.get``); refuses an element with more than
    ``MAX_ATTRIBUTES`` before any is read."""
    refusal: HostileDocumentError | None = too_many_attributes(element)
    if refusal is not None:
        raise refusal
    return element.attrib


def _base(element: Any) -> str | None:
    """The xml:base in effect at ``element``, resolved against the document's URL."""
    base: str | None = element.base
    return base or None


def _resolve(base: str | None, uri: str) -> str:
    """``uri`` resolved against ``base`` (``urljoin``; an absolute http(s) URL as it is)."""
    uri = uri.strip()
    if _PLAIN_ABSOLUTE.match(uri) and not uri.endswith(("?", "#")):
        return uri
    if ":///" in uri:
        uri = _SCHEME_SLASHES.sub(r"\1\3", uri)
    try:
        return urljoin(base or "", uri)
    except ValueError:
        return ""


def _unescaped_link(link: str) -> str:
    """feedparser's repair of a link whose query looks like entities (``?a=1&b;=2``)."""
    return _LINK_ENTITY.sub(r"&\g<1>", link) if "&" in link else link


def _alternate(links: list[tuple[str, str, str]]) -> str:
    """The last alternate link to an HTML page ('' if none)."""
    found = ""
    for href, rel, kind in links:
        if rel == "alternate" and kind in _HTML_TYPES:
            found = href
    return found


def _last_attribute(kids: _Kids, namespaces: tuple[str, ...], local: str, name: str) -> str | None:
    found: str | None = None
    for namespace in namespaces:
        for element in kids.get(f"{namespace}{local}", ()):
            found = _attributes(element).get(name, "").strip() or None
    return found


def _author_name(text: str) -> str:
    """The name in an RSS author such as ``jane@example.org (Jane Doe)`` ('' for an address)."""
    match = _EMAIL.search(text)
    if match is None:
        return text
    name = text.replace(match.group(0), "")
    for empty in ("()", "<>", "&lt;&gt;"):
        name = name.replace(empty, "")
    name = name.strip()
    name = name[1:] if name.startswith("(") else name
    name = name[:-1] if name.endswith(")") else name
    return name.strip()


def _looks_like_html(text: str) -> bool:
    """An RSS text holding HTML: a closing tag or an entity, every entity a real HTML one."""
    if not (_CLOSE_TAG.search(text) or _ENTITY.search(text)):
        return False
    return all(name in html.entities.entitydefs for name in _NAMED_ENTITY.findall(text))


def unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(value for value in values if value))


def unique_enclosures(
    found: list[tuple[str, str | None, str | None]],
) -> tuple[ParsedEnclosure, ...]:
    """One enclosure per href (the first), with its type and its length in bytes."""
    by_href: dict[str, ParsedEnclosure] = {}
    for written, kind, length in found:
        href = written.strip()
        if href and href not in by_href:
            by_href[href] = ParsedEnclosure(
                href, (kind or "").strip() or None, whole_number(length)
            )
    return tuple(by_href.values())


def has_media(entry: ParsedEntry) -> bool:
    return any((e.type or "").startswith(_MEDIA_TYPES) for e in entry.enclosures)


def whole_number(value: str | None) -> int | None:
    text = (value or "").strip()
    if not text or not text.isdigit() or len(text) > 18:
        return None
    return int(text)
