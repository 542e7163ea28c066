"""What every Google Reader API handler shares: the request's parameters (query and form
body), the caller, its Library, the short text errors, and the one way a handler is run."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from service.config import Settings
from service.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    StaycurrentError,
)
from service.outputs.api.greader_auth import (
    ReaderUser,
    edit_token_ok,
    reader_user,
)
from service.outputs.greader.ids import (
    StreamId,
    parse_item_id,
    parse_stream_id,
)
from service.outputs.greader.library import Library, LibraryCache
from service.storage.engine import Database
from service.storage.models import MAX_ROW_ID

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


def first_param(params: Params, name: str) -> str | None:
    return next((value for key, value in params if key == name), None)


def all_params(params: Params, name: str) -> list[str]:
    return [value for key, value in params if key == name]


def json_response(document: Any) -> Response:
    return Response(json.dumps(document, separators=(",", ":")), media_type="application/json")


def ok_response() -> Response:
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
        if not edit_token_ok(self.user, first_param(self.params, "T")):
            raise ReaderError(401, "Unauthorized", {"X-Reader-Google-Bad-Token": "true"})

    def item_ids(self, name: str = "i") -> list[int]:
        given = all_params(self.params, name)
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


def endpoint_of(
    handler: Handler, *, signed_in: bool = True
) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        params = await _params(request)
        if not signed_in:
            return await run_in_threadpool(_run, handler, Reader(request, None, params))
        return await run_in_threadpool(_signed_in_run, handler, request, params)

    return endpoint


def stream_param(reader: Reader, path_stream: str | None = None) -> StreamId:
    value = path_stream or first_param(reader.params, "s")
    if not value:
        raise InvalidInputError("s: the stream id is missing")
    return parse_stream_id(value)
