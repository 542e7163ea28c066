"""Schemathesis over /openapi.json: every operation, generated requests, zero server errors, and
every response (errors included) conforming to its documented status, content type and schema.

Requests carry the right credentials for the operation (admin or a profile's token), so the
generated data reaches the handlers instead of stopping at 401. No network is touched: the DNS
resolver used to vet and probe feed URLs answers only literal addresses.

Every check of schemathesis runs except ``positive_data_acceptance``: a schema cannot say that a
topic slug must exist, a cursor must be one we signed, or a feed URL must not point inside the
network, so schema-valid requests are rightly refused with 422 there.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from ipaddress import ip_address
from typing import Any

import pytest
import schemathesis
from apikit import ADMIN_TOKEN, make_api
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from service.config import Settings
from service.ingest.netguard import IPAddress, parse_ip
from service.outputs.api.app import create_app
from service.storage.engine import Database

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "25"))
ADMIN_OPERATIONS = {
    ("POST", "/v1/profiles"),
    ("POST", "/v1/sources"),
    ("PATCH", "/v1/sources/{source_id}"),
    ("DELETE", "/v1/sources/{source_id}"),
    ("POST", "/v1/sources/import"),
}


async def literal_only(host: str, port: int) -> list[IPAddress]:
    """A resolver for tests: literal addresses resolve to themselves, names do not resolve."""
    literal = parse_ip(host)
    if literal is None:
        raise OSError(f"no DNS in tests ({host})")
    return [literal]


@pytest.fixture
def api_schema(schemathesis_db_url: str, make_settings: Callable[..., Settings]) -> Any:
    db = Database(schemathesis_db_url)
    api = make_api(db, make_settings, items=40, http_deadline=1.0, http_timeout=1.0)
    app = api.client.app  # type: ignore[attr-defined]
    app.state.resolver = literal_only
    _, token, _ = api.profile("fuzz")
    app.state.test_tokens = {"profile": token, "admin": ADMIN_TOKEN}
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def _spec() -> dict[str, Any]:
    settings_ = Settings(database_url="sqlite:///unused.db", secret_key="s" * 40, _env_file=None)  # type: ignore[call-arg]
    return create_app(settings_).openapi()


_UNCONSTRAINING = {"type", "title", "description", "examples", "example"}


def _can_be_invalid(operation: dict[str, Any]) -> bool:
    """A body, or a parameter whose schema constrains it: only then does invalid data exist
    (a bare string path parameter such as a token accepts every string)."""
    if operation.get("requestBody"):
        return True
    for parameter in operation.get("parameters", []):
        schema = parameter.get("schema", {})
        if schema.get("type") != "string" or set(schema) - _UNCONSTRAINING:
            return True
    return False


def _cases() -> list[tuple[str, str, GenerationMode]]:
    """Every (method, path) the API documents, read from its own OpenAPI document; with invalid
    data too where the operation has any to give."""
    cases = []
    for path, operations in _spec()["paths"].items():
        for method, operation in operations.items():
            cases.append((method.upper(), path, GenerationMode.POSITIVE))
            if _can_be_invalid(operation):
                cases.append((method.upper(), path, GenerationMode.NEGATIVE))
    return sorted(cases)


def _token(app: Any, method: str, path: str) -> str:
    tokens = app.state.test_tokens
    return str(tokens["admin"] if (method, path) in ADMIN_OPERATIONS else tokens["profile"])


@pytest.mark.parametrize(("method", "path", "mode"), _cases(), ids=str)
def test_the_api_conforms_to_its_schema(
    api_schema: Any, method: str, path: str, mode: GenerationMode
) -> None:
    operation = api_schema[path][method]
    headers = {"Authorization": f"Bearer {_token(api_schema.app, method, path)}"}

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def check(case: Any) -> None:
        case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

    check()


def test_the_test_resolver_resolves_only_literals() -> None:
    import asyncio

    assert asyncio.run(literal_only("203.0.113.9", 80)) == [ip_address("203.0.113.9")]
    with pytest.raises(OSError):
        asyncio.run(literal_only("example.org", 80))


@pytest.fixture
def schemathesis_db_url(request: pytest.FixtureRequest) -> str:
    """SQLite by default; SCHEMATHESIS_DB=postgres for a (slower) run on PostgreSQL."""
    name = "postgres_url" if os.environ.get("SCHEMATHESIS_DB") == "postgres" else "sqlite_url"
    return str(request.getfixturevalue(name))
