"""Sources: anyone may list and read them (with their poll health); the admin adds, changes,
deactivates and imports them (``Authorization: Bearer <STAYCURRENT_ADMIN_TOKEN>``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status
from starlette.concurrency import run_in_threadpool

from service.errors import InvalidInputError
from service.ingest.health import describe
from service.ingest.subscribe import ImportReport, import_opml, subscribe
from service.outputs.api.deps import AdminAuth, DatabaseDep, NowDep, SessionDep, SettingsDep
from service.outputs.api.params import SourceId
from service.outputs.api.problems import problem_responses
from service.outputs.api.schemas_sources import (
    ProbeOut,
    SourceCreate,
    SourceCreated,
    SourceOut,
    SourcePatch,
    SourcesResponse,
    State,
)
from service.outputs.source_pages import SourcesQuery, sources_page
from service.records import Kind, Level
from service.storage.models import Source
from service.storage.source_registry import (
    deactivate_source,
    get_source,
    item_counts,
    update_source,
)
from service.storage.sources import source_facts

router = APIRouter(prefix="/v1/sources", tags=["sources"])
ADMIN_ONLY = "Needs `Authorization: Bearer <STAYCURRENT_ADMIN_TOKEN>`."
OPML_MEDIA_TYPES = ("text/x-opml", "application/xml", "text/xml")
OPML_UPLOAD_EXAMPLE = (
    '<?xml version="1.0"?>\n<opml version="2.0"><head><title>My feeds</title></head><body>\n'
    '  <outline text="post-training"><outline text="Interconnects" type="rss"\n'
    '    xmlUrl="https://www.interconnects.ai/feed"/></outline>\n</body></opml>'
)
_OPML_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The OPML document: the raw body, or a multipart form with a `file` field.",
        "content": {
            **{
                media: {"schema": {"type": "string"}, "example": OPML_UPLOAD_EXAMPLE}
                for media in OPML_MEDIA_TYPES
            },
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
        },
    }
}


def _sentences(session: SessionDep, ids: list[int], now: datetime) -> dict[int, str]:
    """Each source's health in one sentence (the pure ``describe`` over its stored facts)."""
    return {f.id: describe(f, now).sentence for f in source_facts(session, now, ids)}


def _out(session: SessionDep, source: Source, now: datetime) -> SourceOut:
    assert source.id is not None
    count = item_counts(session, [source.id]).get(source.id, 0)
    return SourceOut.of(source, count, _sentences(session, [source.id], now).get(source.id, ""))


@router.get(
    "",
    summary="List sources, with their health",
    description="Every source (feeds.yaml, added through the API, imported), in id order, with "
    "its poll health: state, last outcome and error in words, consecutive errors, last success "
    "and next poll. Filters: `kind`, `active`, `state`. Pages: pass `next_cursor` back as "
    "`cursor` with the same filters.",
    response_model=SourcesResponse,
    responses=problem_responses(422),
)
def list_sources(
    *,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    kind: Annotated[Kind | None, Query(description="Only this kind.")] = None,
    active: Annotated[bool | None, Query(description="Only active (or inactive) ones.")] = None,
    state: Annotated[State | None, Query(description="Only this poll state.")] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="Sources per page.")] = 100,
    cursor: Annotated[
        str | None, Query(max_length=2048, description="`next_cursor` of the previous page.")
    ] = None,
) -> SourcesResponse:
    query = SourcesQuery(kind=kind, active=active, state=state, limit=limit, cursor=cursor)
    page = sources_page(session, query, secret=settings.secret_key_bytes(), now=now)
    ids = [s.id for s in page.sources if s.id is not None]
    counts, sentences = item_counts(session, ids), _sentences(session, ids, now)
    return SourcesResponse(
        sources=[
            SourceOut.of(s, counts.get(s.id or 0, 0), sentences.get(s.id or 0, ""))
            for s in page.sources
        ],
        next_cursor=page.next_cursor,
    )


@router.get(
    "/{source_id}",
    summary="One source, with its health",
    description="The source's settings, how many items it has given, and its poll health.",
    response_model=SourceOut,
    responses=problem_responses(404, 422),
)
def get_one_source(source_id: SourceId, session: SessionDep, now: NowDep) -> SourceOut:
    return _out(session, get_source(session, source_id), now)


@router.post(
    "",
    summary="Add a source (admin)",
    description="Adds a feed to poll. The URL must be http(s) and pass the SSRF guard: its host "
    "is resolved and refused if it points at a loopback, private, link-local or otherwise "
    "internal address (unless STAYCURRENT_ALLOW_PRIVATE_NETWORKS). `probe: true` fetches and "
    "parses the feed once and reports its title, entry count and a guess at its kind — or the "
    "reason it could not be read; the source is added either way, and no item is stored by the "
    "probe. `name` defaults to the feed's title (made unique with the host if taken), `kind` to "
    "the guess (else post). Topics are "
    f"taxonomy slugs. {ADMIN_ONLY}",
    status_code=status.HTTP_201_CREATED,
    response_model=SourceCreated,
    responses=problem_responses(401, 403, 409, 422),
)
async def post_source(
    _admin: AdminAuth,
    db: DatabaseDep,
    settings: SettingsDep,
    request: Request,
    body: SourceCreate,
) -> SourceCreated:
    app = request.app.state
    done = await subscribe(
        db,
        settings,
        url=body.url,
        name=body.name,
        changes=body.changes(),
        probe=body.probe,
        resolver=app.resolver,
        now=app.clock(),
    )
    report = done.probe
    return SourceCreated(
        source=SourceOut.of(done.source, 0), probe=ProbeOut.of(report) if report else None
    )


@router.patch(
    "/{source_id}",
    summary="Change a source (admin)",
    description="Changes only the fields sent: name, kind, level, topics, poll_minutes (null = "
    "adaptive), weight, active (true reactivates and polls soon). Catalog sources return to "
    f"their feeds.yaml values on the next `staycurrent sources sync`. {ADMIN_ONLY}",
    response_model=SourceOut,
    responses=problem_responses(401, 403, 404, 409, 422),
)
def patch_source(
    _admin: AdminAuth,
    db: DatabaseDep,
    session: SessionDep,
    now: NowDep,
    source_id: SourceId,
    body: SourcePatch,
) -> SourceOut:
    return _out(session, update_source(db, source_id, body.changes()), now)


@router.delete(
    "/{source_id}",
    summary="Deactivate a source (admin)",
    description="Stops polling the source. Nothing is deleted: the source stays (active false) "
    "and so do its items; PATCH `active: true` brings it back. Deactivating twice is fine. "
    f"{ADMIN_ONLY}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problem_responses(401, 403, 404, 422),
)
def delete_source(_admin: AdminAuth, db: DatabaseDep, source_id: SourceId) -> Response:
    deactivate_source(db, source_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


async def _opml_bytes(request: Request) -> bytes:
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != "multipart/form-data":
        return await request.body()
    form = await request.form(max_files=1, max_fields=10)
    upload = form.get("file")
    if upload is None or isinstance(upload, str):
        raise InvalidInputError("body.file: send the OPML document as the form field `file`")
    return await upload.read()


@router.post(
    "/import",
    summary="Import sources from OPML (admin)",
    description="Adds every feed of an OPML subscription list (the raw document, or a multipart "
    "upload with a `file` field) and reports each outline: `added`, `duplicate` (a source "
    "already polls it, or it is listed twice) or `invalid` with the reason. Folders whose titles "
    "match a taxonomy slug or label become the topics of the feeds inside them. `kind` sets the "
    "kind of every feed (else it is guessed: arXiv paper, video sites video, podcast folders "
    "podcast, the rest post). External entities and DTDs are never processed. "
    f"{ADMIN_ONLY}",
    response_model=ImportReport,
    responses=problem_responses(401, 403, 413, 422),
    openapi_extra=_OPML_BODY,
)
async def import_sources(
    _admin: AdminAuth,
    db: DatabaseDep,
    settings: SettingsDep,
    request: Request,
    kind: Annotated[Kind | None, Query(description="The kind of every feed.")] = None,
    level: Annotated[Level, Query(description="The level of every feed.")] = "practitioner",
) -> ImportReport:
    body = await _opml_bytes(request)
    if not body.strip():
        raise InvalidInputError("body: empty; send an OPML document")
    return await run_in_threadpool(import_opml, db, body, settings, kind=kind, level=level)
