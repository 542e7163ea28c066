"""Errors as RFC 9457 problems from one table; no input gives a 500; OpenAPI is complete."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from apikit import ADMIN, Api, bearer, make_api
from fastapi import APIRouter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service import errors
from service.config import Settings
from service.outputs.api.problems import PROBLEMS, kind_of
from service.storage.engine import Database

PROBLEM_KEYS = {"type", "title", "status", "detail", "instance"}


def _error_classes() -> list[type[errors.StaycurrentError]]:
    return [
        cls
        for _, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, errors.StaycurrentError)
    ]


@pytest.mark.parametrize("cls", _error_classes(), ids=lambda c: c.__name__)
def test_every_domain_error_has_a_status_from_the_one_table(cls: type) -> None:
    error = cls.__new__(cls)
    kind = kind_of(error)
    assert kind in PROBLEMS.values()
    expected = {
        errors.AuthError: 401,
        errors.ForbiddenError: 403,
        errors.NotFoundError: 404,
        errors.ConflictError: 409,
        errors.InvalidInputError: 422,
        errors.SignatureError: 403,
        errors.ExpiredSignatureError: 410,
    }
    for base in cls.__mro__:
        if base in expected:
            assert kind.status == expected[base]
            break


@pytest.fixture
def api(sqlite_url: str, make_settings: Callable[..., Settings]) -> Iterator[Api]:
    db = Database(sqlite_url)
    made = make_api(db, make_settings, items=30)
    router = APIRouter()

    @router.get("/test/boom")
    def boom() -> None:
        raise RuntimeError("a bug with a secret: Bearer abcdefghijklmnop")

    @router.get("/test/storage")
    def storage() -> None:
        raise errors.StorageError("the database refused the write: disk full")

    made.client.app.include_router(router)  # type: ignore[attr-defined]
    yield made
    db.dispose()


def _is_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert set(problem) >= PROBLEM_KEYS
    assert problem["status"] == status and problem["detail"]
    assert problem["type"].endswith("/docs/problems.md#" + problem["type"].rsplit("#", 1)[1])
    return dict(problem)


def test_unknown_routes_and_methods(api: Api) -> None:
    problem = _is_problem(api.client.get("/v1/nothing-here"), 404)
    assert problem["instance"] == "/v1/nothing-here"
    assert "no such endpoint" in problem["detail"]
    _is_problem(api.client.delete("/v1/feed"), 405)


def test_validation_lists_every_field(api: Api) -> None:
    _, token, _ = api.profile("ada")
    response = api.client.get("/v1/feed", params={"depth": 3, "limit": -1}, headers=bearer(token))
    problem = _is_problem(response, 422)
    assert [e["path"] for e in problem["errors"]] == ["query.depth", "query.limit"]


def test_a_malformed_json_body(api: Api) -> None:
    response = api.client.post(
        "/v1/profiles", content=b"{not json", headers={**ADMIN, "content-type": "application/json"}
    )
    problem = _is_problem(response, 422)
    assert problem["errors"][0]["type"] == "json_invalid"


def test_bodies_over_the_limit_are_413(api: Api) -> None:
    big = b'{"name": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    declared = api.client.post(
        "/v1/profiles", content=big, headers={**ADMIN, "content-type": "application/json"}
    )
    _is_problem(declared, 413)

    def chunks() -> Iterator[bytes]:
        yield b'{"name": "'
        for _ in range(40):
            yield b"x" * 65536
        yield b'"}'

    streamed = api.client.post(
        "/v1/profiles", content=chunks(), headers={**ADMIN, "content-type": "application/json"}
    )
    _is_problem(streamed, 413)


def test_an_unexpected_error_is_a_logged_500_that_tells_nothing(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    problem = _is_problem(api.client.get("/test/boom"), 500)
    assert problem["detail"] == "the server failed on this request; the error was logged"
    assert "RuntimeError" not in str(problem)
    assert "unhandled error on GET /test/boom" in caplog.text


def test_a_domain_error_maps_through_the_table(api: Api) -> None:
    problem = _is_problem(api.client.get("/test/storage"), 503)
    assert problem["title"] == "The database is unavailable"


_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)
_PARAMS = st.dictionaries(
    st.sampled_from(
        ["depth", "kinds", "topics", "window_days", "limit", "cursor", "include_read", "x"]
    ),
    st.one_of(_TEXT, st.integers(-(10**20), 10**20).map(str), st.floats().map(str)),
    max_size=6,
)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(params=_PARAMS)
def test_no_query_gives_a_server_error(api: Api, params: dict[str, str]) -> None:
    if not hasattr(api, "_token"):
        api._token = api.profile("fuzz")[1]  # type: ignore[attr-defined]
    response = api.client.get("/v1/feed", params=params, headers=bearer(api._token))  # type: ignore[attr-defined]
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.headers["content-type"] == "application/problem+json"


MY_OPERATIONS = [
    ("get", "/v1/feed"),
    ("post", "/v1/profiles"),
    ("get", "/v1/profiles/me"),
    ("patch", "/v1/profiles/me"),
    ("post", "/v1/profiles/me/rotate"),
    ("post", "/v1/profiles/me/seed"),
    ("post", "/v1/profiles/me/app-passwords"),
    ("get", "/v1/profiles/me/app-passwords"),
    ("delete", "/v1/profiles/me/app-passwords/{app_password_id}"),
    ("post", "/v1/feedback"),
    ("get", "/v1/feedback/{token}"),
    ("post", "/v1/feedback/{token}"),
    ("get", "/v1/items"),
    ("get", "/v1/items/{item_id}"),
    ("get", "/v1/items/{item_id}/similar"),
    ("get", "/v1/topics"),
    ("get", "/v1/sources"),
    ("get", "/v1/sources/{source_id}"),
    ("post", "/v1/sources"),
    ("patch", "/v1/sources/{source_id}"),
    ("delete", "/v1/sources/{source_id}"),
    ("post", "/v1/sources/import"),
    ("get", "/v1/sources/{source_id}/health"),
    ("get", "/v1/subscriptions/{token}/feed.rss"),
    ("get", "/v1/subscriptions/{token}/feed.atom"),
    ("get", "/v1/subscriptions/{token}/feed.json"),
    ("get", "/v1/subscriptions/{token}/sources.opml"),
    ("get", "/v1/subscriptions/{token}/lenses.opml"),
    ("get", "/v1/subscriptions/{token}/trends.rss"),
    ("get", "/v1/trends"),
    ("get", "/v1/opml"),
    ("get", "/v1/artwork.png"),
    ("get", "/v1/unsubscribe/{token}"),
    ("post", "/v1/unsubscribe/{token}"),
    ("get", "/metrics"),
]


def test_every_endpoint_is_documented(api: Api) -> None:
    spec = api.client.get("/openapi.json").json()
    problem_ref = {"$ref": "#/components/schemas/Problem"}
    for method, path in MY_OPERATIONS:
        operation = spec["paths"][path][method]
        assert operation["summary"] and operation["description"], (method, path)
        ok = next(code for code in operation["responses"] if code.startswith("2"))
        assert operation["responses"][ok].get("content") or ok == "204", (method, path)
        errors_documented = [c for c in operation["responses"] if c.startswith(("4", "5"))]
        assert "422" in errors_documented, (method, path)
        for code in errors_documented:
            content = operation["responses"][code]["content"]
            assert content == {"application/problem+json": {"schema": problem_ref}}, (path, code)
        if "requestBody" in operation:
            assert {"400", "413", "422"} <= set(errors_documented), (method, path)
    test_routes = {"/test/boom", "/test/storage"}  # added by this module's fixture
    undocumented = set(spec["paths"]) - {p for _, p in MY_OPERATIONS} - test_routes
    assert undocumented == {"/", "/healthz", "/readyz"}
    schemas = spec["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    examples = ("ProfileCreate", "ProfilePatch", "ProfileOut", "ProfileCreated", "RotatedToken")
    mine = ("ItemsResponse", "ItemResponse", "TopicsResponse", "SourcesResponse", "SourceOut")
    mine += ("SourceCreate", "SourcePatch", "SourceCreated", "ImportReport")
    for name in (*examples, *mine, "FeedResponse", "FeedbackOut", "TrendsResponse", "Problem"):
        assert "examples" in schemas[name], name
    readiness = spec["paths"]["/readyz"]["get"]["responses"]["503"]["content"]
    assert readiness["application/json"]["schema"] == {"$ref": "#/components/schemas/Readiness"}
    opml = spec["paths"]["/v1/sources/import"]["post"]["requestBody"]["content"]
    assert {"text/x-opml", "multipart/form-data"} <= set(opml)
    assert api.client.get("/docs").status_code == 200
