"""The trend radar's two ends: the worker's refresh (detect, store) and what readers are shown.

    refresh_trends:  storage.trend_items | rank.trends.detect_themes | storage.replace_trends
    trends_for:      storage.stored_trends | a profile's areas (depth) | TrendsPage with "why"

A refresh reads the items once for the widest window and computes each window of
``TREND_WINDOWS``; a window is recomputed only when an item arrived since its last refresh or when
it is ``STALE_AFTER`` old (the window slides even when nothing arrives). Readers never compute:
they read the trend table.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import escape

from sqlmodel import Session, select

from service.errors import InvalidInputError
from service.outputs.syndication.document import Channel, Entry, FeedDocument
from service.outputs.syndication.document import Link as FeedLink
from service.rank.comebacks import comebacks
from service.rank.covered import CoveredPaper, covered_papers
from service.rank.trends import Theme, TrendParams, TrendReport, detect_windows
from service.storage.comebacks import (
    ShownComeback,
    recent_comebacks,
    record_events,
    recorded_events,
    watched_papers,
)
from service.storage.engine import Database
from service.storage.models import Comeback, Profile, Tag, Trend, TrendRefresh
from service.storage.trends import (
    coverage_sightings,
    lock_trends,
    newest_item_id,
    replace_trends,
    stored_trends,
    topic_labels,
    trend_items,
)
from service.storage.views import ItemRef, items_by_id

TREND_WINDOWS = (3, 7, 14)
DEFAULT_WINDOW = 7
TRENDS_FILENAME = "trends.rss"
BASELINE_DAYS = 28
STALE_AFTER = timedelta(hours=3)
KEPT_PER_WINDOW = 30
KEPT_PAPERS = 20
SUBSCRIBED_THEMES = 30  # themes (and papers) at most in a profile's trends.rss and Trends label
DEEP = 0.5  # a profile at this depth or more sees what rises inside its areas
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class RefreshOutcome:
    window_days: int
    refreshed: bool
    themes: int
    note: str


def _due(refresh: TrendRefresh | None, newest: int, now: datetime) -> bool:
    if refresh is None:
        return True
    return refresh.newest_item_id != newest or now - refresh.computed_at >= STALE_AFTER


def refresh_trends(
    db: Database,
    *,
    now: datetime,
    windows: tuple[int, ...] = TREND_WINDOWS,
    force: bool = False,
) -> list[RefreshOutcome]:
    """Recompute the windows that are due (all of them with ``force``) and store their themes."""
    with _no_cycle_collection():
        with db.session() as session:
            newest = newest_item_id(session)
            due = [w for w in windows if force or _due(session.get(TrendRefresh, w), newest, now)]
            if not due:
                return [RefreshOutcome(w, False, 0, "") for w in windows]
            since = now - timedelta(days=max(due) + BASELINE_DAYS)
            items = trend_items(session, since=since, until=now)
            sightings = coverage_sightings(session, since=since, until=now)
            labels = topic_labels(session)
        params = [
            TrendParams(window_days=window, baseline_days=BASELINE_DAYS, limit=KEPT_PER_WINDOW)
            for window in due
        ]  # one detection for every window: each item's phrases are found once
        reports = detect_windows(items, now=now, windows=params, topic_labels=labels)
    outcomes = []
    for window, report in zip(due, reports, strict=True):
        papers = covered_papers(
            sightings, now=now, window_days=window, baseline_days=BASELINE_DAYS, limit=KEPT_PAPERS
        )
        rows = [*_rows(report), *(_paper_row(window, rank, p) for rank, p in enumerate(papers))]
        with db.write() as session:
            replace_trends(session, refresh=_refresh_row(report, newest), trends=rows)
        outcomes.append(RefreshOutcome(window, True, len(report.themes), report.note))
    return outcomes


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Reading and detecting make millions of sets, tuples and strings that form no reference
    cycles, and keep tens of thousands of them to the end: the cycle collector would walk them
    again and again for nothing (a fifth of a refresh's CPU at 200k items). Paused meanwhile."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def _refresh_row(report: TrendReport, newest: int) -> TrendRefresh:
    return TrendRefresh(
        window_days=int(report.window_days),
        computed_at=report.now,
        newest_item_id=newest,
        window_items=report.window_items,
        baseline_items=report.baseline_items,
        note=report.note,
    )


def _rows(report: TrendReport) -> list[Trend]:
    return [_row(int(report.window_days), rank, theme) for rank, theme in enumerate(report.themes)]


def _row(window: int, rank: int, theme: Theme) -> Trend:
    return Trend(
        window_days=window,
        rank=rank,
        key=theme.key[:300],
        label=theme.label[:300],
        kind=theme.kind,
        score=theme.score,
        ratio=theme.ratio,
        items=theme.items,
        voices=theme.voices,
        feeds=theme.feeds,
        baseline_per_week=theme.baseline_per_week,
        evidence=theme.evidence,
        first_seen_at=theme.first_seen,
        latest_seen_at=theme.latest_seen,
        areas=list(theme.areas),
        aliases=list(theme.aliases),
        item_ids=list(theme.item_ids),
        representative=list(theme.representative),
    )


def _paper_row(window: int, rank: int, paper: CoveredPaper) -> Trend:
    shown = [paper.paper_id] if paper.paper_id is not None else []
    return Trend(
        window_days=window,
        rank=rank,
        key=f"paper:{paper.arxiv_id}"[:300],
        label=paper.title[:300],
        kind="paper",
        score=paper.score,
        ratio=paper.ratio,
        items=paper.covering,
        voices=paper.sources,
        feeds=paper.sources,
        baseline_per_week=round(paper.before * 7 / BASELINE_DAYS, 3),
        evidence=paper.evidence,
        first_seen_at=paper.first_seen,
        latest_seen_at=paper.latest_seen,
        areas=list(paper.areas),
        aliases=[f"arXiv:{paper.arxiv_id}"],
        item_ids=list(paper.covering_ids),
        representative=[*shown, *paper.covering_ids[:2]],
    )


def refresh_comebacks(db: Database, *, now: datetime) -> int:
    """Record what happened to every liked or saved paper since it was watched; the number of
    events to show (baseline rows, the state when watching began, are not counted). Read and
    written in one transaction under the trend writers' lock, so two workers record each event
    once."""
    with db.write() as session:
        lock_trends(session)
        watched = watched_papers(session)
        recorded = recorded_events(session)
        rows = [
            Comeback(
                profile_id=profile_id,
                item_id=event.item_id,
                event=event.event[:300],
                reason=event.reason,
                baseline=event.baseline,
                created_at=now,
            )
            for profile_id, papers in watched.items()
            for paper in papers
            for event in comebacks(paper, recorded.get((profile_id, paper.item_id), set()))
        ]
        record_events(session, rows)
    return sum(not row.baseline for row in rows)


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True, slots=True)
class TrendView:
    """A stored theme as a reader sees it: with its representative items and why it is shown."""

    trend: Trend
    representative: tuple[ItemRef, ...]
    area_labels: tuple[str, ...]
    why: str


@dataclass(frozen=True, slots=True)
class TrendsPage:
    window_days: int
    computed_at: datetime | None
    scope: str  # field | areas
    note: str
    themes: tuple[TrendView, ...]
    papers: tuple[TrendView, ...] = ()  # papers everyone covers
    coming_back: tuple[ShownComeback, ...] = ()  # the profile's liked or saved papers


def check_window(window_days: int) -> int:
    if window_days not in TREND_WINDOWS:
        known = ", ".join(str(w) for w in TREND_WINDOWS)
        raise InvalidInputError(f"window must be one of {known} days, not {window_days}")
    return window_days


def trends_for(
    db: Database,
    *,
    window_days: int = DEFAULT_WINDOW,
    topic: str | None = None,
    limit: int = 10,
    profile: Profile | None = None,
    depth: float | None = None,
) -> TrendsPage:
    """The stored themes of a window: across the field, or inside a profile's areas (deep)."""
    check_window(window_days)
    with db.session() as session:
        stored = stored_trends(session, window_days)
        area_of, label_of = _taxonomy(session)
        mine = _profile_areas(profile, area_of)
        deep = profile is not None and (profile.depth if depth is None else depth) >= DEEP
        shown = [
            t
            for t in stored.trends
            if _about(t, topic, area_of) and (not deep or set(t.areas) & mine)
        ]
        themes = [t for t in shown if t.kind != "paper"][:limit]
        papers = [t for t in shown if t.kind == "paper"][:limit]
        refs = _references(session, [*themes, *papers])
        since = (stored.refresh.computed_at if stored.refresh else EPOCH) - timedelta(
            days=window_days
        )
        back = recent_comebacks(session, profile.id, since) if profile and profile.id else []

    def view(t: Trend) -> TrendView:
        return TrendView(
            trend=t,
            representative=tuple(refs[i] for i in t.representative if i in refs),
            area_labels=tuple(label_of.get(a, a) for a in t.areas),
            why=_why(t, mine, label_of),
        )

    views = tuple(view(t) for t in themes)
    note = _note(stored.refresh, views, deep, topic)
    computed = stored.refresh.computed_at if stored.refresh else None
    scope = "areas" if deep else "field"
    return TrendsPage(
        window_days, computed, scope, note, views, tuple(view(t) for t in papers), tuple(back)
    )


def subscribed_trends(
    db: Database, *, profile: Profile, window_days: int = DEFAULT_WINDOW
) -> TrendsPage:
    """What a profile subscribes to as its trends (``trends.rss``, the reader apps' Trends label):
    the window's themes and papers for the profile, in the radar's rank order."""
    return trends_for(db, window_days=window_days, limit=SUBSCRIBED_THEMES, profile=profile)


def rising_line(view: TrendView) -> str:
    """Which rising theme an item is shown for: "part of a rising theme: GRPO — 12 items from 7
    sources in 3 days; …" (a paper everyone covers says so)."""
    t = view.trend
    if t.kind == "paper":
        return f"among the papers everyone covers: {t.label} — {t.evidence}"
    return f"part of a rising theme: {t.label} — {t.evidence}"


def rising_badges(
    db: Database, item_ids: Sequence[int], *, window_days: int = DEFAULT_WINDOW
) -> dict[int, list[str]]:
    """Item id -> "part of a rising theme: GRPO" for the items of ``item_ids`` in a theme."""
    wanted = set(item_ids)
    badges: dict[int, list[str]] = {}
    with db.session() as session:
        stored = stored_trends(session, window_days)
    for trend in stored.trends:
        if trend.kind == "paper":
            continue
        for item_id in wanted.intersection(trend.item_ids):
            badges.setdefault(item_id, []).append(f"part of a rising theme: {trend.label}")
    return badges


def _taxonomy(session: Session) -> tuple[dict[str, str], dict[str, str]]:
    tags = session.exec(select(Tag)).all()
    return {t.slug: t.area for t in tags}, {t.slug: t.label for t in tags}


def _profile_areas(profile: Profile | None, area_of: dict[str, str]) -> set[str]:
    if profile is None:
        return set()
    return {
        area_of[slug]
        for slug, weight in profile.interests.items()
        if slug in area_of and weight > 0
    }


def _about(trend: Trend, topic: str | None, area_of: dict[str, str]) -> bool:
    if topic is None:
        return True
    return trend.key == f"topic:{topic}" or area_of.get(topic, topic) in trend.areas


def _references(session: Session, trends: list[Trend]) -> dict[int, ItemRef]:
    ids = sorted({i for t in trends for i in t.representative})
    return {
        v.item.id: ItemRef(v.item.id, v.item.kind, v.item.title, v.item.url, v.item.published_at)
        for v in items_by_id(session, ids)
        if v.item.id is not None
    }


def _why(trend: Trend, mine: set[str], label_of: dict[str, str]) -> str:
    yours = [label_of.get(a, a) for a in trend.areas if a in mine]
    if yours:
        where = "rising in your area" if len(yours) == 1 else "rising in your areas"
        return f"{where} {', '.join(yours)}: {trend.evidence}"
    return f"rising across the field: {trend.evidence}"


def _note(
    refresh: TrendRefresh | None, views: tuple[TrendView, ...], deep: bool, topic: str | None
) -> str:
    if refresh is None:
        return "trends have not been computed yet: the worker computes them every few minutes"
    if views:
        return ""
    if refresh.note:
        return refresh.note
    if topic:
        return f"nothing is rising in {topic} this window"
    return "nothing is rising inside your areas this window" if deep else ""


# --------------------------------------------------------------------------- as a feed


def trends_document(page: TrendsPage, *, title: str, feed_id: str, home_url: str) -> FeedDocument:
    """The themes as feed entries: one entry per theme and burst (its id holds the first day),
    so a reader shows a theme once while it rises and again if it rises anew later."""
    entries = tuple(_theme_entry(view) for view in page.themes)
    updated = max((e.last_change for e in entries), default=page.computed_at or EPOCH)
    channel = Channel(
        feed_id=feed_id,
        title=title,
        description="What is rising in ML: phrases and topics well above their usual rate, "
        "from several independent sources (the Staycurrent trend radar).",
        home_url=home_url,
        updated=updated,
    )
    return FeedDocument(channel, tuple(sorted(entries, key=lambda e: e.published, reverse=True)))


def _theme_entry(view: TrendView) -> Entry:
    t = view.trend
    refs = tuple(FeedLink(ref.title, ref.url) for ref in view.representative if ref.url)
    listed = "".join(
        f"<li>{escape(ref.kind)}: {escape(ref.title)}</li>" for ref in view.representative
    )
    return Entry(
        guid=f"staycurrent:trend:{t.key}:{t.first_seen_at.date().isoformat()}",
        title=f"Rising: {t.label}",
        url=refs[0].url if refs else None,
        published=t.first_seen_at,
        updated=t.latest_seen_at,
        authors=(),
        summary=view.why,
        summary_html=f"<p>{escape(view.why)}</p><ul>{listed}</ul>",
        kind="post",
        source="Staycurrent trend radar",
        minutes=None,
        why=t.evidence,
        topics=view.area_labels,
        covered_by=refs,
    )
