"""Hand-made ranked items for digest tests (compose and render need no database)."""

from __future__ import annotations

from datetime import UTC, datetime

from service.rank.model import Candidate, CandidateSource, CandidateTag, RankedItem, TopicIndex, Why

TOPICS = TopicIndex.build(
    [
        ("nlp", "nlp", None, "Natural language processing"),
        ("llm", "nlp", "nlp", "Large language models"),
        ("robotics", "robotics", None, "Robotics"),
        ("audio", "audio", None, "Audio and speech"),
    ]
)
WHEN = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)


def ranked_item(
    item_id: int,
    *,
    position: int = 0,
    kind: str = "paper",
    title: str = "A title",
    summary: str = "A summary.",
    url: str | None = "https://example.org/item",
    area: str | None = "nlp",
    matched: tuple[str, ...] = ("nlp",),
    reading_minutes: int | None = None,
    duration_seconds: int | None = None,
    arxiv_id: str | None = None,
    pdf_url: str | None = None,
    enclosure_url: str | None = None,
    source: str = "arXiv cs.CL",
    why: str = "Matches your interests: Natural language processing",
) -> RankedItem:
    tags = (CandidateTag(area, area, 0.9, "category"),) if area else ()
    candidate = Candidate(
        id=item_id,
        kind=kind,
        title=title,
        url=url,
        summary=summary,
        published_at=WHEN,
        reading_minutes=reading_minutes,
        duration_seconds=duration_seconds,
        arxiv_id=arxiv_id,
        pdf_url=pdf_url,
        enclosure_url=enclosure_url,
        tags=tags,
        sources=(CandidateSource(1, source, kind, "research", 1.0),),
    )
    reason = Why(
        interests=matched,
        keywords=(),
        authors=(),
        parts={},
        brings_area=None if matched else area,
        summary=why,
    )
    return RankedItem(candidate, position, 1.0, reason)
