"""A profile's lens as a feed document: the composition behind every subscription feed.

    profile + Lens -> rank.loader.load_pool (as of the tick) -> rank.dial.dial_order (pure)
        -> lens.throttle (max_per_day, by first-seen day) -> storage views of the chosen items
        -> Entries (stable GUIDs, signed feedback links) -> FeedDocument -> a renderer

Output is deterministic so conditional GETs work, and keyed on the data so it never hides a stored
item: the feed is ranked as of the later of the start of the current ``LENS_TICK`` and the moment
the newest stored item was first seen (``ranking_instant``), so an item shows at once and the
document only changes when the data or the tick does. Entries are listed newest first (a ranking
that only reorders leaves the document unchanged), and feedback links expire at a day boundary
(``LINK_TTL`` after the start of the ranking day, so at least 30 days ahead).
The GUID of an entry is its item's canonical key (``arxiv:2411.01234``, ``url:https://…``),
which no ranking, depth or lens changes.
"""

from __future__ import annotations

import math
import mimetypes
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlmodel import Session, col, select

from service import __version__
from service.outputs.feed import FeedOptions, preferences_for, second_after, shortfall_reason
from service.outputs.links import feedback_url, link_generation
from service.outputs.syndication.document import (
    Action,
    Channel,
    Enclosure,
    Entry,
    FeedDocument,
    Link,
)
from service.outputs.syndication.lens import Lens, subscription_url, throttle
from service.outputs.syndication.safe import inert_title, web_url, xml_text
from service.rank.dial import dial_order
from service.rank.loader import CandidateQuery, WindowCache, load_pool
from service.rank.model import Preferences, RankedItem
from service.records import KINDS
from service.storage.engine import Database
from service.storage.models import Item, Profile
from service.storage.profiles import check_topics
from service.storage.views import ItemView, views

LENS_TICK = timedelta(minutes=15)
LINK_TTL = timedelta(days=31)
WIDEN = "your profile's window_days (PATCH /v1/profiles/me)"
ARTWORK_PATH = "/v1/artwork.png"
FEEDBACK_ACTIONS = (
    ("like", "Like"),
    ("dislike", "Show fewer like this"),
    ("hide", "Hide"),
    ("save", "Save"),
)
TOPICS_SHOWN = 5
COVERING_SHOWN = 5
_CHUNK = 900


@dataclass(frozen=True, slots=True)
class LensFeed:
    """A lens rendered as records, and the instant it was ranked as of (its Last-Modified)."""

    document: FeedDocument
    as_of: datetime
    by_rank: tuple[tuple[int, Entry], ...] = ()  # (item id, entry), best ranked first


def tick_start(now: datetime) -> datetime:
    """The start of the ``LENS_TICK`` that ``now`` falls in (UTC)."""
    moment = now.astimezone(UTC)
    step = int(LENS_TICK.total_seconds())
    return datetime.fromtimestamp(int(moment.timestamp()) // step * step, UTC)


def ranking_instant(now: datetime, newest_seen: datetime | None) -> datetime:
    """What a lens is ranked as of: the tick's start, or the newest first-seen moment when that is
    later (rounded up to the whole second, so that item is in; never past ``now``'s second) — every
    stored item is in, and the instant moves only with the data or the tick (pure)."""
    start = tick_start(now)
    if newest_seen is None:
        return start
    return max(start, min(second_after(newest_seen), second_after(now)))


NEWEST_SCAN = 64  # the newest rows by id looked at for the newest first-seen moment


def newest_first_seen(session: Session, now: datetime) -> datetime | None:
    """When the newest stored item (among the last ``NEWEST_SCAN`` inserted) was first seen, not
    after ``now``: a primary-key scan, whatever the size of the table."""
    recent = (
        select(col(Item.first_seen_at).label("seen"))
        .order_by(col(Item.id).desc())
        .limit(NEWEST_SCAN)
        .subquery()
    )
    statement = sa.select(sa.func.max(recent.c.seen)).where(recent.c.seen <= now)
    found = session.execute(statement).scalar_one_or_none()
    if found is not None and found.tzinfo is None:
        found = found.replace(tzinfo=UTC)
    return found


def feed_id(base_url: str, profile_id: int, lens: Lens) -> str:
    """A permanent URI for the lens (Atom feed/id): it survives token rotation, holds no secret."""
    name = f"{base_url}/v1/profiles/{profile_id}/lens?{urlencode(lens.query())}"
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, name)}"


def subscription_urls(base_url: str, token: str) -> dict[str, str]:
    """The profile's subscription URLs by name: its feed in each format and its two OPML lists."""
    names = {"RSS": "feed.rss", "Atom": "feed.atom", "JSON Feed": "feed.json"}
    names |= {"sources OPML": "sources.opml", "lenses OPML": "lenses.opml"}
    return {label: subscription_url(base_url, token, filename) for label, filename in names.items()}


def _zone(profile: Profile) -> ZoneInfo:
    try:
        return ZoneInfo(profile.timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _query(profile: Profile, lens: Lens, preferences: Preferences, at: datetime) -> CandidateQuery:
    asked = lens.kinds or KINDS
    weights = profile.kind_weights or {}
    kinds = tuple(k for k in KINDS if k in asked and weights.get(k, 1.0) > 0)
    return CandidateQuery(
        at=at,
        window_days=preferences.window_days,
        kinds=kinds,
        profile_id=profile.id,
        muted_sources=tuple(profile.muted_sources or ()),
    )


def _first_seen(session: Session, ids: Sequence[int]) -> dict[int, datetime]:
    seen: dict[int, datetime] = {}
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        rows = session.exec(select(Item.id, Item.first_seen_at).where(col(Item.id).in_(chunk)))
        seen.update((item_id, when) for item_id, when in rows if item_id is not None)
    return seen


def _chosen(
    session: Session, ranked: Sequence[RankedItem], lens: Lens, zone: ZoneInfo
) -> list[RankedItem]:
    if lens.max_per_day is None:
        return list(ranked[: lens.limit])
    seen = _first_seen(session, [r.candidate.id for r in ranked])

    def day_of(item: RankedItem) -> date:
        return seen[item.candidate.id].astimezone(zone).date()

    return throttle(ranked, day_of=day_of, max_per_day=lens.max_per_day, limit=lens.limit)


def _views(session: Session, chosen: Sequence[RankedItem]) -> dict[int, ItemView]:
    ids = [r.candidate.id for r in chosen]
    items = list(session.exec(select(Item).where(col(Item.id).in_(ids))))
    return {view.item.id or 0: view for view in views(session, items)}


@dataclass(frozen=True, slots=True)
class _Signer:
    """Makes the signed feedback links of one document (same expiry for all: deterministic)."""

    base_url: str
    secret: bytes
    profile_id: int
    generation: str
    day: datetime

    def actions(self, item_id: int) -> tuple[Action, ...]:
        return tuple(
            Action(
                signal,
                label,
                feedback_url(
                    self.base_url,
                    self.secret,
                    profile_id=self.profile_id,
                    item_id=item_id,
                    signal=signal,
                    generation=self.generation,
                    now=self.day,
                    ttl=LINK_TTL,
                ),
            )
            for signal, label in FEEDBACK_ACTIONS
        )


def _enclosure(item: Item) -> Enclosure | None:
    url = web_url(item.enclosure_url)
    if url is None:
        return None
    media_type = item.enclosure_type or mimetypes.guess_type(url)[0] or "audio/mpeg"
    return Enclosure(url=url, length=max(0, item.enclosure_length or 0), media_type=media_type)


def _minutes(item: Item) -> int | None:
    if item.kind == "podcast" and item.duration_seconds:
        return math.ceil(item.duration_seconds / 60)
    return item.reading_minutes


def _texts(values: Sequence[str], limit: int) -> tuple[str, ...]:
    cleaned = (" ".join(xml_text(v).split()) for v in values)
    return tuple(dict.fromkeys(v for v in cleaned if v))[:limit]


def _entry(ranked: RankedItem, view: ItemView, signer: _Signer) -> Entry:
    item, candidate = view.item, ranked.candidate
    trusted = max(candidate.sources, key=lambda s: s.weight, default=None)
    covering = tuple(
        Link(inert_title(ref.title), url)
        for ref in view.covered_by[:COVERING_SHOWN]
        if (url := web_url(ref.url))
    )
    return Entry(
        guid=quote(item.canonical_key, safe=":/?#[]@!$&'()*+,;=%-._~"),
        title=inert_title(item.title) or "(untitled)",
        url=web_url(item.url),
        published=item.published_at,
        updated=item.updated_at,
        authors=_texts(item.authors, 50),
        summary=xml_text(item.summary_text),
        summary_html=item.summary_html,
        kind=item.kind,
        source=xml_text(trusted.name) if trusted else None,
        minutes=_minutes(item),
        why=xml_text(ranked.why.summary),
        topics=_texts([t.label for t in view.tags], TOPICS_SHOWN),
        covered_by=covering,
        actions=signer.actions(candidate.id),
        enclosure=_enclosure(item),
        duration_seconds=item.duration_seconds,
        episode=item.episode,
        season=item.season,
        image_url=web_url(item.image_url),
    )


def _description(profile: Profile, preferences: Preferences, labels: dict[str, str]) -> str:
    interests = ", ".join(labels.get(slug, slug) for slug in preferences.interests) or "all topics"
    leaning = (
        "deep" if preferences.depth > 0.6 else "broad" if preferences.depth < 0.4 else "balanced"
    )
    return (
        f"The ML feed of {profile.name}, ranked by Staycurrent: {interests}; depth "
        f"{preferences.depth:g} ({leaning}), the last {preferences.window_days} days."
    )


def _channel(
    profile: Profile,
    lens: Lens,
    base_url: str,
    description: str,
    entries: Sequence[Entry],
) -> Channel:
    assert profile.id is not None
    label = lens.describe()
    return Channel(
        feed_id=feed_id(base_url, profile.id, lens),
        title=f"Staycurrent: {profile.name}" + (f" ({label})" if label else ""),
        description=description,
        home_url=base_url,
        updated=max((e.last_change for e in entries), default=profile.updated_at),
        generator=f"Staycurrent {__version__}",
        image_url=f"{base_url}{ARTWORK_PATH}",
        podcast=lens.podcast_only,
    )


def lens_feed(
    db: Database,
    *,
    profile: Profile,
    lens: Lens,
    secret: bytes,
    base_url: str,
    now: datetime,
    windows: WindowCache | None = None,
) -> LensFeed:
    """The profile's feed through ``lens``, ranked as of ``ranking_instant``, as records."""
    assert profile.id is not None
    lens.check()
    options = FeedOptions(depth=lens.depth, kinds=lens.kinds, topics=lens.topics)
    preferences = preferences_for(profile, options)
    with db.session() as session:
        check_topics(session, "topics", lens.topics or ())
        at = ranking_instant(now, newest_first_seen(session, now))
        day = datetime.combine(at.date(), datetime.min.time(), UTC)
        generation = link_generation(profile.feed_token_hash)
        signer = _Signer(base_url.rstrip("/"), secret, profile.id, generation, day)
        query = _query(profile, lens, preferences, at)
        pool = load_pool(session, query, windows)
        order = dial_order(pool, preferences, now=at)
        # only what the lens can show is explained (all of it when days are throttled)
        ranked = order.items(0, None if lens.max_per_day is not None else lens.limit)
        chosen = _chosen(session, ranked, lens, _zone(profile))
        shown = _views(session, chosen)
        entries = [_entry(r, shown[r.candidate.id], signer) for r in chosen]
        by_rank = tuple((r.candidate.id, e) for r, e in zip(chosen, entries, strict=True))
        short = len(order) < lens.limit  # the window, not max_per_day, keeps it short
        reason = shortfall_reason(session, query, shown=len(order), widen=WIDEN) if short else ""
    entries.sort(key=lambda e: (e.published, e.guid), reverse=True)
    description = _description(profile, preferences, dict(pool.topics.labels))
    if reason:
        description = f"{description} Why so few: {reason}."
    channel = _channel(profile, lens, base_url.rstrip("/"), description, entries)
    return LensFeed(FeedDocument(channel, tuple(entries)), as_of=at, by_rank=by_rank)
