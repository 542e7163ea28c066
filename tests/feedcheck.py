"""Checks of generated feeds, independent of the code that makes them.

- ``rss_problems`` / ``atom_problems``: the elements RSS 2.0 and RFC 4287 require, read with lxml;
- ``json_feed_problems``: the fields JSON Feed 1.1 requires, and the types of those we use;
- ``markup_problems``: what would make HTML live in a browser (script-like elements, event
  handler attributes, ``javascript:`` / ``data:`` / ``vbscript:`` URLs), read with lxml.html;
- ``hostile_problems``: ``markup_problems`` over every text of a document a reader might render
  as HTML, and over the XML tree itself.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

import lxml.html
from lxml import etree

ATOM = "{http://www.w3.org/2005/Atom}"
ITUNES = "{http://www.itunes.com/dtds/podcast-1.0.dtd}"
JSON_FEED_11 = "https://jsonfeed.org/version/1.1"
LIVE_ELEMENTS = {"script", "iframe", "object", "embed", "style", "form", "frame", "base", "meta"}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "background", "poster"}
_INVISIBLE = re.compile(r"[\x00-\x20\x7f]+")


def xml_tree(body: bytes) -> etree._Element:
    return etree.fromstring(body, etree.XMLParser(resolve_entities=False, no_network=True))


def _missing(parent: etree._Element, tags: list[str], where: str) -> list[str]:
    problems = []
    for tag in tags:
        found = parent.find(tag)
        if found is None or not (found.text or "").strip():
            problems.append(f"{where}: no {tag.replace(ATOM, 'atom:')}")
    return problems


def rss_problems(body: bytes) -> list[str]:
    root = xml_tree(body)
    if root.tag != "rss" or root.get("version") != "2.0":
        return ["not RSS 2.0"]
    channel = root.find("channel")
    if channel is None:
        return ["no channel"]
    problems = _missing(channel, ["title", "link", "description"], "channel")
    for number, item in enumerate(channel.findall("item")):
        if item.find("title") is None and item.find("description") is None:
            problems.append(f"item {number}: neither title nor description")
    return problems


def atom_problems(body: bytes) -> list[str]:
    root = xml_tree(body)
    if root.tag != f"{ATOM}feed":
        return ["not an Atom feed"]
    problems = _missing(root, [f"{ATOM}id", f"{ATOM}title", f"{ATOM}updated"], "feed")
    has_author = root.find(f"{ATOM}author") is not None
    for number, entry in enumerate(root.findall(f"{ATOM}entry")):
        where = f"entry {number}"
        problems += _missing(entry, [f"{ATOM}id", f"{ATOM}title", f"{ATOM}updated"], where)
        if not has_author and entry.find(f"{ATOM}author") is None:
            problems.append(f"{where}: no author and the feed has none")
    return problems


def _is_rfc3339(value: object) -> bool:
    return isinstance(value, str) and "T" in value and _parses(value)


def _parses(value: str) -> bool:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).tzinfo is not None
    except ValueError:
        return False


def _json_item_problems(number: int, item: Any) -> list[str]:
    where = f"items[{number}]"
    if not isinstance(item, dict):
        return [f"{where}: not an object"]
    problems = []
    if not isinstance(item.get("id"), str) or not item["id"]:
        problems.append(f"{where}: id must be a non-empty string")
    if not any(isinstance(item.get(k), str) for k in ("content_html", "content_text")):
        problems.append(f"{where}: needs content_html or content_text")
    for key in ("date_published", "date_modified"):
        if key in item and not _is_rfc3339(item[key]):
            problems.append(f"{where}.{key}: not RFC 3339")
    for attachment in item.get("attachments", []):
        if not isinstance(attachment.get("url"), str) or not isinstance(
            attachment.get("mime_type"), str
        ):
            problems.append(f"{where}: an attachment needs url and mime_type")
    return problems


def json_feed_problems(body: bytes) -> list[str]:
    feed = json.loads(body)
    problems = []
    if feed.get("version") != JSON_FEED_11:
        problems.append("version is not JSON Feed 1.1")
    if not isinstance(feed.get("title"), str) or not feed["title"]:
        problems.append("no title")
    items = feed.get("items")
    if not isinstance(items, list):
        return [*problems, "items is not a list"]
    for number, item in enumerate(items):
        problems += _json_item_problems(number, item)
    return problems


def _live_url(value: str) -> bool:
    squeezed = _INVISIBLE.sub("", value).lower()
    return squeezed.startswith(("javascript:", "vbscript:", "data:"))


def _element_problems(element: etree._Element) -> list[str]:
    problems = []
    tag = element.tag if isinstance(element.tag, str) else ""
    local = tag.rsplit("}", 1)[-1].lower()
    if local in LIVE_ELEMENTS:
        problems.append(f"a live <{local}> element")
    for name, value in element.attrib.items():
        bare = str(name).rsplit("}", 1)[-1].lower()
        if bare.startswith("on"):
            problems.append(f"an event handler attribute {bare}= on <{local}>")
        if (bare in URL_ATTRIBUTES or bare in {"url", "xmlurl", "htmlurl"}) and _live_url(value):
            problems.append(f"a live URL in {bare}= on <{local}>: {value[:40]}")
    return problems


def markup_problems(html: str) -> list[str]:
    """What would be live if ``html`` were rendered in a browser."""
    if not html.strip():
        return []
    problems: list[str] = []
    for fragment in lxml.html.fragments_fromstring(html):
        if isinstance(fragment, str):
            continue
        for element in fragment.iter():
            problems += _element_problems(element)
    return problems


def _json_texts(body: bytes) -> list[str]:
    feed = json.loads(body)
    texts = [feed.get("title", ""), feed.get("description", "")]
    for item in feed.get("items", []):
        texts += [item.get(k, "") for k in ("title", "content_html", "content_text", "summary")]
        for key in ("url", "external_url", "image", "banner_image"):
            if _live_url(item.get(key, "")):
                texts.append(f'<a href="{item[key]}">')
    return texts


def hostile_problems(body: bytes, fmt: str) -> list[str]:
    """Anything live in a document, in any text a reader might treat as HTML."""
    if fmt == "json":
        texts = _json_texts(body)
    else:
        root = xml_tree(body)
        problems: list[str] = []
        for element in root.iter():
            problems += _element_problems(element)
        if problems:
            return problems
        texts = [e.text or "" for e in root.iter() if isinstance(e.tag, str)]
    return [problem for text in texts for problem in markup_problems(text)]


def duration_seconds(text: str) -> int:
    """``1:02:05`` / ``62:05`` / ``3725`` -> seconds (as podcast apps read itunes:duration)."""
    seconds = 0
    for part in text.split(":"):
        seconds = seconds * 60 + int(part)
    return seconds
