"""Atom (RFC 4287): ids that never change, text titles, HTML content, enclosures as links."""

from __future__ import annotations

from lxml import etree

from service.outputs.syndication.content import entry_html
from service.outputs.syndication.document import Channel, Entry, FeedDocument
from service.outputs.syndication.safe import rfc3339, web_url
from service.outputs.syndication.xmltree import child, serialize

ATOM_NS = "http://www.w3.org/2005/Atom"
MEDIA_TYPE = "application/atom+xml"


def _a(name: str) -> str:
    return f"{{{ATOM_NS}}}{name}"


def _head(feed: etree._Element, meta: Channel, self_url: str | None) -> None:
    child(feed, _a("id"), meta.feed_id)
    child(feed, _a("title"), meta.title, type="text")
    child(feed, _a("subtitle"), meta.description, type="text")
    child(feed, _a("updated"), rfc3339(meta.updated))
    child(feed, _a("link"), rel="alternate", type="text/html", href=meta.home_url)
    if web_url(self_url):
        child(feed, _a("link"), rel="self", type=MEDIA_TYPE, href=str(self_url))
    author = child(feed, _a("author"))
    child(author, _a("name"), meta.author)
    child(feed, _a("generator"), meta.generator)
    icon = web_url(meta.image_url)
    if icon:
        child(feed, _a("icon"), icon)


def _links(entry_element: etree._Element, entry: Entry) -> None:
    link = web_url(entry.url)
    if link:
        child(entry_element, _a("link"), rel="alternate", type="text/html", href=link)
    enclosure = entry.enclosure
    media = web_url(enclosure.url) if enclosure else None
    if enclosure and media:
        attributes = {"rel": "enclosure", "href": media, "type": enclosure.media_type}
        if enclosure.length > 0:
            attributes["length"] = str(enclosure.length)
        child(entry_element, _a("link"), **attributes)


def _entry(feed: etree._Element, entry: Entry) -> None:
    element = child(feed, _a("entry"))
    child(element, _a("id"), entry.guid)
    child(element, _a("title"), entry.title, type="text")
    child(element, _a("updated"), rfc3339(entry.last_change))
    child(element, _a("published"), rfc3339(entry.published))
    _links(element, entry)
    for name in entry.authors:
        author = child(element, _a("author"))
        child(author, _a("name"), name)
    for topic in entry.topics:
        child(element, _a("category"), term=topic)
    if entry.summary:
        child(element, _a("summary"), entry.summary, type="text")
    child(element, _a("content"), entry_html(entry), type="html")


def render_atom(document: FeedDocument, *, self_url: str | None = None) -> bytes:
    """The document as an Atom feed (UTF-8 bytes)."""
    feed = etree.Element(_a("feed"), nsmap={None: ATOM_NS})
    _head(feed, document.channel, self_url)
    for entry in document.entries:
        _entry(feed, entry)
    return serialize(feed)
