"""Frozen records passed between the stages of the pipeline.

Named for where their data comes from or goes::

    FetchRequest  (from storage)  -> fetch     -> FetchedFeed   (from the network)
    FetchedFeed.body               -> parse     -> ParsedFeed    (from the feed, raw but typed)
    ParsedFeed + SourceContext     -> normalize -> NormalizedItem (to storage)
    NormalizedItem + Taxonomy      -> tag       -> TagAssignment (to storage)

Every datetime here is timezone-aware UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

# Re-exported (``as``): the stages name an item's kind and a source's level from here too.
from service.vocabulary import KINDS as KINDS  # noqa: PLC0414
from service.vocabulary import LEVELS as LEVELS  # noqa: PLC0414
from service.vocabulary import Kind as Kind  # noqa: PLC0414
from service.vocabulary import Level as Level  # noqa: PLC0414

TagOrigin = Literal["category", "model", "keyword", "source"]
AnnounceType = Literal["new", "cross", "replace", "replace-cross"]


@dataclass(frozen=True, slots=True)
class FetchRequest:
    """What storage knows about a source before fetching it."""

    url: str
    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True, slots=True)
class FetchedFeed:
    """The outcome of one successful HTTP exchange (200 with a body, or 304)."""

    requested_url: str
    url: str  # the final URL after redirects
    status: int  # 200 or 304
    body: bytes | None  # None on 304
    fetched_at: datetime
    etag: str | None = None
    last_modified: str | None = None
    content_type: str | None = None
    # Target of a redirect chain whose every hop was permanent (301/308), else None.
    permanent_redirect: str | None = None
    cache_max_age: int | None = None  # seconds, from Cache-Control max-age
    expires: datetime | None = None  # from Expires
    elapsed_seconds: float = 0.0

    @property
    def not_modified(self) -> bool:
        return self.status == 304


@dataclass(frozen=True, slots=True)
class ParsedEnclosure:
    url: str
    type: str | None = None
    length: int | None = None


@dataclass(frozen=True, slots=True)
class ParsedEntry:
    """One entry as the feed gave it: strings still raw (may hold HTML), dates already UTC."""

    guid: str | None = None
    title: str = ""
    title_is_html: bool = False
    link: str | None = None
    links: tuple[str, ...] = ()  # every href the entry carries (alternate, related, enclosure)
    base: str | None = None  # xml:base in effect for this entry
    summary: str = ""  # the description / summary / abstract, raw
    summary_is_html: bool = True
    content: str = ""  # full content (content:encoded, atom:content), raw
    content_is_html: bool = True
    authors: tuple[str, ...] = ()
    published: datetime | None = None
    published_raw: str | None = None
    updated: datetime | None = None
    updated_raw: str | None = None
    terms: tuple[str, ...] = ()  # <category> / atom:category terms
    enclosures: tuple[ParsedEnclosure, ...] = ()
    itunes_duration: str | None = None
    episode: str | None = None
    season: str | None = None
    image: str | None = None
    transcript_url: str | None = None
    # arXiv extensions (rss.arxiv.org and export.arxiv.org API)
    arxiv_announce_type: str | None = None
    arxiv_primary_category: str | None = None
    arxiv_comment: str | None = None
    arxiv_journal_ref: str | None = None
    arxiv_doi: str | None = None


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """A feed document as parsed, before any normalization."""

    title: str = ""
    link: str | None = None
    format: str = ""  # feedparser's version string: rss20, atom10, rss10, json1 ...
    entries: tuple[ParsedEntry, ...] = ()
    ttl_minutes: int | None = None  # RSS <ttl>
    skip_days: tuple[str, ...] = ()  # RSS <skipDays>
    language: str | None = None
    image: str | None = None
    updated: datetime | None = None  # the feed's own date (lastBuildDate, dc:date, atom:updated)
    is_podcast: bool = False  # carries the iTunes namespace or audio enclosures
    warning: str | None = None  # the bozo reason of a feed that still yielded entries


@dataclass(frozen=True, slots=True)
class SourceContext:
    """What normalize needs to know about the source an entry came from."""

    feed_url: str
    kind: Kind
    fetched_at: datetime
    source_id: int | None = None


@dataclass(frozen=True, slots=True)
class ArxivInfo:
    arxiv_id: str  # without version: 2401.12345 or hep-th/9901001
    version: int | None
    categories: tuple[str, ...]
    primary_category: str | None
    announce_type: AnnounceType | None
    abs_url: str
    pdf_url: str
    doi: str | None = None
    journal_ref: str | None = None
    comments: str | None = None


@dataclass(frozen=True, slots=True)
class PodcastInfo:
    enclosure_url: str
    enclosure_type: str | None = None
    enclosure_length: int | None = None
    duration_seconds: int | None = None
    episode: int | None = None
    season: int | None = None
    image_url: str | None = None
    transcript_url: str | None = None


@dataclass(frozen=True, slots=True)
class NormalizedItem:
    """One work, ready to store: plain-text title, canonical link, sanitized HTML."""

    canonical_key: str  # arxiv:<id> | url:<canonical url> | hash:<sha256>
    kind: Kind
    title: str
    url: str | None
    summary_text: str
    summary_html: str
    published_at: datetime
    updated_at: datetime | None = None
    guid: str | None = None
    authors: tuple[str, ...] = ()
    arxiv: ArxivInfo | None = None
    podcast: PodcastInfo | None = None
    reading_minutes: int | None = None  # posts and papers: to read; podcasts: to listen
    mentions: tuple[str, ...] = ()  # arXiv ids this item links to or names
    terms: tuple[str, ...] = ()  # the feed's own categories, used by the tagger
    content_hash: str = ""  # changes when anything stored changes
    title_key: str | None = None  # papers: the title as posts quote it (ingest.quotes)
    quotes: tuple[str, ...] = ()  # posts naming no arXiv id: title keys of what they quote


@dataclass(frozen=True, slots=True)
class Normalized:
    """What normalize made of a feed: the items, and a reason for each entry it had to skip."""

    items: tuple[NormalizedItem, ...] = ()
    skipped: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TagAssignment:
    slug: str
    area: str
    score: float
    origin: TagOrigin


@dataclass(frozen=True, slots=True)
class ItemWithTags:
    item: NormalizedItem
    tags: tuple[TagAssignment, ...] = field(default=())
    vector: bytes | None = None  # float32 little-endian (service.ingest.embed.to_blob)
    vector_model: str | None = None  # the model that made ``vector``
    tag_model: str | None = None  # the topic model that tagged it (None: keyword rules only)


@dataclass(frozen=True, slots=True)
class StoredItemText:
    """A stored item as the tagger reads it again (re-tagging every item in batches)."""

    item_id: int
    item: NormalizedItem
    source_topics: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SourceForUpdate:
    """What storage knows about a source when it is due (the poller's claim hands these out)."""

    id: int
    name: str
    url: str
    kind: Kind
    level: Level = "practitioner"
    topics: tuple[str, ...] = ()
    etag: str | None = None
    last_modified: str | None = None
    content_hash: str | None = None
    poll_minutes: int | None = None
    consecutive_errors: int = 0
    state: str = "new"
    redirect_url: str | None = None
    redirect_count: int = 0
    last_success_at: datetime | None = None
    items_per_week: float = 0.0  # recent publishing rate, for the adaptive interval
    ttl_minutes: int | None = None  # the RSS <ttl> the feed gave last time


PollOutcome = Literal["updated", "empty", "not_modified", "unchanged", "error", "gone"]
"""``empty``: a valid feed without entries (an arXiv listing on a weekend or a holiday)."""


@dataclass(frozen=True, slots=True)
class PollIntent:
    """What to write on the source row after one attempt (one transaction with its items)."""

    source_id: int
    attempted_at: datetime
    outcome: PollOutcome
    next_poll_at: datetime
    consecutive_errors: int
    state: str  # ok | error | gone
    status_code: int | None = None
    error_kind: str | None = None
    error_reason: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    content_hash: str | None = None
    succeeded: bool = False
    retry_after_until: datetime | None = None
    redirect_url: str | None = None
    redirect_count: int = 0
    new_url: str | None = None  # adopt this URL (a permanent redirect seen 3 polls in a row)
    ttl_minutes: int | None = None
    feed_title: str | None = None
    keep_validators: bool = False  # 304 / errors: keep the stored etag and last_modified


@dataclass(frozen=True, slots=True)
class PollResult:
    """One source's result in a batch: never an exception, always a value."""

    source_id: int
    name: str
    outcome: PollOutcome
    items_new: int = 0
    items_updated: int = 0
    status_code: int | None = None
    error_kind: str | None = None
    reason: str | None = None  # the error in words, or the parse warning
    next_poll_at: datetime | None = None
    elapsed_seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class SourceFacts:
    """What storage knows about a source's polling, for explaining its health in words."""

    id: int
    name: str
    url: str
    kind: str
    active: bool
    state: str  # new | ok | error | gone
    next_poll_at: datetime
    consecutive_errors: int = 0
    last_attempt_at: datetime | None = None
    last_success_at: datetime | None = None
    last_status: int | None = None
    last_outcome: str | None = None
    last_error: str | None = None
    last_error_kind: str | None = None
    retry_after_until: datetime | None = None
    lease_owner: str | None = None
    lease_until: datetime | None = None
    items_last_7_days: int = 0
    origin: str = "catalog"  # catalog | api | opml | local (made by `staycurrent ingest --source`)


@dataclass(frozen=True, slots=True)
class HostTurn:
    """A turn to talk to a host: the lease row held, and when its last request ended."""

    key: str
    last_request_at: datetime | None


@dataclass(frozen=True, slots=True)
class TrendItem:
    """What the trend radar needs of an item (from storage, to rank/trends.py).

    Its *voice* is who says it: a paper's lead author, anything else's feed.
    """

    id: int
    kind: str
    title: str
    summary: str
    published_at: datetime
    source_ids: tuple[int, ...] = ()
    lead_author: str | None = None
    areas: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()

    @property
    def voice(self) -> str:
        if self.kind == "paper" and self.lead_author:
            return "author:" + self.lead_author.strip().lower()
        if self.source_ids:
            return f"source:{min(self.source_ids)}"
        return f"item:{self.id}"


@dataclass(frozen=True, slots=True)
class CoverageSighting:
    """A post or episode (``by_item``) links a paper by arXiv id (from storage, to the radar)."""

    arxiv_id: str
    by_item: int
    by_kind: str
    by_source: int | None
    published_at: datetime
    paper_id: int | None = None  # the paper's item, once it is stored
    paper_title: str | None = None
    paper_areas: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class WatchedPaper:
    """A paper a profile liked or saved, as it is now (from storage, to rank/comebacks.py)."""

    item_id: int
    title: str
    version: int | None
    comments: str | None
    doi: str | None
    journal_ref: str | None
    covering: tuple[tuple[int, str], ...] = ()  # (item id, title) of posts and episodes


@dataclass(frozen=True, slots=True)
class Processed:
    """What parse, normalize and tag made of one body (to the decider and storage)."""

    feed: ParsedFeed
    items: tuple[ItemWithTags, ...]
    skipped: tuple[str, ...]
    entries: (
        int  # how many the document held, read or not (``feed.entries`` is emptied by the pool)
    )
