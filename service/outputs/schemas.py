"""The public shape of an item, shared by the API, the CLI's ``--json`` and the generated feeds."""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from service.storage.search import MARK_END, MARK_START
from service.storage.views import ItemRef, ItemView, Sighting


def cut_at_word(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters at a word boundary, and an ellipsis added if it was
    cut (mid-word only when the first word alone is longer)."""
    if len(text) <= limit:
        return text
    cut = text[: limit + 1].rsplit(" ", 1)[0] if " " in text[:limit] else text[:limit]
    return cut.rstrip(" ,;:.-") + "…"


class TagOut(BaseModel):
    slug: str = Field(examples=["rag"])
    area: str = Field(examples=["nlp"])
    label: str = Field(examples=["Retrieval-augmented generation"])
    score: float = Field(ge=0, le=1, examples=[0.9])
    origin: str = Field(description="category | model | keyword | source", examples=["model"])


class SourceRefOut(BaseModel):
    id: int
    name: str = Field(examples=["arXiv cs.CL"])
    kind: str = Field(examples=["paper"])
    level: str = Field(examples=["research"])


class ItemRefOut(BaseModel):
    id: int
    kind: str
    title: str
    url: str | None
    published: datetime


class ArxivOut(BaseModel):
    id: str = Field(description="arXiv id without version", examples=["2411.01234"])
    version: int | None = Field(examples=[2])
    categories: list[str] = Field(examples=[["cs.CL", "cs.LG"]])
    primary_category: str | None = Field(examples=["cs.CL"])
    announce_type: str | None = Field(description="new | cross | replace | replace-cross")
    abs_url: str = Field(examples=["https://arxiv.org/abs/2411.01234"])
    pdf_url: str | None = Field(examples=["https://arxiv.org/pdf/2411.01234v2"])
    doi: str | None = None
    journal_ref: str | None = None
    comments: str | None = None


class PodcastOut(BaseModel):
    enclosure_url: str
    enclosure_type: str | None = Field(examples=["audio/mpeg"])
    enclosure_length: int | None = None
    duration_seconds: int | None = Field(examples=[3600])
    episode: int | None = None
    season: int | None = None
    image_url: str | None = None
    transcript_url: str | None = None


class ItemOut(BaseModel):
    id: int
    kind: str = Field(description="paper | podcast | post | video", examples=["paper"])
    title: str
    url: str | None
    summary: str = Field(description="Plain text, bounded length")
    summary_html: str = Field(description="Sanitized HTML")
    authors: list[str]
    published: datetime
    updated: datetime | None
    first_seen: datetime
    minutes: int | None = Field(description="Minutes to read (posts, papers) or listen (podcasts)")
    area: str | None = Field(description="The area of the item's highest-scoring tag")
    sources: list[SourceRefOut]
    tags: list[TagOut]
    arxiv: ArxivOut | None
    podcast: PodcastOut | None
    covered_by: list[ItemRefOut] = Field(description="Posts and podcasts that mention this paper")
    mentions: list[str] = Field(description="arXiv ids this item mentions")


def _ref(ref: ItemRef) -> ItemRefOut:
    return ItemRefOut(
        id=ref.id, kind=ref.kind, title=ref.title, url=ref.url, published=ref.published_at
    )


def _arxiv(view: ItemView) -> ArxivOut | None:
    i = view.item
    if not i.arxiv_id:
        return None
    return ArxivOut(
        id=i.arxiv_id,
        version=i.arxiv_version,
        categories=list(i.arxiv_categories),
        primary_category=i.arxiv_primary,
        announce_type=i.announce_type,
        abs_url=f"https://arxiv.org/abs/{i.arxiv_id}",
        pdf_url=i.pdf_url,
        doi=i.doi,
        journal_ref=i.journal_ref,
        comments=i.comments,
    )


def _podcast(view: ItemView) -> PodcastOut | None:
    i = view.item
    if not i.enclosure_url:
        return None
    return PodcastOut(
        enclosure_url=i.enclosure_url,
        enclosure_type=i.enclosure_type,
        enclosure_length=i.enclosure_length,
        duration_seconds=i.duration_seconds,
        episode=i.episode,
        season=i.season,
        image_url=i.image_url,
        transcript_url=i.transcript_url,
    )


class ItemHit(ItemOut):
    """An item in a list of items: with ``q``, a snippet of its summary around the matches."""

    snippet: str | None = Field(
        None,
        description="With `q` only: a passage of the summary (HTML-escaped text) with the matched "
        "words in `<mark>`…`</mark>`; null without `q` or for an empty summary.",
        examples=["… sparse <mark>mixture</mark> of <mark>experts</mark> for translation …"],
    )


def snippet_html(marked: str | None) -> str | None:
    """A search snippet as HTML: the text escaped, the matched words in ``<mark>``."""
    if not marked:
        return None
    escaped = html.escape(marked, quote=False)
    return escaped.replace(MARK_START, "<mark>").replace(MARK_END, "</mark>")


def item_out(view: ItemView) -> ItemOut:
    return ItemOut(**_item_fields(view))


def item_hit(view: ItemView, snippet: str | None) -> ItemHit:
    """``item_out`` with the snippet of a search (``MARK_START`` … marks: see ``snippet_html``)."""
    return ItemHit(**_item_fields(view), snippet=snippet_html(snippet))


def _item_fields(view: ItemView) -> dict[str, Any]:
    i = view.item
    assert i.id is not None
    return {
        "id": i.id,
        "kind": i.kind,
        "title": i.title,
        "url": i.url,
        "summary": i.summary_text,
        "summary_html": i.summary_html,
        "authors": list(i.authors),
        "published": i.published_at,
        "updated": i.updated_at,
        "first_seen": i.first_seen_at,
        "minutes": i.reading_minutes,
        "area": view.area,
        "sources": [
            SourceRefOut(id=s.id, name=s.name, kind=s.kind, level=s.level) for s in view.sources
        ],
        "tags": [
            TagOut(slug=t.slug, area=t.area, label=t.label, score=t.score, origin=t.origin)
            for t in view.tags
        ],
        "arxiv": _arxiv(view),
        "podcast": _podcast(view),
        "covered_by": [_ref(r) for r in view.covered_by],
        "mentions": list(view.mentions),
    }


class SightingOut(SourceRefOut):
    """A source the item was seen in."""

    first_seen: datetime
    last_seen: datetime


class VersionOut(BaseModel):
    version: int = Field(examples=[2])
    url: str = Field(examples=["https://arxiv.org/abs/2411.01234v2"])


class ItemDetail(ItemOut):
    """Everything known about an item: ``ItemOut`` plus where and when it was seen, and versions."""

    changed: datetime = Field(description="When its stored content last changed")
    seen_in: list[SightingOut] = Field(description="Every source it was seen in, earliest first")
    versions: list[VersionOut] = Field(description="arXiv versions v1 … vN (empty for others)")


def item_detail(view: ItemView, seen: Sequence[Sighting]) -> ItemDetail:
    base = item_out(view)
    i = view.item
    versions = [
        VersionOut(version=n, url=f"https://arxiv.org/abs/{i.arxiv_id}v{n}")
        for n in range(1, (i.arxiv_version or 0) + 1)
    ]
    return ItemDetail(
        **base.model_dump(),
        changed=i.changed_at,
        seen_in=[
            SightingOut(
                id=s.source.id,
                name=s.source.name,
                kind=s.source.kind,
                level=s.source.level,
                first_seen=s.first_seen_at,
                last_seen=s.last_seen_at,
            )
            for s in seen
        ],
        versions=versions if i.arxiv_id else [],
    )
