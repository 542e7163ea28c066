"""``GET /v1/trends``: what is rising, across the field or inside a profile's areas."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field

from service.errors import NotFoundError
from service.outputs.api.conditional import cached_response
from service.outputs.api.deps import Credentials, DatabaseDep, SettingsDep, current_profile
from service.outputs.api.problems import problem_responses
from service.outputs.api.routes_subscriptions import (
    PRIVATE_CACHE,
    PRIVATE_HEADERS,
    UNKNOWN_SUBSCRIPTION,
)
from service.outputs.syndication.lens import subscription_url
from service.outputs.syndication.rss import render_rss
from service.outputs.trends import (
    DEFAULT_WINDOW,
    SUBSCRIBED_THEMES,
    TRENDS_FILENAME,
    TrendsPage,
    TrendView,
    subscribed_trends,
    trends_document,
    trends_for,
)
from service.storage.models import Profile
from service.storage.profiles import find_by_token

router = APIRouter(prefix="/v1", tags=["trends"])
RSS = """<?xml version='1.0' encoding='UTF-8'?>
<rss xmlns:atom="http://www.w3.org/2005/Atom" version="2.0"><channel>
  <title>Staycurrent: rising, for ada</title>
  <item><title>Rising: GRPO</title><link>https://arxiv.org/abs/2612.01234</link>
    <guid isPermaLink="false">staycurrent:trend:grpo:2026-12-02</guid>
    <description>&lt;p&gt;rising across the field: 24 items from 12 sources …</description>
  </item></channel></rss>"""
MAX_TRENDS = SUBSCRIBED_THEMES

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


TREND_EXAMPLE: dict[str, Any] = {
    "rank": 1,
    "label": "GRPO",
    "kind": "phrase",
    "score": 10.4,
    "ratio": 24.9,
    "evidence": "24 items from 12 sources in 5 days; usually 2 a month",
    "why": "rising in your area Reinforcement learning: 24 items from 12 sources in 5 days; …",
    "items": 24,
    "sources": 12,
    "feeds": 9,
    "usual_per_week": 0.5,
    "first_seen": "2026-12-02T00:00:00Z",
    "latest_seen": "2026-12-06T12:00:00Z",
    "areas": ["reinforcement-learning"],
    "area_labels": ["Reinforcement learning"],
    "aliases": ["group relative policy optimization"],
    "representative": [
        {
            "id": 5123,
            "kind": "paper",
            "title": "GRPO without a critic, revisited",
            "url": "https://arxiv.org/abs/2612.01234",
            "published": "2026-12-03T00:00:00Z",
        }
    ],
}


class ComebackOut(BaseModel):
    item_id: int
    title: str
    url: str | None
    arxiv_id: str | None
    reason: str = Field(description="What happened: \"v3 posted: 'camera-ready'\", a DOI, …")
    at: datetime


class TrendsResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "window_days": 7,
                    "computed_at": "2026-12-07T12:00:00Z",
                    "scope": "areas",
                    "note": "",
                    "trends": [TREND_EXAMPLE],
                    "papers": [],
                    "coming_back": [
                        {
                            "item_id": 4711,
                            "title": "Sparse Experts Again",
                            "url": "https://arxiv.org/abs/2611.04711",
                            "arxiv_id": "2611.04711",
                            "reason": "v3 posted: 'camera-ready, adds ablations'",
                            "at": "2026-12-06T08:10:00Z",
                        }
                    ],
                }
            ]
        }
    )

    window_days: int
    computed_at: datetime | None
    scope: Literal["field", "areas"]
    note: str = Field(description="Why the list is empty, in words (empty when it is not).")
    trends: list[TrendOut]
    papers: list[TrendOut] = Field(
        description="Papers everyone covers: the fastest-growing coverage by posts and episodes."
    )
    coming_back: list[ComebackOut] = Field(
        description="With a token: papers you liked or saved that came back in the window "
        "(a new version, a DOI or journal reference, new coverage), once per event."
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
        coming_back=[
            ComebackOut(
                item_id=c.item_id,
                title=c.title,
                url=c.url,
                arxiv_id=c.arxiv_id,
                reason=c.reason,
                at=c.at,
            )
            for c in page.coming_back
        ],
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


@router.get(
    "/subscriptions/{token}/trends.rss",
    summary="What is rising, as RSS",
    description="The trend radar for your feed reader: one entry per rising theme (for your "
    "areas at depth ≥ 0.5, else the whole field), with its evidence and representative items. "
    "Takes the profile's **feed token**, like the other subscriptions; listed in `lenses.opml`.",
    response_class=Response,
    responses={
        200: {"description": "RSS 2.0.", "content": {"application/rss+xml": {"example": RSS}}},
        304: {"description": "Not modified: your copy (ETag / Last-Modified) is current."},
        **problem_responses(404, 422),
    },
)
def trends_rss(
    *,
    request: Request,
    token: Annotated[str, PathParam(description="The profile's feed token.")],
    db: DatabaseDep,
    settings: SettingsDep,
    window: Annotated[int, Query(description="The window in days: 3, 7 or 14.")] = DEFAULT_WINDOW,
) -> Response:
    with db.session() as session:
        profile = find_by_token(session, token, which="feed")
    if profile is None:
        raise NotFoundError(UNKNOWN_SUBSCRIPTION)
    page = subscribed_trends(db, profile=profile, window_days=window)
    self_url = subscription_url(settings.base_url, token, TRENDS_FILENAME)
    document = trends_document(
        page,
        title=f"Staycurrent: rising, for {profile.name}",
        feed_id=f"{settings.base_url.rstrip('/')}/trends/{profile.id}",
        home_url=settings.base_url,
    )
    return cached_response(
        request,
        render_rss(document, self_url=self_url),
        media_type="application/rss+xml; charset=utf-8",
        last_modified=page.computed_at or document.channel.updated,
        cache_control=PRIVATE_CACHE,
        headers=PRIVATE_HEADERS,
    )
