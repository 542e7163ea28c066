"""Response and request models of the feed and feedback endpoints (also the CLI's ``--json``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from service.outputs.feed import FeedPage
from service.rank.loader import CoveringItem
from service.rank.model import Candidate, FeedMetrics, RankedItem, TopicIndex
from service.storage.models import MAX_ROW_ID

SUMMARY_CHARS = 600
SignalName = Literal["like", "dislike", "save", "hide", "read"]


class TagOut(BaseModel):
    slug: str
    label: str
    area: str
    score: float = Field(description="How strongly the item is about this topic, in (0, 1].")
    origin: str = Field(description="category (arXiv), keyword, or source (its default topics).")


class ArxivOut(BaseModel):
    id: str
    primary_category: str | None
    categories: list[str]
    pdf_url: str | None


class PodcastOut(BaseModel):
    enclosure_url: str | None
    enclosure_type: str | None
    duration_seconds: int | None
    episode: int | None
    season: int | None
    image_url: str | None


class CoveringOut(BaseModel):
    id: int
    kind: str
    title: str
    url: str | None
    published: datetime


class WhyOut(BaseModel):
    summary: str = Field(description="One sentence: why this item is here.")
    interests: list[str] = Field(description="Interest topics it matched (slugs).")
    keywords: list[str] = Field(description="Your keywords it mentions.")
    authors: list[str] = Field(description="Its authors that you follow.")
    brings_area: str | None = Field(
        description="For breadth picks: the area outside your interests that it adds."
    )
    parts: dict[str, float] = Field(description="Every part of the score.")


class FeedItem(BaseModel):
    id: int
    rank: int = Field(description="1-based position in the whole ranked feed.")
    kind: str
    title: str
    url: str | None
    source: str | None = Field(description="The most trusted source it was seen in.")
    sources: list[str]
    published: datetime
    summary: str
    authors: list[str]
    reading_minutes: int | None = Field(description="Minutes to read, or to listen.")
    tags: list[TagOut]
    arxiv: ArxivOut | None
    podcast: PodcastOut | None
    covered_by: list[CoveringOut] = Field(description="Posts and podcasts that discuss it.")
    covered_by_count: int
    same_story: list[CoveringOut] = Field(
        description="The same story from other sources (near-duplicates), shown once: here."
    )
    feedback: list[str] = Field(description="Your signals on it (like, save, read …).")
    score: float
    why: WhyOut
    badges: list[str] = Field(
        default_factory=list,
        description='Trend badges: "part of a rising theme: GRPO" (the 7-day trend radar).',
    )


class MetricsOut(BaseModel):
    depth: float
    k: int
    focus: float = Field(description="Share of the top k matching at least one interest.")
    coverage: float = Field(
        description="Distinct areas in the top k / min(k, distinct areas among the candidates)."
    )
    areas_covered: int
    areas_available: int
    matching_available: int = Field(description="Candidates that match an interest.")
    mean_technical: float = Field(description="Mean technical level of the top k, 0 to 1.")
    sources_covered: int = Field(description="Distinct sources (an item's first) in the top k.")
    max_per_source: int = Field(description="The most items of the top k from one source.")
    kinds_covered: int = Field(description="Distinct kinds in the top k.")
    kinds_available: int = Field(description="Distinct kinds among the candidates.")


_ITEM_EXAMPLE: dict[str, Any] = {
    "id": 5123,
    "rank": 1,
    "kind": "paper",
    "title": "Sparse Experts for Machine Translation",
    "url": "https://arxiv.org/abs/2611.05123",
    "source": "arXiv cs.CL",
    "sources": ["arXiv cs.CL"],
    "published": "2026-11-20T00:42:37Z",
    "summary": "We study mixture-of-experts models for multilingual translation …",
    "authors": ["Ada Lovelace", "Alan Turing"],
    "reading_minutes": 25,
    "tags": [
        {
            "slug": "machine-translation",
            "label": "Machine translation",
            "area": "nlp",
            "score": 0.97,
            "origin": "category",
        }
    ],
    "arxiv": {
        "id": "2611.05123",
        "primary_category": "cs.CL",
        "categories": ["cs.CL", "cs.LG"],
        "pdf_url": "https://arxiv.org/pdf/2611.05123v1",
    },
    "podcast": None,
    "covered_by": [
        {
            "id": 5200,
            "kind": "post",
            "title": "How we used MoE in production",
            "url": "https://blog.example.org/moe",
            "published": "2026-11-20T09:00:00Z",
        }
    ],
    "covered_by_count": 1,
    "same_story": [],
    "feedback": [],
    "score": 0.93,
    "why": {
        "summary": "Matches your interests: Natural language processing; discussed by posts or "
        "podcasts",
        "interests": ["nlp"],
        "keywords": [],
        "authors": [],
        "brings_area": None,
        "parts": {"relevance": 0.97, "technical": 1.0, "freshness": 0.86, "coverage": 0.5},
    },
}


class FeedResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [_ITEM_EXAMPLE],
                    "metrics": {
                        "depth": 0.85,
                        "k": 20,
                        "focus": 0.95,
                        "coverage": 0.19,
                        "areas_covered": 3,
                        "areas_available": 16,
                        "matching_available": 142,
                        "mean_technical": 0.85,
                        "sources_covered": 9,
                        "max_per_source": 4,
                        "kinds_covered": 3,
                        "kinds_available": 4,
                    },
                    "next_cursor": "eyJkIjp7ImF0IjoxNzk1…",
                    "ranked_at": "2026-11-20T12:00:00Z",
                    "total": 358,
                    "truncated": False,
                }
            ]
        }
    )

    items: list[FeedItem]
    metrics: MetricsOut
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null at end.")
    ranked_at: datetime = Field(description="The instant the feed is ranked as of.")
    total: int = Field(description="Items in the whole ranked feed.")
    truncated: bool = Field(description="The window had more items than the candidate cap.")
    reason: str | None = Field(
        None,
        description="Why the feed is empty or shorter than the page, in words (the window, "
        "the newest item before it, items first seen later or left out); null otherwise.",
        examples=[
            "no items in the last 7 days; the newest is from 2026-08-04 (arXiv cs.LG); "
            "widen with window_days (up to 365 days)"
        ],
    )


def _summary(text: str) -> str:
    if len(text) <= SUMMARY_CHARS:
        return text
    cut = text[:SUMMARY_CHARS].rsplit(" ", 1)[0]
    return cut + "…"


def _tags(candidate: Candidate, topics: TopicIndex) -> list[TagOut]:
    return [
        TagOut(slug=t.slug, label=topics.label(t.slug), area=t.area, score=t.score, origin=t.origin)
        for t in candidate.tags
    ]


def _arxiv(candidate: Candidate) -> ArxivOut | None:
    if candidate.arxiv_id is None:
        return None
    return ArxivOut(
        id=candidate.arxiv_id,
        primary_category=candidate.arxiv_primary,
        categories=list(candidate.arxiv_categories),
        pdf_url=candidate.pdf_url,
    )


def _podcast(candidate: Candidate) -> PodcastOut | None:
    if candidate.kind != "podcast" and candidate.enclosure_url is None:
        return None
    return PodcastOut(
        enclosure_url=candidate.enclosure_url,
        enclosure_type=candidate.enclosure_type,
        duration_seconds=candidate.duration_seconds,
        episode=candidate.episode,
        season=candidate.season,
        image_url=candidate.image_url,
    )


def _covering(items: tuple[CoveringItem, ...]) -> list[CoveringOut]:
    return [
        CoveringOut(id=c.id, kind=c.kind, title=c.title, url=c.url, published=c.published_at)
        for c in items
    ]


def feed_item(ranked: RankedItem, page: FeedPage) -> FeedItem:
    c, why = ranked.candidate, ranked.why
    covering = page.covering.get(c.arxiv_id, ()) if c.arxiv_id else ()
    return FeedItem(
        id=c.id,
        rank=ranked.position + 1,
        kind=c.kind,
        title=c.title,
        url=c.url,
        source=c.sources[0].name if c.sources else None,
        sources=[s.name for s in c.sources],
        published=c.published_at,
        summary=_summary(c.summary),
        authors=list(c.authors),
        reading_minutes=c.reading_minutes,
        tags=_tags(c, page.topics),
        arxiv=_arxiv(c),
        podcast=_podcast(c),
        covered_by=_covering(covering),
        covered_by_count=c.covered_by,
        same_story=[
            CoveringOut(id=d.id, kind=d.kind, title=d.title, url=d.url, published=d.published_at)
            for d in page.same_story.get(c.id, ())
        ],
        feedback=sorted(c.feedback),
        score=ranked.score,
        why=WhyOut(
            summary=why.summary,
            interests=list(why.interests),
            keywords=list(why.keywords),
            authors=list(why.authors),
            brings_area=why.brings_area,
            parts=dict(why.parts),
        ),
    )


def metrics_out(metrics: FeedMetrics) -> MetricsOut:
    return MetricsOut(
        depth=metrics.depth,
        k=metrics.k,
        focus=round(metrics.focus, 4),
        coverage=round(metrics.coverage, 4),
        areas_covered=metrics.areas_covered,
        areas_available=metrics.areas_available,
        matching_available=metrics.matching_available,
        mean_technical=round(metrics.mean_technical, 4),
        sources_covered=metrics.sources_covered,
        max_per_source=metrics.max_per_source,
        kinds_covered=metrics.kinds_covered,
        kinds_available=metrics.kinds_available,
    )


def feed_response(
    page: FeedPage, badges: Mapping[int, Sequence[str]] | None = None
) -> FeedResponse:
    """The page as the API shows it; ``badges`` by item id (``trends.rising_badges``)."""
    found = badges or {}
    items = [feed_item(item, page) for item in page.items]
    for item in items:
        item.badges = list(found.get(item.id, ()))
    return FeedResponse(
        items=items,
        metrics=metrics_out(page.metrics),
        next_cursor=page.next_cursor,
        ranked_at=page.ranked_at,
        total=page.total,
        truncated=page.truncated,
        reason=page.reason,
    )


class FeedbackIn(BaseModel):
    item_id: int = Field(ge=1, le=MAX_ROW_ID, examples=[1234])
    signal: SignalName = Field(examples=["like"])


class FeedbackOut(BaseModel):
    item_id: int
    signal: SignalName
    changed: bool = Field(description="False when the signal was already recorded.")
    replaced: str | None = Field(description="The opposite signal withdrawn (like <-> dislike).")
    signals: list[str] = Field(description="All your signals on this item now.")

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "item_id": 1234,
                    "signal": "like",
                    "changed": True,
                    "replaced": "dislike",
                    "signals": ["like", "save"],
                }
            ]
        }
    }
