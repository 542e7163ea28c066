"""Values made safe for a document: XML-legal text, inert titles, web URLs, sanitized HTML.

- ``xml_text``: drops the characters XML 1.0 forbids (C0 controls, lone surrogates, U+FFFE/F),
  which lxml would otherwise refuse, and those it discourages (DEL and the C1 controls, which
  readers "repair" as Windows-1252: U+0080 would come out as €).
- ``inert_title``: a title holding something a browser would parse as a tag (``<script``,
  ``</b``, ``<!--``) gets single angle quotes instead (‹script›), so it stays inert even in a
  reader that renders RSS titles as HTML; other titles are kept exactly.
- ``web_url``: an absolute http(s) URL without whitespace or control characters, else None
  (``javascript:``, ``data:`` and relative URLs are never linked).
- ``clean_html``: nh3 with an allow-list (no script, style, iframe, form, event handler or
  ``javascript:`` URL); links get ``rel="noopener noreferrer nofollow"``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.utils import format_datetime
from urllib.parse import urlsplit

import nh3

_NOT_XML = re.compile("[^\t\n\r\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_TAG_LIKE = re.compile(r"<(?=[A-Za-z/!?])")
_BAD_URL_CHARS = re.compile(r"[\x00-\x20\x7f<>\"\\^`{|}]")
_ALLOWED_TAGS = frozenset(nh3.ALLOWED_TAGS) - {"map", "area"}
_CLEANER = nh3.Cleaner(
    tags=set(_ALLOWED_TAGS),
    attributes={tag: set(names) for tag, names in nh3.ALLOWED_ATTRIBUTES.items()},
    url_schemes={"http", "https", "mailto"},
    link_rel="noopener noreferrer nofollow",
    strip_comments=True,
)


def xml_text(value: str) -> str:
    """``value`` without the characters XML 1.0 does not allow."""
    return _NOT_XML.sub("", value)


def inert_title(value: str) -> str:
    """A one-line title that no reader can turn into markup (see the module docstring)."""
    text = " ".join(xml_text(value).split())
    if not _TAG_LIKE.search(text):
        return text
    return _TAG_LIKE.sub("‹", text).replace(">", "›")


def web_url(value: str | None) -> str | None:
    """``value`` if it is an absolute http(s) URL we may link to, else None."""
    if not value or len(value) > 4096 or _BAD_URL_CHARS.search(value):
        return None
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return value


def clean_html(value: str) -> str:
    """Sanitized HTML (the allow-list of the module docstring), XML-legal."""
    return xml_text(_CLEANER.clean(value)) if value else ""


def rfc822(moment: datetime) -> str:
    """An RSS date: ``Fri, 20 Nov 2026 12:00:00 GMT``."""
    return format_datetime(moment.astimezone(UTC).replace(microsecond=0), usegmt=True)


def rfc3339(moment: datetime) -> str:
    """An Atom / JSON Feed date: ``2026-11-20T12:00:00Z``."""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
