"""The trend table: what the radar reads (items of a stretch of time) and what it writes.

``trend_items`` reads the items published in ``(since, until]`` as ``TrendItem``s in three
indexed queries (items by ``ix_item_published``; their sources and tags by primary key, the
items chosen by the same range in a subquery), reading only the opening of each summary.
``replace_trends`` swaps a window's rows in one transaction, so a reader sees the previous
refresh or the new one, never half of each.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from service.records import CoverageSighting, TrendItem
from service.storage.models import Item, ItemLink, ItemSource, ItemTag, Tag, Trend, TrendRefresh

SUMMARY_CHARS = 400  # the radar reads the opening of a summary (phrases.SUMMARY_WORDS words)
_CHUNK = 900


@dataclass(frozen=True, slots=True)
class StoredTrends:
    """A window's trends as the last refresh left them (``refresh`` None: never computed)."""

    refresh: TrendRefresh | None
    trends: tuple[Trend, ...]


def newest_item_id(session: Session) -> int:
    newest = session.execute(sa.select(sa.func.max(col(Item.id)))).scalar()
    return int(newest or 0)


def trend_items(session: Session, *, since: datetime, until: datetime) -> list[TrendItem]:
    """Every item published in ``(since, until]``, with its sources, areas and topics."""
    rows = session.execute(
        sa.select(
            col(Item.id),
            col(Item.kind),
            col(Item.title),
            sa.func.substr(col(Item.summary_text), 1, SUMMARY_CHARS),
            col(Item.published_at),
            sa.func.substr(col(Item.authors_text), 1, 200),
        )
        .where(col(Item.published_at) > since, col(Item.published_at) <= until)
        .order_by(col(Item.published_at), col(Item.id))
    ).all()
    # their sources and tags, chosen by the same range (a list of 40k ids costs more to send)
    chosen = sa.select(col(Item.id)).where(
        col(Item.published_at) > since, col(Item.published_at) <= until
    )
    sources = _sources(session, chosen)
    tags: defaultdict[int, list[tuple[str, str | None]]] = defaultdict(list)
    _add_tags(session, col(ItemTag.item_id).in_(chosen), tags)
    return [
        TrendItem(
            id=item_id,
            kind=kind,
            title=title,
            summary=summary or "",
            published_at=published,
            source_ids=tuple(sources.get(item_id, ())),
            lead_author=authors.split(", ", 1)[0] if authors else None,
            areas=tuple(sorted({area for area, _slug in tags.get(item_id, ())})),
            topics=tuple(sorted({slug for _area, slug in tags.get(item_id, ()) if slug})),
        )
        for item_id, kind, title, summary, published, authors in rows
    ]


def _sources(session: Session, chosen: sa.Select[Any]) -> dict[int, list[int]]:
    found: defaultdict[int, list[int]] = defaultdict(list)
    query = sa.select(col(ItemSource.item_id), col(ItemSource.source_id)).where(
        col(ItemSource.item_id).in_(chosen)
    )
    for item_id, source_id in session.execute(query):
        found[item_id].append(source_id)
    return found


def _tags(session: Session, ids: Sequence[int]) -> dict[int, list[tuple[str, str | None]]]:
    """Per item: (area, subtopic slug or None for an area tag)."""
    found: defaultdict[int, list[tuple[str, str | None]]] = defaultdict(list)
    for start in range(0, len(ids), _CHUNK):
        _add_tags(session, col(ItemTag.item_id).in_(ids[start : start + _CHUNK]), found)
    return found


def _add_tags(
    session: Session,
    chosen: sa.ColumnElement[bool],
    found: defaultdict[int, list[tuple[str, str | None]]],
) -> None:
    query = (
        sa.select(col(ItemTag.item_id), col(Tag.area), col(Tag.slug), col(Tag.parent))
        .join(Tag, col(Tag.id) == col(ItemTag.tag_id))
        .where(chosen)
    )
    for item_id, area, slug, parent in session.execute(query):
        found[item_id].append((area, slug if parent else None))


def coverage_sightings(
    session: Session, *, since: datetime, until: datetime
) -> list[CoverageSighting]:
    """Every link from a post or episode published in ``(since, until]`` to a paper."""
    covering = sa.orm.aliased(Item)
    paper = sa.orm.aliased(Item)
    rows = session.execute(
        sa.select(
            col(ItemLink.arxiv_id),
            col(covering.id),
            col(covering.kind),
            sa.select(sa.func.min(col(ItemSource.source_id)))
            .where(col(ItemSource.item_id) == col(covering.id))
            .scalar_subquery(),
            col(covering.published_at),
            col(paper.id),
            col(paper.title),
        )
        .join(covering, col(covering.id) == col(ItemLink.item_id))
        .outerjoin(paper, col(paper.arxiv_id) == col(ItemLink.arxiv_id))
        .where(col(covering.published_at) > since, col(covering.published_at) <= until)
    ).all()
    papers = sorted({row[5] for row in rows if row[5] is not None})
    tags = _tags(session, papers)
    return [
        CoverageSighting(
            arxiv_id=arxiv_id,
            by_item=by_item,
            by_kind=kind,
            by_source=source,
            published_at=published,
            paper_id=paper_id,
            paper_title=title,
            paper_areas=tuple(sorted({a for a, _s in tags.get(paper_id, ())})) if paper_id else (),
        )
        for arxiv_id, by_item, kind, source, published, paper_id, title in rows
    ]


def topic_labels(session: Session) -> dict[str, str]:
    rows = session.execute(sa.select(col(Tag.slug), col(Tag.label))).all()
    return {str(slug): str(label) for slug, label in rows}


TRENDS_LOCK = 727275  # PostgreSQL advisory lock: one trend writer at a time (727274: migrations)


def lock_trends(session: Session) -> None:
    """Serialize trend writers across workers (SQLite's BEGIN IMMEDIATE already does)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text(f"SELECT pg_advisory_xact_lock({TRENDS_LOCK})"))


def replace_trends(session: Session, *, refresh: TrendRefresh, trends: Sequence[Trend]) -> None:
    """Put ``trends`` in place of the window's rows, and record the refresh (several workers may
    refresh at once: the second waits for the first and replaces its rows)."""
    lock_trends(session)
    session.execute(sa.delete(Trend).where(col(Trend.window_days) == refresh.window_days))
    session.merge(refresh)
    session.add_all(trends)


def stored_trends(session: Session, window_days: int) -> StoredTrends:
    refresh = session.get(TrendRefresh, window_days)
    trends = session.exec(
        select(Trend).where(col(Trend.window_days) == window_days).order_by(col(Trend.rank))
    ).all()
    return StoredTrends(refresh, tuple(trends))
