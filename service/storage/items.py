"""Store normalized items: one row per work, merged across sources, categories and versions.

``store_items`` runs inside the caller's transaction (the pipeline stores a source's items and its
poll state together). Lookups are batched; inserts use ``ON CONFLICT DO NOTHING`` so two workers
storing the same paper at once end with one row (the loser merges into the winner's row).

An item's fields have an owner; any other source that sees it adds a sighting, never a rewrite.
A paper's metadata (title, abstract, authors, versions, categories) comes from arXiv sources
(kind ``paper``, or a feed on arxiv.org) or from the source that first published it; an arXiv
source takes over a paper some other source published first. A post's title and summary come
from the source that first published it (its first sighting) or one whose site is the post's host.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel, col, select

from service.records import ItemWithTags, NormalizedItem, TagAssignment
from service.storage.models import Item, ItemLink, ItemQuote, ItemSource, ItemTag, Source, Tag

CHUNK = 500
_ANNOUNCE_RANK = {"cross": 0, "replace-cross": 1, "new": 2, "replace": 3}
_ORIGIN_RANK = {"source": 0, "keyword": 1, "model": 2, "category": 3}


@dataclass(frozen=True, slots=True)
class StoreCounts:
    new: int = 0
    updated: int = 0
    unchanged: int = 0


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def _insert(dialect: str, model: type[SQLModel]) -> Any:
    """A dialect INSERT (for ON CONFLICT) on the model's Core table: no ORM bulk overhead."""
    table = SQLModel.metadata.tables[str(model.__tablename__)]
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


@dataclass(frozen=True)
class _Writes:
    """The INSERT statements of one dialect, built once (building one costs more than running
    it for a small feed)."""

    items: Any  # new items, skipping keys another writer inserted first; returns id and key
    sightings: Any  # item seen in a source: insert, or move last_seen_at and guid
    tags: Any  # a tag of an item: insert, or take the new score and origin
    links: Any  # a paper an item mentions
    quotes: Any  # a title a post quotes


@functools.cache
def _writes(dialect: str) -> _Writes:
    items = _insert(dialect, Item)
    sightings = _insert(dialect, ItemSource)
    tags = _insert(dialect, ItemTag)
    return _Writes(
        items=items.on_conflict_do_nothing().returning(
            items.table.c.id, items.table.c.canonical_key
        ),
        sightings=sightings.on_conflict_do_update(
            index_elements=["item_id", "source_id"],
            set_={
                "last_seen_at": sightings.excluded.last_seen_at,
                "guid": sightings.excluded.guid,
            },
        ),
        tags=tags.on_conflict_do_update(
            index_elements=["item_id", "tag_id"],
            set_={"score": tags.excluded.score, "origin": tags.excluded.origin},
        ),
        links=_insert(dialect, ItemLink).on_conflict_do_nothing(),
        quotes=_insert(dialect, ItemQuote).on_conflict_do_nothing(),
    )


def _writes_for(session: Session) -> _Writes:
    return _writes(session.get_bind().dialect.name)


def _execute(session: Session, stmt: Any, rows: Sequence[dict[str, Any]]) -> Any:
    return session.connection().execute(stmt, list(rows))


# --------------------------------------------------------------------------- merging records


def _merge_tags(
    a: Iterable[TagAssignment], b: Iterable[TagAssignment]
) -> tuple[TagAssignment, ...]:
    best: dict[str, TagAssignment] = {}
    for tag in (*a, *b):
        kept = best.get(tag.slug)
        if kept is None or (tag.score, _ORIGIN_RANK[tag.origin]) > (
            kept.score,
            _ORIGIN_RANK[kept.origin],
        ):
            best[tag.slug] = tag
    return tuple(best.values())


def _union(first: Iterable[str], second: Iterable[str]) -> list[str]:
    return list(dict.fromkeys([*first, *second]))


def _dedupe(batch: Sequence[ItemWithTags]) -> list[ItemWithTags]:
    """One entry per canonical key within a batch (a feed listing a paper twice, say)."""
    merged: dict[str, ItemWithTags] = {}
    for entry in batch:
        key = entry.item.canonical_key
        kept = merged.get(key)
        if kept is None:
            merged[key] = entry
            continue
        newer_entry = entry if _newer(entry.item, kept.item) else kept
        mentions = tuple(_union(kept.item.mentions, entry.item.mentions))
        item = replace(newer_entry.item, mentions=mentions)
        if kept.item.arxiv and entry.item.arxiv and item.arxiv:
            cats = tuple(_union(kept.item.arxiv.categories, entry.item.arxiv.categories))
            item = replace(item, arxiv=replace(item.arxiv, categories=cats))
        merged[key] = replace(
            newer_entry,
            item=item,
            tags=_merge_tags(kept.tags, entry.tags),
            tag_model=entry.tag_model or kept.tag_model,
        )
    return list(merged.values())


def _newer(candidate: NormalizedItem, kept: NormalizedItem) -> bool:
    if candidate.arxiv and kept.arxiv:
        return (candidate.arxiv.version or 0) > (kept.arxiv.version or 0)
    return (candidate.updated_at or candidate.published_at) > (kept.updated_at or kept.published_at)


# --------------------------------------------------------------------------- rows


_OPTIONAL_COLUMNS = (
    "arxiv_id",
    "arxiv_version",
    "arxiv_primary",
    "announce_type",
    "pdf_url",
    "doi",
    "journal_ref",
    "comments",
    "enclosure_url",
    "enclosure_type",
    "enclosure_length",
    "duration_seconds",
    "episode",
    "season",
    "image_url",
    "transcript_url",
)


def _item_row(n: NormalizedItem, now: datetime) -> dict[str, Any]:
    row: dict[str, Any] = {
        "vector": None,  # set by ``_fresh_row`` from the item's ItemWithTags
        "vector_model": None,
        "title_key": n.title_key,
        "canonical_key": n.canonical_key,
        "kind": n.kind,
        "title": n.title,
        "url": n.url,
        "summary_text": n.summary_text,
        "summary_html": n.summary_html,
        "authors": list(n.authors),
        "authors_text": ", ".join(n.authors),
        "published_at": n.published_at,
        "updated_at": n.updated_at,
        "first_seen_at": now,
        "changed_at": now,
        "reading_minutes": n.reading_minutes,
        "content_hash": n.content_hash,
        # every row carries every column: Core executemany needs the same keys in each row
        **dict.fromkeys(_OPTIONAL_COLUMNS),
        "arxiv_categories": [],
    }
    if n.arxiv is not None:
        a = n.arxiv
        row.update(
            arxiv_id=a.arxiv_id,
            arxiv_version=a.version,
            arxiv_categories=list(a.categories),
            arxiv_primary=a.primary_category,
            announce_type=a.announce_type,
            pdf_url=a.pdf_url,
            doi=a.doi,
            journal_ref=a.journal_ref,
            comments=a.comments,
        )
    if n.podcast is not None:
        p = n.podcast
        row.update(
            enclosure_url=p.enclosure_url,
            enclosure_type=p.enclosure_type,
            enclosure_length=p.enclosure_length,
            duration_seconds=p.duration_seconds,
            episode=p.episode,
            season=p.season,
            image_url=p.image_url,
            transcript_url=p.transcript_url,
        )
    return row


_CONTENT_FIELDS = (
    "kind",
    "title",
    "url",
    "summary_text",
    "summary_html",
    "authors",
    "authors_text",
    "updated_at",
    "reading_minutes",
    "content_hash",
    "enclosure_url",
    "enclosure_type",
    "enclosure_length",
    "duration_seconds",
    "episode",
    "season",
    "image_url",
    "transcript_url",
)
_PAPER_VERSION_FIELDS = (
    "title",
    "title_key",
    "url",
    "summary_text",
    "summary_html",
    "authors",
    "authors_text",
    "reading_minutes",
    "content_hash",
    "pdf_url",
)


def _fresh_row(entry: ItemWithTags, now: datetime) -> dict[str, Any]:
    row = _item_row(entry.item, now)
    row["vector"], row["vector_model"] = entry.vector, entry.vector_model
    row["tag_model"] = entry.tag_model
    return row


def _vector_changes(row: Item, fresh: dict[str, Any], changes: dict[str, Any]) -> None:
    """A vector is taken when the row has none, or its text (title, summary) changed."""
    if fresh["vector"] is None:
        return
    if row.vector is None or "title" in changes or "summary_text" in changes:
        changes["vector"], changes["vector_model"] = fresh["vector"], fresh["vector_model"]


def _paper_changes(row: Item, fresh: dict[str, Any]) -> dict[str, Any]:
    """How a stored paper changes when it is seen again (another category, version or the API)."""
    changes: dict[str, Any] = {}
    cats = _union(row.arxiv_categories, fresh["arxiv_categories"])
    if cats != row.arxiv_categories:
        changes["arxiv_categories"] = cats
    old_v, new_v = row.arxiv_version or 0, fresh["arxiv_version"] or 0
    if new_v > old_v:
        changes["arxiv_version"] = new_v
        changes.update({f: fresh[f] for f in _PAPER_VERSION_FIELDS if fresh[f] != getattr(row, f)})
        changes["updated_at"] = max(
            d for d in (row.updated_at, fresh["updated_at"], fresh["published_at"]) if d
        )
    elif fresh["updated_at"] and (row.updated_at is None or fresh["updated_at"] > row.updated_at):
        changes["updated_at"] = fresh["updated_at"]
    if row.arxiv_primary is None and fresh["arxiv_primary"]:
        changes["arxiv_primary"] = fresh["arxiv_primary"]
    announce = fresh["announce_type"]
    if (
        announce
        and announce != row.announce_type
        and _better_announce(row, announce, new_v > old_v)
    ):
        changes["announce_type"] = announce
    for field in ("doi", "journal_ref", "comments"):
        if fresh[field] and fresh[field] != getattr(row, field) and (new_v >= old_v):
            changes[field] = fresh[field]
    if fresh["published_at"] < row.published_at:
        changes["published_at"] = fresh["published_at"]
    return changes


def _better_announce(row: Item, announce: str, version_bumped: bool) -> bool:
    """A new version's announcement wins; otherwise "new" beats "cross" for the same version."""
    if version_bumped or row.announce_type is None:
        return True
    return _ANNOUNCE_RANK[announce] > _ANNOUNCE_RANK.get(row.announce_type, -1)


def _content_changes(row: Item, fresh: dict[str, Any]) -> dict[str, Any]:
    if fresh["content_hash"] == row.content_hash:
        return {}
    return {f: fresh[f] for f in _CONTENT_FIELDS if fresh.get(f) != getattr(row, f)}


# --------------------------------------------------------------------------- lookups


def _lock(session: Session, stmt: Any) -> Any:
    return stmt.with_for_update() if session.get_bind().dialect.name == "postgresql" else stmt


def _by_keys(session: Session, keys: Sequence[str]) -> dict[str, Item]:
    found: dict[str, Item] = {}
    for chunk in _chunks(sorted(set(keys))):
        stmt = _lock(session, select(Item).where(col(Item.canonical_key).in_(chunk)))
        found.update({row.canonical_key: row for row in session.exec(stmt)})
    return found


def _by_guids(session: Session, source_id: int, guids: Sequence[str]) -> dict[str, Item]:
    """guid -> the one row seen in ``source_id`` under it (a guid two rows share names neither)."""
    found: dict[str, list[Item]] = {}
    for chunk in _chunks(sorted(set(guids))):
        stmt = (
            select(ItemSource.guid, Item)
            .join(Item, col(Item.id) == ItemSource.item_id)
            .where(ItemSource.source_id == source_id, col(ItemSource.guid).in_(chunk))
        )
        for guid, row in session.exec(_lock(session, stmt)):
            if guid:
                found.setdefault(guid, []).append(row)
    return {guid: rows[0] for guid, rows in found.items() if len(rows) == 1}


def _find_existing(
    session: Session, source_id: int, batch: Sequence[ItemWithTags]
) -> dict[str, Item]:
    """canonical key -> stored row: the row of the entry's (source, guid) when that guid names
    one entry and one row and the row is no other entry's own, else the row of its key.

    Feeds repeat guids (every entry under the site's URL, say): a guid shared in the batch would
    send two entries to one row, rewriting it on every poll, so it is not used.
    """
    guids = [e.item.guid for e in batch if e.item.guid and e.item.arxiv is None]
    unique = [guid for guid, seen in Counter(guids).items() if seen == 1]
    by_guid = _by_guids(session, source_id, unique) if unique else {}
    by_key = _by_keys(session, [e.item.canonical_key for e in batch])
    owned = {row.id: key for key, row in by_key.items()}  # rows some entry's own key names
    found: dict[str, Item] = {}
    for entry in batch:
        item = entry.item
        row = by_guid.get(item.guid or "") if item.arxiv is None else None
        if row is not None and owned.get(row.id, item.canonical_key) != item.canonical_key:
            row = None
        row = row or by_key.get(item.canonical_key)
        if row is not None:
            found[item.canonical_key] = row
    return found


def tag_ids(session: Session) -> dict[str, int]:
    rows = session.connection().execute(select(Tag.slug, Tag.id))  # no ORM: plain rows
    return {slug: tid for slug, tid in rows if tid is not None}


# --------------------------------------------------------------------------- writing


def _insert_new(session: Session, rows: list[dict[str, Any]]) -> dict[str, int]:
    """Insert rows, skipping any another writer inserted first; canonical key -> new id."""
    inserted: dict[str, int] = {}
    stmt = _writes_for(session).items
    for chunk in _chunks(rows):
        inserted.update({key: item_id for item_id, key in _execute(session, stmt, chunk)})
    return inserted


def _upsert_sightings(
    session: Session,
    source_id: int,
    sightings: list[tuple[int, str | None, datetime | None]],
    now: datetime,
) -> None:
    """Insert or refresh each (item, guid, its date) seen in ``source_id``.

    The date is given for an item inserted in this batch (its row's own date); for any other
    item it is None and the trigger of migration 0010 copies the stored item's date.
    """
    if not sightings:
        return
    rows = [
        {
            "item_id": item_id,
            "source_id": source_id,
            "guid": guid,
            "first_seen_at": now,
            "last_seen_at": now,
            "item_published_at": published_at,
        }
        for item_id, guid, published_at in sightings
    ]
    stmt = _writes_for(session).sightings
    for chunk in _chunks(rows):
        _execute(session, stmt, chunk)


def _store_tags(
    session: Session,
    wanted: dict[int, tuple[TagAssignment, ...]],
    slugs: dict[str, int],
    new_items: Collection[int] = (),
) -> None:
    """Merge tags into each item's stored tags: a tag keeps its best score and its origin.

    ``new_items`` were inserted in this transaction, so they have no stored tags to read.
    """
    if not wanted:
        return
    stored: dict[int, list[TagAssignment]] = {}
    id_to_slug = {v: k for k, v in slugs.items()}
    for chunk in _chunks([item_id for item_id in wanted if item_id not in new_items]):
        stmt = select(ItemTag).where(col(ItemTag.item_id).in_(chunk))
        for row in session.exec(stmt):
            slug = id_to_slug.get(row.tag_id)
            if slug is not None:
                tag = TagAssignment(slug, "", row.score, row.origin)  # type: ignore[arg-type]
                stored.setdefault(row.item_id, []).append(tag)
    rows: list[dict[str, Any]] = []
    for item_id, tags in wanted.items():
        before = {t.slug: t for t in stored.get(item_id, [])}
        for tag in _merge_tags(before.values(), tags):
            old = before.get(tag.slug)
            if tag.slug in slugs and (
                old is None or (old.score, old.origin) != (tag.score, tag.origin)
            ):
                rows.append(
                    {
                        "item_id": item_id,
                        "tag_id": slugs[tag.slug],
                        "score": tag.score,
                        "origin": tag.origin,
                    }
                )
    stmt = _writes_for(session).tags
    for chunk in _chunks(rows):
        _execute(session, stmt, chunk)


def store_mentions(session: Session, mentions: list[tuple[int, str]]) -> None:
    """Link items to the arXiv ids they mention (a link already stored is left as it is)."""
    rows = [{"item_id": i, "arxiv_id": a} for i, a in dict.fromkeys(mentions)]
    if not rows:
        return
    stmt = _writes_for(session).links
    for chunk in _chunks(rows):
        _execute(session, stmt, chunk)


def link_quotes(
    session: Session, *, papers: Sequence[tuple[str, str]], quotes: Sequence[tuple[int, str]]
) -> int:
    """Coverage by title, in either order: remember what posts quote ((item id, title key)),
    and link each quote to the paper ((arXiv id, title key)) whose title it is — papers stored
    now to quotes stored before, quotes stored now to papers stored before. Returns the links
    made (a link already stored counts again)."""
    links: list[tuple[int, str]] = []
    if quotes:
        rows = [{"item_id": i, "title_key": k} for i, k in dict.fromkeys(quotes)]
        for chunk in _chunks(rows):
            _execute(session, _writes_for(session).quotes, chunk)
        keys = sorted({k for _, k in quotes})
        found: dict[str, list[str]] = {}
        for chunk in _chunks(keys):
            stmt = sa.select(col(Item.title_key), col(Item.arxiv_id)).where(
                col(Item.title_key).in_(chunk), col(Item.kind) == "paper"
            )
            for key, arxiv_id in session.execute(stmt):
                found.setdefault(key, []).append(arxiv_id)
        links += [(i, a) for i, k in quotes for a in found.get(k, ())]
    by_key: dict[str, list[str]] = {}
    for arxiv_id, key in papers:
        by_key.setdefault(key, []).append(arxiv_id)
    for chunk in _chunks(sorted(by_key)):
        quoted = sa.select(col(ItemQuote.item_id), col(ItemQuote.title_key)).where(
            col(ItemQuote.title_key).in_(chunk)
        )
        links += [(i, a) for i, k in session.execute(quoted) for a in by_key[k]]
    store_mentions(session, links)
    return len(links)


# --------------------------------------------------------------------------- ownership


@dataclass(frozen=True, slots=True)
class _Publisher:
    """What ownership needs to know of a source."""

    id: int
    arxiv: bool  # an arXiv listing or the API: may write any paper's metadata
    hosts: frozenset[str]  # its site's host and its feed's host, without "www."


def _host(url: str | None) -> str:
    host = (urlsplit(url or "").hostname or "").lower()
    return host.removeprefix("www.")


def _publisher(source_id: int, kind: str, url: str, site_url: str | None) -> _Publisher:
    feed_host = _host(url)
    arxiv = kind == "paper" or feed_host == "arxiv.org" or feed_host.endswith(".arxiv.org")
    return _Publisher(source_id, arxiv, frozenset(h for h in (feed_host, _host(site_url)) if h))


def _publishers(session: Session, source_ids: Collection[int]) -> dict[int, _Publisher]:
    found: dict[int, _Publisher] = {}
    for chunk in _chunks(sorted(set(source_ids))):
        stmt = select(Source.id, Source.kind, Source.url, Source.site_url).where(
            col(Source.id).in_(chunk)
        )
        for source_id, kind, url, site_url in session.connection().execute(stmt):
            found[source_id] = _publisher(source_id, kind, url, site_url)
    return found


def _sightings(session: Session, item_ids: Collection[int], *, acting: int) -> dict[int, list[int]]:
    """item id -> the sources that saw it, the first publisher first. A tie for the first
    sighting goes against the ``acting`` source: it never becomes an item's first publisher by
    arriving in the same instant as another (its own sighting, stored by its first write, would
    otherwise make its second write an owner's)."""
    seen: dict[int, list[tuple[datetime, int]]] = {}
    for chunk in _chunks(sorted(set(item_ids))):
        stmt = select(ItemSource.item_id, ItemSource.source_id, ItemSource.first_seen_at).where(
            col(ItemSource.item_id).in_(chunk)
        )
        for item_id, source_id, seen_at in session.connection().execute(stmt):
            seen.setdefault(item_id, []).append((seen_at, source_id))
    return {
        item_id: [source for _, source in sorted(rows, key=lambda r: (r[0], r[1] == acting, r[1]))]
        for item_id, rows in seen.items()
    }


def _right(row: Item, by: _Publisher, seen_by: Sequence[_Publisher]) -> str | None:
    """What ``by`` may do to a stored row seen by ``seen_by`` (first publisher first): "write"
    its changes, "take over" a paper no arXiv source has seen yet (arXiv's metadata replaces
    what another source claimed), or None (a sighting only)."""
    if not seen_by:
        return "write"
    first = seen_by[0]
    if row.arxiv_id:
        from_arxiv = any(publisher.arxiv for publisher in seen_by)
        if by.arxiv:
            return "write" if from_arxiv else "take over"
        return "write" if first.id == by.id and not from_arxiv else None
    return "write" if first.id == by.id or _host(row.url) in by.hosts else None


_TAKEOVER_FIELDS = (
    *_PAPER_VERSION_FIELDS,
    "kind",
    "arxiv_version",
    "arxiv_categories",
    "arxiv_primary",
    "announce_type",
    "doi",
    "journal_ref",
    "comments",
    "updated_at",
)


def _takeover_changes(row: Item, fresh: dict[str, Any]) -> dict[str, Any]:
    return {f: fresh[f] for f in _TAKEOVER_FIELDS if fresh[f] != getattr(row, f)}


def _changes(row: Item, fresh: dict[str, Any]) -> dict[str, Any]:
    return _paper_changes(row, fresh) if row.arxiv_id else _content_changes(row, fresh)


def _apply_owned(
    session: Session, source_id: int, pending: list[tuple[Item, dict[str, Any]]], now: datetime
) -> int:
    """Apply the changes ``source_id`` may make to stored rows; the number of rows changed."""
    if not pending:
        return 0
    sightings = _sightings(
        session, [row.id for row, _ in pending if row.id is not None], acting=source_id
    )
    publishers = _publishers(session, {source_id, *(s for ids in sightings.values() for s in ids)})
    by = publishers.get(source_id) or _Publisher(source_id, arxiv=False, hosts=frozenset())
    changed = 0
    for row, fresh in pending:
        seen_by = [publishers[s] for s in sightings.get(row.id or 0, []) if s in publishers]
        right = _right(row, by, seen_by)
        if right is None:
            continue
        changes = _takeover_changes(row, fresh) if right == "take over" else _changes(row, fresh)
        content_changed = bool(changes)  # a vector filled in for a row that had none is no change
        _vector_changes(row, fresh, changes)
        for field, value in changes.items():
            setattr(row, field, value)
        if content_changed:
            row.changed_at = now
            changed += 1
    return changed


def store_items(
    session: Session, *, source_id: int, items: Sequence[ItemWithTags], now: datetime
) -> StoreCounts:
    """Upsert ``items`` seen in ``source_id``: new rows, merged rows, sightings, tags, mentions."""
    batch = _dedupe(items)
    if not batch:
        return StoreCounts()
    existing = _find_existing(session, source_id, batch)
    fresh = {e.item.canonical_key: _fresh_row(e, now) for e in batch}
    inserted = _insert_new(
        session,
        [fresh[e.item.canonical_key] for e in batch if e.item.canonical_key not in existing],
    )
    raced = [
        e.item.canonical_key
        for e in batch
        if e.item.canonical_key not in existing and e.item.canonical_key not in inserted
    ]
    existing.update(_by_keys(session, raced) if raced else {})
    ids: dict[str, int] = dict(inserted)
    pending: list[tuple[Item, dict[str, Any]]] = []
    for entry in batch:
        key = entry.item.canonical_key
        if key in inserted:
            continue
        row = existing[key]
        assert row.id is not None
        ids[key] = row.id
        if entry.tag_model and row.tag_model != entry.tag_model:
            row.tag_model = entry.tag_model
        needs_vector = row.vector is None and fresh[key]["vector"] is not None
        if (
            needs_vector
            or _changes(row, fresh[key])
            or (row.arxiv_id and _takeover_changes(row, fresh[key]))
        ):
            pending.append((row, fresh[key]))
    new = len(inserted)
    updated = _apply_owned(session, source_id, pending, now)
    session.flush()
    _upsert_sightings(
        session,
        source_id,
        [
            (
                ids[key := e.item.canonical_key],
                e.item.guid,
                fresh[key]["published_at"] if key in inserted else None,
            )
            for e in batch
        ],
        now,
    )
    _store_tags(
        session,
        {ids[e.item.canonical_key]: e.tags for e in batch if e.tags},
        tag_ids(session),
        new_items=set(inserted.values()),
    )
    store_mentions(
        session, [(ids[e.item.canonical_key], m) for e in batch for m in e.item.mentions]
    )
    link_quotes(
        session,
        papers=[
            (e.item.arxiv.arxiv_id, e.item.title_key)
            for e in batch
            if e.item.arxiv and e.item.title_key
        ],
        quotes=[(ids[e.item.canonical_key], key) for e in batch for key in e.item.quotes],
    )
    return StoreCounts(new=new, updated=updated, unchanged=len(batch) - new - updated)
