"""``GET /v1/feed``: the profile's ranked feed, one page at a time, with its metrics."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from service.outputs.api.deps import (
    CurrentProfile,
    DatabaseDep,
    NowDep,
    SettingsDep,
    WindowsDep,
)
from service.outputs.api.problems import problem_responses
from service.outputs.api.schemas_feed import FeedResponse, feed_response
from service.outputs.feed import DEFAULT_LIMIT, MAX_LIMIT, FeedOptions, build_feed
from service.outputs.trends import rising_badges
from service.storage.profiles import MAX_WINDOW_DAYS

router = APIRouter(prefix="/v1", tags=["feed"])

FEED_DESCRIPTION = """
Your **stay current** feed: the items of your window, ranked by the depth↔breadth dial.

- At `depth` 1 the feed is the best matches of your interests, technical items first.
- At `depth` 0 it spans every area the window offers before any area gets a second item,
  overviews first; your interests are only a mild boost.
- In between, a share `depth` of positions comes from the deep ranking and the rest from the
  broad one.

Every item says **why** it is here. `metrics` reports, for the top 20: `focus` (share matching an
interest), `coverage` (areas covered / areas available), and the mean technical level.

Pages: pass `next_cursor` back as `cursor`, with the same other parameters. A cursor ranks as of
the instant of the first page, so pages never overlap while the data does not change; it expires
after 24 hours. Hidden items never appear; read items only with `include_read=true`.
"""


def _csv(value: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    parts = tuple(dict.fromkeys(p.strip() for p in value.split(",") if p.strip()))
    return parts or None


@router.get(
    "/feed",
    summary="Your ranked feed",
    description=FEED_DESCRIPTION,
    response_model=FeedResponse,
    responses=problem_responses(401, 422),
)
def get_feed(
    *,
    profile: CurrentProfile,
    db: DatabaseDep,
    settings: SettingsDep,
    now: NowDep,
    windows: WindowsDep,
    depth: Annotated[
        float | None,
        Query(ge=0, le=1, description="Override your depth for this request.", examples=[0.3]),
    ] = None,
    kinds: Annotated[
        str | None,
        Query(
            max_length=100,
            description="Comma-separated kinds to include: paper, post, podcast, video.",
            examples=["paper,podcast"],
        ),
    ] = None,
    topics: Annotated[
        str | None,
        Query(
            max_length=2000,
            description="Comma-separated topic slugs that replace your interests for this request.",
            examples=["nlp,robotics"],
        ),
    ] = None,
    window_days: Annotated[
        int | None, Query(ge=1, le=MAX_WINDOW_DAYS, description="Override your window.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page.")] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None, Query(max_length=2048, description="`next_cursor` of the previous page.")
    ] = None,
    include_read: Annotated[bool, Query(description="Keep items you marked read.")] = False,
) -> FeedResponse:
    options = FeedOptions(
        depth=depth,
        kinds=_csv(kinds),
        topics=_csv(topics),
        window_days=window_days,
        include_read=include_read,
        limit=limit,
        cursor=cursor,
    )
    page = build_feed(
        db,
        profile=profile,
        options=options,
        secret=settings.secret_key_bytes(),
        now=now,
        windows=windows,
    )
    badges = rising_badges(db, [item.candidate.id for item in page.items])
    return feed_response(page, badges)
