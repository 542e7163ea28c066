"""``GET /v1/trends``: what is rising, across the field or inside a profile's areas."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from service.outputs.api.deps import Credentials, DatabaseDep, SettingsDep, current_profile
from service.outputs.api.problems import problem_responses
from service.outputs.trends import DEFAULT_WINDOW, TrendsPage, TrendView, trends_for
from service.storage.models import Profile

router = APIRouter(prefix="/v1", tags=["trends"])
MAX_TRENDS = 30

TRENDS_DESCRIPTION = """
The **trend radar**: phrases ("GRPO", "test-time scaling") and topics whose rate in the last
`window` days rose well above their own usual rate, spread over several independent sources
(one feed or one author repeating a phrase is not a trend). Each theme says what it means in
words (`evidence`: "12 items from 7 sources in 3 days; usually 1 a week"), when it was first
and last seen, its areas, and its most representative items.

`papers` are the **papers everyone covers**: those whose coverage (posts and podcast episodes
linking them) grew fastest in the window, from at least two feeds.

The worker recomputes the trends every few minutes; this endpoint only reads them.

Without a token the answer is the whole field. With a profile's API token it is for that profile:
at `depth` ≥ 0.5 (the profile's own, or the one given) only what rises inside the profile's
areas, below it the whole field; each theme's `why` says which.
"""


class TrendItemOut(BaseModel):
    id: int
    kind: str
    title: str
    url: str | None
    published: datetime


class TrendOut(BaseModel):
    rank: int
    label: str
    kind: Literal["phrase", "topic", "paper"]
    score: float = Field(description="How surprising the rise is (a one-sided Poisson z-value).")
    ratio: float = Field(description="Seen in the window / expected from the usual rate.")
    evidence: str
    why: str
    items: int
    sources: int = Field(description="Independent sources: paper lead authors and feeds.")
    feeds: int
    usual_per_week: float
    first_seen: datetime
    latest_seen: datetime
    areas: list[str]
    area_labels: list[str]
    aliases: list[str]
    representative: list[TrendItemOut]


class TrendsResponse(BaseModel):
    window_days: int
    computed_at: datetime | None
    scope: Literal["field", "areas"]
    note: str = Field(description="Why the list is empty, in words (empty when it is not).")
    trends: list[TrendOut]
    papers: list[TrendOut] = Field(
        description="Papers everyone covers: the fastest-growing coverage by posts and episodes."
    )


def _trend_out(view: TrendView) -> TrendOut:
    t = view.trend
    return TrendOut(
        rank=t.rank + 1,
        label=t.label,
        kind="topic" if t.kind == "topic" else "paper" if t.kind == "paper" else "phrase",
        score=t.score,
        ratio=t.ratio,
        evidence=t.evidence,
        why=view.why,
        items=t.items,
        sources=t.voices,
        feeds=t.feeds,
        usual_per_week=t.baseline_per_week,
        first_seen=t.first_seen_at,
        latest_seen=t.latest_seen_at,
        areas=list(t.areas),
        area_labels=list(view.area_labels),
        aliases=list(t.aliases),
        representative=[
            TrendItemOut(id=r.id, kind=r.kind, title=r.title, url=r.url, published=r.published_at)
            for r in view.representative
        ],
    )


def trends_response(page: TrendsPage) -> TrendsResponse:
    return TrendsResponse(
        window_days=page.window_days,
        computed_at=page.computed_at,
        scope="areas" if page.scope == "areas" else "field",
        note=page.note,
        trends=[_trend_out(view) for view in page.themes],
        papers=[_trend_out(view) for view in page.papers],
    )


def optional_profile(
    settings: SettingsDep, db: DatabaseDep, credentials: Credentials
) -> Profile | None:
    """The profile whose API token was presented, or None without a token (a bad one is 401)."""
    if credentials is None:
        return None
    return current_profile(settings, db, credentials)


@router.get(
    "/trends",
    summary="What is rising",
    description=TRENDS_DESCRIPTION,
    response_model=TrendsResponse,
    responses=problem_responses(401, 403, 422),
    # the token is optional: without one, the whole field
    openapi_extra={"security": [{}, {"HTTPBearer": []}]},
)
def get_trends(
    *,
    db: DatabaseDep,
    profile: Annotated[Profile | None, Depends(optional_profile)],
    window: Annotated[
        int, Query(description="The window in days: 3, 7 or 14.", examples=[7])
    ] = DEFAULT_WINDOW,
    topic: Annotated[
        str | None,
        Query(
            max_length=64, description="Only themes of this area or topic slug.", examples=["nlp"]
        ),
    ] = None,
    depth: Annotated[
        float | None, Query(ge=0, le=1, description="Override the profile's depth.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_TRENDS, description="Themes at most.")] = 10,
) -> TrendsResponse:
    page = trends_for(
        db, window_days=window, topic=topic, limit=limit, profile=profile, depth=depth
    )
    return trends_response(page)
