"""What a stream holds and one page of it: the reading list, a lens, an area, a source, the
starred and read states, with Google Reader's filters (``ot``, ``nt``, ``xt``, ``it``, ``r=o``,
``n``, ``c``).

A stream is two parts merged by ``SortKey``: the ranked lens items it holds (in memory, from the
Library) and the stored items of its sources in the profile's window (one indexed SQL query per
page, walking ``ix_item_published`` newest first and stopping after the page). Read and starred
are the profile's ``read`` and ``save`` feedback: the same rows the API and the email links write.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlmodel import Session, col, select

from service.errors import InvalidInputError, NotFoundError
from service.outputs.greader.ids import SortKey, StreamId
from service.outputs.greader.library import LensItem, Library, moment_of, usec_of
from service.storage.feedback import signals_for
from service.storage.models import Feedback, Item, ItemSource

State = Literal["read", "save"]
STATE_SIGNALS: dict[str, State] = {"read": "read", "starred": "save"}


@dataclass(frozen=True, slots=True)
class Selection:
    """The members of a stream: lens items, plus stored items by source or by state."""

    lens_ids: frozenset[int]
    source_ids: tuple[int, ...] = ()  # stored items of these sources, in the window
    state: State | None = None  # stored items with this feedback signal (any time)
    title: str = ""


@dataclass(frozen=True, slots=True)
class Filters:
    """Google Reader's stream parameters, checked."""

    count: int
    newer_than: int | None = None  # ot, Unix seconds
    older_than: int | None = None  # nt, Unix seconds
    exclude: State | None = None  # xt
    include: State | None = None  # it
    after: SortKey | None = None  # c: the last item of the previous page
    oldest_first: bool = False  # r=o


@dataclass(frozen=True, slots=True)
class Page:
    keys: tuple[SortKey, ...]
    continuation: SortKey | None


def state_of(stream: StreamId | None) -> State | None:
    """``xt``/``it`` as a feedback signal: only the read and starred states filter."""
    if stream is None:
        return None
    if stream.kind in STATE_SIGNALS:
        return STATE_SIGNALS[stream.kind]
    raise InvalidInputError(f"xt/it: only …/state/com.google/read or …/starred (got {stream.text})")


def _with_sources(library: Library, sources: set[int]) -> frozenset[int]:
    return frozenset(i for i, item in library.lens_items.items() if item.source_ids & sources)


def _label_selection(library: Library, name: str) -> Selection | None:
    lens = library.lens_labelled(name)
    if lens is not None:
        return Selection(frozenset(lens.item_ids), title=lens.label)
    area = {s.source_id for s in library.sources if s.area == name}
    if area:
        return Selection(_with_sources(library, area), tuple(sorted(area)), title=name)
    return None


def _feed_selection(library: Library, stream_id: str) -> Selection | None:
    lens = library.lens(stream_id)
    if lens is not None:
        return Selection(frozenset(lens.item_ids), title=f"Staycurrent: {lens.label}")
    source = library.source(stream_id)
    if source is not None:
        ids = _with_sources(library, {source.source_id})
        return Selection(ids, (source.source_id,), title=source.title)
    return None


def select_stream(library: Library, stream: StreamId) -> Selection:
    """What ``stream`` holds for this profile; NotFoundError for a stream it does not have."""
    everything = frozenset(library.lens_items)
    found: Selection | None = None
    if stream.kind == "reading-list":
        all_sources = tuple(s.source_id for s in library.sources)
        found = Selection(everything, all_sources, title="Reading list")
    elif stream.kind in STATE_SIGNALS:
        found = Selection(everything, state=STATE_SIGNALS[stream.kind], title=stream.kind.title())
    elif stream.kind == "kept-unread":
        found = Selection(frozenset(), title="Kept unread")
    elif stream.kind == "label":
        found = _label_selection(library, stream.name)
    else:
        found = _feed_selection(library, stream.text)
    if found is None:
        raise NotFoundError(f"no such stream for this profile: {stream.text[:200]}")
    return found


def _lens_part(
    library: Library, selection: Selection, filters: Filters, signals: dict[int, frozenset[str]]
) -> list[SortKey]:
    keys = []
    for item_id in selection.lens_ids:
        item: LensItem = library.lens_items[item_id]
        have = signals.get(item_id, frozenset())
        if selection.state and selection.state not in have:
            continue
        if (filters.exclude and filters.exclude in have) or (
            filters.include and filters.include not in have
        ):
            continue
        keys.append(item.key)
    return [k for k in keys if _in_range(k, filters)]


def _in_range(key: SortKey, filters: Filters) -> bool:
    if filters.newer_than is not None and key.usec < filters.newer_than * 1_000_000:
        return False
    if filters.older_than is not None and key.usec >= filters.older_than * 1_000_000:
        return False
    if filters.after is None:
        return True
    return key > filters.after if filters.oldest_first else key < filters.after


def _signal(profile_id: int, signal: str) -> Any:
    return (
        select(Feedback.id)
        .where(
            col(Feedback.profile_id) == profile_id,
            col(Feedback.item_id) == col(Item.id),
            col(Feedback.signal) == signal,
        )
        .exists()
    )


def _membership(library: Library, selection: Selection) -> list[Any]:
    if selection.state is not None:
        return [_signal(library.profile_id, selection.state)]
    in_sources = (
        select(ItemSource.item_id)
        .where(
            col(ItemSource.item_id) == col(Item.id),
            col(ItemSource.source_id).in_(selection.source_ids),
        )
        .exists()
    )
    window = col(Item.published_at) >= library.since
    return [in_sources, window]


def _cursor(filters: Filters) -> list[Any]:
    conditions = []
    if filters.newer_than is not None:
        conditions.append(col(Item.published_at) >= moment_of(filters.newer_than * 1_000_000))
    if filters.older_than is not None:
        conditions.append(col(Item.published_at) < moment_of(filters.older_than * 1_000_000))
    if filters.after is not None:
        at, item_id = moment_of(filters.after.usec), filters.after.item_id
        published, ident = col(Item.published_at), col(Item.id)
        if filters.oldest_first:
            conditions.append(sa.or_(published > at, sa.and_(published == at, ident > item_id)))
        else:
            conditions.append(sa.or_(published < at, sa.and_(published == at, ident < item_id)))
    return conditions


def _stored_part(
    session: Session, library: Library, selection: Selection, filters: Filters, limit: int
) -> list[SortKey]:
    if selection.state is None and not selection.source_ids:
        return []
    conditions = _membership(library, selection) + _cursor(filters)
    if filters.exclude:
        conditions.append(~_signal(library.profile_id, filters.exclude))
    if filters.include:
        conditions.append(_signal(library.profile_id, filters.include))
    order = (
        (col(Item.published_at).asc(), col(Item.id).asc())
        if filters.oldest_first
        else (col(Item.published_at).desc(), col(Item.id).desc())
    )
    rows = session.exec(
        select(Item.id, Item.published_at).where(*conditions).order_by(*order).limit(limit)
    ).all()
    lens = library.lens_items
    return [SortKey(usec_of(at), i) for i, at in rows if i is not None and i not in lens]


def page(session: Session, library: Library, selection: Selection, filters: Filters) -> Page:
    """One page of the stream: at most ``filters.count`` keys, and where the next one starts."""
    signals = signals_for(
        session, profile_id=library.profile_id, item_ids=sorted(selection.lens_ids)
    )
    keys = _lens_part(library, selection, filters, signals)
    limit = filters.count + len(library.lens_items) + 1
    keys += _stored_part(session, library, selection, filters, limit)
    keys.sort(reverse=not filters.oldest_first)
    shown = tuple(keys[: filters.count])
    more = len(keys) > filters.count
    return Page(shown, shown[-1] if more and shown else None)


def all_keys(
    session: Session, library: Library, selection: Selection, filters: Filters
) -> Iterable[SortKey]:
    """Every key of the stream under ``filters``, page by page."""
    current = filters
    while True:
        found = page(session, library, selection, current)
        yield from found.keys
        if found.continuation is None:
            return
        current = replace(current, after=found.continuation)


@dataclass(frozen=True, slots=True)
class UnreadCount:
    stream_id: str
    count: int
    newest_usec: int


def _source_counts(session: Session, library: Library) -> dict[int, tuple[int, datetime | None]]:
    ids = tuple(s.source_id for s in library.sources)
    if not ids:
        return {}
    unread = ~_signal(library.profile_id, "read")
    lens_ids = sorted(library.lens_items)
    not_lens = col(ItemSource.item_id).not_in(lens_ids) if lens_ids else sa.true()
    rows = session.exec(
        select(ItemSource.source_id, sa.func.count(), sa.func.max(Item.published_at))
        .join(Item, col(Item.id) == col(ItemSource.item_id))
        .where(
            col(ItemSource.source_id).in_(ids),
            col(Item.published_at) >= library.since,
            unread,
            not_lens,
        )
        .group_by(col(ItemSource.source_id))
    ).all()
    return {source_id: (count, newest) for source_id, count, newest in rows}


def _reading_list_count(session: Session, library: Library) -> int:
    """Unread stored items of the profile's sources in the window, each once, lens items aside."""
    ids = tuple(s.source_id for s in library.sources)
    if not ids:
        return 0
    selection = Selection(frozenset(), ids)
    conditions = [*_membership(library, selection), ~_signal(library.profile_id, "read")]
    lens_ids = sorted(library.lens_items)
    if lens_ids:
        conditions.append(col(Item.id).not_in(lens_ids))
    return int(session.exec(select(sa.func.count()).select_from(Item).where(*conditions)).one())


def _lens_count(library: Library, ids: Iterable[int], read: set[int]) -> tuple[int, int]:
    unread = [library.lens_items[i].key.usec for i in ids if i not in read]
    return len(unread), max(unread, default=0)


def unread_counts(session: Session, library: Library) -> list[UnreadCount]:
    """Unread items per lens (subscription and label), source, area and the reading list (each
    item once). An item cross-listed in two sources of one area counts in both, and twice in
    the area's folder."""
    signals = signals_for(
        session, profile_id=library.profile_id, item_ids=sorted(library.lens_items)
    )
    read = {i for i, have in signals.items() if "read" in have}
    counts: list[UnreadCount] = []
    for lens in library.lenses:
        count, newest = _lens_count(library, lens.item_ids, read)
        counts.append(UnreadCount(lens.stream_id, count, newest))
        counts.append(UnreadCount(f"user/-/label/{lens.label}", count, newest))
    stored = _source_counts(session, library)
    by_area: dict[str, tuple[int, int]] = {}
    for source in library.sources:
        lens_count, lens_newest = _lens_count(
            library, _with_sources(library, {source.source_id}), read
        )
        count, newest_at = stored.get(source.source_id, (0, None))
        newest = max(lens_newest, usec_of(newest_at) if newest_at else 0)
        total = count + lens_count
        counts.append(UnreadCount(source.stream_id, total, newest))
        area_total, area_newest = by_area.get(source.area, (0, 0))
        by_area[source.area] = (area_total + total, max(area_newest, newest))
    counts += [UnreadCount(f"user/-/label/{a}", c, n) for a, (c, n) in sorted(by_area.items())]
    everything, newest = _lens_count(library, library.lens_items, read)
    stored_total = _reading_list_count(session, library)
    counts.append(
        UnreadCount("user/-/state/com.google/reading-list", everything + stored_total, newest)
    )
    return counts


def keys_of(library: Library, session: Session, item_ids: Sequence[int]) -> dict[int, SortKey]:
    """The sort key of each stored item among ``item_ids`` (lens items: their ranked time)."""
    keys = {i: library.lens_items[i].key for i in item_ids if i in library.lens_items}
    rest = [i for i in item_ids if i not in keys]
    for start in range(0, len(rest), 900):
        chunk = rest[start : start + 900]
        rows = session.exec(select(Item.id, Item.published_at).where(col(Item.id).in_(chunk)))
        keys.update((i, SortKey(usec_of(at), i)) for i, at in rows if i is not None)
    return keys
