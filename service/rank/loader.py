"""The only part of ranking that reads storage: bounded, indexed queries into frozen Candidates.

Candidates are the newest items of the window (``ix_item_published``, newest first), at most
``MAX_CANDIDATES`` of them, without the profile's hidden (and, unless asked, read) items, of the
kinds asked for, seen in at least one source that is not muted. Only items first seen by ``at``
count, so a feed ranked "as of ``at``" stays the same while new items arrive. Tags, sources,
covering posts and feedback of those candidates follow in chunked ``IN`` queries on primary keys.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from service.rank.model import (
    Candidate,
    CandidatePool,
    CandidateSource,
    CandidateTag,
    FeedbackEvent,
    TopicIndex,
)
from service.records import KINDS
from service.storage.feedback import affinity_events, signals_for
from service.storage.models import Feedback, Item, ItemLink, ItemSource, ItemTag, Source, Tag

MAX_CANDIDATES = 3000
AFFINITY_LOOKBACK_DAYS = 90
COVERING_SHOWN = 5
_CHUNK = 900


@dataclass(frozen=True, slots=True)
class CandidateQuery:
    """Which items may enter one feed, as of ``at``."""

    at: datetime
    window_days: int
    kinds: tuple[str, ...] = KINDS
    profile_id: int | None = None
    muted_sources: tuple[int, ...] = ()
    include_read: bool = False
    limit: int = MAX_CANDIDATES


@dataclass(frozen=True, slots=True)
class CoveringItem:
    """A post or podcast that discusses a paper."""

    id: int
    kind: str
    title: str
    url: str | None
    published_at: datetime


_ITEM_COLUMNS = tuple(
    col(column)
    for column in (
        Item.id,
        Item.kind,
        Item.title,
        Item.url,
        Item.summary_text,
        Item.published_at,
        Item.authors,
        Item.reading_minutes,
        Item.arxiv_id,
        Item.arxiv_primary,
        Item.arxiv_categories,
        Item.pdf_url,
        Item.enclosure_url,
        Item.enclosure_type,
        Item.duration_seconds,
        Item.episode,
        Item.season,
        Item.image_url,
    )
)


_COVERING_COLUMNS = (ItemLink.arxiv_id, Item.id, Item.kind, Item.title, Item.url, Item.published_at)


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _feedback_absent(profile_id: int, signal: str) -> sa.ColumnElement[bool]:
    return ~sa.exists().where(
        col(Feedback.profile_id) == profile_id,
        col(Feedback.item_id) == col(Item.id),
        col(Feedback.signal) == signal,
    )


def _conditions(query: CandidateQuery) -> list[sa.ColumnElement[bool]]:
    since = query.at - timedelta(days=query.window_days)
    conditions = [col(Item.published_at) >= since, col(Item.first_seen_at) <= query.at]
    if set(query.kinds) != set(KINDS):
        conditions.append(col(Item.kind).in_(query.kinds))
    if query.profile_id is not None:
        conditions.append(_feedback_absent(query.profile_id, "hide"))
        if not query.include_read:
            conditions.append(_feedback_absent(query.profile_id, "read"))
    if query.muted_sources:
        conditions.append(
            sa.exists().where(
                col(ItemSource.item_id) == col(Item.id),
                col(ItemSource.source_id).not_in(query.muted_sources),
            )
        )
    return conditions


def _item_rows(session: Session, query: CandidateQuery) -> tuple[list[Any], bool]:
    if not query.kinds:
        return [], False
    statement = (
        sa.select(*_ITEM_COLUMNS)
        .where(*_conditions(query))
        .order_by(col(Item.published_at).desc(), col(Item.id).desc())
        .limit(query.limit + 1)
    )
    rows = list(session.execute(statement).all())
    return rows[: query.limit], len(rows) > query.limit


def _tags(session: Session, ids: Sequence[int]) -> dict[int, list[CandidateTag]]:
    found: dict[int, list[CandidateTag]] = defaultdict(list)
    for chunk in _chunks(ids):
        statement = (
            sa.select(
                col(ItemTag.item_id),
                col(Tag.slug),
                col(Tag.area),
                col(ItemTag.score),
                col(ItemTag.origin),
            )
            .join(Tag, col(Tag.id) == col(ItemTag.tag_id))
            .where(col(ItemTag.item_id).in_(chunk))
        )
        for item_id, slug, area, score, origin in session.execute(statement):
            found[item_id].append(CandidateTag(slug, area, float(score), origin))
    return found


def _sources(session: Session, ids: Sequence[int]) -> dict[int, list[CandidateSource]]:
    found: dict[int, list[CandidateSource]] = defaultdict(list)
    for chunk in _chunks(ids):
        statement = (
            sa.select(
                col(ItemSource.item_id),
                col(Source.id),
                col(Source.name),
                col(Source.kind),
                col(Source.level),
                col(Source.weight),
            )
            .join(Source, col(Source.id) == col(ItemSource.source_id))
            .where(col(ItemSource.item_id).in_(chunk))
        )
        for item_id, source_id, name, kind, level, weight in session.execute(statement):
            found[item_id].append(CandidateSource(source_id, name, kind, level, float(weight)))
    return found


def _covered_counts(session: Session, arxiv_ids: Sequence[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for chunk in _chunks(arxiv_ids):
        statement = (
            sa.select(col(ItemLink.arxiv_id), sa.func.count(sa.distinct(col(ItemLink.item_id))))
            .join(Item, col(Item.id) == col(ItemLink.item_id))
            .where(col(ItemLink.arxiv_id).in_(chunk), col(Item.kind) != "paper")
            .group_by(col(ItemLink.arxiv_id))
        )
        counts.update({arxiv_id: int(n) for arxiv_id, n in session.execute(statement)})
    return counts


def load_covering(
    session: Session, arxiv_ids: Sequence[str], *, per_paper: int = COVERING_SHOWN
) -> dict[str, tuple[CoveringItem, ...]]:
    """For display: the newest posts and podcasts that discuss each paper (a few each)."""
    found: dict[str, list[CoveringItem]] = defaultdict(list)
    for chunk in _chunks(list(dict.fromkeys(arxiv_ids))):
        statement = (
            sa.select(*(col(column) for column in _COVERING_COLUMNS))
            .join(Item, col(Item.id) == col(ItemLink.item_id))
            .where(col(ItemLink.arxiv_id).in_(chunk), col(Item.kind) != "paper")
        )
        for arxiv_id, *fields in session.execute(statement):
            found[arxiv_id].append(CoveringItem(*fields))
    return {
        arxiv_id: tuple(sorted(items, key=lambda c: (-c.published_at.timestamp(), c.id)))[
            :per_paper
        ]
        for arxiv_id, items in found.items()
    }


def load_topics(session: Session) -> TopicIndex:
    rows = session.execute(
        sa.select(col(Tag.slug), col(Tag.area), col(Tag.parent), col(Tag.label)).order_by(
            col(Tag.slug)
        )
    )
    return TopicIndex.build((slug, area, parent, label) for slug, area, parent, label in rows)


def load_events(session: Session, *, profile_id: int, at: datetime) -> tuple[FeedbackEvent, ...]:
    since = at - timedelta(days=AFFINITY_LOOKBACK_DAYS)
    return tuple(
        FeedbackEvent(
            sign=1 if event.signal == "like" else -1,
            at=event.at,
            topics=event.topics,
            source_ids=event.source_ids,
            authors=event.authors,
        )
        for event in affinity_events(session, profile_id=profile_id, since=since)
    )


def _candidate(
    row: Any,
    tags: dict[int, list[CandidateTag]],
    sources: dict[int, list[CandidateSource]],
    covered: dict[str, int],
    feedback: dict[int, frozenset[str]],
) -> Candidate:
    return Candidate(
        id=row.id,
        kind=row.kind,
        title=row.title,
        url=row.url,
        summary=row.summary_text,
        published_at=row.published_at,
        authors=tuple(row.authors or ()),
        reading_minutes=row.reading_minutes,
        arxiv_id=row.arxiv_id,
        arxiv_primary=row.arxiv_primary,
        arxiv_categories=tuple(row.arxiv_categories or ()),
        pdf_url=row.pdf_url,
        enclosure_url=row.enclosure_url,
        enclosure_type=row.enclosure_type,
        duration_seconds=row.duration_seconds,
        episode=row.episode,
        season=row.season,
        image_url=row.image_url,
        tags=tuple(sorted(tags.get(row.id, ()), key=lambda t: (-t.score, t.slug))),
        sources=tuple(sorted(sources.get(row.id, ()), key=lambda s: (-s.weight, s.id))),
        covered_by=covered.get(row.arxiv_id, 0) if row.arxiv_id else 0,
        feedback=feedback.get(row.id, frozenset()),
    )


def load_candidates(session: Session, query: CandidateQuery) -> tuple[tuple[Candidate, ...], bool]:
    """The candidates of one feed, newest first, and whether the cap cut older ones off."""
    rows, truncated = _item_rows(session, query)
    ids = [row.id for row in rows]
    tags, sources = _tags(session, ids), _sources(session, ids)
    covered = _covered_counts(session, [row.arxiv_id for row in rows if row.arxiv_id])
    feedback = (
        signals_for(session, profile_id=query.profile_id, item_ids=ids)
        if query.profile_id is not None
        else {}
    )
    return tuple(_candidate(row, tags, sources, covered, feedback) for row in rows), truncated


def load_pool(session: Session, query: CandidateQuery) -> CandidatePool:
    """Candidates, the taxonomy and (for a profile) its likes and dislikes."""
    candidates, truncated = load_candidates(session, query)
    events = (
        load_events(session, profile_id=query.profile_id, at=query.at)
        if query.profile_id is not None
        else ()
    )
    return CandidatePool(candidates, load_topics(session), events, truncated)
