"""Builders of ranking records for pure tests: a small taxonomy, candidates, pools."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from service.rank.model import (
    Candidate,
    CandidatePool,
    CandidateSource,
    CandidateTag,
    FeedbackEvent,
    TopicIndex,
)

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)

# (slug, area, parent, label)
TOPIC_ROWS = (
    ("nlp", "nlp", None, "NLP"),
    ("llm", "nlp", "nlp", "LLMs"),
    ("translation", "nlp", "nlp", "Translation"),
    ("vision", "vision", None, "Vision"),
    ("detection", "vision", "vision", "Detection"),
    ("robotics", "robotics", None, "Robotics"),
    ("manipulation", "robotics", "robotics", "Manipulation"),
    ("theory", "theory", None, "Theory"),
    ("audio", "audio", None, "Audio"),
    ("systems", "systems", None, "Systems"),
)
TOPICS = TopicIndex.build(TOPIC_ROWS)
AREAS = tuple(row[0] for row in TOPIC_ROWS if row[2] is None)


def tag(slug: str, score: float = 0.9, origin: str = "category") -> CandidateTag:
    return CandidateTag(slug=slug, area=TOPICS.areas[slug], score=score, origin=origin)


def source(
    source_id: int = 1, *, level: str = "research", weight: float = 1.0, kind: str = "paper"
) -> CandidateSource:
    return CandidateSource(
        id=source_id, name=f"source {source_id}", kind=kind, level=level, weight=weight
    )


def candidate(
    item_id: int,
    *,
    kind: str = "paper",
    tags: Sequence[CandidateTag] = (),
    sources: Sequence[CandidateSource] | None = None,
    title: str | None = None,
    summary: str = "",
    hours_old: float = 1.0,
    authors: Sequence[str] = (),
    covered_by: int = 0,
    feedback: frozenset[str] = frozenset(),
) -> Candidate:
    default_level = {"paper": "research", "podcast": "overview"}.get(kind, "practitioner")
    return Candidate(
        id=item_id,
        kind=kind,
        title=title if title is not None else f"Item {item_id}",
        url=f"https://example.org/{item_id}",
        summary=summary,
        published_at=NOW - timedelta(hours=hours_old),
        authors=tuple(authors),
        tags=tuple(tags),
        sources=tuple(sources)
        if sources is not None
        else (source(level=default_level, kind=kind),),
        covered_by=covered_by,
        feedback=feedback,
    )


def pool(candidates: Sequence[Candidate], events: Sequence[FeedbackEvent] = ()) -> CandidatePool:
    return CandidatePool(tuple(candidates), TOPICS, tuple(events))
