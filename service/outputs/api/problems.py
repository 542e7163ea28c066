"""Every API error as ``application/problem+json`` (RFC 9457), from ONE table of domain errors.

``PROBLEMS`` maps each error class of ``service.errors`` to an HTTP status, a type slug and a
title; an error takes the entry of its nearest class (``RateLimitedError`` falls back to
``FetchError``'s). Besides domain errors:

- request validation errors -> 422 with ``errors``: one entry per field path (``query.depth``);
- HTTP errors of the framework (unknown route 404, 405) -> their status, same shape;
- a body over the size limit -> 413 (by Content-Length before reading, else while reading);
- anything else -> 500 with a plain detail; the exception is logged, never shown.

A problem's ``type`` points into docs/problems.md; ``instance`` is the request path with any
signed token redacted. One-click link pages (``HTML_PAGES``) render a problem as a small HTML page
when the browser asks for HTML.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.config import PROJECT_URL
from service.errors import (
    AuthError,
    ConfigError,
    ConflictError,
    DigestError,
    ExpiredSignatureError,
    FetchError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    ParseError,
    SignatureError,
    StaycurrentError,
    StorageError,
)
from service.logs import redact

log = logging.getLogger("staycurrent.api")

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_DOCS = f"{PROJECT_URL}/blob/main/docs/problems.md"
WWW_AUTHENTICATE = 'Bearer realm="staycurrent"'
HTML_PAGES = ("/v1/feedback/", "/v1/unsubscribe/")  # one-click pages opened in a browser
MAX_DETAIL = 2000
REF_TEMPLATE = "#/components/schemas/{model}"


@dataclass(frozen=True, slots=True)
class ProblemKind:
    status: int
    slug: str
    title: str


# THE table: domain error -> HTTP status. Nearest class wins (looked up along the MRO).
PROBLEMS: Mapping[type[StaycurrentError], ProblemKind] = {
    AuthError: ProblemKind(401, "unauthorized", "Missing or invalid credentials"),
    ForbiddenError: ProblemKind(403, "forbidden", "Not allowed"),
    ExpiredSignatureError: ProblemKind(410, "link-expired", "This link has expired"),
    SignatureError: ProblemKind(403, "invalid-link", "This link is not valid"),
    NotFoundError: ProblemKind(404, "not-found", "Not found"),
    ConflictError: ProblemKind(409, "conflict", "Already exists"),
    InvalidInputError: ProblemKind(422, "invalid-input", "Invalid input"),
    ParseError: ProblemKind(422, "unreadable-feed", "Not a feed we can read"),
    FetchError: ProblemKind(502, "fetch-failed", "The feed could not be fetched"),
    DigestError: ProblemKind(502, "digest-failed", "The digest could not be sent"),
    StorageError: ProblemKind(503, "storage-unavailable", "The database is unavailable"),
    ConfigError: ProblemKind(500, "misconfigured", "The server is misconfigured"),
    StaycurrentError: ProblemKind(500, "internal", "Internal error"),
}
_HTTP_SLUGS = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    413: "too-large",
    415: "unsupported-media-type",
    422: "invalid-input",
}


class FieldProblem(BaseModel):
    path: str = Field(description="Where the bad value is: query.depth, body.interests.nlp …")
    message: str
    type: str = Field(description="A stable code for the kind of mistake.")


class Problem(BaseModel):
    """An error, as RFC 9457 problem details."""

    type: str = Field(description="A URI naming the kind of problem (documented).")
    title: str = Field(description="A short summary of the kind of problem.")
    status: int = Field(description="The HTTP status code.")
    detail: str = Field(description="What went wrong with this request, in words.")
    instance: str = Field(description="The request path.")
    errors: list[FieldProblem] | None = Field(
        None, description="Validation errors only: one entry per bad field."
    )

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "type": f"{PROBLEM_DOCS}#invalid-input",
                    "title": "Invalid input",
                    "status": 422,
                    "detail": "query.depth: Input should be less than or equal to 1",
                    "instance": "/v1/feed",
                    "errors": [
                        {
                            "path": "query.depth",
                            "message": "Input should be less than or equal to 1",
                            "type": "less_than_equal",
                        }
                    ],
                }
            ]
        }
    }


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the problem statuses an endpoint can answer with."""
    return {
        status: {"model": Problem, "description": HTTPStatus(status).phrase} for status in statuses
    }


_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
_BODY_STATUSES = (400, 413, 422)  # unreadable body, too large, invalid


def _problem_content() -> dict[str, Any]:
    return {PROBLEM_MEDIA_TYPE: {"schema": dict(_PROBLEM_REF)}}


def _is_problem(response: dict[str, Any]) -> bool:
    """A response documented as a problem, as FastAPI's validation error, or with no body yet
    (not one with a model of its own, such as /readyz's 503)."""
    refs = [m.get("schema", {}).get("$ref", "") for m in response.get("content", {}).values()]
    return all(r == "" or r.endswith(("/Problem", "/HTTPValidationError")) for r in refs)


_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds until the client may try again.",
        "schema": {"type": "integer"},
    }
}


def _document_problems(operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    statuses = _BODY_STATUSES if "requestBody" in operation else (422,)  # 422: unknown parameter
    for status in statuses:
        responses.setdefault(str(status), {"description": HTTPStatus(status).phrase})
    # any request carrying a token, from a client that spent its rate limit (ratelimit.py)
    responses.setdefault("429", {"description": "Too many requests: see the Retry-After header"})
    responses["429"]["headers"] = _RETRY_AFTER
    for code, response in responses.items():
        if code.startswith(("4", "5")) and _is_problem(response):
            response["content"] = _problem_content()
            if code == "422":
                response["description"] = "Invalid input: every bad field, by path"


def problem_openapi(schema: dict[str, Any]) -> dict[str, Any]:
    """Say what the API really sends: every error response is a problem+json ``Problem``
    (FastAPI documents validation errors as its own JSON shape); every operation can answer 422
    (an unknown query parameter, at least), one with a body 400 (unreadable) and 413 (too large) as
    well, and any 429 (a client over its rate limit, with Retry-After)."""
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            _document_problems(operation)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.setdefault("Problem", Problem.model_json_schema(ref_template=REF_TEMPLATE))
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    return schema


def kind_of(error: StaycurrentError) -> ProblemKind:
    for cls in type(error).__mro__:
        if cls in PROBLEMS:
            return PROBLEMS[cls]
    return PROBLEMS[StaycurrentError]


def _instance(scope: Scope) -> str:
    return redact(str(scope.get("path", "")))


def _wants_html(scope: Scope) -> bool:
    path = str(scope.get("path", ""))
    if not path.startswith(HTML_PAGES):
        return False
    headers = dict(scope.get("headers") or [])
    accept = headers.get(b"accept", b"").decode("latin-1").lower()
    return "text/html" in accept


def _html_page(problem: Problem) -> str:
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=robots content="noindex"><meta name=viewport content="width=device-width">'
        f"<title>{html.escape(problem.title)}</title></head>"
        '<body style="font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto">'
        f"<h1>{html.escape(problem.title)}</h1><p>{html.escape(problem.detail)}</p>"
        "</body></html>"
    )


def problem_response(
    scope: Scope,
    status: int,
    *,
    slug: str,
    title: str,
    detail: str,
    errors: list[FieldProblem] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """A problem+json response (or, for a one-click page in a browser, an HTML page)."""
    problem = Problem(
        type=f"{PROBLEM_DOCS}#{slug}",
        title=title,
        status=status,
        detail=redact(detail)[:MAX_DETAIL],
        instance=_instance(scope),
        errors=errors,
    )
    headers = dict(headers or {})
    if status == 401:
        headers["WWW-Authenticate"] = WWW_AUTHENTICATE
    headers["Cache-Control"] = "no-store"
    if _wants_html(scope):
        return HTMLResponse(_html_page(problem), status_code=status, headers=headers)
    body = problem.model_dump(exclude_none=True)
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_MEDIA_TYPE)


def _field_path(loc: Any) -> str:
    return ".".join(str(part) for part in loc) if isinstance(loc, list | tuple) else str(loc)


def _field_problems(exc: RequestValidationError) -> list[FieldProblem]:
    return [
        FieldProblem(
            path=_field_path(error.get("loc", ())),
            message=str(error.get("msg", "invalid")).removeprefix("Value error, "),
            type=str(error.get("type", "invalid")),
        )
        for error in exc.errors()
    ]


async def _on_domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StaycurrentError)
    kind = kind_of(exc)
    if kind.status >= 500:
        log.error("request failed: %s: %s", exc.kind, exc.reason)
    return problem_response(
        request.scope, kind.status, slug=kind.slug, title=kind.title, detail=exc.reason
    )


async def _on_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    fields = _field_problems(exc)
    detail = "; ".join(f"{f.path}: {f.message}" for f in fields) or "the request is invalid"
    return problem_response(
        request.scope,
        422,
        slug="invalid-input",
        title="Invalid input",
        detail=detail,
        errors=fields,
    )


async def _on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    phrase = HTTPStatus(exc.status_code).phrase
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != phrase else ""
    if exc.status_code == 404 and not detail:
        detail = f"no such endpoint: {request.method} {_instance(request.scope)}"
    if exc.status_code == 405:
        detail = f"{request.method} is not allowed here"
    return problem_response(
        request.scope,
        exc.status_code,
        slug=_HTTP_SLUGS.get(exc.status_code, f"http-{exc.status_code}"),
        title=phrase,
        detail=detail or phrase,
    )


class ProblemGuard:
    """Outermost middleware: any exception nobody handled becomes a logged 500 problem."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception:
            log.exception("unhandled error on %s %s", scope.get("method"), _instance(scope))
            if started:
                raise
            response = problem_response(
                scope,
                500,
                slug="internal",
                title="Internal error",
                detail="the server failed on this request; the error was logged",
            )
            await response(scope, receive, send)


class BodyLimit:
    """Refuse request bodies over ``max_bytes`` with 413: up front by Content-Length, else while
    the body is read (an HTTPException, which FastAPI passes through to the problem handler)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _declared(self, scope: Scope) -> int | None:
        for name, value in scope.get("headers") or []:
            if name == b"content-length":
                return int(value) if value.isdigit() else None
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        detail = f"the request body is larger than {self.max_bytes} bytes"
        declared = self._declared(scope)
        if declared is not None and declared > self.max_bytes:
            response = problem_response(
                scope, 413, slug="too-large", title=HTTPStatus(413).phrase, detail=detail
            )
            await response(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise HTTPException(413, detail)
            return message

        await self.app(scope, counted, send)


def install_problems(app: FastAPI, *, max_body_bytes: int) -> None:
    """Register the handlers, the body limit and the guard (outermost)."""
    app.add_exception_handler(StaycurrentError, _on_domain_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
    app.add_middleware(ProblemGuard)
    build_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = problem_openapi(build_openapi())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
