"""The state feedparser's strict parser keeps while it reads a feed, and its element handlers.

``fastparse`` walks an lxml tree and reports each element here as ``start`` / ``text`` / ``end``,
exactly as feedparser's SAX handler (``feedparser.mixin._FeedParserMixin`` and the namespace
classes of feedparser 6.0.x) receives them from expat. ``FeedState`` re-implements what those
handlers do to the result — the element stack and its text pieces, the feed / entry / image /
text-input / source contexts, ``xml:base``, title depth, summary-versus-content, authors, tags,
links, enclosures, dates — so that the ``FeedParserDict`` it builds answers every key
``parse._feed_from`` reads the way feedparser's own result does, with its quirks kept on purpose
(a guid that is a permalink doubles as the link; a second description becomes the content; text
re-decoded when it looks like UTF-8 read as Latin-1; Windows-1252 code points mapped).

Only the handlers ported here run. An element for which feedparser has a handler that is not
ported (GeoRSS, GML, Podlove chapters, ...), an element nested inside escaped content, XHTML or
base64 content raise ``Unsupported``: the caller then lets feedparser read the whole document.
feedparser runs with ``sanitize_html=False, resolve_relative_uris=False`` in this project, so
neither is modelled. Derived from feedparser (BSD licence, Kurt McKee and Mark Pilgrim).
"""

from __future__ import annotations

import contextlib
import copy
import re
from collections import Counter
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import feedparser.api
from feedparser.datetimes import _parse_date
from feedparser.html import _cp1252
from feedparser.mixin import _FeedParserMixin
from feedparser.urls import _urljoin, make_safe_absolute_uri
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
_C1_CONTROLS = re.compile("[\x80-\x9f]")
_UNSTORED = frozenset({"category", "tags", "itunes_keywords"})
RESETS_TEXTINPUT = 1
RESETS_IMAGE = 2
_ITUNES_SCHEME = "http://www.itunes.com/"
_MEDIA_CATEGORY_SCHEME = "http://search.yahoo.com/mrss/category_schema"


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

    def __init__(self, baseuri: str, namespacemap: dict[str | None, str]) -> None:
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
        handler = START.get(key)
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
        handler = START.get(key)
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
        handler = END.get(key)
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
            output = _urljoin(self.baseuri or "", output)
        params = self.contentparams
        if params:
            if (
                not self.atom
                and params.get("type") == "text/plain"
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
        match = _EMAIL.search(author)
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


# --------------------------------------------------------------------------- structure


def _start_rss(state: FeedState, attrs: dict[str, str]) -> None:
    if not state.version or not state.version.startswith("rss"):
        given = attrs.get("version", "")
        known = {"0.91": "rss091u", "0.92": "rss092", "0.93": "rss093", "0.94": "rss094"}
        state.version = known.get(given) or ("rss20" if given.startswith("2.") else "rss")


def _start_channel(state: FeedState, attrs: dict[str, str]) -> None:
    state.infeed = 1
    _cdf_common(state, attrs)


def _cdf_common(state: FeedState, attrs: dict[str, str]) -> None:
    if "lastmod" in attrs:
        _start_updated(state, {})
        state.stack[-1][-1] = attrs["lastmod"]
        _end_updated(state)
    if "href" in attrs:
        _start_link(state, {})
        state.stack[-1][-1] = attrs["href"]
        _end_link(state)


def _start_feed(state: FeedState, attrs: dict[str, str]) -> None:
    state.infeed = 1
    if not state.version:
        known = {"0.1": "atom01", "0.2": "atom02", "0.3": "atom03"}
        state.version = known.get(attrs.get("version", "")) or "atom"


def _end_channel(state: FeedState) -> None:
    state.infeed = 0


def _start_item(state: FeedState, attrs: dict[str, str]) -> None:
    state.entries.append(Record())
    state.entry_depths.append({})
    state.push("item", 0)
    state.inentry = 1
    state.guidislink = 0
    state.title_depth = -1
    about = state.attribute(attrs, "rdf:about")
    if about:
        state.context()["id"] = about
    _cdf_common(state, attrs)


def _end_item(state: FeedState) -> None:
    state.pop("item")
    state.inentry = 0
    state.has_content = 0


def _start_image(state: FeedState, attrs: dict[str, str]) -> None:
    context = state.context()
    if not state.inentry:
        context.setdefault("image", Record())
    state.inimage = 1
    state.title_depth = -1
    state.push("image", 0)


def _end_image(state: FeedState) -> None:
    state.pop("image")
    state.inimage = 0


def _start_textinput(state: FeedState, attrs: dict[str, str]) -> None:
    state.context().setdefault("textinput", Record())
    state.intextinput = 1
    state.title_depth = -1
    state.push("textinput", 0)


def _end_textinput(state: FeedState) -> None:
    state.pop("textinput")
    state.intextinput = 0


def _start_source(state: FeedState, attrs: dict[str, str]) -> None:
    if "url" in attrs:
        state.sourcedata["href"] = attrs["url"]
    state.push("source", 1)
    state.insource = 1
    state.title_depth = -1


def _end_source(state: FeedState) -> None:
    state.insource = 0
    value = state.pop("source")
    if value:
        state.sourcedata["title"] = value
    state.context()["source"] = copy.deepcopy(state.sourcedata)
    state.sourcedata.clear()


# --------------------------------------------------------------------------- people


def _start_author(state: FeedState, attrs: dict[str, str]) -> None:
    state.inauthor = 1
    state.push("author", 1)
    context = state.context()
    context.setdefault("authors", [])
    context["authors"].append(Record())


def _end_author(state: FeedState) -> None:
    state.pop("author")
    state.inauthor = 0
    state.sync_author_detail()


def _start_contributor(state: FeedState, attrs: dict[str, str]) -> None:
    state.incontributor = 1
    context = state.context()
    context.setdefault("contributors", [])
    context["contributors"].append(Record())
    state.push("contributor", 0)


def _end_contributor(state: FeedState) -> None:
    state.pop("contributor")
    state.incontributor = 0


def _start_dc_contributor(state: FeedState, attrs: dict[str, str]) -> None:
    state.incontributor = 1
    context = state.context()
    context.setdefault("contributors", [])
    context["contributors"].append(Record())
    state.push("name", 0)


def _end_dc_contributor(state: FeedState) -> None:
    _end_name(state)
    state.incontributor = 0


def _start_name(state: FeedState, attrs: dict[str, str]) -> None:
    state.push("name", 0)


def _end_name(state: FeedState) -> None:
    value = state.pop("name")
    if state.inpublisher:
        state.save_author("name", value, "publisher")
    elif state.inauthor:
        state.save_author("name", value)
    elif state.incontributor:
        state.save_contributor("name", value)
    elif state.intextinput:
        state.context()["name"] = value


def _start_email(state: FeedState, attrs: dict[str, str]) -> None:
    state.push("email", 0)


def _end_email(state: FeedState) -> None:
    value = state.pop("email")
    if state.inpublisher:
        state.save_author("email", value, "publisher")
    elif state.inauthor:
        state.save_author("email", value)
    elif state.incontributor:
        state.save_contributor("email", value)


def _start_url(state: FeedState, attrs: dict[str, str]) -> None:
    state.push("href", 1)


def _end_url(state: FeedState) -> None:
    value = state.pop("href")
    if state.inauthor:
        state.save_author("href", value)
    elif state.incontributor:
        state.save_contributor("href", value)


def _start_webmaster(state: FeedState, attrs: dict[str, str]) -> None:
    state.push("publisher", 1)


def _end_webmaster(state: FeedState) -> None:
    state.pop("publisher")
    state.sync_author_detail("publisher")


def _start_itunes_owner(state: FeedState, attrs: dict[str, str]) -> None:
    state.inpublisher = 1
    state.push("publisher", 0)


def _end_itunes_owner(state: FeedState) -> None:
    state.pop("publisher")
    state.inpublisher = 0
    state.sync_author_detail("publisher")


# --------------------------------------------------------------------------- text constructs


def _in_feed_or_entry(state: FeedState) -> int:
    return state.infeed or state.inentry or state.insource


def _start_title(state: FeedState, attrs: dict[str, str]) -> None:
    state.push_content("title", attrs, "text/plain", _in_feed_or_entry(state))


def _end_title(state: FeedState) -> None:
    value = state.pop_content("title")
    if value:
        state.title_depth = state.depth


def _end_media_title(state: FeedState) -> None:
    title_depth = state.title_depth
    _end_title(state)
    state.title_depth = title_depth


def _start_description(state: FeedState, attrs: dict[str, str]) -> None:
    if "summary" in state.context() and not state.has_content:
        state.summary_key = "content"
        _start_content(state, attrs)
    else:
        state.push_content("description", attrs, "text/html", _in_feed_or_entry(state))


def _start_abstract(state: FeedState, attrs: dict[str, str]) -> None:
    state.push_content("description", attrs, "text/plain", _in_feed_or_entry(state))


def _end_description(state: FeedState) -> None:
    if state.summary_key == "content":
        _end_content(state)
    else:
        state.pop_content("description")
    state.summary_key = None


def _start_summary(state: FeedState, attrs: dict[str, str]) -> None:
    if "summary" in state.context() and not state.has_content:
        state.summary_key = "content"
        _start_content(state, attrs)
    else:
        state.summary_key = "summary"
        state.push_content("summary", attrs, "text/plain", 1)


def _end_summary(state: FeedState) -> None:
    if state.summary_key == "content":
        _end_content(state)
    else:
        state.pop_content(state.summary_key or "summary")
    state.summary_key = None


def _start_content(state: FeedState, attrs: dict[str, str]) -> None:
    state.has_content = 1
    state.push_content("content", attrs, "text/plain", 1)
    src = attrs.get("src")
    if src:
        state.contentparams["src"] = src
    state.push("content", 1)


def _start_body(state: FeedState, attrs: dict[str, str]) -> None:
    state.push_content("content", attrs, XHTML_TYPE, 1)


def _start_content_encoded(state: FeedState, attrs: dict[str, str]) -> None:
    state.has_content = 1
    state.push_content("content", attrs, "text/html", 1)


def _end_content(state: FeedState) -> None:
    copy_to_summary = map_content_type(state.contentparams.get("type")) in (  # type: ignore[arg-type]
        HTML_TYPES | {"text/plain"}
    )
    value = state.pop_content("content")
    if copy_to_summary:
        state.save("summary", value)


def _text_construct(tag: str) -> tuple[Handler, EndHandler]:
    """Handlers for subtitle, rights and info: plain text unless a type says otherwise."""

    def start(state: FeedState, attrs: dict[str, str]) -> None:
        state.push_content(tag, attrs, "text/plain", 1)

    def end(state: FeedState) -> None:
        state.pop_content(tag)

    return start, end


# --------------------------------------------------------------------------- dates


def _pushing(element: str) -> Handler:
    """A start handler that only pushes ``element`` (its text is expected)."""

    def start(state: FeedState, attrs: dict[str, str]) -> None:
        state.push(element, 1)

    return start


def _dated(element: str, parsed_key: str) -> EndHandler:
    """An end handler that stores the text and feedparser's parse of it as ``parsed_key``."""

    def end(state: FeedState) -> None:
        value = state.pop(element)
        state.save(parsed_key, parse_date(value), overwrite=True)

    return end


def _popping(element: str) -> EndHandler:
    """An end handler that only pops ``element`` (stored by the generic rules)."""

    def end(state: FeedState) -> None:
        state.pop(element)

    return end


def _dimension(element: str) -> EndHandler:
    """An image's width or height: a whole number, 0 when it is not one."""

    def end(state: FeedState) -> None:
        value = state.pop(element)
        try:
            number = int(value)
        except ValueError:
            number = 0
        if state.inimage:
            state.context()[element] = number

    return end


_start_updated = _pushing("updated")
_end_updated = _dated("updated", "updated_parsed")


def _end_dcterms_valid(state: FeedState) -> None:
    for validity in state.pop("validity").split(";"):
        if "=" in validity:
            key, value = validity.split("=", 1)
            if key in ("start", "end"):
                state.save(f"validity_{key}", value, overwrite=True)
                state.save(f"validity_{key}_parsed", parse_date(value), overwrite=True)


# --------------------------------------------------------------------------- links and ids


def _start_link(state: FeedState, attrs: dict[str, str]) -> None:
    attrs.setdefault("rel", "alternate")
    if attrs["rel"] == "self":
        attrs.setdefault("type", "application/atom+xml")
    else:
        attrs.setdefault("type", "text/html")
    context = state.context()
    attrs = enforce_href(attrs)
    if "href" in attrs:
        attrs["href"] = _urljoin(state.baseuri or "", attrs["href"])
    expecting_text = _in_feed_or_entry(state)
    context.setdefault("links", [])
    if not (state.inentry and state.inimage):
        context["links"].append(Record(attrs))
    if "href" in attrs:
        if attrs.get("rel") == "alternate" and map_content_type(attrs["type"]) in HTML_TYPES:
            context["link"] = attrs["href"]
    else:
        state.push("link", expecting_text)


def _end_link(state: FeedState) -> None:
    state.pop("link")


def _start_guid(state: FeedState, attrs: dict[str, str]) -> None:
    state.guidislink = attrs.get("ispermalink", "true") == "true"
    state.push("id", 1)


def _end_guid(state: FeedState) -> None:
    value = state.pop("id")
    state.save("guidislink", state.guidislink and "link" not in state.context())
    if state.guidislink:
        state.save("link", value)


def _start_enclosure(state: FeedState, attrs: dict[str, str]) -> None:
    attrs = enforce_href(attrs)
    context = state.context()
    attrs["rel"] = "enclosure"
    context.setdefault("links", []).append(Record(attrs))


def _start_generator(state: FeedState, attrs: dict[str, str]) -> None:
    if attrs:
        attrs = enforce_href(attrs)
        if "href" in attrs:
            attrs["href"] = _urljoin(state.baseuri or "", attrs["href"])
    state.context()["generator_detail"] = Record(attrs)
    state.push("generator", 1)


def _end_generator(state: FeedState) -> None:
    value = state.pop("generator")
    context = state.context()
    if "generator_detail" in context:
        context["generator_detail"]["name"] = value


def _start_cloud(state: FeedState, attrs: dict[str, str]) -> None:
    state.context()["cloud"] = Record(attrs)


def _end_newlocation(state: FeedState) -> None:
    url = state.pop("newlocation")
    context = state.context()
    if context is state.feeddata:
        context["newlocation"] = make_safe_absolute_uri(state.baseuri, url.strip())


def _license_link(state: FeedState, href: str | None) -> None:
    link = Record()
    link["rel"] = "license"
    if href:
        link["href"] = href
    state.context().setdefault("links", []).append(link)


def _start_cc_license(state: FeedState, attrs: dict[str, str]) -> None:
    _license_link(state, state.attribute(attrs, "rdf:resource"))


def _end_creativecommons_license(state: FeedState) -> None:
    value = state.pop("license")
    _license_link(state, value)
    del state.context()["license"]


def _rdf_resource(element: str) -> Handler:
    """admin:generatorAgent and admin:errorReportsTo: their ``rdf:resource`` is their text."""

    def start(state: FeedState, attrs: dict[str, str]) -> None:
        state.push(element, 1)
        value = state.attribute(attrs, "rdf:resource")
        if value:
            state.stack[-1][2].append(value)
        state.pop(element)
        if element == "generator":
            state.context()["generator_detail"] = Record({"href": value})

    return start


# --------------------------------------------------------------------------- categories


def _start_category(state: FeedState, attrs: dict[str, str]) -> None:
    scheme = attrs.get("scheme", attrs.get("domain"))
    state.add_tag(attrs.get("term"), scheme, attrs.get("label"))
    state.push("category", 1)


def _end_category(state: FeedState) -> None:
    value = state.pop("category")
    if not value:
        return
    tags = state.context()["tags"]
    if value and len(tags) and not tags[-1]["term"]:
        state.name_last_tag(tags, value)
    else:
        state.add_tag(value, None, None)


def _start_media_category(state: FeedState, attrs: dict[str, str]) -> None:
    attrs.setdefault("scheme", _MEDIA_CATEGORY_SCHEME)
    _start_category(state, attrs)


def _start_itunes_category(state: FeedState, attrs: dict[str, str]) -> None:
    state.add_tag(attrs.get("text"), _ITUNES_SCHEME, None)
    state.push("category", 1)


def _keywords(element: str, scheme: str | None) -> EndHandler:
    """An end handler adding each comma-separated keyword as a tag."""

    def end(state: FeedState) -> None:
        for term in state.pop(element).split(","):
            if term.strip():
                state.add_tag(term.strip(), scheme, None)

    return end


def _end_tags(state: FeedState) -> None:
    for term in state.pop("tags").split(","):
        state.add_tag(term.strip(), None, None)


# --------------------------------------------------------------------------- iTunes


def _start_itunes_image(state: FeedState, attrs: dict[str, str]) -> None:
    state.push("itunes_image", 0)
    href = attrs.get("href") or attrs.get("url")
    if href:
        state.context()["image"] = Record({"href": href})


def _end_itunes_block(state: FeedState) -> None:
    value = state.pop("itunes_block", 0)
    state.context()["itunes_block"] = 1 if value in ("yes", "Yes") else 0


def _end_itunes_explicit(state: FeedState) -> None:
    value = state.pop("itunes_explicit", 0)
    state.context()["itunes_explicit"] = (None, False, True)[
        (value == "yes" and 2) or value == "clean" or 0
    ]


# --------------------------------------------------------------------------- Media RSS


def _start_media_group(state: FeedState, attrs: dict[str, str]) -> None:
    return


def _start_media_content(state: FeedState, attrs: dict[str, str]) -> None:
    state.context().setdefault("media_content", []).append(attrs)


def _start_media_thumbnail(state: FeedState, attrs: dict[str, str]) -> None:
    context = state.context()
    context.setdefault("media_thumbnail", [])
    state.push("url", 1)
    context["media_thumbnail"].append(attrs)


def _end_media_thumbnail(state: FeedState) -> None:
    url = state.pop("url")
    context = state.context()
    if url is not None and url.strip() and "url" not in context["media_thumbnail"][-1]:
        context["media_thumbnail"][-1]["url"] = url


def _media_attributes(
    key: str, element: str, content: Callable[[str], Any]
) -> tuple[Handler, EndHandler]:
    """media:rating, media:restriction, media:license: attributes kept, text as ``content``."""

    def start(state: FeedState, attrs: dict[str, str]) -> None:
        state.context().setdefault(key, attrs)
        state.push(element, 1)

    def end(state: FeedState) -> None:
        value = state.pop(element)
        if value is not None and value.strip():
            state.context()[key]["content"] = content(value)

    return start, end


def _start_media_credit(state: FeedState, attrs: dict[str, str]) -> None:
    state.context().setdefault("media_credit", []).append(attrs)
    state.push("credit", 1)


def _end_media_credit(state: FeedState) -> None:
    credit = state.pop("credit")
    if credit is not None and credit.strip():
        state.context()["media_credit"][-1]["content"] = credit


def _start_media_player(state: FeedState, attrs: dict[str, str]) -> None:
    state.push("media_player", 0)
    state.context()["media_player"] = Record(attrs)


def _end_media_player(state: FeedState) -> None:
    value = state.pop("media_player")
    state.context()["media_player"]["content"] = value


def _restriction(value: str) -> list[str]:
    return [code.strip().lower() for code in value.split(" ")]


def _same(value: str) -> str:
    return value


# --------------------------------------------------------------------------- tables

_subtitle = _text_construct("subtitle")
_rights = _text_construct("rights")
_info = _text_construct("info")
_rating = _media_attributes("media_rating", "rating", _same)
_restriction_handlers = _media_attributes("media_restriction", "restriction", _restriction)
_license = _media_attributes("media_license", "license", _same)

START: dict[str, Handler] = {
    "rss": _start_rss,
    "channel": _start_channel,
    "feed": _start_feed,
    "item": _start_item,
    "entry": _start_item,
    "image": _start_image,
    "textinput": _start_textinput,
    "source": _start_source,
    "author": _start_author,
    "managingeditor": _start_author,
    "dc_author": _start_author,
    "dc_creator": _start_author,
    "itunes_author": _start_author,
    "contributor": _start_contributor,
    "dc_contributor": _start_dc_contributor,
    "name": _start_name,
    "itunes_name": _start_name,
    "email": _start_email,
    "itunes_email": _start_email,
    "url": _start_url,
    "homepage": _start_url,
    "uri": _start_url,
    "webmaster": _start_webmaster,
    "dc_publisher": _start_webmaster,
    "itunes_owner": _start_itunes_owner,
    "width": _pushing("width"),
    "height": _pushing("height"),
    "title": _start_title,
    "dc_title": _start_title,
    "media_title": _start_title,
    "description": _start_description,
    "dc_description": _start_description,
    "media_description": _start_description,
    "abstract": _start_abstract,
    "summary": _start_summary,
    "itunes_summary": _start_summary,
    "content": _start_content,
    "body": _start_body,
    "xhtml_body": _start_body,
    "content_encoded": _start_content_encoded,
    "fullitem": _start_content_encoded,
    "subtitle": _subtitle[0],
    "tagline": _subtitle[0],
    "itunes_subtitle": _subtitle[0],
    "rights": _rights[0],
    "copyright": _rights[0],
    "dc_rights": _rights[0],
    "info": _info[0],
    "feedburner_browserfriendly": _info[0],
    "language": _pushing("language"),
    "dc_language": _pushing("language"),
    "published": _pushing("published"),
    "issued": _pushing("published"),
    "pubdate": _pushing("published"),
    "dcterms_issued": _pushing("published"),
    "updated": _start_updated,
    "modified": _start_updated,
    "lastbuilddate": _start_updated,
    "dc_date": _start_updated,
    "dcterms_modified": _start_updated,
    "created": _pushing("created"),
    "dcterms_created": _pushing("created"),
    "expirationdate": _pushing("expired"),
    "dcterms_valid": _pushing("validity"),
    "link": _start_link,
    "guid": _start_guid,
    "id": _start_guid,
    "enclosure": _start_enclosure,
    "generator": _start_generator,
    "cloud": _start_cloud,
    "newlocation": _pushing("newlocation"),
    "cc_license": _start_cc_license,
    "creativecommons_license": _pushing("license"),
    "admin_generatoragent": _rdf_resource("generator"),
    "admin_errorreportsto": _rdf_resource("errorreportsto"),
    "category": _start_category,
    "keywords": _start_category,
    "dc_subject": _start_category,
    "media_category": _start_media_category,
    "itunes_category": _start_itunes_category,
    "tags": _pushing("tags"),
    "itunes_image": _start_itunes_image,
    "itunes_link": _start_itunes_image,
    "media_group": _start_media_group,
    "media_content": _start_media_content,
    "media_thumbnail": _start_media_thumbnail,
    "media_rating": _rating[0],
    "media_credit": _start_media_credit,
    "media_restriction": _restriction_handlers[0],
    "media_license": _license[0],
    "media_player": _start_media_player,
}

END: dict[str, EndHandler] = {
    "channel": _end_channel,
    "feed": _end_channel,
    "item": _end_item,
    "entry": _end_item,
    "image": _end_image,
    "textinput": _end_textinput,
    "source": _end_source,
    "author": _end_author,
    "managingeditor": _end_author,
    "dc_author": _end_author,
    "dc_creator": _end_author,
    "itunes_author": _end_author,
    "contributor": _end_contributor,
    "dc_contributor": _end_dc_contributor,
    "name": _end_name,
    "itunes_name": _end_name,
    "email": _end_email,
    "itunes_email": _end_email,
    "url": _end_url,
    "homepage": _end_url,
    "uri": _end_url,
    "webmaster": _end_webmaster,
    "dc_publisher": _end_webmaster,
    "itunes_owner": _end_itunes_owner,
    "width": _dimension("width"),
    "height": _dimension("height"),
    "title": _end_title,
    "dc_title": _end_title,
    "media_title": _end_media_title,
    "description": _end_description,
    "dc_description": _end_description,
    "media_description": _end_description,
    "abstract": _end_description,
    "summary": _end_summary,
    "itunes_summary": _end_summary,
    "content": _end_content,
    "body": _end_content,
    "xhtml_body": _end_content,
    "content_encoded": _end_content,
    "fullitem": _end_content,
    "subtitle": _subtitle[1],
    "tagline": _subtitle[1],
    "itunes_subtitle": _subtitle[1],
    "rights": _rights[1],
    "copyright": _rights[1],
    "dc_rights": _rights[1],
    "info": _info[1],
    "feedburner_browserfriendly": _info[1],
    "language": _popping("language"),
    "dc_language": _popping("language"),
    "published": _dated("published", "published_parsed"),
    "issued": _dated("published", "published_parsed"),
    "pubdate": _dated("published", "published_parsed"),
    "dcterms_issued": _dated("published", "published_parsed"),
    "updated": _end_updated,
    "modified": _end_updated,
    "lastbuilddate": _end_updated,
    "dc_date": _end_updated,
    "dcterms_modified": _end_updated,
    "created": _dated("created", "created_parsed"),
    "dcterms_created": _dated("created", "created_parsed"),
    "expirationdate": _dated("expired", "expired_parsed"),
    "dcterms_valid": _end_dcterms_valid,
    "link": _end_link,
    "guid": _end_guid,
    "id": _end_guid,
    "generator": _end_generator,
    "newlocation": _end_newlocation,
    "creativecommons_license": _end_creativecommons_license,
    "category": _end_category,
    "keywords": _end_category,
    "dc_subject": _end_category,
    "media_category": _end_category,
    "itunes_category": _end_category,
    "itunes_keywords": _keywords("itunes_keywords", _ITUNES_SCHEME),
    "media_keywords": _keywords("media_keywords", None),
    "tags": _end_tags,
    "itunes_block": _end_itunes_block,
    "itunes_explicit": _end_itunes_explicit,
    "media_thumbnail": _end_media_thumbnail,
    "media_rating": _rating[1],
    "media_credit": _end_media_credit,
    "media_restriction": _restriction_handlers[1],
    "media_license": _license[1],
    "media_player": _end_media_player,
}
