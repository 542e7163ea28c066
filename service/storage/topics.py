"""The taxonomy as stored (Tag rows), with how many items each topic had lately."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Mapped
from sqlmodel import Session, col, func, select

from service.storage.models import Item, ItemTag, Tag

COUNT_WINDOWS_DAYS = (7, 30)


@dataclass(frozen=True, slots=True)
class TopicCount:
    """A topic and the distinct items tagged with it (an area: or any subtopic) per window."""

    slug: str
    label: str
    area: str
    parent: str | None
    counts: dict[int, int]  # window in days -> items published within it


def _by(session: Session, key: Mapped[str], now: datetime) -> dict[str, dict[int, int]]:
    """Distinct items per value of ``key`` (a tag's slug or area), for each window."""
    sums = [
        func.count(
            sa.distinct(sa.case((col(Item.published_at) >= now - timedelta(days=d), Item.id)))
        )
        for d in COUNT_WINDOWS_DAYS
    ]
    oldest = now - timedelta(days=max(COUNT_WINDOWS_DAYS))
    stmt = (
        sa.select(key, *sums)
        .select_from(ItemTag)
        .join(Tag, col(Tag.id) == ItemTag.tag_id)
        .join(Item, col(Item.id) == ItemTag.item_id)
        .where(col(Item.published_at) >= oldest)
        .group_by(key)
    )
    return {
        str(row[0]): dict(zip(COUNT_WINDOWS_DAYS, map(int, row[1:]), strict=True))
        for row in session.execute(stmt)
    }


def taxonomy(session: Session) -> Sequence[Tag]:
    """Every topic, areas and subtopics, in catalog order (no counting: cheap at any size)."""
    return session.exec(select(Tag).order_by(col(Tag.id))).all()


def topic_counts(session: Session, now: datetime) -> list[TopicCount]:
    """Every topic (in catalog order) with its item counts over the last 7 and 30 days."""
    per_tag = _by(session, col(Tag.slug), now)
    per_area = _by(session, col(Tag.area), now)
    zero = dict.fromkeys(COUNT_WINDOWS_DAYS, 0)
    tags = taxonomy(session)
    return [
        TopicCount(
            slug=t.slug,
            label=t.label,
            area=t.area,
            parent=t.parent,
            counts=(per_area if t.parent is None else per_tag).get(t.slug, zero),
        )
        for t in tags
    ]


def topic_labels(session: Session) -> dict[str, str]:
    """Every topic's slug and label."""
    return dict(session.exec(select(Tag.slug, Tag.label)).all())
