"""OPML 2.0 subscription lists (http://opml.org/spec2.opml): folders of feed outlines.

A ``Subscription`` becomes ``<outline type="rss" text title xmlUrl htmlUrl description
category/>``; a ``Folder`` becomes an outline holding others, so a reader imports the nesting as
its folders. ``category`` holds slash-delimited paths (``/paper/nlp``), comma-separated, as
OPML 2.0 defines it, so an importer that ignores nesting still learns the kind and the area.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from lxml import etree

from service.outputs.syndication.safe import rfc822, web_url
from service.outputs.syndication.xmltree import child, serialize

MEDIA_TYPE = "text/x-opml"
SPEC = "http://opml.org/spec2.opml"


@dataclass(frozen=True, slots=True)
class Subscription:
    """One feed to subscribe to."""

    title: str
    xml_url: str
    html_url: str | None = None
    description: str | None = None
    categories: tuple[str, ...] = ()  # "/paper/nlp"


@dataclass(frozen=True, slots=True)
class Folder:
    """A named group of subscriptions (and folders)."""

    title: str
    children: tuple[Folder | Subscription, ...]


@dataclass(frozen=True, slots=True)
class OpmlDocument:
    title: str
    outlines: tuple[Folder | Subscription, ...]
    modified: datetime | None = None
    owner: str | None = None


def _subscription(parent: etree._Element, feed: Subscription) -> None:
    xml_url = web_url(feed.xml_url)
    if xml_url is None:
        return
    attributes = {"type": "rss", "text": feed.title, "title": feed.title, "xmlUrl": xml_url}
    html_url = web_url(feed.html_url)
    if html_url:
        attributes["htmlUrl"] = html_url
    if feed.description:
        attributes["description"] = feed.description
    if feed.categories:
        attributes["category"] = ",".join(feed.categories)
    child(parent, "outline", **attributes)


def _outline(parent: etree._Element, node: Folder | Subscription) -> None:
    if isinstance(node, Subscription):
        _subscription(parent, node)
        return
    folder = child(parent, "outline", text=node.title, title=node.title)
    for inner in node.children:
        _outline(folder, inner)


def render_opml(document: OpmlDocument) -> bytes:
    """The document as OPML 2.0 (UTF-8 bytes)."""
    opml = etree.Element("opml", {"version": "2.0"})
    head = child(opml, "head")
    child(head, "title", document.title)
    if document.modified is not None:
        child(head, "dateModified", rfc822(document.modified))
    if document.owner:
        child(head, "ownerName", document.owner)
    child(head, "docs", SPEC)
    body = child(opml, "body")
    for node in document.outlines:
        _outline(body, node)
    return serialize(opml)
