"""RSS 2.0 with the Atom self link, Dublin Core creators and, for podcasts, the iTunes tags.

A feed whose channel is a podcast (``Channel.podcast``) carries what podcast apps need:
``itunes:author``, ``itunes:image``, ``itunes:explicit``, ``itunes:category``, ``itunes:type``,
and per episode an ``enclosure`` (url, length, type), ``itunes:duration`` (H:MM:SS) and
``itunes:episode`` / ``itunes:season`` when known.
"""

from __future__ import annotations

from lxml import etree

from service.outputs.syndication.content import entry_html
from service.outputs.syndication.document import PODCAST_CATEGORY, Channel, Entry, FeedDocument
from service.outputs.syndication.safe import rfc822, web_url
from service.outputs.syndication.xmltree import child, serialize

ATOM_NS = "http://www.w3.org/2005/Atom"
ITUNES_NS = "http://www.itunes.com/dtds/podcast-1.0.dtd"
DC_NS = "http://purl.org/dc/elements/1.1/"
NSMAP = {"atom": ATOM_NS, "itunes": ITUNES_NS, "dc": DC_NS}
MEDIA_TYPE = "application/rss+xml"


def _itunes(name: str) -> str:
    return f"{{{ITUNES_NS}}}{name}"


def clock_duration(seconds: int) -> str:
    """``3725`` -> ``1:02:05`` (the form every podcast app reads)."""
    hours, rest = divmod(max(0, seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


def _podcast_channel(channel: etree._Element, meta: Channel) -> None:
    child(channel, _itunes("author"), meta.author)
    child(channel, _itunes("summary"), meta.description)
    child(channel, _itunes("type"), "episodic")
    child(channel, _itunes("explicit"), "false")
    child(channel, _itunes("category"), text=PODCAST_CATEGORY)
    image = web_url(meta.image_url)
    if image:
        child(channel, _itunes("image"), href=image)


def _channel(rss: etree._Element, meta: Channel, self_url: str | None) -> etree._Element:
    channel = child(rss, "channel")
    child(channel, "title", meta.title)
    child(channel, "link", meta.home_url)
    child(channel, "description", meta.description)
    if web_url(self_url):
        child(channel, f"{{{ATOM_NS}}}link", href=str(self_url), rel="self", type=MEDIA_TYPE)
    child(channel, "language", meta.language)
    child(channel, "lastBuildDate", rfc822(meta.updated))
    child(channel, "generator", meta.generator)
    child(channel, "docs", "https://www.rssboard.org/rss-specification")
    child(channel, "ttl", str(meta.ttl_minutes))
    image = web_url(meta.image_url)
    if image:
        picture = child(channel, "image")
        child(picture, "url", image)
        child(picture, "title", meta.title)
        child(picture, "link", meta.home_url)
    if meta.podcast:
        _podcast_channel(channel, meta)
    return channel


def _episode(item: etree._Element, entry: Entry) -> None:
    enclosure = entry.enclosure
    url = web_url(enclosure.url) if enclosure else None
    if enclosure is None or url is None:
        return
    child(
        item,
        "enclosure",
        url=url,
        length=str(enclosure.length),
        type=enclosure.media_type,
    )
    if entry.duration_seconds is not None:
        child(item, _itunes("duration"), clock_duration(entry.duration_seconds))
    child(item, _itunes("author"), ", ".join(entry.authors) or entry.source or "")
    child(item, _itunes("explicit"), "false")
    child(item, _itunes("episodeType"), "full")
    if entry.episode is not None:
        child(item, _itunes("episode"), str(entry.episode))
    if entry.season is not None:
        child(item, _itunes("season"), str(entry.season))
    image = web_url(entry.image_url)
    if image:
        child(item, _itunes("image"), href=image)


def _item(channel: etree._Element, entry: Entry) -> None:
    item = child(channel, "item")
    child(item, "title", entry.title)
    link = web_url(entry.url)
    if link:
        child(item, "link", link)
    child(item, "guid", entry.guid, isPermaLink="false")
    child(item, "pubDate", rfc822(entry.published))
    for author in entry.authors:
        child(item, f"{{{DC_NS}}}creator", author)
    for topic in entry.topics:
        child(item, "category", topic)
    child(item, "description", entry_html(entry))
    _episode(item, entry)


def render_rss(document: FeedDocument, *, self_url: str | None = None) -> bytes:
    """The document as RSS 2.0 (UTF-8 bytes)."""
    rss = etree.Element("rss", {"version": "2.0"}, nsmap=NSMAP)
    channel = _channel(rss, document.channel, self_url)
    for entry in document.entries:
        _item(channel, entry)
    return serialize(rss)
