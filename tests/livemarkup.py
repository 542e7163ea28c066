"""What would run in a browser, found in HTML read with lxml: for checks of every output path.

``live_markup(html)`` lists, for a fragment or a whole document: script-capable or navigating
elements (script, iframe, object, embed, applet, frame(set), form, base, svg, math, link, a
refreshing ``<meta http-equiv>``), event handler attributes (``on*``), ``javascript:``,
``vbscript:`` and ``data:`` URLs in any URL attribute (after the entity decoding and whitespace a
browser forgives), and CSS that runs or loads (``expression(``, ``javascript:``, ``url(`` in a
style attribute or element). A fragment may hold no ``<style>`` or ``<meta>`` at all.
"""

from __future__ import annotations

import re

import lxml.html
from lxml import etree

LIVE_ELEMENTS = frozenset(
    {"script", "iframe", "object", "embed", "applet", "frame", "frameset", "form", "base"}
    | {"svg", "math", "link", "noscript", "template", "portal"}
)
URL_ATTRIBUTES = frozenset(
    {"href", "src", "action", "formaction", "background", "poster", "data", "srcset"}
    | {"xlink:href", "cite", "longdesc", "lowsrc", "dynsrc", "ping", "manifest", "codebase"}
)
LIVE_SCHEMES = ("javascript:", "vbscript:", "data:")
LIVE_CSS = ("expression(", "javascript:", "url(", "@import", "behavior:")
NAVIGATING_META = frozenset({"refresh", "set-cookie", "location"})
_FORGIVEN = re.compile(r"[\x00-\x20\x7f]+")


def live_url(value: str) -> bool:
    """Whether a browser would run (or render inline) ``value`` as a URL."""
    return _FORGIVEN.sub("", value).lower().startswith(LIVE_SCHEMES)


def live_css(value: str) -> bool:
    squeezed = _FORGIVEN.sub("", value).lower().replace("\\", "")
    return any(marker in squeezed for marker in LIVE_CSS)


def _element(element: etree._Element, *, document: bool) -> list[str]:
    tag = element.tag if isinstance(element.tag, str) else ""
    local = tag.rsplit("}", 1)[-1].lower()
    found = [f"<{local}>"] if local in LIVE_ELEMENTS else []
    equiv = (element.get("http-equiv") or "").lower()
    if local == "meta" and (not document or equiv in NAVIGATING_META):
        found.append(f"<meta {' '.join(element.attrib)}>")
    if local == "style" and (not document or live_css(element.text or "")):
        found.append("<style>")
    for name, value in element.attrib.items():
        bare = str(name).rsplit("}", 1)[-1].lower()
        if bare.startswith("on"):
            found.append(f"{bare}= on <{local}>")
        if (bare in URL_ATTRIBUTES or str(name).lower() in URL_ATTRIBUTES) and live_url(value):
            found.append(f"{bare}={value[:40]!r} on <{local}>")
        if bare == "style" and live_css(value):
            found.append(f"style={value[:40]!r} on <{local}>")
    return found


def live_markup(html: str, *, document: bool = False) -> list[str]:
    """Everything live in ``html``: a fragment (summary_html, feed content) or a whole page."""
    if not html.strip():
        return []
    if document:
        roots = [lxml.html.document_fromstring(html)]
    else:
        roots = [f for f in lxml.html.fragments_fromstring(html) if not isinstance(f, str)]
    return [
        problem for root in roots for e in root.iter() for problem in _element(e, document=document)
    ]
