"""Items and topics: ``GET /v1/items`` (filters, full-text search, pages), ``GET /v1/items/{id}``
and ``GET /v1/topics``. Open to anyone who can reach the API (no token needed)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from service.errors import NotFoundError
from service.outputs.api.deps import DatabaseDep, NowDep, SessionDep, SettingsDep
from service.outputs.api.params import (
    ARXIV_CATEGORY_PATTERN,
    SLUG_PATTERN,
    ItemId,
    UTCDateTime,
)
from service.outputs.api.problems import problem_responses
from service.outputs.api.schemas_items import (
    ItemResponse,
    ItemsResponse,
    SimilarResponse,
    TopicsResponse,
    similar_response,
    topics_response,
)
from service.outputs.items import DEFAULT_LIMIT, MAX_LIMIT, ItemsPage, ItemsQuery, list_page
from service.outputs.schemas import item_detail
from service.outputs.similar import DEFAULT_DAYS, SIMILAR_WINDOW, similar_items
from service.outputs.similar import DEFAULT_LIMIT as SIMILAR_LIMIT
from service.outputs.similar import MAX_LIMIT as SIMILAR_MAX
from service.records import Kind
from service.storage.models import MAX_ROW_ID
from service.storage.search import RELEVANCE_WINDOW
from service.storage.topics import topic_counts
from service.storage.views import ItemFilter, get_item, sightings

router = APIRouter(prefix="/v1", tags=["items"])
MAX_QUERY_CHARS = 200

ITEMS_DESCRIPTION = f"""
Stored items — papers, posts, podcast episodes, videos — newest first.

**Filters** (all optional, combined with AND): `kind`; `topic` (a taxonomy slug from
`GET /v1/topics`; an area includes its subtopics); `source` (a source id); `arxiv_category`
(`cs.CL`); `since` / `until` (publication time, ISO 8601, UTC when no offset is given; `until` is
exclusive); `covered=true` for papers that posts or podcasts discussed (`false`: papers nobody
discussed yet).

**Search**: `q` searches titles, summaries and author names. Words must all match; `"a phrase"`
matches the words in order; `-word` excludes; `or` between words accepts either; the last word
also matches as a prefix (`transf` finds *transformer*). Other punctuation is ignored, so no input
is a syntax error. With `q` the order is `relevance` by default: the {RELEVANCE_WINDOW} most
recently stored matches, best first; `order=newest` lists every match newest first instead.

**Pages**: pass `next_cursor` back as `cursor` with the same other parameters; `null` means the
end. Pages never repeat an item, even while new items arrive. Cursors expire after 24 hours.
"""


@router.get(
    "/items",
    summary="List and search items",
    description=ITEMS_DESCRIPTION,
    response_model=ItemsResponse,
    responses=problem_responses(422),
)
async def list_items(
    *,
    db: DatabaseDep,
    settings: SettingsDep,
    now: NowDep,
    kind: Annotated[Kind | None, Query(description="Only this kind.")] = None,
    topic: Annotated[
        str | None,
        Query(
            max_length=64,
            pattern=SLUG_PATTERN,
            description="A topic slug.",
            examples=["post-training"],
        ),
    ] = None,
    source: Annotated[
        int | None, Query(ge=1, le=MAX_ROW_ID, description="Only items seen in this source id.")
    ] = None,
    arxiv_category: Annotated[
        str | None,
        Query(max_length=32, pattern=ARXIV_CATEGORY_PATTERN, examples=["cs.CL"]),
    ] = None,
    since: Annotated[
        UTCDateTime | None,
        Query(description="Published at or after.", examples=["2026-11-01T00:00:00Z"]),
    ] = None,
    until: Annotated[UTCDateTime | None, Query(description="Published before.")] = None,
    q: Annotated[
        str | None,
        Query(
            max_length=MAX_QUERY_CHARS,
            description="Search text.",
            examples=['"mixture of experts" -survey'],
        ),
    ] = None,
    covered: Annotated[
        bool | None, Query(description="Papers that posts or podcasts discussed (true) or not.")
    ] = None,
    order: Annotated[
        Literal["newest", "relevance"] | None,
        Query(description="Default: relevance with q, newest without."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page.")] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None, Query(max_length=2048, description="`next_cursor` of the previous page.")
    ] = None,
) -> ItemsResponse:
    query = ItemsQuery(
        filter=ItemFilter(
            kind=kind,
            topic=topic,
            source_id=source,
            arxiv_category=arxiv_category,
            since=since,
            until=until,
            covered=covered,
        ),
        q=q,
        order=order,
        limit=limit,
        cursor=cursor,
    )
    secret = settings.secret_key_bytes()

    def read() -> ItemsPage:
        with db.session() as session:
            return list_page(session, query, secret=secret, now=now)

    # A coroutine with one thread-pool hop for the database work: a plain function would take
    # four (opening the session, the route, checking the response, closing the session).
    page = await run_in_threadpool(read)
    return ItemsResponse(items=page.items, next_cursor=page.next_cursor, order=page.order)


@router.get(
    "/items/{item_id}",
    summary="One item, with everything known",
    description="The item with its tags (origin and score), arXiv fields and versions, podcast "
    "fields, every source it was seen in (first and last seen), the posts and podcasts that "
    "discuss it (`covered_by`) and the arXiv ids it mentions (`mentions`).",
    response_model=ItemResponse,
    responses=problem_responses(404, 422),
)
def get_one_item(item_id: ItemId, session: SessionDep) -> ItemResponse:
    view = get_item(session, item_id)
    if view is None:
        raise NotFoundError(f"no item has id {item_id}")
    detail = item_detail(view, sightings(session, item_id))
    return ItemResponse.model_validate(detail.model_dump())


@router.get(
    "/items/{item_id}/similar",
    summary="More like this",
    description="The stored items nearest in meaning to this one: cosine similarity of the item "
    "vectors (title and summary), among the items published within `days` of it (at most the "
    f"{SIMILAR_WINDOW} newest), best first, each with its `similarity`, the topics both carry "
    "and a sentence of `why`. An item stored before vectors existed has none until the "
    "backfill gives it one (`note` says so).",
    response_model=SimilarResponse,
    responses=problem_responses(404, 422),
)
def get_similar(
    item_id: ItemId,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=SIMILAR_MAX, description="How many.")] = SIMILAR_LIMIT,
    days: Annotated[
        int, Query(ge=1, le=3650, description="Published within this many days of the item.")
    ] = DEFAULT_DAYS,
) -> SimilarResponse:
    return similar_response(similar_items(session, item_id, limit=limit, days=days))


@router.get(
    "/topics",
    summary="The taxonomy, with recent item counts",
    description="Every area of the taxonomy with its subtopics, in catalog order, and how many "
    "items were published in each over the last 7 and 30 days. An area counts the distinct items "
    "of the area and all its subtopics. Use the slugs in `topic=`, in profile interests and in "
    "source topics.",
    response_model=TopicsResponse,
)
def get_topics(session: SessionDep, now: NowDep) -> TopicsResponse:
    return topics_response(topic_counts(session, now), now)
