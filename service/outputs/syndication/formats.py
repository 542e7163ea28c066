"""The feed formats by name: file name, media type and renderer (for the API and the CLI)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from service.outputs.syndication import atom, jsonfeed, rss
from service.outputs.syndication.document import FeedDocument


class Renderer(Protocol):
    def __call__(self, document: FeedDocument, *, self_url: str | None = None) -> bytes: ...


@dataclass(frozen=True, slots=True)
class FeedFormat:
    name: str
    filename: str  # the last segment of its subscription URL
    media_type: str
    render: Renderer


FEED_FORMATS: dict[str, FeedFormat] = {
    "rss": FeedFormat("rss", "feed.rss", rss.MEDIA_TYPE, rss.render_rss),
    "atom": FeedFormat("atom", "feed.atom", atom.MEDIA_TYPE, atom.render_atom),
    "json": FeedFormat("json", "feed.json", jsonfeed.MEDIA_TYPE, jsonfeed.render_json_feed),
}
