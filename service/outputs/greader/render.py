"""Items as Google Reader shows them: the JSON item objects and the classic Atom output
(``gr:`` namespace, ``tag:google.com,2005:reader/item/…`` ids) that newsboat's FeedHQ mode reads.

    item ids -> load_items (three batched queries: items, their sources, the profile's signals)
             -> ReaderItem records -> item_json / render_atom

A lens item shows its ranked entry: its summary with the why line, topics, coverage and the
signed one-click feedback links, and its ranked time as ``published``; a Trends item first says
which rising theme it is shown for. Another item shows its
sanitized summary and its own published time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import Any

import sqlalchemy as sa
from lxml import etree
from sqlmodel import Session, col, select

from service.outputs.greader.ids import (
    READ,
    READING_LIST,
    STARRED,
    SortKey,
    continuation_of,
    long_item_id,
)
from service.outputs.greader.library import Library, moment_of, usec_of
from service.outputs.syndication.safe import clean_html, inert_title, rfc3339, web_url, xml_text
from service.outputs.syndication.xmltree import child, serialize
from service.storage.feedback import signals_for
from service.storage.models import Item, ItemSource

ATOM_NS = "http://www.w3.org/2005/Atom"
GR_NS = "http://www.google.com/schemas/reader/atom/"
GOOGLE_SCHEME = "http://www.google.com/reader/"
_CHUNK = 900


@dataclass(frozen=True, slots=True)
class Enclosure:
    url: str
    media_type: str
    length: int


@dataclass(frozen=True, slots=True)
class ReaderItem:
    """One item as a reader app gets it."""

    item_id: int
    original_id: str  # our canonical key
    key: SortKey
    title: str
    url: str | None
    published: datetime
    updated: datetime | None
    authors: tuple[str, ...]
    html: str
    origin_id: str
    origin_title: str
    origin_url: str | None
    categories: tuple[str, ...]
    enclosure: Enclosure | None

    @property
    def read(self) -> bool:
        return READ in self.categories


_COLUMNS: tuple[Any, ...] = (
    Item.id,
    Item.canonical_key,
    Item.title,
    Item.url,
    Item.published_at,
    Item.updated_at,
    Item.authors,
    Item.summary_html,
    Item.summary_text,
    Item.enclosure_url,
    Item.enclosure_type,
    Item.enclosure_length,
)


def _rows(session: Session, item_ids: Sequence[int]) -> dict[int, Any]:
    rows: dict[int, Any] = {}
    for start in range(0, len(item_ids), _CHUNK):
        chunk = item_ids[start : start + _CHUNK]
        statement = sa.select(*_COLUMNS).where(col(Item.id).in_(chunk))
        for row in session.execute(statement).all():
            rows[row[0]] = row
    return rows


def _sources(session: Session, item_ids: Sequence[int]) -> dict[int, list[int]]:
    found: dict[int, list[int]] = defaultdict(list)
    for start in range(0, len(item_ids), _CHUNK):
        chunk = item_ids[start : start + _CHUNK]
        rows = session.exec(
            select(ItemSource.item_id, ItemSource.source_id)
            .where(col(ItemSource.item_id).in_(chunk))
            .order_by(col(ItemSource.source_id))
        ).all()
        for item_id, source_id in rows:
            found[item_id].append(source_id)
    return found


def _summary(row: Any) -> str:
    cleaned = clean_html(row.summary_html or "")
    return cleaned if cleaned.strip() else f"<p>{escape(xml_text(row.summary_text or ''))}</p>"


def _enclosure(row: Any) -> Enclosure | None:
    url = web_url(row.enclosure_url)
    if url is None:
        return None
    return Enclosure(url, row.enclosure_type or "audio/mpeg", max(0, row.enclosure_length or 0))


def _state(signals: frozenset[str]) -> list[str]:
    states = [READING_LIST]
    if "read" in signals:
        states.append(READ)
    if "save" in signals:
        states.append(STARRED)
    return states


def _lens_item(library: Library, row: Any, signals: frozenset[str]) -> ReaderItem:
    item = library.lens_items[row.id]
    lenses = library.lens_by_slug
    best = lenses[item.lenses[0]]
    labels = [f"user/-/label/{lenses[slug].label}" for slug in item.lenses]
    entry = item.entry
    body = item.html if entry is not None else _summary(row)
    rising = f"<p>{escape(item.rising)}</p>" if item.rising else ""
    return ReaderItem(
        item_id=row.id,
        original_id=row.canonical_key,
        key=item.key,
        title=entry.title if entry is not None else inert_title(row.title) or "(untitled)",
        url=entry.url if entry is not None else web_url(row.url),
        published=moment_of(item.key.usec),
        updated=moment_of(item.key.usec),
        authors=entry.authors if entry is not None else _authors(row),
        html=rising + body,
        origin_id=best.stream_id,
        origin_title=f"Staycurrent: {best.label}",
        origin_url=None,
        categories=(*_state(signals), *labels),
        enclosure=_enclosure(row),
    )


def _authors(row: Any) -> tuple[str, ...]:
    return tuple(xml_text(a) for a in (row.authors or ())[:50])


def _source_item(
    library: Library, row: Any, sources: list[int], signals: frozenset[str]
) -> ReaderItem:
    listed = library.source_by_id
    source = next((listed[i] for i in sources if i in listed), None)
    labels = [f"user/-/label/{source.area}"] if source else []
    return ReaderItem(
        item_id=row.id,
        original_id=row.canonical_key,
        key=SortKey(usec_of(row.published_at), row.id),
        title=inert_title(row.title) or "(untitled)",
        url=web_url(row.url),
        published=row.published_at,
        updated=row.updated_at,
        authors=_authors(row),
        html=_summary(row),
        origin_id=source.stream_id if source else READING_LIST,
        origin_title=source.title if source else "Staycurrent",
        origin_url=source.html_url if source else None,
        categories=(*_state(signals), *labels),
        enclosure=_enclosure(row),
    )


def load_items(session: Session, library: Library, item_ids: Sequence[int]) -> list[ReaderItem]:
    """The stored items among ``item_ids``, in that order (unknown ids are left out)."""
    wanted = list(dict.fromkeys(item_ids))
    rows = _rows(session, wanted)
    others = [i for i in wanted if i in rows and i not in library.lens_items]
    sources = _sources(session, others) if others else {}
    signals = signals_for(session, profile_id=library.profile_id, item_ids=list(rows))
    items = []
    for item_id in wanted:
        row = rows.get(item_id)
        if row is None:
            continue
        have = signals.get(item_id, frozenset())
        if item_id in library.lens_items:
            items.append(_lens_item(library, row, have))
        else:
            items.append(_source_item(library, row, sources.get(item_id, []), have))
    return items


def item_json(item: ReaderItem) -> dict[str, Any]:
    """The Google Reader JSON object of one item."""
    published = int(item.published.timestamp())
    document: dict[str, Any] = {
        "id": long_item_id(item.item_id),
        "crawlTimeMsec": str(item.key.usec // 1000),
        "timestampUsec": str(item.key.usec),
        "published": published,
        "updated": int(item.updated.timestamp()) if item.updated else published,
        "title": item.title,
        "canonical": [{"href": item.url}] if item.url else [],
        "alternate": [{"href": item.url, "type": "text/html"}] if item.url else [],
        "categories": list(item.categories),
        "origin": {
            "streamId": item.origin_id,
            "title": item.origin_title,
            "htmlUrl": item.origin_url or "",
        },
        "summary": {"direction": "ltr", "content": item.html},
        "author": ", ".join(item.authors),
    }
    if item.enclosure:
        document["enclosure"] = [
            {
                "href": item.enclosure.url,
                "type": item.enclosure.media_type,
                "length": str(item.enclosure.length),
            }
        ]
    return document


def stream_json(
    stream_id: str, title: str, items: Sequence[ReaderItem], continuation: SortKey | None
) -> dict[str, Any]:
    updated = max((i.key.usec for i in items), default=0) // 1_000_000
    document: dict[str, Any] = {
        "direction": "ltr",
        "id": stream_id,
        "title": title,
        "updated": updated,
        "items": [item_json(i) for i in items],
    }
    if continuation is not None:
        document["continuation"] = continuation_of(continuation)
    return document


def _a(name: str) -> str:
    return f"{{{ATOM_NS}}}{name}"


def _gr(name: str) -> str:
    return f"{{{GR_NS}}}{name}"


def _atom_entry(feed: etree._Element, item: ReaderItem) -> None:
    entry = child(feed, _a("entry"), **{_gr("crawl-timestamp-msec"): str(item.key.usec // 1000)})
    child(entry, _a("id"), long_item_id(item.item_id), **{_gr("original-id"): item.original_id})
    for category in item.categories:
        label = category.rsplit("/", 1)[-1]
        child(entry, _a("category"), term=category, scheme=GOOGLE_SCHEME, label=label)
    child(entry, _a("title"), item.title, type="html")
    child(entry, _a("published"), rfc3339(item.published))
    child(entry, _a("updated"), rfc3339(item.updated or item.published))
    if item.url:
        child(entry, _a("link"), rel="alternate", href=item.url, type="text/html")
    if item.enclosure:
        child(
            entry,
            _a("link"),
            rel="enclosure",
            href=item.enclosure.url,
            type=item.enclosure.media_type,
            length=str(item.enclosure.length),
        )
    child(entry, _a("content"), item.html, type="html")
    author = child(entry, _a("author"))
    child(author, _a("name"), ", ".join(item.authors) or item.origin_title)
    source = child(entry, _a("source"), **{_gr("stream-id"): item.origin_id})
    child(source, _a("id"), f"tag:google.com,2005:reader/{item.origin_id}")
    child(source, _a("title"), item.origin_title, type="html")
    if item.origin_url:
        child(source, _a("link"), rel="alternate", href=item.origin_url, type="text/html")


def render_atom(
    stream_id: str,
    title: str,
    items: Sequence[ReaderItem],
    continuation: SortKey | None,
    *,
    now: datetime,
) -> bytes:
    """The classic Google Reader Atom output of a stream."""
    feed = etree.Element(_a("feed"), nsmap={None: ATOM_NS, "gr": GR_NS})
    feed.set(_gr("dir"), "ltr")
    child(feed, _a("generator"), "Staycurrent")
    child(feed, _a("id"), f"tag:google.com,2005:reader/{stream_id}")
    child(feed, _a("title"), title, type="text")
    if continuation is not None:
        child(feed, _gr("continuation"), continuation_of(continuation))
    newest = max((i.key.usec for i in items), default=usec_of(now))
    child(feed, _a("updated"), rfc3339(moment_of(newest)))
    for item in items:
        _atom_entry(feed, item)
    return serialize(feed)
