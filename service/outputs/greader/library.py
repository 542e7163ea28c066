"""A profile as a Google Reader account: its lenses (labels and subscriptions, ranked items) and
the sources behind its interests (subscriptions, grouped by area).

    profile -> ranking_instant (the lens tick) -> cached Library?
            -> else each lens: subscriptions.lens_feed (the ranked, explained feed, as RSS gets it)
               + outlines.profile_sources (the sources, with their areas) -> Library

A lens item's time is ``as_of - rank seconds`` (its best rank over the lenses), so a date-sorted
reader shows the ranked items newest, in rank order; other items keep their published time.
The Trends lens holds the representative items of the profile's rising themes, then of the papers
everyone covers (``trends.subscribed_trends``, as ``trends.rss`` has them, in the radar's rank
order), each saying which theme it is shown for. A Trends item's time is its place there (the
radar's order is the point of that stream), also in the other lenses that hold it.
A Library is kept for the lens tick (``LENS_TICK``, 15 minutes): a client's sync sees one
ranking, computed once per tick and profile, not once per request or per stored item; items
stored since show at once in the source subscriptions (read live), in the lenses at the next
tick.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import cached_property

from sqlmodel import col, select

from service.outputs.greader.ids import SortKey
from service.outputs.outlines import profile_lenses, profile_sources, public_url
from service.outputs.subscriptions import LensFeed, lens_feed, tick_start
from service.outputs.syndication.content import entry_html
from service.outputs.syndication.document import Entry
from service.outputs.syndication.lens import MAX_LIMIT, Lens
from service.outputs.trends import TrendsPage, rising_line, subscribed_trends
from service.rank.loader import WindowCache
from service.storage.engine import Database
from service.storage.models import ItemSource, Profile, Source

LENS_PATH = "/reader/lens/"
TRENDS_SLUG = "trends"
CACHED_LIBRARIES = 32
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def usec_of(moment: datetime) -> int:
    return (moment.astimezone(UTC) - EPOCH) // timedelta(microseconds=1)


def moment_of(usec: int) -> datetime:
    return EPOCH + timedelta(microseconds=usec)


@dataclass(frozen=True, slots=True)
class LensStream:
    """One lens: a label and a subscription holding its ranked items."""

    slug: str
    label: str
    stream_id: str  # feed/<base>/reader/lens/<slug>
    item_ids: tuple[int, ...]  # best ranked first


@dataclass(frozen=True, slots=True)
class SourceStream:
    """A source behind the profile's interests, as a subscription in its area's folder."""

    source_id: int
    stream_id: str  # feed/<source URL without credentials>
    title: str
    url: str
    html_url: str | None
    area: str


@dataclass(frozen=True, slots=True)
class LensItem:
    """A ranked item: its place in time, its lenses (best first), its explained entry."""

    key: SortKey
    lenses: tuple[str, ...]  # lens slugs, the lens that dates it first
    entry: Entry | None  # None: a Trends item no ranked lens holds (shown as stored)
    html: str  # summary, why, topics, coverage, feedback links ("" without an entry)
    source_ids: frozenset[int]
    rising: str = ""  # a Trends item: the theme it is shown for


@dataclass(frozen=True)
class Library:
    """Everything a reader app sees of a profile, as of one ranking instant."""

    profile_id: int
    as_of: datetime
    since: datetime  # the window's start: older source items are not listed
    lenses: tuple[LensStream, ...]
    sources: tuple[SourceStream, ...]
    lens_items: Mapping[int, LensItem]

    @cached_property
    def lens_by_slug(self) -> dict[str, LensStream]:
        return {lens.slug: lens for lens in self.lenses}

    @cached_property
    def source_by_id(self) -> dict[int, SourceStream]:
        return {source.source_id: source for source in self.sources}

    def lens(self, stream_id: str) -> LensStream | None:
        return next((lens for lens in self.lenses if lens.stream_id == stream_id), None)

    def lens_labelled(self, label: str) -> LensStream | None:
        return next((lens for lens in self.lenses if lens.label == label), None)

    def source(self, stream_id: str) -> SourceStream | None:
        return next((s for s in self.sources if s.stream_id == stream_id), None)

    def areas(self) -> tuple[str, ...]:
        return tuple(sorted({s.area for s in self.sources}))


def lens_names(label: str) -> tuple[str, str]:
    """('deep: your interests first') -> ('deep', 'Deep'); 'podcasts only' -> 'Podcasts'."""
    short = label.split(":", 1)[0].removesuffix(" only").strip()
    return short.replace(" ", "-").lower(), short[:1].upper() + short[1:]


def ranked_lens(
    db: Database,
    *,
    profile: Profile,
    lens: Lens,
    secret: bytes,
    base_url: str,
    now: datetime,
    windows: WindowCache | None = None,
) -> LensFeed:
    """The one place the reader API asks for a ranked lens (as the RSS/Atom/JSON lenses do).
    ``windows``: the process's candidate-window cache (None: the window is read for this call)."""
    return lens_feed(
        db,
        profile=profile,
        lens=replace(lens, limit=MAX_LIMIT),
        secret=secret,
        base_url=base_url,
        now=now,
        windows=windows,
    )


def _sources(db: Database, profile: Profile, now: datetime) -> tuple[SourceStream, ...]:
    with db.session() as session:
        found = profile_sources(session, profile, now=now)
    streams = []
    for source, area in sorted(found, key=lambda pair: (pair[1], pair[0].name)):
        url = public_url(source.url)
        if source.id is None or not url:
            continue
        html_url = public_url(source.site_url)
        streams.append(SourceStream(source.id, f"feed/{url}", source.name, url, html_url, area))
    return tuple(streams)


def _sources_of(db: Database, item_ids: list[int]) -> dict[int, frozenset[int]]:
    found: dict[int, set[int]] = {item_id: set() for item_id in item_ids}
    with db.session() as session:
        for start in range(0, len(item_ids), 500):
            chunk = item_ids[start : start + 500]
            rows = session.exec(
                select(ItemSource.item_id, ItemSource.source_id).where(
                    col(ItemSource.item_id).in_(chunk)
                )
            ).all()
            for item_id, source_id in rows:
                found[item_id].add(source_id)
    return {item_id: frozenset(ids) for item_id, ids in found.items()}


def rising_items(page: TrendsPage) -> dict[int, str]:
    """Item id -> the theme it is shown for: the representative items of the themes, then of the
    papers, in the radar's rank order (an item in two themes, for the first)."""
    found: dict[int, str] = {}
    for view in (*page.themes, *page.papers):
        line = rising_line(view)
        for ref in view.representative:
            found.setdefault(ref.id, line)
    return found


def _best_ranks(
    ranked: list[tuple[LensStream, LensFeed]],
) -> dict[int, tuple[int, list[str], Entry]]:
    best: dict[int, tuple[int, list[str], Entry]] = {}
    for stream, feed in ranked:
        for rank, (item_id, entry) in enumerate(feed.by_rank, start=1):
            if item_id not in best:
                best[item_id] = (rank, [stream.slug], entry)
                continue
            old_rank, slugs, _entry = best[item_id]
            if rank < old_rank:
                best[item_id] = (rank, [stream.slug, *slugs], entry)
            else:
                slugs.append(stream.slug)
    return best


def _lens_items(
    ranked: list[tuple[LensStream, LensFeed]],
    rising: dict[int, str],
    as_of: datetime,
    db: Database,
) -> dict[int, LensItem]:
    best = _best_ranks(ranked)
    places = {item_id: place for place, item_id in enumerate(rising, start=1)}
    sources = _sources_of(db, sorted(best.keys() | places.keys()))
    top = usec_of(as_of)
    items = {}
    for item_id in best.keys() | places.keys():
        rank, slugs, entry = best.get(item_id, (0, [], None))
        if item_id in places:
            rank, slugs = places[item_id], [TRENDS_SLUG, *slugs]
        items[item_id] = LensItem(
            key=SortKey(top - rank * 1_000_000, item_id),
            lenses=tuple(slugs),
            entry=entry,
            html=entry_html(entry) if entry is not None else "",
            source_ids=sources.get(item_id, frozenset()),
            rising=rising.get(item_id, ""),
        )
    return items


def build_library(
    db: Database,
    *,
    profile: Profile,
    secret: bytes,
    base_url: str,
    now: datetime,
    windows: WindowCache | None = None,
) -> Library:
    """Rank every lens of ``profile``, read its trends and list its sources (slow: seconds at
    scale; cached)."""
    assert profile.id is not None
    base = base_url.rstrip("/")
    ranked = []
    for label, lens in profile_lenses(profile):
        slug, short = lens_names(label)
        feed = ranked_lens(
            db, profile=profile, lens=lens, secret=secret, base_url=base, now=now, windows=windows
        )
        ids = tuple(item_id for item_id, _entry in feed.by_rank)
        ranked.append((LensStream(slug, short, f"feed/{base}{LENS_PATH}{slug}", ids), feed))
    rising = rising_items(subscribed_trends(db, profile=profile))
    trends = LensStream(
        TRENDS_SLUG, "Trends", f"feed/{base}{LENS_PATH}{TRENDS_SLUG}", tuple(rising)
    )
    as_of = max((feed.as_of for _stream, feed in ranked), default=tick_start(now))
    return Library(
        profile_id=profile.id,
        as_of=as_of,
        since=now - timedelta(days=profile.window_days),
        lenses=(*(stream for stream, _feed in ranked), trends),
        sources=_sources(db, profile, now),
        lens_items=_lens_items(ranked, rising, as_of, db),
    )


@dataclass
class LibraryCache:
    """The newest Libraries by (profile, its last change, lens tick, base URL)."""

    size: int = CACHED_LIBRARIES
    windows: WindowCache | None = None  # the API process's candidate windows, ranked from
    _kept: OrderedDict[tuple[object, ...], Library] = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def library(
        self, db: Database, *, profile: Profile, secret: bytes, base_url: str, now: datetime
    ) -> Library:
        """The profile's Library for now's lens tick (built once per tick)."""
        tick = tick_start(now)
        key = (profile.id, profile.updated_at, profile.feed_token_hash, tick, base_url)
        with self._lock:
            found = self._kept.get(key)
            if found is not None:
                self._kept.move_to_end(key)
                return found
        built = build_library(
            db,
            profile=profile,
            secret=secret,
            base_url=base_url,
            now=now,
            windows=self.windows,
        )
        with self._lock:
            self._kept[key] = built
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)
        return built


def source_id_by_url(db: Database, url: str) -> int | None:
    """The id of the source whose feed URL is ``url``, if there is one."""
    with db.session() as session:
        return session.exec(select(Source.id).where(Source.url == url)).first()
