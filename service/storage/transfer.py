"""Move a Staycurrent database to another (SQLite to PostgreSQL, say) as JSON Lines.

One record per line, each with a ``type``; rows refer to each other by natural keys (tag slug,
source name, item canonical key, profile name), never by id, so an import into a database that
already holds data merges instead of clashing::

    {"type": "meta", "format": "staycurrent-export", "version": 1, "revision": "0001", ...}
    {"type": "tag", "slug": ..., "area": ..., "label": ..., "parent": ...}
    {"type": "source", "name": ..., "url": ..., poll state ...}
    {"type": "item", "canonical_key": ..., "tags": [[slug, score, origin]],
     "seen_in": [[source name, guid, first_seen, last_seen]], "mentions": [arxiv ids], ...}
    {"type": "profile", "name": ..., "token_hash": ..., digest settings ...}
    {"type": "feedback", "profile": ..., "item": canonical key, "signal": ..., "created_at": ...}
    {"type": "delivery", "profile": ..., "period": ..., "items": [canonical keys], ...}

Token hashes travel, so profile and feed tokens keep working after the move. Leases do not.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any

import sqlalchemy as sa
from sqlmodel import Session, SQLModel, col, select

from service.clock import utcnow
from service.errors import InvalidInputError
from service.storage.engine import Database
from service.storage.migrate import current_revision
from service.storage.models import (
    Delivery,
    DeliveryItem,
    Feedback,
    Item,
    ItemLink,
    ItemSource,
    ItemTag,
    Profile,
    Source,
    Tag,
    UTCDateTime,
)

FORMAT, VERSION = "staycurrent-export", 1
BATCH = 1000
# vectors are derived from the text: an import recomputes them (the backfill), never copies them
_NEVER_COPIED = {"id", "lease_owner", "lease_until", "vector", "vector_model"}
_ORDER = ("meta", "tag", "source", "item", "profile", "feedback", "delivery")


@dataclass
class TransferCounts:
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str, n: int = 1) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + n

    def describe(self) -> str:
        shown = [f"{self.counts[k]} {k}s" for k in _ORDER[1:] if self.counts.get(k)]
        return ", ".join(shown) or "nothing"


def _plain(model: type[SQLModel]) -> list[str]:
    table = SQLModel.metadata.tables[str(model.__tablename__)]
    return [c.name for c in table.columns if c.name not in _NEVER_COPIED and not c.foreign_keys]


def _encode(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _fields(row: SQLModel, names: Iterable[str]) -> dict[str, Any]:
    return {name: _encode(getattr(row, name)) for name in names}


def _decode(model: type[SQLModel], values: dict[str, Any]) -> dict[str, Any]:
    table = SQLModel.metadata.tables[str(model.__tablename__)]
    out: dict[str, Any] = {}
    for name in _plain(model):
        if name not in values:
            continue
        value = values[name]
        is_time = isinstance(table.c[name].type, UTCDateTime)
        out[name] = datetime.fromisoformat(value) if is_time and value is not None else value
    return out


# --------------------------------------------------------------------------- export


def _items(session: Session) -> Iterator[dict[str, Any]]:
    source_names = dict(session.exec(select(Source.id, Source.name)).all())
    tag_slugs = dict(session.exec(select(Tag.id, Tag.slug)).all())
    last_id = 0
    columns = _plain(Item)
    while True:
        stmt = select(Item).where(col(Item.id) > last_id).order_by(col(Item.id)).limit(BATCH)
        batch = list(session.exec(stmt))
        if not batch:
            return
        ids = [i.id for i in batch]
        tags: dict[int, list[list[Any]]] = {}
        for t in session.exec(select(ItemTag).where(col(ItemTag.item_id).in_(ids))):
            tags.setdefault(t.item_id, []).append([tag_slugs[t.tag_id], t.score, t.origin])
        seen: dict[int, list[list[Any]]] = {}
        for s in session.exec(select(ItemSource).where(col(ItemSource.item_id).in_(ids))):
            seen.setdefault(s.item_id, []).append(
                [
                    source_names[s.source_id],
                    s.guid,
                    _encode(s.first_seen_at),
                    _encode(s.last_seen_at),
                ]
            )
        mentions: dict[int, list[str]] = {}
        for link in session.exec(select(ItemLink).where(col(ItemLink.item_id).in_(ids))):
            mentions.setdefault(link.item_id, []).append(link.arxiv_id)
        for item in batch:
            assert item.id is not None
            yield {
                "type": "item",
                **_fields(item, columns),
                "tags": sorted(tags.get(item.id, [])),
                "seen_in": sorted(seen.get(item.id, []), key=lambda r: str(r[0])),
                "mentions": sorted(mentions.get(item.id, [])),
            }
        last_id = batch[-1].id or last_id


def _people(session: Session) -> Iterator[dict[str, Any]]:
    profiles = {p.id: p.name for p in session.exec(select(Profile).order_by(col(Profile.id)))}
    for profile in session.exec(select(Profile).order_by(col(Profile.id))):
        yield {"type": "profile", **_fields(profile, _plain(Profile))}
    keys = dict(session.exec(select(Item.id, Item.canonical_key)).all())
    for fb in session.exec(select(Feedback).order_by(col(Feedback.id))):
        yield {
            "type": "feedback",
            "profile": profiles[fb.profile_id],
            "item": keys[fb.item_id],
            "signal": fb.signal,
            "created_at": _encode(fb.created_at),
        }
    for delivery in session.exec(select(Delivery).order_by(col(Delivery.id))):
        carried = session.exec(
            select(DeliveryItem.item_id).where(DeliveryItem.delivery_id == delivery.id)
        ).all()
        yield {
            "type": "delivery",
            "profile": profiles[delivery.profile_id],
            **_fields(delivery, _plain(Delivery)),
            "items": sorted(keys[i] for i in carried),
        }


def export_records(db: Database) -> Iterator[dict[str, Any]]:
    """Every record of the database, in an order an import can follow."""
    yield {
        "type": "meta",
        "format": FORMAT,
        "version": VERSION,
        "revision": current_revision(db),
        "exported_at": utcnow().isoformat(),
    }
    with db.session() as session:
        for tag in session.exec(select(Tag).order_by(col(Tag.slug))):
            yield {"type": "tag", **_fields(tag, _plain(Tag))}
        for source in session.exec(select(Source).order_by(col(Source.name))):
            yield {"type": "source", **_fields(source, _plain(Source))}
        yield from _items(session)
        yield from _people(session)


def export_jsonl(db: Database, out: IO[str]) -> TransferCounts:
    counts = TransferCounts()
    for record in export_records(db):
        out.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
        counts.add(record["type"])
    return counts


# --------------------------------------------------------------------------- import


class _Importer:
    """Upserts records by natural key; one transaction per batch of lines."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.tags = dict(session.exec(select(Tag.slug, Tag.id)).all())
        self.sources = dict(session.exec(select(Source.name, Source.id)).all())
        self.profiles = dict(session.exec(select(Profile.name, Profile.id)).all())

    def _upsert(self, model: type[SQLModel], where: Any, values: dict[str, Any]) -> Any:
        row = self.session.exec(select(model).where(where)).first()
        if row is None:
            row = model(**values)
            self.session.add(row)
        else:
            for name, value in values.items():
                setattr(row, name, value)
        self.session.flush()
        return row

    def tag(self, r: dict[str, Any]) -> None:
        row = self._upsert(Tag, col(Tag.slug) == r["slug"], _decode(Tag, r))
        self.tags[row.slug] = row.id

    def source(self, r: dict[str, Any]) -> None:
        row = self._upsert(Source, col(Source.name) == r["name"], _decode(Source, r))
        self.sources[row.name] = row.id

    def profile(self, r: dict[str, Any]) -> None:
        row = self._upsert(Profile, col(Profile.name) == r["name"], _decode(Profile, r))
        self.profiles[row.name] = row.id

    def item(self, r: dict[str, Any]) -> None:
        row = self._upsert(Item, col(Item.canonical_key) == r["canonical_key"], _decode(Item, r))
        item_id = row.id
        for slug, score, origin in r.get("tags", []):
            self._upsert(
                ItemTag,
                sa.and_(col(ItemTag.item_id) == item_id, col(ItemTag.tag_id) == self.tags[slug]),
                {"item_id": item_id, "tag_id": self.tags[slug], "score": score, "origin": origin},
            )
        for name, guid, first, last in r.get("seen_in", []):
            source_id = self.sources[name]
            self._upsert(
                ItemSource,
                sa.and_(col(ItemSource.item_id) == item_id, col(ItemSource.source_id) == source_id),
                {
                    "item_id": item_id,
                    "source_id": source_id,
                    "guid": guid,
                    "first_seen_at": datetime.fromisoformat(first),
                    "last_seen_at": datetime.fromisoformat(last),
                },
            )
        for arxiv_id in r.get("mentions", []):
            where = sa.and_(col(ItemLink.item_id) == item_id, col(ItemLink.arxiv_id) == arxiv_id)
            self._upsert(ItemLink, where, {"item_id": item_id, "arxiv_id": arxiv_id})

    def _item_id(self, key: str) -> int:
        found = self.session.exec(select(Item.id).where(Item.canonical_key == key)).first()
        if found is None:
            raise InvalidInputError(f"the export refers to an item it does not hold: {key!r}")
        return found

    def feedback(self, r: dict[str, Any]) -> None:
        profile_id, item_id = self.profiles[r["profile"]], self._item_id(r["item"])
        where = sa.and_(
            col(Feedback.profile_id) == profile_id,
            col(Feedback.item_id) == item_id,
            col(Feedback.signal) == r["signal"],
        )
        values = {
            "profile_id": profile_id,
            "item_id": item_id,
            "signal": r["signal"],
            "created_at": datetime.fromisoformat(r["created_at"]),
        }
        self._upsert(Feedback, where, values)

    def delivery(self, r: dict[str, Any]) -> None:
        profile_id = self.profiles[r["profile"]]
        where = sa.and_(col(Delivery.profile_id) == profile_id, col(Delivery.period) == r["period"])
        row = self._upsert(Delivery, where, {**_decode(Delivery, r), "profile_id": profile_id})
        for key in r.get("items", []):
            item_id = self._item_id(key)
            self._upsert(
                DeliveryItem,
                sa.and_(
                    col(DeliveryItem.delivery_id) == row.id, col(DeliveryItem.item_id) == item_id
                ),
                {"delivery_id": row.id, "item_id": item_id, "profile_id": profile_id},
            )


def _records(lines: Iterable[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidInputError(f"line {number}: not JSON ({exc.msg})") from None
        if not isinstance(record, dict) or record.get("type") not in _ORDER:
            raise InvalidInputError(f"line {number}: not a Staycurrent export record")
        yield number, record


def import_jsonl(db: Database, lines: Iterable[str]) -> TransferCounts:
    """Merge an export into ``db`` (its schema must be migrated); batches commit as they go."""
    counts = TransferCounts()
    pending: list[tuple[int, dict[str, Any]]] = []
    seen_meta = False
    for number, record in _records(lines):
        if record["type"] == "meta":
            if record.get("format") != FORMAT or record.get("version") != VERSION:
                raise InvalidInputError(
                    f"line {number}: not a version {VERSION} Staycurrent export"
                )
            seen_meta = True
            continue
        if not seen_meta:
            raise InvalidInputError("line 1: an export starts with its meta record")
        pending.append((number, record))
        if len(pending) >= BATCH:
            _apply(db, pending, counts)
            pending = []
    _apply(db, pending, counts)
    return counts


def _apply(db: Database, batch: list[tuple[int, dict[str, Any]]], counts: TransferCounts) -> None:
    if not batch:
        return
    with db.write() as session:
        importer = _Importer(session)
        for number, record in batch:
            try:
                getattr(importer, record["type"])(record)
            except KeyError as exc:
                raise InvalidInputError(f"line {number}: refers to unknown {exc}") from None
            counts.add(record["type"])
