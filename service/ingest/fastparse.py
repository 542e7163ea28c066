"""A fast reader for well-formed RSS 0.9x/1.0/2.0 and Atom 1.0: lxml in, feedparser's result out.

    data --convert_to_utf8 (feedparser's)--> UTF-8 --lxml, safe parser--> tree
         --walk, in document order--> FeedState + feedhandlers (feedparser's handlers, ported)
         --> the FeedParserDict feedparser.parse would return, for every key parse reads

feedparser reads a document with expat through a SAX handler whose Python code runs for every
element and every chunk of text; that is most of the time of an ingest. Here libxml2 builds the
tree in C and one Python call per element replays it into ``feedstate.FeedState``, which keeps
feedparser's semantics (see there). The text decoding is feedparser's own ``convert_to_utf8``, so
both readers see the same characters, and dates go through feedparser's own date parsers.

``read_feed`` raises ``Unsupported`` for anything it does not model, and ``parse.parse_feed`` then
lets feedparser read the document: not well-formed XML (feedparser's loose parser and its warning
apply), an unknown encoding, a root other than ``rss``, ``rdf:RDF`` or Atom 1.0 ``feed``, a
namespace prefix bound to two URIs, non-ASCII element names, XHTML or base64 content, markup
inside escaped content, elements whose feedparser handler is not ported.

The lxml parser is safe: no entity substitution, no network, no DTD loading, libxml2's default
limits on depth and text size (``huge_tree=False``). The prolog has been cleaned before
(``prolog.clean_prolog``), so there is no DOCTYPE left to declare entities anyway.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from typing import Any

from feedparser.encodings import convert_to_utf8
from feedparser.mixin import _FeedParserMixin
from feedparser.sanitizer import replace_doctype
from feedparser.urls import make_safe_absolute_uri
from feedparser.util import FeedParserDict
from lxml import etree

from service.ingest.feedhandlers import END, START
from service.ingest.feedstate import RESETS_IMAGE, RESETS_TEXTINPUT, FeedState, Unsupported
from service.ingest.isolation import too_many_attributes

__all__ = ["Unsupported", "read_feed"]

SUPPORTED_VERSIONS = frozenset(
    {"rss090", "rss091u", "rss092", "rss093", "rss094", "rss20", "rss", "rss10", "atom10"}
)
ROOT_KEYS = frozenset({"rss", "feed", "rdf_rdf"})
_MATCH_NAMESPACES: dict[str, str] = {
    uri.lower(): prefix for uri, prefix in _FeedParserMixin.namespaces.items()
}
_STANDARD_PREFIXES = frozenset(prefix for prefix in _MATCH_NAMESPACES.values() if prefix)
_USERLAND = "http://backend.userland.com/rss"
_XLINK = "http://www.w3.org/1999/xlink"
_XML_NAMESPACE = "http://www.w3.org/XML/1998/namespace"
_EMBEDDED = {("math", "http://www.w3.org/1998/Math/MathML"), ("svg", "http://www.w3.org/2000/svg")}
_VERSION_NAMESPACES = {
    "http://purl.org/rss/1.0/": "rss10",
    "http://www.w3.org/2005/atom": "atom10",
}
_ROOT_START = re.compile(rb"<[A-Za-z_:\x80-\xff]")
_NETSCAPE_RSS = "http://my.netscape.com/rdf/simple/0.9/"
# feedparser ends an image (or text input) at any unprefixed element not among these.
_IMAGE_TAGS = frozenset({"title", "link", "description", "url", "href", "width", "height"})
_TEXTINPUT_TAGS = frozenset({"title", "link", "description", "name"})


def read_feed(data: bytes, headers: Mapping[str, str]) -> Any:
    """What ``feedparser.parse(BytesIO(data), response_headers=headers, sanitize_html=False,
    resolve_relative_uris=False)`` returns, for a document this reader models; else raises
    ``Unsupported``."""
    root_start = _ROOT_START.search(data)
    if root_start is not None and b"<!" in data[: root_start.start()]:
        raise Unsupported("a DOCTYPE (clean the prolog first)")
    result = FeedParserDict(bozo=False, entries=[], feed=FeedParserDict(), headers={})
    result["headers"].update(headers)
    utf8 = convert_to_utf8(result["headers"], data, result)
    if not result["encoding"]:
        raise Unsupported("unknown character encoding", malformed=True)
    doctype_version, utf8, _ = replace_doctype(utf8)
    root, declarations = _parse_xml(utf8)
    content_location = result["headers"].get("content-location", "")
    baseuri = make_safe_absolute_uri("", content_location) or content_location
    reader = _Reader(declarations, root, baseuri)
    reader.read(root)
    version = doctype_version or reader.state.version
    if version not in SUPPORTED_VERSIONS:
        raise Unsupported(f"feed version {version or 'unknown'}")
    result["feed"] = reader.state.feeddata
    result["entries"] = reader.state.entries
    result["version"] = version
    result["namespaces"] = reader.namespaces_in_use
    return result


def _parse_xml(data: bytes) -> tuple[Any, list[tuple[str, str]]]:
    """The root element and every namespace declaration, in document order."""
    events = etree.iterparse(
        io.BytesIO(data),
        events=("start-ns",),
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        collect_ids=False,
    )
    try:
        declarations: list[tuple[str, str]] = [
            declaration for _, declaration in events if isinstance(declaration, tuple)
        ]
    except etree.XMLSyntaxError as exc:
        raise Unsupported(f"not well-formed for libxml2: {exc}", malformed=True) from exc
    if any(error.level >= etree.ErrorLevels.ERROR for error in events.error_log):
        raise Unsupported("libxml2 reported an error it recovered from", malformed=True)
    root = events.root
    if root is None:
        raise Unsupported("no root element", malformed=True)
    if root.getroottree().docinfo.doctype:
        raise Unsupported("a DOCTYPE (clean the prolog first)")
    if any(not uri for _, uri in declarations):  # xmlns="": not in nsmap, so not countable
        raise Unsupported("a namespace undeclared with an empty URI")
    return root, declarations


class _Reader:
    """One document's walk: names elements and attributes as feedparser does, feeds FeedState."""

    def __init__(self, declarations: list[tuple[str, str]], root: Any, baseuri: str) -> None:
        self.namespaces_in_use: dict[str, str] = {}
        self.namespacemap: dict[str | None, str] = {}
        self.state = FeedState(baseuri, self.namespacemap, START, END)
        self._bound: dict[str, str] = {}
        self._names: dict[str, tuple[str, str, int]] = {}
        root_count = len(root.nsmap)
        self._root_declarations = declarations[:root_count]
        self._later_declarations = declarations[root_count:]

    def read(self, root: Any) -> None:
        for prefix, uri in self._root_declarations:
            self._track(prefix, uri)
        tag, key, resets = self._name(root.tag)
        if key not in ROOT_KEYS:
            raise Unsupported(f"the root element is <{tag}>")
        attrs = self._attributes(root)
        self._root_language(tag, attrs)
        state = self.state
        state.start(tag, key, resets, attrs)
        for prefix, uri in self._later_declarations:
            self._track(prefix, uri)
        state.atom = state.version.startswith("atom")
        self._names.clear()  # names depend on every declaration: resolve them again
        self._content(root)
        state.end(key)

    def _content(self, element: Any) -> None:
        """The text and child elements of ``element``, in document order."""
        stack = self.state.stack
        if element.text and stack:
            stack[-1][2].append(element.text)
        for child in element:
            if isinstance(child.tag, str):
                self._element(child)
            if child.tail and stack:
                stack[-1][2].append(child.tail)

    def _element(self, element: Any) -> None:
        tag, key, resets = self._names.get(element.tag) or self._name(element.tag)
        if key in ROOT_KEYS:
            raise Unsupported(f"a nested <{tag}>")
        state = self.state
        if not len(element) and not element.attrib:
            state.leaf(tag, key, resets, element.text)
            return
        state.start(tag, key, resets, self._attributes(element) if element.attrib else None)
        self._content(element)
        state.end(key)

    # ------------------------------------------------------------------ namespaces

    def _track(self, prefix: str | None, uri: str) -> None:
        """feedparser's ``track_namespace``, refusing the declarations whose effect depends on
        where in the document they are."""
        if not uri:
            return
        prefix = prefix or None
        if prefix and uri == _XLINK:
            raise Unsupported("an XLink namespace declaration")
        lowered = uri.lower()
        if prefix is not None:
            if self._bound.setdefault(prefix, uri) != uri:
                raise Unsupported(f"namespace prefix {prefix} bound to two URIs")
            standard = _MATCH_NAMESPACES.get(lowered)
            if prefix in _STANDARD_PREFIXES and standard is not None and standard != prefix:
                raise Unsupported(f"namespace prefix {prefix} used for the {standard} namespace")
        state = self.state
        if not state.version:
            if prefix is None and lowered == _NETSCAPE_RSS:
                state.version = "rss090"
            else:
                state.version = _VERSION_NAMESPACES.get(lowered, "")
        if "backend.userland.com/rss" in lowered:
            uri = lowered = _USERLAND
        known = _MATCH_NAMESPACES.get(lowered)
        if known is not None:
            self.namespacemap[prefix] = known
            self.namespaces_in_use[known] = uri
        else:
            self.namespaces_in_use[prefix or ""] = uri

    def _name(self, clark: str) -> tuple[str, str, int]:
        """(feedparser's tag name such as ``dc:creator``, its handler key such as
        ``dc_creator``, the flags it resets) for an lxml tag in Clark notation."""
        if not clark.isascii():
            raise Unsupported("a non-ASCII element name")
        namespace, _, local = clark[1:].rpartition("}") if clark[0] == "{" else ("", "", clark)
        if (local, namespace) in _EMBEDDED:
            raise Unsupported(f"embedded <{local}>")
        lowered = namespace.lower()
        if "backend.userland.com/rss" in lowered:
            namespace = lowered = _USERLAND
        prefix = _MATCH_NAMESPACES.get(lowered)
        name = local.lower()
        if prefix:
            name = f"{prefix}:{name}"
        elif namespace:
            declared = next(
                (p for p, u in self.namespaces_in_use.items() if p and u == namespace), ""
            )
            name = f"{declared}:{name}" if declared else name
        name = name.lower()
        given, colon, suffix = name.partition(":")
        mapped = self.namespacemap.get(given, given) if colon else ""
        key = f"{mapped}_{suffix}" if mapped else (suffix if colon else name)
        resets = 0
        if not mapped:  # feedparser: an unprefixed element ends an image or text input
            resets |= 0 if name in _TEXTINPUT_TAGS else RESETS_TEXTINPUT
            resets |= 0 if name in _IMAGE_TAGS else RESETS_IMAGE
        self._names[clark] = (name, key, resets)
        return name, key, resets

    # ------------------------------------------------------------------ attributes

    def _attributes(self, element: Any) -> dict[str, str] | None:
        """Attributes keyed as feedparser keys them, lowercased: by the standard prefix of a
        known namespace (or the bare name), then again by the name as written (``prefix:name``);
        ``rel`` and ``type`` values lowercased. An element with more than ``MAX_ATTRIBUTES``
        refuses the document (``HostileDocumentError``) before any is read."""
        refusal = too_many_attributes(element)
        if refusal is not None:
            raise refusal
        items = element.attrib.items()
        if not items:
            return None
        found: dict[str, str] = {}
        written: list[tuple[str, str]] = []
        for name, value in items:
            if not name.isascii():
                raise Unsupported("a non-ASCII attribute name")
            if name[0] == "{":
                namespace, _, local = name[1:].partition("}")
                prefix = _MATCH_NAMESPACES.get(namespace.lower(), "")
                found[(f"{prefix}:{local}" if prefix else local).lower()] = value
                written.append((f"{_written_prefix(element, namespace)}:{local}".lower(), value))
            else:
                found[name.lower()] = value
                written.append((name.lower(), value))
        found.update(written)
        for key in ("rel", "type"):
            if key in found:
                found[key] = found[key].lower()
        return found

    def _root_language(self, tag: str, attrs: dict[str, str] | None) -> None:
        language = (attrs or {}).get("xml:lang", (attrs or {}).get("lang"))
        if language and tag in ("feed", "rss"):
            self.state.feeddata["language"] = language.replace("_", "-")


def _written_prefix(element: Any, namespace: str) -> str:
    """The prefix a namespaced attribute was written with (expat reports ``prefix:name``)."""
    if namespace == _XML_NAMESPACE:
        return "xml"
    prefixes = [prefix for prefix, uri in element.nsmap.items() if uri == namespace and prefix]
    if len(prefixes) != 1:
        raise Unsupported("a namespaced attribute whose prefix is ambiguous")
    return str(prefixes[0])
