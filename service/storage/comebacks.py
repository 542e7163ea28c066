"""Papers coming back: the papers each profile liked or saved, as they are now, and the events
already recorded for them (``comeback``, one row per profile, paper and event)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col

from service.records import WatchedPaper
from service.storage.models import Comeback, Feedback, Item, ItemLink

WATCHED_SIGNALS = ("like", "save")


@dataclass(frozen=True, slots=True)
class ShownComeback:
    item_id: int
    title: str
    url: str | None
    arxiv_id: str | None
    reason: str
    at: datetime


def watched_papers(session: Session) -> dict[int, list[WatchedPaper]]:
    """Profile id -> the papers it liked or saved, with their versions, DOI and coverage."""
    rows = session.execute(
        sa.select(
            col(Feedback.profile_id),
            col(Item.id),
            col(Item.title),
            col(Item.arxiv_id),
            col(Item.arxiv_version),
            col(Item.comments),
            col(Item.doi),
            col(Item.journal_ref),
        )
        .join(Item, col(Item.id) == col(Feedback.item_id))
        .where(col(Feedback.signal).in_(WATCHED_SIGNALS), col(Item.kind) == "paper")
        .distinct()
    ).all()
    covering = _covering(session, {row[3] for row in rows if row[3]})
    watched: defaultdict[int, list[WatchedPaper]] = defaultdict(list)
    for profile_id, item_id, title, arxiv_id, version, comments, doi, journal in rows:
        paper = WatchedPaper(
            item_id, title, version, comments, doi, journal, covering.get(arxiv_id or "", ())
        )
        watched[profile_id].append(paper)
    return watched


def _covering(session: Session, arxiv_ids: set[str]) -> dict[str, tuple[tuple[int, str], ...]]:
    found: defaultdict[str, list[tuple[int, str]]] = defaultdict(list)
    ids = sorted(arxiv_ids)
    for start in range(0, len(ids), 900):
        query = (
            sa.select(col(ItemLink.arxiv_id), col(Item.id), col(Item.title))
            .join(Item, col(Item.id) == col(ItemLink.item_id))
            .where(col(ItemLink.arxiv_id).in_(ids[start : start + 900]))
            .order_by(col(Item.id))
        )
        for arxiv_id, item_id, title in session.execute(query):
            found[arxiv_id].append((item_id, title))
    return {key: tuple(value) for key, value in found.items()}


def recorded_events(session: Session) -> dict[tuple[int, int], set[str]]:
    """(profile id, paper id) -> the events already recorded."""
    recorded: defaultdict[tuple[int, int], set[str]] = defaultdict(set)
    query = sa.select(col(Comeback.profile_id), col(Comeback.item_id), col(Comeback.event))
    for profile_id, item_id, event in session.execute(query):
        recorded[(profile_id, item_id)].add(event)
    return recorded


def record_events(session: Session, rows: Iterable[Comeback]) -> None:
    session.add_all(rows)


def recent_comebacks(session: Session, profile_id: int, since: datetime) -> list[ShownComeback]:
    """The events shown to a profile since ``since``, newest first."""
    query = (
        sa.select(
            col(Comeback.item_id),
            col(Item.title),
            col(Item.url),
            col(Item.arxiv_id),
            col(Comeback.reason),
            col(Comeback.created_at),
        )
        .join(Item, col(Item.id) == col(Comeback.item_id))
        .where(
            col(Comeback.profile_id) == profile_id,
            col(Comeback.created_at) > since,
            col(Comeback.baseline).is_(False),
        )
        .order_by(col(Comeback.created_at).desc(), col(Comeback.id).desc())
    )
    return [ShownComeback(*row) for row in session.execute(query)]
