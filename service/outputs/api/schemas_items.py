"""Response models of the item and topic endpoints, with the examples OpenAPI shows."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from service.outputs.schemas import ItemDetail, ItemHit, ItemOut, item_out
from service.outputs.similar import Similar
from service.storage.topics import TopicCount

ITEM_EXAMPLE: dict[str, Any] = {
    "id": 5123,
    "kind": "paper",
    "title": "Sparse Experts for Machine Translation",
    "url": "https://arxiv.org/abs/2611.05123",
    "summary": "We study mixture-of-experts models for multilingual translation …",
    "summary_html": "<p>We study mixture-of-experts models for multilingual translation …</p>",
    "authors": ["Ada Lovelace", "Alan Turing"],
    "published": "2026-11-20T00:42:37Z",
    "updated": None,
    "first_seen": "2026-11-20T01:10:00Z",
    "minutes": 25,
    "area": "llm-nlp",
    "sources": [{"id": 3, "name": "arXiv cs.CL", "kind": "paper", "level": "research"}],
    "tags": [
        {
            "slug": "multilingual",
            "area": "llm-nlp",
            "label": "Multilingual NLP & translation",
            "score": 0.97,
            "origin": "category",
        }
    ],
    "arxiv": {
        "id": "2611.05123",
        "version": 2,
        "categories": ["cs.CL", "cs.LG"],
        "primary_category": "cs.CL",
        "announce_type": "replace",
        "abs_url": "https://arxiv.org/abs/2611.05123",
        "pdf_url": "https://arxiv.org/pdf/2611.05123v2",
        "doi": None,
        "journal_ref": None,
        "comments": "12 pages",
    },
    "podcast": None,
    "covered_by": [
        {
            "id": 5200,
            "kind": "post",
            "title": "How we used MoE in production",
            "url": "https://blog.example.org/moe",
            "published": "2026-11-21T09:00:00Z",
        }
    ],
    "mentions": [],
}
ITEM_DETAIL_EXAMPLE: dict[str, Any] = {
    **ITEM_EXAMPLE,
    "changed": "2026-11-21T01:10:00Z",
    "seen_in": [
        {
            "id": 3,
            "name": "arXiv cs.CL",
            "kind": "paper",
            "level": "research",
            "first_seen": "2026-11-20T01:10:00Z",
            "last_seen": "2026-11-21T01:10:00Z",
        }
    ],
    "versions": [
        {"version": 1, "url": "https://arxiv.org/abs/2611.05123v1"},
        {"version": 2, "url": "https://arxiv.org/abs/2611.05123v2"},
    ],
}


class ItemsResponse(BaseModel):
    """A page of items."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"items": [ITEM_EXAMPLE], "next_cursor": "eyJkIjp7ImYiOi…", "order": "newest"}
            ]
        }
    )

    items: list[ItemHit]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null at end.")
    order: Literal["newest", "relevance"] = Field(description="How this page is ordered.")


class ItemResponse(ItemDetail):
    """Everything known about one item."""

    model_config = ConfigDict(json_schema_extra={"examples": [ITEM_DETAIL_EXAMPLE]})


class TopicCounts(BaseModel):
    last_7_days: int = Field(description="Items published in the last 7 days.")
    last_30_days: int = Field(description="Items published in the last 30 days.")


class SubtopicOut(BaseModel):
    slug: str = Field(examples=["multilingual"])
    label: str = Field(examples=["Multilingual NLP & translation"])
    items: TopicCounts


class AreaOut(BaseModel):
    slug: str = Field(examples=["llm-nlp"])
    label: str = Field(examples=["Language models & NLP"])
    items: TopicCounts = Field(description="Distinct items of the area and all its subtopics.")
    subtopics: list[SubtopicOut]


class TopicsResponse(BaseModel):
    """The taxonomy: areas, each with its subtopics, and recent item counts."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "as_of": "2026-11-25T08:00:00Z",
                    "areas": [
                        {
                            "slug": "llm-nlp",
                            "label": "Language models & NLP",
                            "items": {"last_7_days": 412, "last_30_days": 1630},
                            "subtopics": [
                                {
                                    "slug": "multilingual",
                                    "label": "Multilingual NLP & translation",
                                    "items": {"last_7_days": 18, "last_30_days": 77},
                                }
                            ],
                        }
                    ],
                }
            ]
        }
    )

    as_of: datetime = Field(description="The instant the counts are taken at.")
    areas: list[AreaOut]


def _counts(topic: TopicCount) -> TopicCounts:
    return TopicCounts(last_7_days=topic.counts[7], last_30_days=topic.counts[30])


def topics_response(topics: list[TopicCount], now: datetime) -> TopicsResponse:
    areas = [t for t in topics if t.parent is None]
    return TopicsResponse(
        as_of=now.astimezone(UTC),
        areas=[
            AreaOut(
                slug=area.slug,
                label=area.label,
                items=_counts(area),
                subtopics=[
                    SubtopicOut(slug=t.slug, label=t.label, items=_counts(t))
                    for t in topics
                    if t.parent == area.slug
                ],
            )
            for area in areas
        ],
    )


class SimilarOut(ItemOut):
    """An item like the one asked about, and why."""

    similarity: float = Field(description="Cosine similarity of the two item vectors, -1 to 1.")
    shared_topics: list[str] = Field(description="Topic slugs both items carry.")
    why: str = Field(
        examples=[
            "similar in meaning: 0.87 (cosine of title and summary vectors); both about Agents"
        ]
    )


class SimilarResponse(BaseModel):
    """More like this: the items nearest in meaning, best first."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "item_id": 5123,
                    "model": "wordllama-l2_supercat-256",
                    "items": [
                        {
                            **ITEM_EXAMPLE,
                            "id": 5190,
                            "similarity": 0.87,
                            "shared_topics": ["multilingual"],
                            "why": "similar in meaning: 0.87 (cosine of title and summary "
                            "vectors); both about Multilingual NLP & translation",
                        }
                    ],
                    "note": None,
                }
            ]
        }
    )

    item_id: int
    model: str = Field(description="The model that made the vectors compared.")
    items: list[SimilarOut]
    note: str | None = Field(description="Why the list is empty, when it is for a reason.")


def similar_response(found: Similar) -> SimilarResponse:
    assert found.item.item.id is not None
    return SimilarResponse(
        item_id=found.item.item.id,
        model=found.model,
        items=[
            SimilarOut(
                **item_out(s.view).model_dump(),
                similarity=s.similarity,
                shared_topics=list(s.shared_topics),
                why=s.why,
            )
            for s in found.items
        ],
        note=found.note,
    )
