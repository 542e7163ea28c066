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

import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from service.config import Settings
from service.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    StaycurrentError,
)
from service.outputs.api.greader_auth import (
    ReaderUser,
    auth_token,
    edit_token_ok,
    reader_user,
)
from service.outputs.api.ratelimit import TokenBuckets
from service.outputs.greader.ids import (
    KEPT_UNREAD,
    MAX_USEC,
    READ,
    STARRED,
    StreamId,
    continuation_of,
    parse_continuation,
    parse_count,
    parse_item_id,
    parse_seconds,
    parse_stream_id,
)
from service.outputs.greader.library import Library, LibraryCache, source_id_by_url
from service.outputs.greader.render import load_items, render_atom, stream_json
from service.outputs.greader.streams import (
    Filters,
    all_keys,
    page,
    select_stream,
    state_of,
    unread_counts,
)
from service.storage.app_passwords import sign_in
from service.storage.engine import Database
from service.storage.feedback import record_feedback_many, withdraw_feedback_many
from service.storage.models import MAX_ROW_ID
from service.storage.profiles import update_profile

MAX_IDS = 1000  # item ids in one request: more is refused with 413 (ids lists are paged)
MAX_PAGE = 1000  # items in one page of a stream; a larger n gets a continuation
DEFAULT_PAGE = 20
TEXT = "text/plain; charset=utf-8"
API = "/reader/api/0"
Params = list[tuple[str, str]]


class ReaderError(Exception):
    """An answer other than 200, with its short text body."""

    def __init__(self, status: int, text: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(text)
        self.status, self.text, self.headers = status, text, headers or {}


def _first(params: Params, name: str) -> str | None:
    return next((value for key, value in params if key == name), None)


def _all(params: Params, name: str) -> list[str]:
    return [value for key, value in params if key == name]


def _json(document: Any) -> Response:
    return Response(json.dumps(document, separators=(",", ":")), media_type="application/json")


def _ok() -> Response:
    return Response("OK", media_type=TEXT)


# --------------------------------------------------------------------------- context


class Reader:
    """One app's request: the settings, database, clock and the caller."""

    def __init__(self, request: Request, user: ReaderUser | None, params: Params) -> None:
        self.request = request
        self.settings: Settings = request.app.state.settings
        self.db: Database = request.app.state.db
        self.now: datetime = request.app.state.clock()
        self.cache: LibraryCache = request.app.state.greader_cache
        self._user = user
        self.params = params

    @property
    def user(self) -> ReaderUser:
        assert self._user is not None
        return self._user

    @property
    def profile_id(self) -> int:
        assert self.user.profile.id is not None
        return self.user.profile.id

    def library(self) -> Library:
        return self.cache.library(
            self.db,
            profile=self.user.profile,
            secret=self.settings.secret_key_bytes(),
            base_url=self.settings.base_url,
            now=self.now,
        )

    def check_edit_token(self) -> None:
        if not edit_token_ok(self.user, _first(self.params, "T")):
            raise ReaderError(401, "Unauthorized", {"X-Reader-Google-Bad-Token": "true"})

    def item_ids(self, name: str = "i") -> list[int]:
        given = _all(self.params, name)
        if len(given) > MAX_IDS:
            raise ReaderError(413, f"at most {MAX_IDS} item ids in one request (got {len(given)})")
        ids = [parse_item_id(value) for value in given]
        return [i for i in ids if i <= MAX_ROW_ID]  # well formed; a larger one names no row


Handler = Callable[[Reader], Response]


async def _params(request: Request) -> Params:
    params = list(request.query_params.multi_items())
    if request.method == "POST":
        body = await request.body()
        kind = request.headers.get("content-type", "application/x-www-form-urlencoded")
        if body and ("form-urlencoded" in kind or not ("multipart" in kind or "json" in kind)):
            params += parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
    return params


def _answer(error: ReaderError) -> Response:
    return Response(error.text, status_code=error.status, media_type=TEXT, headers=error.headers)


def _run(handler: Handler, reader: Reader) -> Response:
    try:
        return handler(reader)
    except ReaderError as error:
        return _answer(error)
    except NotFoundError as error:
        return _answer(ReaderError(404, f"Not Found: {error}"))
    except (InvalidInputError, ConflictError) as error:
        return _answer(ReaderError(400, f"Bad Request: {error}"))
    except StaycurrentError as error:
        return _answer(ReaderError(503, f"Unavailable: {error}"))


def _signed_in_run(handler: Handler, request: Request, params: Params) -> Response:
    """Who is calling (``Authorization: GoogleLogin auth=…``), then ``handler``: one thread hop."""
    settings: Settings = request.app.state.settings
    user = reader_user(
        request.app.state.db, settings.secret_key_bytes(), request.headers.get("authorization")
    )
    if user is None:
        return _answer(ReaderError(401, "Unauthorized"))
    return _run(handler, Reader(request, user, params))


def _route(handler: Handler, *, signed_in: bool = True) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        params = await _params(request)
        if not signed_in:
            return await run_in_threadpool(_run, handler, Reader(request, None, params))
        return await run_in_threadpool(_signed_in_run, handler, request, params)

    return endpoint


# --------------------------------------------------------------------------- sign-in


def client_login(reader: Reader) -> Response:
    buckets: TokenBuckets = reader.request.app.state.greader_failures
    client = reader.request.client.host if reader.request.client else "unknown"
    now = reader.now.timestamp()
    wait = buckets.wait(client, now)
    if wait is not None:
        raise ReaderError(429, "Error=TooManyRequests\n", {"Retry-After": str(wait)})
    login = _first(reader.params, "Email") or ""
    password = _first(reader.params, "Passwd") or ""
    row = sign_in(reader.db, login=login, password=password, now=reader.now)
    if row is None:
        buckets.take(client, now)
        raise ReaderError(401, "Error=BadAuthentication\n")
    token = auth_token(reader.settings.secret_key_bytes(), row)
    if _first(reader.params, "output") == "json":
        return _json({"SID": token, "LSID": "null", "Auth": token})
    return Response(f"SID={token}\nLSID=null\nAuth={token}\n", media_type=TEXT)


def token(reader: Reader) -> Response:
    return Response(reader.user.edit_token, media_type=TEXT)


def user_info(reader: Reader) -> Response:
    profile = reader.user.profile
    return _json(
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
    return _json({"subscriptions": subscriptions})


def tag_list(reader: Reader) -> Response:
    library = reader.library()
    tags: list[dict[str, str]] = [{"id": STARRED}]
    tags += [{"id": f"user/-/label/{lens.label}", "type": "folder"} for lens in library.lenses]
    tags += [{"id": f"user/-/label/{area}", "type": "folder"} for area in library.areas()]
    return _json({"tags": tags})


def unread_count(reader: Reader) -> Response:
    library = reader.library()
    with reader.db.session() as session:
        counts = unread_counts(session, library)
    return _json(
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
    after = _first(params, "c")
    return Filters(
        count=parse_count(_first(params, "n"), default=DEFAULT_PAGE, most=MAX_PAGE),
        newer_than=parse_seconds("ot", _first(params, "ot")),
        older_than=parse_seconds("nt", _first(params, "nt")),
        exclude=state_of(_optional_stream(_first(params, "xt"))),
        include=state_of(_optional_stream(_first(params, "it"))),
        after=parse_continuation(after) if after else None,
        oldest_first=_first(params, "r") == "o",
    )


def _stream_param(reader: Reader, path_stream: str | None = None) -> StreamId:
    value = path_stream or _first(reader.params, "s")
    if not value:
        raise InvalidInputError("s: the stream id is missing")
    return parse_stream_id(value)


def _contents(reader: Reader, stream: StreamId) -> tuple[str, Any, Any]:
    library = reader.library()
    selection = select_stream(library, stream)
    filters = _filters(reader.params)
    with reader.db.session() as session:
        found = page(session, library, selection, filters)
        items = load_items(session, library, [key.item_id for key in found.keys])
    return selection.title, items, found.continuation


def stream_contents(reader: Reader) -> Response:
    stream = _stream_param(reader, reader.request.path_params.get("stream"))
    title, items, continuation = _contents(reader, stream)
    return _json(stream_json(stream.text, title, items, continuation))


def atom_stream(reader: Reader) -> Response:
    stream = _stream_param(reader, reader.request.path_params.get("stream"))
    title, items, continuation = _contents(reader, stream)
    body = render_atom(stream.text, title, items, continuation, now=reader.now)
    return Response(body, media_type="application/atom+xml; charset=utf-8")


def stream_item_ids(reader: Reader) -> Response:
    library = reader.library()
    selection = select_stream(library, _stream_param(reader))
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
    return _json(document)


def stream_items_contents(reader: Reader) -> Response:
    ids = reader.item_ids()
    library = reader.library()
    with reader.db.session() as session:
        items = load_items(session, library, ids)
    return _json(stream_json("user/-/state/com.google/reading-list", "Items", items, None))


# --------------------------------------------------------------------------- edits


def _tags(params: Params, name: str) -> set[str]:
    tags = set()
    for value in _all(params, name):
        stream = parse_stream_id(value)  # malformed -> 400
        tags.add(stream.text)
    return tags


def edit_tag(reader: Reader) -> Response:
    reader.check_edit_token()
    if not _all(reader.params, "i"):
        raise InvalidInputError("i: no item id given")
    ids = reader.item_ids()
    added, removed = _tags(reader.params, "a"), _tags(reader.params, "r")
    profile_id = reader.profile_id
    if READ in added:
        record_feedback_many(
            reader.db, profile_id=profile_id, item_ids=ids, signal="read", now=reader.now
        )
    elif READ in removed or KEPT_UNREAD in added:
        withdraw_feedback_many(reader.db, profile_id=profile_id, item_ids=ids, signal="read")
    if STARRED in added:
        record_feedback_many(
            reader.db, profile_id=profile_id, item_ids=ids, signal="save", now=reader.now
        )
    elif STARRED in removed:
        withdraw_feedback_many(reader.db, profile_id=profile_id, item_ids=ids, signal="save")
    return _ok()


def _timestamp_usec(value: str | None) -> int | None:
    if not value:
        return None
    text = value.strip()
    if not text.isdigit() or len(text) > 19:
        raise InvalidInputError(f"ts: microseconds since 1970 (got {text[:40]!r})")
    number = int(text)
    usec = number * 1_000_000 if number < 10**11 else number  # seconds are taken too
    if usec > MAX_USEC:
        raise InvalidInputError(f"ts: past the year 9999 (got {text})")
    return usec


def mark_all_as_read(reader: Reader) -> Response:
    reader.check_edit_token()
    stream = _stream_param(reader)
    limit = _timestamp_usec(_first(reader.params, "ts"))
    library = reader.library()
    selection = select_stream(library, stream)
    older = None if limit is None else limit // 1_000_000 + 1
    filters = Filters(count=MAX_PAGE, older_than=older, exclude="read")
    with reader.db.session() as session:
        keys = list(all_keys(session, library, selection, filters))
    ids = [k.item_id for k in keys if limit is None or k.usec <= limit]
    for start in range(0, len(ids), MAX_PAGE):
        record_feedback_many(
            reader.db,
            profile_id=reader.profile_id,
            item_ids=ids[start : start + MAX_PAGE],
            signal="read",
            now=reader.now,
        )
    return _ok()


def _muted_change(reader: Reader, stream_text: str, *, mute: bool) -> None:
    library = reader.library()
    if library.lens(stream_text) is not None:
        raise InvalidInputError("a Staycurrent lens cannot be unsubscribed or re-subscribed")
    source = library.source(stream_text)
    source_id = source.source_id if source else _source_id_for(reader, stream_text)
    muted = set(reader.user.profile.muted_sources or ())
    if not mute and source is None and source_id not in muted:
        raise InvalidInputError(
            "that source is not behind your interests: add one of its topics to your interests "
            "(PATCH /v1/profiles/me) and it is listed"
        )
    wanted = muted | {source_id} if mute else muted - {source_id}
    if wanted != muted:
        changes = {"muted_sources": sorted(wanted)}
        update_profile(reader.db, profile_id=reader.profile_id, changes=changes)


def _source_id_for(reader: Reader, stream_text: str) -> int:
    found = source_id_by_url(reader.db, stream_text.removeprefix("feed/"))
    if found is None:
        raise NotFoundError(
            "not a Staycurrent source: the admin adds sources (staycurrent sources add)"
        )
    return found


def subscription_edit(reader: Reader) -> Response:
    reader.check_edit_token()
    action = _first(reader.params, "ac") or ""
    streams = [parse_stream_id(s) for s in _all(reader.params, "s")]
    if not streams or any(s.kind != "feed" for s in streams):
        raise InvalidInputError("s: one or more feed/<url> stream ids")
    if action not in ("subscribe", "unsubscribe", "edit"):
        raise InvalidInputError("ac: subscribe, unsubscribe or edit")
    if action == "edit":
        raise InvalidInputError("renaming and moving are not supported: folders follow areas")
    for stream in streams:
        _muted_change(reader, stream.text, mute=action == "unsubscribe")
    return _ok()


def quick_add(reader: Reader) -> Response:
    reader.check_edit_token()
    url = (_first(reader.params, "quickadd") or "").strip().removeprefix("feed/")
    if not url:
        raise InvalidInputError("quickadd: the feed URL is missing")
    stream = parse_stream_id(f"feed/{url}")  # malformed (control characters, length) -> 400
    _muted_change(reader, stream.text, mute=False)
    return _json({"numResults": 1, "query": url, "streamId": f"feed/{url}"})


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
    app.state.greader_cache = LibraryCache()
    app.state.greader_failures = TokenBuckets(settings.api_auth_failures_per_minute)
    app.router.routes.append(  # POST only: a password in a URL ends up in proxies' logs
        Route(
            "/accounts/ClientLogin",
            _route(client_login, signed_in=False),
            methods=["POST"],
            include_in_schema=False,
        )
    )
    for path, handler, methods in ROUTES:
        app.router.routes.append(
            Route(path, _route(handler), methods=list(methods), include_in_schema=False)
        )
