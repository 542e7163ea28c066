"""Markup from feeds made safe: plain text for titles and summaries, sanitized HTML via nh3.

feedparser runs without its sanitizer, so everything we store from a feed passes through here:
``plain_text`` (tags stripped, script/style content dropped, entities decoded, whitespace
collapsed, bounded) and ``safe_html`` (nh3 with an allow-list: no script, style, iframe, event
handlers or ``javascript:`` URLs; relative ``href``/``src`` made absolute; bounded).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

import nh3

from service.ingest.urls import canonical_url

_BLOCK_TAG = re.compile(
    r"<(?=/?(?:p|div|br|li|ul|ol|h[1-6]|tr|td|th|table|blockquote|pre|section|article|hr|dd|dt)\b)",
    re.I,
)
_ANY_TAG = re.compile(r"<[^>]*>")
_ENTITY = re.compile(r"&(?:[A-Za-z][A-Za-z0-9]{1,31}|#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6});")
_DOUBLE_ESCAPED = re.compile(
    r"&amp;(?=(?:[A-Za-z][A-Za-z0-9]{1,31}|#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6});)"
)
# href/src values that are not already absolute. A leading \b would make re test every position;
# the word boundary is checked on each match instead (``_absolute_attribute``).
_URL_ATTRIBUTE = re.compile(r'(href|src)="(?!https?://|mailto:)([^"]*)"')
_WORD_CHARACTER = re.compile(r"\w")
_SAFE_TAGS = frozenset(nh3.ALLOWED_TAGS) - {"map", "area"}
_SAFE_ATTRIBUTES = {tag: set(names) for tag, names in nh3.ALLOWED_ATTRIBUTES.items()}
_TEXT_ONLY = nh3.Cleaner(tags=set(), strip_comments=True)
_SAFE = nh3.Cleaner(
    tags=set(_SAFE_TAGS),
    attributes=_SAFE_ATTRIBUTES,
    url_schemes={"http", "https", "mailto"},
    link_rel="noopener noreferrer nofollow",
    strip_comments=True,
)
# What storage or XML refuse: NUL and the other C0 controls (tab and newlines stay), DEL, lone
# surrogates (a JSON Feed may escape one), U+FFFE and U+FFFF.
_UNPRINTABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
ELLIPSIS = "…"


def printable(text: str) -> str:
    """``text`` without the characters PostgreSQL, UTF-8 or XML 1.0 refuse (see above)."""
    return _UNPRINTABLE.sub("", text) if _UNPRINTABLE.search(text) else text


def all_printable(texts: Iterable[str]) -> bool:
    """Whether ``printable`` would leave every one of ``texts`` as it is (one scan for all)."""
    return _UNPRINTABLE.search("\n".join(texts)) is None


def plain_text(value: str, *, is_html: bool = True, limit: int | None = None) -> str:
    """``value`` as one line of plain text: tags stripped, entities decoded, spaces collapsed.

    Entities are decoded twice when the first pass leaves entities behind, which repairs
    double-escaped feeds (``&amp;amp;``).
    """
    if not value:
        return ""
    if limit is not None:
        value = value[: limit * 8]  # markup and entities never shrink text more than that
    if "<" in value or "&" in value or value.startswith("\ufeff"):
        text = _TEXT_ONLY.clean(_BLOCK_TAG.sub(" <", value)) if is_html or "<" in value else value
        text = html.unescape(text)
        if _ENTITY.search(text):
            text = html.unescape(text)
    else:
        # No tag, no entity: the cleaner would give the text back but for whitespace (collapsed
        # below) and NUL (dropped by printable), and unescaping would change nothing. A leading
        # U+FEFF is the one character the HTML parser drops; such text takes the long way.
        text = value
    text = " ".join(printable(text).split())
    return truncate(text, limit) if limit is not None else text


def truncate(text: str, limit: int) -> str:
    """At most ``limit`` characters, cut at a word boundary with an ellipsis when cut."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip() + ELLIPSIS


def safe_html(value: str, *, is_html: bool = True, base: str | None = None, limit: int) -> str:
    """Sanitized HTML (allow-listed tags and attributes, absolute links), about ``limit`` long."""
    if not value:
        return ""
    if not is_html:
        return f"<p>{html.escape(truncate(' '.join(printable(value).split()), limit))}</p>"
    cleaned = printable(_SAFE.clean(_DOUBLE_ESCAPED.sub("&", value[:limit]))).strip()
    return _URL_ATTRIBUTE.sub(lambda match: _absolute_attribute(match, base), cleaned)


def _absolute_attribute(match: re.Match[str], base: str | None) -> str:
    start = match.start()
    if start and _WORD_CHARACTER.match(match.string, start - 1):
        return match.group()  # the end of a longer name (imgsrc, xhref): not a link
    name, raw = match.group(1), match.group(2)
    resolved = canonical_url(html.unescape(raw), base) if base else None
    if resolved is None:
        return f'{name}=""'
    return f'{name}="{html.escape(resolved)}"'


def strip_tags(value: str) -> str:
    """A cheap tag strip for counting words (not for display)."""
    return _ANY_TAG.sub(" ", value)
