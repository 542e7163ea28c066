"""The Google Reader API, for reader apps (NetNewsWire, Reeder, Read You, FeedMe, Fluent Reader,
newsboat's FeedHQ mode): a profile's lenses as labels and subscriptions, its sources as
subscriptions by area, read and starred flowing back as feedback.

    /accounts/ClientLogin                      Email (profile name or email) + Passwd (an app
                                               password) -> SID/LSID/Auth lines
    /reader/api/0/token | user-info | subscription/list | tag/list | unread-count
    /reader/api/0/stream/contents/<stream>     ?n ot nt xt it c r=o (JSON)
    /reader/api/0/stream/items/ids             ?s n ot nt xt it c r=o
    /reader/api/0/stream/items/contents        i=… (many; at most MAX_IDS)
    /reader/api/0/edit-tag | mark-all-as-read | subscription/edit | subscription/quickadd
    /reader/atom/<stream>                      the classic Atom output (newsboat)

Plain Starlette routes (``install_greader(app)``), outside the ``/v1`` conventions on purpose:
clients send parameters of their own (``client``, ``ck``, ``output``…) that are ignored, and
errors are the short text bodies they expect (401 ``Unauthorized``, 400, 404, 413), never a 500.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from starlette.responses import Response
from starlette.routing import Route

from service.config import Settings
from service.outputs.api.greader_auth import (
    auth_token,
)
from service.outputs.api.greader_context import (
    API,
    DEFAULT_PAGE,
    MAX_PAGE,
    TEXT,
    Handler,
    Params,
    Reader,
    ReaderError,
    endpoint_of,
    first_param,
    json_response,
    stream_param,
)
from service.outputs.api.greader_edits import (
    edit_tag,
    mark_all_as_read,
    quick_add,
    subscription_edit,
)
from service.outputs.api.ratelimit import TokenBuckets
from service.outputs.greader.ids import (
    STARRED,
    StreamId,
    continuation_of,
    parse_continuation,
    parse_count,
    parse_seconds,
    parse_stream_id,
)
from service.outputs.greader.library import LibraryCache
from service.outputs.greader.render import load_items, render_atom, stream_json
from service.outputs.greader.streams import (
    Filters,
    page,
    select_stream,
    state_of,
    unread_counts,
)
from service.storage.app_passwords import sign_in

# --------------------------------------------------------------------------- sign-in


def client_login(reader: Reader) -> Response:
    buckets: TokenBuckets = reader.request.app.state.greader_failures
    client = reader.request.client.host if reader.request.client else "unknown"
    now = reader.now.timestamp()
    wait = buckets.wait(client, now)
    if wait is not None:
        raise ReaderError(429, "Error=TooManyRequests\n", {"Retry-After": str(wait)})
    login = first_param(reader.params, "Email") or ""
    password = first_param(reader.params, "Passwd") or ""
    row = sign_in(reader.db, login=login, password=password, now=reader.now)
    if row is None:
        buckets.take(client, now)
        raise ReaderError(401, "Error=BadAuthentication\n")
    token = auth_token(reader.settings.secret_key_bytes(), row)
    if first_param(reader.params, "output") == "json":
        return json_response({"SID": token, "LSID": "null", "Auth": token})
    return Response(f"SID={token}\nLSID=null\nAuth={token}\n", media_type=TEXT)


def token(reader: Reader) -> Response:
    return Response(reader.user.edit_token, media_type=TEXT)


def user_info(reader: Reader) -> Response:
    profile = reader.user.profile
    return json_response(
        {
            "userId": str(profile.id),
            "userName": profile.name,
            "userProfileId": str(profile.id),
            "userEmail": profile.email or "",
            "isBloggerUser": False,
            "signupTimeSec": int(profile.created_at.timestamp()),
            "isMultiLoginEnabled": False,
        }
    )


# --------------------------------------------------------------------------- lists


def _label(name: str) -> dict[str, str]:
    return {"id": f"user/-/label/{name}", "label": name}


def subscription_list(reader: Reader) -> Response:
    library = reader.library()
    base = reader.settings.base_url.rstrip("/")
    subscriptions: list[dict[str, Any]] = [
        {
            "id": lens.stream_id,
            "title": f"Staycurrent: {lens.label}",
            "categories": [_label(lens.label)],
            "url": lens.stream_id.removeprefix("feed/"),
            "htmlUrl": base,
            "iconUrl": "",
            "sortid": f"{index:08X}",
            "firstitemmsec": "0",
        }
        for index, lens in enumerate(library.lenses)
    ]
    subscriptions += [
        {
            "id": source.stream_id,
            "title": source.title,
            "categories": [_label(source.area)],
            "url": source.url,
            "htmlUrl": source.html_url or source.url,
            "iconUrl": "",
            "sortid": f"{len(library.lenses) + index:08X}",
            "firstitemmsec": "0",
        }
        for index, source in enumerate(library.sources)
    ]
    return json_response({"subscriptions": subscriptions})


def tag_list(reader: Reader) -> Response:
    library = reader.library()
    tags: list[dict[str, str]] = [{"id": STARRED}]
    tags += [{"id": f"user/-/label/{lens.label}", "type": "folder"} for lens in library.lenses]
    tags += [{"id": f"user/-/label/{area}", "type": "folder"} for area in library.areas()]
    return json_response({"tags": tags})


def unread_count(reader: Reader) -> Response:
    library = reader.library()
    with reader.db.session() as session:
        counts = unread_counts(session, library)
    return json_response(
        {
            "max": max((c.count for c in counts), default=0),
            "unreadcounts": [
                {"id": c.stream_id, "count": c.count, "newestItemTimestampUsec": str(c.newest_usec)}
                for c in counts
            ],
        }
    )


# --------------------------------------------------------------------------- streams


def _optional_stream(value: str | None) -> StreamId | None:
    return parse_stream_id(value) if value else None


def _filters(params: Params) -> Filters:
    after = first_param(params, "c")
    return Filters(
        count=parse_count(first_param(params, "n"), default=DEFAULT_PAGE, most=MAX_PAGE),
        newer_than=parse_seconds("ot", first_param(params, "ot")),
        older_than=parse_seconds("nt", first_param(params, "nt")),
        exclude=state_of(_optional_stream(first_param(params, "xt"))),
        include=state_of(_optional_stream(first_param(params, "it"))),
        after=parse_continuation(after) if after else None,
        oldest_first=first_param(params, "r") == "o",
    )


def _contents(reader: Reader, stream: StreamId) -> tuple[str, Any, Any]:
    library = reader.library()
    selection = select_stream(library, stream)
    filters = _filters(reader.params)
    with reader.db.session() as session:
        found = page(session, library, selection, filters)
        items = load_items(session, library, [key.item_id for key in found.keys])
    return selection.title, items, found.continuation


def stream_contents(reader: Reader) -> Response:
    stream = stream_param(reader, reader.request.path_params.get("stream"))
    title, items, continuation = _contents(reader, stream)
    return json_response(stream_json(stream.text, title, items, continuation))


def atom_stream(reader: Reader) -> Response:
    stream = stream_param(reader, reader.request.path_params.get("stream"))
    title, items, continuation = _contents(reader, stream)
    body = render_atom(stream.text, title, items, continuation, now=reader.now)
    return Response(body, media_type="application/atom+xml; charset=utf-8")


def stream_item_ids(reader: Reader) -> Response:
    library = reader.library()
    selection = select_stream(library, stream_param(reader))
    with reader.db.session() as session:
        found = page(session, library, selection, _filters(reader.params))
    document: dict[str, Any] = {
        "itemRefs": [
            {"id": str(key.item_id), "directStreamIds": [], "timestampUsec": str(key.usec)}
            for key in found.keys
        ]
    }
    if found.continuation is not None:
        document["continuation"] = continuation_of(found.continuation)
    return json_response(document)


def stream_items_contents(reader: Reader) -> Response:
    ids = reader.item_ids()
    library = reader.library()
    with reader.db.session() as session:
        items = load_items(session, library, ids)
    return json_response(stream_json("user/-/state/com.google/reading-list", "Items", items, None))


ROUTES: tuple[tuple[str, Handler, tuple[str, ...]], ...] = (
    (f"{API}/token", token, ("GET", "POST")),
    (f"{API}/user-info", user_info, ("GET",)),
    (f"{API}/subscription/list", subscription_list, ("GET",)),
    (f"{API}/tag/list", tag_list, ("GET",)),
    (f"{API}/unread-count", unread_count, ("GET",)),
    (f"{API}/stream/contents", stream_contents, ("GET", "POST")),
    (f"{API}/stream/contents/{{stream:path}}", stream_contents, ("GET", "POST")),
    (f"{API}/stream/items/ids", stream_item_ids, ("GET", "POST")),
    (f"{API}/stream/items/contents", stream_items_contents, ("GET", "POST")),
    (f"{API}/edit-tag", edit_tag, ("POST",)),
    (f"{API}/mark-all-as-read", mark_all_as_read, ("POST",)),
    (f"{API}/subscription/edit", subscription_edit, ("POST",)),
    (f"{API}/subscription/quickadd", quick_add, ("POST",)),
    ("/reader/atom/{stream:path}", atom_stream, ("GET",)),
)


def install_greader(app: FastAPI) -> None:
    """Add the Google Reader API to ``app`` (plain routes: no OpenAPI, no /v1 query guard)."""
    settings: Settings = app.state.settings
    app.state.greader_cache = LibraryCache(windows=app.state.windows)
    app.state.greader_failures = TokenBuckets(settings.api_auth_failures_per_minute)
    app.router.routes.append(  # POST only: a password in a URL ends up in proxies' logs
        Route(
            "/accounts/ClientLogin",
            endpoint_of(client_login, signed_in=False),
            methods=["POST"],
            include_in_schema=False,
        )
    )
    for path, handler, methods in ROUTES:
        app.router.routes.append(
            Route(path, endpoint_of(handler), methods=list(methods), include_in_schema=False)
        )
