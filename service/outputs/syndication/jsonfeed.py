"""JSON Feed 1.1 (https://jsonfeed.org/version/1.1), with a ``_staycurrent`` extension per item.

The extension carries what a JSON client may want beyond the standard fields: the kind, the
source, minutes to read or listen, the why, and the signed feedback links by signal (like,
dislike, hide, save).
"""

from __future__ import annotations

import json
from typing import Any

from service.config import PROJECT_URL
from service.outputs.syndication.content import entry_html
from service.outputs.syndication.document import Channel, Entry, FeedDocument
from service.outputs.syndication.safe import rfc3339, web_url, xml_text

VERSION = "https://jsonfeed.org/version/1.1"
MEDIA_TYPE = "application/feed+json"
EXTENSION_ABOUT = f"{PROJECT_URL}#subscribe-in-any-reader"


def _attachments(entry: Entry) -> list[dict[str, Any]]:
    enclosure = entry.enclosure
    url = web_url(enclosure.url) if enclosure else None
    if enclosure is None or url is None:
        return []
    attachment: dict[str, Any] = {"url": url, "mime_type": enclosure.media_type}
    if enclosure.length > 0:
        attachment["size_in_bytes"] = enclosure.length
    if entry.duration_seconds is not None:
        attachment["duration_in_seconds"] = entry.duration_seconds
    return [attachment]


def _extension(entry: Entry) -> dict[str, Any]:
    return {
        "about": EXTENSION_ABOUT,
        "kind": entry.kind,
        "source": entry.source,
        "minutes": entry.minutes,
        "why": xml_text(entry.why),
        "feedback": {action.signal: action.url for action in entry.actions if web_url(action.url)},
    }


def _item(entry: Entry) -> dict[str, Any]:
    item: dict[str, Any] = {"id": entry.guid}
    url = web_url(entry.url)
    if url:
        item["url"] = url
    item["title"] = entry.title
    item["content_html"] = entry_html(entry)
    if entry.summary:
        item["summary"] = xml_text(entry.summary)
    item["date_published"] = rfc3339(entry.published)
    item["date_modified"] = rfc3339(entry.last_change)
    if entry.authors:
        item["authors"] = [{"name": name} for name in entry.authors]
    if entry.topics:
        item["tags"] = list(entry.topics)
    image = web_url(entry.image_url)
    if image:
        item["image"] = image
    attachments = _attachments(entry)
    if attachments:
        item["attachments"] = attachments
    item["_staycurrent"] = _extension(entry)
    return item


def _feed(meta: Channel, self_url: str | None) -> dict[str, Any]:
    feed: dict[str, Any] = {"version": VERSION, "title": meta.title}
    feed["home_page_url"] = meta.home_url
    if web_url(self_url):
        feed["feed_url"] = self_url
    feed["description"] = meta.description
    icon = web_url(meta.image_url)
    if icon:
        feed["icon"] = icon
    feed["authors"] = [{"name": meta.author, "url": meta.home_url}]
    feed["language"] = meta.language
    return feed


def render_json_feed(document: FeedDocument, *, self_url: str | None = None) -> bytes:
    """The document as JSON Feed 1.1 (UTF-8 bytes)."""
    feed = _feed(document.channel, self_url)
    feed["items"] = [_item(entry) for entry in document.entries]
    return json.dumps(feed, indent=1).encode("utf-8")
