"""The state feedparser's strict parser keeps while it reads a feed.

``fastparse`` walks an lxml tree and reports each element here as ``start`` / ``text`` / ``end``,
exactly as feedparser's SAX handler (``feedparser.mixin._FeedParserMixin`` and the namespace
classes of feedparser 6.0.x) receives them from expat. ``FeedState`` re-implements what those
handlers do to the result — the element stack and its text pieces, the feed / entry / image /
text-input / source contexts, ``xml:base``, title depth, summary-versus-content, authors, tags,
links, enclosures, dates — so that the ``FeedParserDict`` it builds answers every key
``parse._feed_from`` reads the way feedparser's own result does, with its quirks kept on purpose
(a guid that is a permalink doubles as the link; a second description becomes the content; text
re-decoded when it looks like UTF-8 read as Latin-1; Windows-1252 code points mapped).

The element handlers themselves are in ``feedelements`` (RSS, RDF, Atom) and ``feedextensions``
(categories, iTunes, Media RSS); ``feedhandlers`` maps element names to them. Only ported handlers
run: an element for which feedparser has a handler that is not ported (GeoRSS, GML, Podlove
chapters, ...), an element nested inside escaped content, XHTML or base64 content raise
``Unsupported``, and the caller lets feedparser read the whole document.
feedparser runs with ``sanitize_html=False, resolve_relative_uris=False`` in this project, so
neither is modelled. Derived from feedparser (BSD licence, Kurt McKee and Mark Pilgrim).
"""

from __future__ import annotations

import contextlib
import re
from collections import Counter
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import urljoin

import feedparser.api
from feedparser.datetimes import _parse_date
from feedparser.html import _cp1252
from feedparser.mixin import _FeedParserMixin
from feedparser.urls import _urifixer, _urljoin, make_safe_absolute_uri
from feedparser.util import FeedParserDict

HTML_TYPES = frozenset({"application/xhtml+xml", "text/html"})
XHTML_TYPE = "application/xhtml+xml"
CAN_BE_RELATIVE_URI = frozenset(_FeedParserMixin.can_be_relative_uri)
# The handlers feedparser has, to know which elements it does not treat as plain ones.
FEEDPARSER_STARTS = frozenset(
    name.removeprefix("_start_")
    for name in dir(feedparser.api.StrictFeedParser)
    if name.startswith("_start_")
)
FEEDPARSER_ENDS = frozenset(
    name.removeprefix("_end_")
    for name in dir(feedparser.api.StrictFeedParser)
    if name.startswith("_end_")
)
_ENTITY_IN_LINK = re.compile("&([A-Za-z0-9_]+);")
_EMAIL = re.compile(
    r"""(([a-zA-Z0-9\_\-\.\+]+)@((\[[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.)|(([a-zA-Z0-9\-]+\.)+))"""
    r"""([a-zA-Z]{2,4}|[0-9]{1,3})(\]?))(\?subject=\S+)?"""
)
_KEYMAP: dict[str, str | list[str]] = FeedParserDict.keymap
# The key FeedParserDict stores each remapped key under (the first of a list).
_STORED_AS = {key: value[0] if isinstance(value, list) else value for key, value in _KEYMAP.items()}
_URI_FIXER: re.Pattern[str] = _urifixer
_C1_CONTROLS = re.compile("[\x80-\x9f]")
_UNSTORED = frozenset({"category", "tags", "itunes_keywords"})
RESETS_TEXTINPUT = 1
RESETS_IMAGE = 2


class Unsupported(Exception):
    """The document uses something the fast reader does not model: feedparser must read it.

    ``malformed``: libxml2 refused the bytes (or their encoding is unknown), so feedparser's
    strict parser will most likely refuse them too."""

    def __init__(self, reason: str, *, malformed: bool = False) -> None:
        super().__init__(reason)
        self.malformed = malformed


@lru_cache(maxsize=4096)
def parse_date(value: str | None) -> Any:
    """feedparser's own date parser (a ``time.struct_time`` in UTC, or None), memoized."""
    return _parse_date(value)


def join_uri(base: str, uri: str) -> str:
    """feedparser's ``urls._urljoin``: extra slashes after ``scheme://`` dropped, then urljoin
    ('' when it raises). Its regular expression can only change a URI holding ``:///``."""
    if ":///" in uri:
        uri = _URI_FIXER.sub(r"\1\3", uri)
    try:
        return urljoin(base, uri)
    except ValueError:
        return ""


@lru_cache(maxsize=1024)
def rebase(current: str, given: str) -> str:
    """The base URI after an element whose (inherited or own) ``xml:base`` is ``given``."""
    if current:
        return make_safe_absolute_uri(current, given) or current
    return _urljoin(current, given)  # type: ignore[no-any-return]


_SHORT_TYPES = {
    "text": "text/plain",
    "plain": "text/plain",
    "html": "text/html",
    "xhtml": XHTML_TYPE,
}


def map_content_type(value: str) -> str:
    """A content ``type`` attribute as a MIME type (Atom's ``text``/``html``/``xhtml`` mapped)."""
    lowered = value.lower()
    return _SHORT_TYPES.get(lowered, lowered)


def repair_text(output: str) -> str:
    """UTF-8 that was read as Latin-1 decoded again, Windows-1252 code points mapped."""
    if output.isascii():
        return output  # both steps leave ASCII as it is
    with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
        output = output.encode("iso-8859-1").decode("utf-8")
    # str.translate with a dict looks up every character: only run it when it has work.
    return output.translate(_cp1252) if _C1_CONTROLS.search(output) else output


class Record(dict[str, Any]):
    """A dict that stores keys as ``FeedParserDict`` does (``guid`` as ``id``, ``url`` as ``href``,
    ``date`` as ``updated`` ...). Reads are plain dict reads: for every key the handlers here and
    ``parse`` read, they answer as ``FeedParserDict`` would, at C speed."""

    __slots__ = ()

    def __setitem__(self, key: str, value: Any) -> None:
        dict.__setitem__(self, _STORED_AS.get(key, key), value)

    def setdefault(self, key: str, default: Any = None) -> Any:
        return dict.setdefault(self, _STORED_AS.get(key, key), default)


def enforce_href(attrs: dict[str, str]) -> dict[str, str]:
    href = attrs.get("url", attrs.get("uri", attrs.get("href")))
    if href:
        attrs.pop("url", None)
        attrs.pop("uri", None)
        attrs["href"] = href
    return attrs


class FeedState:
    """What feedparser's handler tracks while reading one document, and what it builds."""

    def __init__(
        self,
        baseuri: str,
        namespacemap: dict[str | None, str],
        starts: Mapping[str, Handler],
        ends: Mapping[str, EndHandler],
    ) -> None:
        self.starts = starts  # element key -> what its start does (feedhandlers.START)
        self.ends = ends
        self.baseuri = baseuri
        self.namespacemap = namespacemap
        self.version = ""
        self.feeddata: Any = Record()
        self.entries: list[Any] = []
        self.infeed = self.inentry = self.incontent = self.intextinput = 0
        self.inimage = self.inauthor = self.incontributor = self.inpublisher = self.insource = 0
        self.sourcedata: Any = Record()
        self.contentparams: dict[str, Any] = {}
        self.summary_key: str | None = None
        self.stack: list[list[Any]] = []
        self.basestack: list[str] = []
        self.title_depth = -1
        self.depth = 0
        self.has_content = 0
        self.guidislink: Any = 0
        self.entry_depths: list[dict[str, int]] = []  # property depths, beside ``entries``
        self.atom = False  # the version is Atom (set once the namespaces are known)
        self.fixed_bases: set[str] = set()  # bases an element without xml:base leaves as they are
        self.tag_counts: dict[int, tuple[list[Any], Counter[tuple[Any, Any, Any]]]] = {}

    # ------------------------------------------------------------------ events

    def start(self, tag: str, key: str, resets: int, attrs: dict[str, str] | None) -> None:
        """An element opens: ``tag`` as feedparser names it (``dc:creator``), ``key`` its
        handler name (``dc_creator``), ``resets`` which of the image / text-input flags an
        unprefixed element clears (``RESETS_*``), ``attrs`` its attributes or None."""
        self.depth += 1
        base = self.baseuri
        if attrs is None:
            attrs = {}
            if base not in self.fixed_bases:
                rebased = rebase(base, base)
                if rebased == base:
                    self.fixed_bases.add(base)
                base = self.baseuri = rebased
        else:
            base = self.baseuri = rebase(base, attrs.get("xml:base", attrs.get("base")) or base)
        self.basestack.append(base)
        if self.incontent:
            raise Unsupported("an element inside content")
        if resets:
            if resets & RESETS_TEXTINPUT:
                self.intextinput = 0
            if resets & RESETS_IMAGE:
                self.inimage = 0
        handler = self.starts.get(key)
        if handler is None:
            if key in FEEDPARSER_STARTS:
                raise Unsupported(f"<{tag}> has a feedparser start handler that is not ported")
            self._start_unknown(key, attrs)
            return
        try:
            handler(self, attrs)
        except AttributeError:  # feedparser treats these as unknown elements too
            self._start_unknown(key, attrs)

    def leaf(self, tag: str, key: str, resets: int, text: str | None) -> None:
        """An element without attributes or child elements, and its text: ``start``, the text
        and ``end`` in one call. Where the base URI is one an element leaves as it is, the
        base stack need not be touched."""
        if self.baseuri not in self.fixed_bases:
            self.start(tag, key, resets, None)
            if text and self.stack:
                self.stack[-1][2].append(text)
            self.end(key)
            return
        self.depth += 1
        if self.incontent:
            raise Unsupported("an element inside content")
        if resets:
            if resets & RESETS_TEXTINPUT:
                self.intextinput = 0
            if resets & RESETS_IMAGE:
                self.inimage = 0
        handler = self.starts.get(key)
        if handler is None:
            if key in FEEDPARSER_STARTS:
                raise Unsupported(f"<{tag}> has a feedparser start handler that is not ported")
            self.stack.append([key, 1, []])
        else:
            try:
                handler(self, {})
            except AttributeError:
                self._start_unknown(key, {})
        if text and self.stack:
            self.stack[-1][2].append(text)
        self._close(key)
        self.depth -= 1

    def _start_unknown(self, key: str, attrs: dict[str, str]) -> None:
        if attrs:
            self.context()[key] = attrs
        else:
            self.stack.append([key, 1, []])

    def end(self, key: str) -> None:
        self._close(key)
        basestack = self.basestack
        basestack.pop()
        if basestack and basestack[-1]:
            self.baseuri = basestack[-1]
        self.depth -= 1

    def _close(self, key: str) -> None:
        handler = self.ends.get(key)
        if handler is None:
            if key in FEEDPARSER_ENDS:
                raise Unsupported(f"the end of {key} has a feedparser handler that is not ported")
            self.pop(key)
        else:
            try:
                handler(self)
            except AttributeError:
                self.pop(key)
        if self.incontent:
            raise Unsupported("an element inside content")

    # ------------------------------------------------------------------ stack

    def push(self, element: str, expecting_text: Any) -> None:
        self.stack.append([element, expecting_text, []])

    def pop(self, element: str, strip_whitespace: int = 1) -> Any:
        stack = self.stack
        if not stack or stack[-1][0] != element:
            return None
        _, expecting_text, pieces = stack.pop()
        output = pieces[0] if len(pieces) == 1 else "".join(pieces)
        if strip_whitespace:
            output = output.strip()
        if not expecting_text:
            return output
        if output and element in CAN_BE_RELATIVE_URI and (element != "id" or self.guidislink):
            output = join_uri(self.baseuri or "", output)
        params = self.contentparams
        if params:
            if (
                not self.atom
                and params.get("type") == "text/plain"
                and ("<" in output or "&" in output)  # looks_like_html needs a tag or an entity
                and _FeedParserMixin.looks_like_html(output)
            ):
                params["type"] = "text/html"
            params.pop("base64", None)
        if not output.isascii():
            output = repair_text(output)
        if element in _UNSTORED:
            return output
        if element == "title" and -1 < self.title_depth <= self.depth:
            return output
        if self.inentry and not self.insource:
            self._store_in_entry(element, output)
        elif self.infeed or self.insource:
            self._store_in_context(element, output)
        return output

    def _store_in_entry(self, element: str, output: str) -> None:
        entry = self.entries[-1]
        if element == "content":
            entry.setdefault(element, [])
            entry[element].append(self._detail(output))
        elif element == "link":
            if not self.inimage:
                if "&" in output:
                    output = _ENTITY_IN_LINK.sub(r"&\g<1>", output.replace("&amp;", "&"))
                entry[element] = output
                if output:
                    entry["links"][-1]["href"] = output
        else:
            if element == "description":
                element = "summary"
            depths = self.entry_depths[-1]
            old_depth = depths.get(element)
            if old_depth is None or self.depth <= old_depth:
                depths[element] = self.depth
                entry[element] = output
            if self.incontent:
                entry[element + "_detail"] = self._detail(output)

    def _store_in_context(self, element: str, output: str) -> None:
        context = self.context()
        if element == "description":
            element = "subtitle"
        context[element] = output
        if element == "link":
            if "&" in output:
                output = _ENTITY_IN_LINK.sub(r"&\g<1>", output)
            context[element] = output
            context["links"][-1]["href"] = output
        elif self.incontent:
            context[element + "_detail"] = self._detail(output)

    def _detail(self, output: str) -> Any:
        detail = Record(self.contentparams)
        detail["value"] = output
        return detail

    def push_content(
        self, tag: str, attrs_d: dict[str, str], default_type: str, expecting_text: Any
    ) -> None:
        self.incontent += 1
        content_type = map_content_type(attrs_d.get("type", default_type))
        if content_type == XHTML_TYPE or attrs_d.get("mode", "") == "base64":
            raise Unsupported("XHTML or base64 content")
        if not content_type.startswith("text/") and not content_type.endswith(("+xml", "/xml")):
            raise Unsupported("base64 content")
        self.contentparams = {"type": content_type, "base": self.baseuri, "base64": 0}
        self.push(tag, expecting_text)

    def pop_content(self, tag: str) -> Any:
        value = self.pop(tag)
        self.incontent -= 1
        self.contentparams.clear()
        return value

    # ------------------------------------------------------------------ contexts

    def context(self) -> Any:
        if self.insource:
            return self.sourcedata
        if self.inimage and "image" in self.feeddata:
            return self.feeddata["image"]
        if self.intextinput:
            return self.feeddata["textinput"]
        if self.inentry:
            return self.entries[-1]
        return self.feeddata

    def save(self, key: str, value: Any, overwrite: bool = False) -> None:
        context = self.context()
        if overwrite:
            context[key] = value
        else:
            context.setdefault(key, value)

    def attribute(self, attrs_d: dict[str, str], name: str) -> str | None:
        prefix, colon, suffix = name.partition(":")
        if colon:
            name = f"{self.namespacemap.get(prefix, prefix)}:{suffix}"
        return attrs_d.get(name)

    def save_author(self, key: str, value: Any, prefix: str = "author") -> None:
        context = self.context()
        context.setdefault(prefix + "_detail", Record())
        context[prefix + "_detail"][key] = value
        self.sync_author_detail()
        context.setdefault("authors", [Record()])
        context["authors"][-1][key] = value

    def save_contributor(self, key: str, value: Any) -> None:
        context = self.context()
        context.setdefault("contributors", [Record()])
        context["contributors"][-1][key] = value

    def sync_author_detail(self, key: str = "author") -> None:
        context = self.context()
        detail = context.get(f"{key}s", [Record()])[-1]
        if detail:
            name, email = detail.get("name"), detail.get("email")
            if name and email:
                context[key] = f"{name} ({email})"
            elif name:
                context[key] = name
            elif email:
                context[key] = email
            return
        author, email = context.get(key), None
        if not author:
            return
        match = _EMAIL.search(author) if "@" in author else None
        if match:
            email = match.group(0)
            author = author.replace(email, "").replace("()", "").replace("<>", "")
            author = author.replace("&lt;&gt;", "").strip()
            if author and author[0] == "(":
                author = author[1:]
            if author and author[-1] == ")":
                author = author[:-1]
            author = author.strip()
        if author or email:
            context.setdefault(f"{key}_detail", detail)
        if author:
            detail["name"] = author
        if email:
            detail["email"] = email

    def add_tag(self, term: Any, scheme: Any, label: Any) -> None:
        tags = self.context().setdefault("tags", [])
        if not term and not scheme and not label:
            return
        seen = self._tag_counts(tags)
        key = (term, scheme, label)
        if not seen[key]:  # feedparser: ``if value not in tags`` (a linear scan per tag)
            tags.append(Record(term=term, scheme=scheme, label=label))
            seen[key] += 1

    def name_last_tag(self, tags: list[Any], term: str) -> None:
        """Give the last tag (which had no term) its term, as ``<category>`` text does."""
        seen = self._tag_counts(tags)
        last = tags[-1]
        seen[(last["term"], last["scheme"], last["label"])] -= 1
        last["term"] = term
        seen[(term, last["scheme"], last["label"])] += 1

    def _tag_counts(self, tags: list[Any]) -> Counter[tuple[Any, Any, Any]]:
        """How many times each (term, scheme, label) is in ``tags``, kept beside the list."""
        if not isinstance(tags, list):
            raise Unsupported("tags that are not a list")
        pinned = self.tag_counts.get(id(tags))
        if pinned is None or pinned[0] is not tags:
            counts = Counter((tag["term"], tag["scheme"], tag["label"]) for tag in tags)
            pinned = self.tag_counts[id(tags)] = (tags, counts)  # the list pinned: ids stay
        return pinned[1]


Handler = Callable[[FeedState, dict[str, str]], None]
EndHandler = Callable[[FeedState], None]
