"""Feedback: what a profile said about an item (like, dislike, save, hide, read).

One row per (profile, item, signal), so recording twice changes nothing (one item at a time, or
many in one transaction: ``record_feedback_many``, for reader apps that mark a batch read).
``like`` and ``dislike`` exclude each other: recording one withdraws the other. Likes and
dislikes are read back as ``AffinityEvent`` records (with the item's topics, sources and
authors) for the ranker.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, delete, select

from service.errors import InvalidInputError, NotFoundError
from service.storage.engine import Database
from service.storage.models import Feedback, Item, ItemSource, ItemTag, Profile, Tag

Signal = Literal["like", "dislike", "save", "hide", "read"]
SIGNALS: tuple[Signal, ...] = ("like", "dislike", "save", "hide", "read")
EXCLUSIVE: dict[str, str] = {"like": "dislike", "dislike": "like"}
AFFINITY_SIGNALS: tuple[Signal, ...] = ("like", "dislike")
_CHUNK = 500


@dataclass(frozen=True, slots=True)
class FeedbackOutcome:
    """What recording (or withdrawing) a signal did, and the item's signals afterwards."""

    item_id: int
    signal: str
    changed: bool  # False when the signal was already there (or already absent)
    replaced: str | None  # the opposite signal that was withdrawn, if any
    signals: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AffinityEvent:
    """A like or dislike, with what the item was about: for topic/source/author affinities."""

    signal: str
    at: datetime
    item_id: int
    topics: tuple[tuple[str, float], ...]  # (tag slug, tag score)
    source_ids: tuple[int, ...]
    authors: tuple[str, ...]


def check_signal(value: object) -> str:
    if value not in SIGNALS:
        raise InvalidInputError(f"signal: must be one of {', '.join(SIGNALS)} (got {value!r})")
    return str(value)


def _require(session: Session, profile_id: int, item_id: int) -> None:
    if session.exec(select(Profile.id).where(Profile.id == profile_id)).first() is None:
        raise NotFoundError(f"no profile has id {profile_id}")
    if session.exec(select(Item.id).where(Item.id == item_id)).first() is None:
        raise NotFoundError(f"no item has id {item_id}")


def _signals_of(session: Session, profile_id: int, item_id: int) -> tuple[str, ...]:
    rows = session.exec(
        select(Feedback.signal).where(
            Feedback.profile_id == profile_id, Feedback.item_id == item_id
        )
    ).all()
    return tuple(s for s in SIGNALS if s in set(rows))


def _remove(session: Session, profile_id: int, item_id: int, signal: str) -> bool:
    result = session.exec(
        delete(Feedback).where(
            col(Feedback.profile_id) == profile_id,
            col(Feedback.item_id) == item_id,
            col(Feedback.signal) == signal,
        )
    )
    return bool(result.rowcount)


def _insert(session: Session, row: Feedback) -> bool:
    """Add ``row`` unless an identical signal is there (or lands concurrently)."""
    exists = session.exec(
        select(Feedback.id).where(
            Feedback.profile_id == row.profile_id,
            Feedback.item_id == row.item_id,
            Feedback.signal == row.signal,
        )
    ).first()
    if exists is not None:
        return False
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return False
    return True


def record_feedback(
    db: Database, *, profile_id: int, item_id: int, signal: str, now: datetime
) -> FeedbackOutcome:
    """Record ``signal`` once; a like withdraws a dislike and the reverse."""
    signal = check_signal(signal)
    with db.write() as session:
        _require(session, profile_id, item_id)
        opposite = EXCLUSIVE.get(signal)
        replaced = (
            opposite if opposite and _remove(session, profile_id, item_id, opposite) else None
        )
        row = Feedback(profile_id=profile_id, item_id=item_id, signal=signal, created_at=now)
        changed = _insert(session, row)
        signals = _signals_of(session, profile_id, item_id)
    return FeedbackOutcome(item_id, signal, changed, replaced, signals)


def withdraw_feedback(
    db: Database, *, profile_id: int, item_id: int, signal: str
) -> FeedbackOutcome:
    """Take a signal back (un-like, un-hide); withdrawing an absent signal changes nothing."""
    signal = check_signal(signal)
    with db.write() as session:
        _require(session, profile_id, item_id)
        changed = _remove(session, profile_id, item_id, signal)
        signals = _signals_of(session, profile_id, item_id)
    return FeedbackOutcome(item_id, signal, changed, None, signals)


def _chunks(values: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def signals_for(
    session: Session, *, profile_id: int, item_ids: Sequence[int]
) -> dict[int, frozenset[str]]:
    """Each item's signals from this profile (items without any are absent)."""
    found: dict[int, set[str]] = defaultdict(set)
    for chunk in _chunks(list(item_ids)):
        rows = session.exec(
            select(Feedback.item_id, Feedback.signal).where(
                Feedback.profile_id == profile_id, col(Feedback.item_id).in_(chunk)
            )
        ).all()
        for item_id, signal in rows:
            found[item_id].add(signal)
    return {item_id: frozenset(signals) for item_id, signals in found.items()}


def _topics_of(session: Session, item_ids: Sequence[int]) -> dict[int, list[tuple[str, float]]]:
    topics: dict[int, list[tuple[str, float]]] = defaultdict(list)
    rows = session.exec(
        select(ItemTag.item_id, Tag.slug, ItemTag.score)
        .join(Tag, col(Tag.id) == col(ItemTag.tag_id))
        .where(col(ItemTag.item_id).in_(item_ids))
        .order_by(col(ItemTag.item_id), col(Tag.slug))
    ).all()
    for item_id, slug, score in rows:
        topics[item_id].append((slug, score))
    return topics


def _sources_of(session: Session, item_ids: Sequence[int]) -> dict[int, list[int]]:
    sources: dict[int, list[int]] = defaultdict(list)
    rows = session.exec(
        select(ItemSource.item_id, ItemSource.source_id)
        .where(col(ItemSource.item_id).in_(item_ids))
        .order_by(col(ItemSource.item_id), col(ItemSource.source_id))
    ).all()
    for item_id, source_id in rows:
        sources[item_id].append(source_id)
    return sources


def affinity_events(
    session: Session, *, profile_id: int, since: datetime, limit: int = 500
) -> list[AffinityEvent]:
    """The newest likes and dislikes since ``since`` (at most ``limit``), newest first."""
    rows = session.exec(
        select(Feedback.item_id, Feedback.signal, Feedback.created_at, Item.authors)
        .join(Item, col(Item.id) == col(Feedback.item_id))
        .where(
            Feedback.profile_id == profile_id,
            col(Feedback.signal).in_(AFFINITY_SIGNALS),
            Feedback.created_at >= since,
        )
        .order_by(col(Feedback.created_at).desc(), col(Feedback.id).desc())
        .limit(limit)
    ).all()
    if not rows:
        return []  # no likes or dislikes: nothing more to read
    item_ids = [row[0] for row in rows]
    topics, sources = _topics_of(session, item_ids), _sources_of(session, item_ids)
    return [
        AffinityEvent(
            signal=signal,
            at=created_at,
            item_id=item_id,
            topics=tuple(topics.get(item_id, ())),
            source_ids=tuple(sources.get(item_id, ())),
            authors=tuple(authors or ()),
        )
        for item_id, signal, created_at, authors in rows
    ]


def _existing_items(session: Session, item_ids: Sequence[int]) -> list[int]:
    found: list[int] = []
    for chunk in _chunks(sorted(set(item_ids))):
        rows = session.exec(select(Item.id).where(col(Item.id).in_(chunk))).all()
        found.extend(i for i in rows if i is not None)
    return found


def _present(session: Session, profile_id: int, item_ids: Sequence[int], signal: str) -> set[int]:
    present: set[int] = set()
    for chunk in _chunks(list(item_ids)):
        present.update(
            session.exec(
                select(Feedback.item_id).where(
                    Feedback.profile_id == profile_id,
                    Feedback.signal == signal,
                    col(Feedback.item_id).in_(chunk),
                )
            ).all()
        )
    return present


def record_feedback_many(
    db: Database, *, profile_id: int, item_ids: Sequence[int], signal: str, now: datetime
) -> int:
    """Record ``signal`` for each stored item of ``item_ids`` in one transaction (ids of no
    stored item are skipped); how many were new. Idempotent, like ``record_feedback``."""
    signal = check_signal(signal)
    with db.write() as session:
        items = _existing_items(session, item_ids)
        opposite = EXCLUSIVE.get(signal)
        if opposite:
            for chunk in _chunks(items):
                session.exec(
                    delete(Feedback).where(
                        col(Feedback.profile_id) == profile_id,
                        col(Feedback.signal) == opposite,
                        col(Feedback.item_id).in_(chunk),
                    )
                )
        present = _present(session, profile_id, items, signal)
        new = [i for i in items if i not in present]
        rows = [
            Feedback(profile_id=profile_id, item_id=i, signal=signal, created_at=now) for i in new
        ]
        try:
            with session.begin_nested():
                session.add_all(rows)
        except IntegrityError:  # another writer recorded some of them meanwhile: one by one
            fresh = [Feedback(**row.model_dump(exclude={"id"})) for row in rows]
            return sum(_insert(session, row) for row in fresh)
    return len(new)


def withdraw_feedback_many(
    db: Database, *, profile_id: int, item_ids: Sequence[int], signal: str
) -> int:
    """Take ``signal`` back for each of ``item_ids`` in one transaction; how many were there."""
    signal = check_signal(signal)
    removed = 0
    with db.write() as session:
        for chunk in _chunks(sorted(set(item_ids))):
            result = session.exec(
                delete(Feedback).where(
                    col(Feedback.profile_id) == profile_id,
                    col(Feedback.signal) == signal,
                    col(Feedback.item_id).in_(chunk),
                )
            )
            removed += int(result.rowcount or 0)
    return removed
