"""Read models of items: everything a reader sees about an item, loaded in a few batched queries.

``ItemView`` is what the CLI, the API, the feeds and the digest all show; ``list_items`` pages
with a keyset cursor on (published_at, id) — never OFFSET.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from service.storage.models import Item, ItemLink, ItemSource, ItemTag, Source, Tag


@dataclass(frozen=True, slots=True)
class TagView:
    slug: str
    area: str
    label: str
    score: float
    origin: str


@dataclass(frozen=True, slots=True)
class SourceRef:
    id: int
    name: str
    kind: str
    level: str


@dataclass(frozen=True, slots=True)
class ItemRef:
    """A short reference to another item (a post covering a paper, say)."""

    id: int
    kind: str
    title: str
    url: str | None
    published_at: datetime


@dataclass(frozen=True, slots=True)
class ItemView:
    item: Item
    sources: tuple[SourceRef, ...] = ()
    tags: tuple[TagView, ...] = ()
    covered_by: tuple[ItemRef, ...] = ()  # posts/podcasts that mention this paper
    mentions: tuple[str, ...] = ()  # arXiv ids this item mentions

    @property
    def area(self) -> str | None:
        """The item's area: that of its highest-scoring tag."""
        best = max(self.tags, key=lambda t: (t.score, t.slug), default=None)
        return best.area if best else None


@dataclass(frozen=True, slots=True)
class ItemFilter:
    kind: str | None = None
    topic: str | None = None  # a tag slug; an area slug matches its subtopics too
    source_id: int | None = None
    arxiv_category: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    covered: bool | None = None  # papers that posts or podcasts discussed


Cursor = tuple[datetime, int]  # (published_at, id) of the last item of the previous page


def item_conditions(f: ItemFilter) -> list[sa.ColumnElement[bool]]:
    """The WHERE conditions of a filter, for any statement that selects from ``item``."""
    conditions: list[sa.ColumnElement[bool]] = []
    if f.kind:
        conditions.append(col(Item.kind) == f.kind)
    if f.since:
        conditions.append(col(Item.published_at) >= f.since)
    if f.until:
        conditions.append(col(Item.published_at) < f.until)
    if f.source_id is not None:
        seen = select(ItemSource.item_id).where(ItemSource.source_id == f.source_id)
        conditions.append(col(Item.id).in_(seen))
    if f.topic:
        tags = select(Tag.id).where(sa.or_(col(Tag.slug) == f.topic, col(Tag.parent) == f.topic))
        tagged = select(ItemTag.item_id).where(col(ItemTag.tag_id).in_(tags))
        conditions.append(col(Item.id).in_(tagged))
    if f.arxiv_category:
        # categories live in a JSON list; a LIKE on its text is portable and exact with quotes
        pattern = '%"' + _like_escaped(f.arxiv_category) + '"%'
        conditions.append(sa.cast(col(Item.arxiv_categories), sa.Text).like(pattern, escape="\\"))
    if f.covered is not None:
        linked = sa.exists().where(col(ItemLink.arxiv_id) == col(Item.arxiv_id))
        conditions += [col(Item.arxiv_id).is_not(None), linked if f.covered else ~linked]
    return conditions


def _like_escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def older_than(after: Cursor) -> sa.ColumnElement[bool]:
    """Items after ``after`` in newest-first order (the keyset condition)."""
    published, item_id = after
    return sa.or_(
        col(Item.published_at) < published,
        sa.and_(col(Item.published_at) == published, col(Item.id) < item_id),
    )


NEWEST_FIRST = (col(Item.published_at).desc(), col(Item.id).desc())


def list_items(
    session: Session,
    f: ItemFilter,
    *,
    limit: int = 20,
    after: Cursor | None = None,
    extra: Sequence[sa.ColumnElement[bool]] = (),
) -> list[ItemView]:
    """Newest first, ``limit`` items after ``after`` (keyset); ``extra`` narrows further."""
    stmt = select(Item).where(*item_conditions(f), *extra)
    if after is not None:
        stmt = stmt.where(older_than(after))
    stmt = stmt.order_by(*NEWEST_FIRST).limit(limit)
    return views(session, list(session.exec(stmt)))


def items_by_id(session: Session, ids: Sequence[int]) -> list[ItemView]:
    """The views of ``ids``, in the order given (ids that do not exist are left out)."""
    if not ids:
        return []
    found = {i.id: i for i in session.exec(select(Item).where(col(Item.id).in_(ids)))}
    return views(session, [found[i] for i in ids if i in found])


@dataclass(frozen=True, slots=True)
class Sighting:
    """An item seen in a source: since when, and when last."""

    source: SourceRef
    first_seen_at: datetime
    last_seen_at: datetime


def sightings(session: Session, item_id: int) -> list[Sighting]:
    """Every source the item was seen in, the earliest first."""
    stmt = (
        select(ItemSource, Source)
        .join(Source, col(Source.id) == ItemSource.source_id)
        .where(ItemSource.item_id == item_id)
        .order_by(col(ItemSource.first_seen_at), col(Source.id))
    )
    return [
        Sighting(SourceRef(s.id or 0, s.name, s.kind, s.level), i.first_seen_at, i.last_seen_at)
        for i, s in session.exec(stmt)
    ]


def get_item(session: Session, item_id: int) -> ItemView | None:
    item = session.get(Item, item_id)
    return views(session, [item])[0] if item is not None else None


def views(session: Session, items: Sequence[Item]) -> list[ItemView]:
    """Attach sources, tags, covered_by and mentions to items, in four queries in all."""
    ids = [i.id for i in items if i.id is not None]
    if not ids:
        return []
    sources = _sources_of(session, ids)
    tags = _tags_of(session, ids)
    mentions = _mentions_of(session, ids)
    covered = _covered_by(session, [i.arxiv_id for i in items if i.arxiv_id])
    return [
        ItemView(
            item=i,
            sources=tuple(sources.get(i.id or 0, ())),
            tags=tuple(sorted(tags.get(i.id or 0, ()), key=lambda t: (-t.score, t.slug))),
            covered_by=tuple(covered.get(i.arxiv_id or "", ())),
            mentions=tuple(mentions.get(i.id or 0, ())),
        )
        for i in items
    ]


def _sources_of(session: Session, ids: list[int]) -> dict[int, list[SourceRef]]:
    # Columns, not entities: building ORM objects cost more than the query itself.
    stmt = (
        sa.select(
            col(ItemSource.item_id),
            col(Source.id),
            col(Source.name),
            col(Source.kind),
            col(Source.level),
        )
        .join(Source, col(Source.id) == ItemSource.source_id)
        .where(col(ItemSource.item_id).in_(ids))
        .order_by(col(ItemSource.first_seen_at), col(Source.id))
    )
    out: dict[int, list[SourceRef]] = {}
    for item_id, source_id, name, kind, level in session.execute(stmt):
        out.setdefault(item_id, []).append(SourceRef(source_id or 0, name, kind, level))
    return out


def _tags_of(session: Session, ids: list[int]) -> dict[int, list[TagView]]:
    stmt = (
        sa.select(
            col(ItemTag.item_id),
            col(Tag.slug),
            col(Tag.area),
            col(Tag.label),
            col(ItemTag.score),
            col(ItemTag.origin),
        )
        .join(Tag, col(Tag.id) == ItemTag.tag_id)
        .where(col(ItemTag.item_id).in_(ids))
    )
    out: dict[int, list[TagView]] = {}
    for item_id, slug, area, label, score, origin in session.execute(stmt):
        out.setdefault(item_id, []).append(TagView(slug, area, label, score, origin))
    return out


def _mentions_of(session: Session, ids: list[int]) -> dict[int, list[str]]:
    stmt = (
        sa.select(col(ItemLink.item_id), col(ItemLink.arxiv_id))
        .where(col(ItemLink.item_id).in_(ids))
        .order_by(col(ItemLink.arxiv_id))
    )
    out: dict[int, list[str]] = {}
    for item_id, arxiv_id in session.execute(stmt):
        out.setdefault(item_id, []).append(arxiv_id)
    return out


def _covered_by(session: Session, arxiv_ids: list[str]) -> dict[str, list[ItemRef]]:
    if not arxiv_ids:
        return {}
    stmt = (
        sa.select(
            col(ItemLink.arxiv_id),
            col(Item.id),
            col(Item.kind),
            col(Item.title),
            col(Item.url),
            col(Item.published_at),
        )
        .join(Item, col(Item.id) == ItemLink.item_id)
        .where(col(ItemLink.arxiv_id).in_(arxiv_ids))
        .order_by(col(Item.published_at).desc(), col(Item.id).desc())
    )
    out: dict[str, list[ItemRef]] = {}
    for arxiv_id, item_id, kind, title, url, published_at in session.execute(stmt):
        out.setdefault(arxiv_id, []).append(ItemRef(item_id or 0, kind, title, url, published_at))
    return out
