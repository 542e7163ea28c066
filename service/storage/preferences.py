"""What a profile's preference model is learned from and where it is kept.

- ``feedback_stamp``: the profile's feedback count and newest row id; it changes whenever a signal
  is recorded or withdrawn (a new row always has a larger id), so a stored model trained under
  another stamp is stale;
- ``learning_feedback``: the newest signals on items that have a vector, with the item's title;
- ``background_vectors``: the newest item vectors published by a moment (what likes are trained
  against);
- ``stored_preference`` / ``store_preference``: the model row itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col

from service.storage.models import Feedback, Item, PreferenceRow

_CHUNK = 500


@dataclass(frozen=True, slots=True)
class FeedbackWithVector:
    signal: str
    at: datetime
    item_id: int
    title: str
    vector: bytes


@dataclass(frozen=True, slots=True)
class StoredPreference:
    stamp: str
    events: int
    model: bytes
    trained_at: datetime


def feedback_stamp(session: Session, profile_id: int) -> str:
    """'count:newest id' of the profile's feedback rows ('0:0' when it has none)."""
    count, newest = session.execute(
        sa.select(sa.func.count(), sa.func.max(col(Feedback.id))).where(
            col(Feedback.profile_id) == profile_id
        )
    ).one()
    return f"{int(count)}:{int(newest or 0)}"


def learning_feedback(
    session: Session, *, profile_id: int, model: str, limit: int
) -> list[FeedbackWithVector]:
    """The newest ``limit`` signals of the profile on items with a ``model`` vector."""
    rows = session.execute(
        sa.select(
            col(Feedback.signal),
            col(Feedback.created_at),
            col(Item.id),
            col(Item.title),
            col(Item.vector),
        )
        .join(Item, col(Item.id) == col(Feedback.item_id))
        .where(col(Feedback.profile_id) == profile_id, col(Item.vector_model) == model)
        .order_by(col(Feedback.created_at).desc(), col(Feedback.id).desc())
        .limit(limit)
    )
    return [FeedbackWithVector(s, at, i, t, bytes(v)) for s, at, i, t, v in rows if v]


def background_vectors(
    session: Session, *, model: str, until: datetime, limit: int
) -> list[tuple[int, bytes]]:
    """(item id, vector) of the newest ``limit`` items published by ``until``, newest first."""
    rows = session.execute(
        sa.select(col(Item.id), col(Item.vector))
        .where(col(Item.published_at) <= until, col(Item.vector_model) == model)
        .order_by(col(Item.published_at).desc(), col(Item.id).desc())
        .limit(limit)
    )
    return [(item_id, bytes(blob)) for item_id, blob in rows if blob]


def stored_preference(session: Session, profile_id: int) -> StoredPreference | None:
    row = session.get(PreferenceRow, profile_id)
    if row is None:
        return None
    return StoredPreference(row.stamp, row.events, bytes(row.model), row.trained_at)


def store_preference(
    session: Session, *, profile_id: int, stamp: str, events: int, model: bytes, now: datetime
) -> None:
    """Keep the profile's model (replacing the one before); ``model`` empty: no usable feedback."""
    row = session.get(PreferenceRow, profile_id)
    if row is None:
        row = PreferenceRow(profile_id=profile_id, stamp=stamp, events=events, model=model)
    row.stamp, row.events, row.model, row.trained_at = stamp, events, model, now
    session.add(row)


def seed_likes(
    session: Session, *, profile_id: int, item_ids: Sequence[int], now: datetime
) -> set[int]:
    """Like each of ``item_ids`` not liked yet (withdrawing a dislike); the ids newly liked."""
    ids = sorted(set(item_ids))
    liked: set[int] = set()
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        liked.update(
            session.exec(  # type: ignore[call-overload]
                sa.select(col(Feedback.item_id)).where(
                    col(Feedback.profile_id) == profile_id,
                    col(Feedback.signal) == "like",
                    col(Feedback.item_id).in_(chunk),
                )
            ).scalars()
        )
        session.execute(
            sa.delete(Feedback).where(
                col(Feedback.profile_id) == profile_id,
                col(Feedback.signal) == "dislike",
                col(Feedback.item_id).in_(chunk),
            )
        )
    added = [i for i in ids if i not in liked]
    session.add_all(
        Feedback(profile_id=profile_id, item_id=i, signal="like", created_at=now) for i in added
    )
    return set(added)
