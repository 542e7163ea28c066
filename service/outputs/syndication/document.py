"""The frozen records a feed is rendered from, whatever its format.

A ``FeedDocument`` is a ``Channel`` (the feed itself) and its ``Entry`` records, newest first.
Texts are plain (titles already made inert); ``Entry.summary_html`` is HTML sanitized at ingest,
which the renderers sanitize again inside the entry's content (``content.entry_html``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

PODCAST_CATEGORY = "Technology"


@dataclass(frozen=True, slots=True)
class Link:
    """A labelled link (a covering post, a feedback action)."""

    text: str
    url: str


@dataclass(frozen=True, slots=True)
class Action:
    """A signed one-click feedback link: ``signal`` is like, dislike, hide or save."""

    signal: str
    text: str
    url: str


@dataclass(frozen=True, slots=True)
class Enclosure:
    """A media file to download or play: a podcast episode's audio."""

    url: str
    length: int  # bytes; 0 when the source did not say (RSS requires the attribute)
    media_type: str


@dataclass(frozen=True, slots=True)
class Entry:
    """One item of a feed, with what every format shows of it."""

    guid: str  # stable across rankings: the item's canonical key (arxiv:2411.01234, a URL, …)
    title: str
    url: str | None
    published: datetime
    updated: datetime | None
    authors: tuple[str, ...]
    summary: str  # plain text
    summary_html: str  # sanitized HTML
    kind: str  # paper | podcast | post | video
    source: str | None  # the most trusted source it was seen in
    minutes: int | None  # to read, or to listen
    why: str  # one sentence: why it is in this feed
    topics: tuple[str, ...] = ()  # labels of its topics, strongest first
    covered_by: tuple[Link, ...] = ()  # posts and podcasts that discuss it
    actions: tuple[Action, ...] = ()  # signed one-click feedback links
    enclosure: Enclosure | None = None
    duration_seconds: int | None = None
    episode: int | None = None
    season: int | None = None
    image_url: str | None = None

    @property
    def last_change(self) -> datetime:
        return self.updated or self.published


@dataclass(frozen=True, slots=True)
class Channel:
    """The feed itself."""

    feed_id: str  # a permanent URI (Atom feed/id): no secret in it
    title: str
    description: str
    home_url: str
    updated: datetime
    author: str = "Staycurrent"
    generator: str = "Staycurrent"
    language: str = "en"
    image_url: str | None = None
    podcast: bool = False  # a podcast-only feed: channel-level iTunes tags
    ttl_minutes: int = 60


@dataclass(frozen=True, slots=True)
class FeedDocument:
    channel: Channel
    entries: tuple[Entry, ...]
