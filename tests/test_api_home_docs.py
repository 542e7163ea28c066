"""The API reference works offline (every asset comes from the app itself) and ``/`` says where
to go."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from fastapi.testclient import TestClient

from service.config import Settings
from service.outputs.api.app import create_app
from service.storage.engine import Database

REFERENCE = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|url:\s*["']([^"']+)["']""")


@pytest.fixture
def client(sqlite_url: str, make_settings: Callable[..., Settings]) -> TestClient:
    db = Database(sqlite_url)
    return TestClient(create_app(make_settings(database_url=sqlite_url), db=db))


def _assets(page: str) -> list[str]:
    return [a or b for a, b in REFERENCE.findall(page)]


@pytest.mark.parametrize(("path", "script"), [("/docs", "swagger-ui"), ("/redoc", "redoc")])
def test_reference_pages_load_every_asset_from_the_app(
    client: TestClient, path: str, script: str
) -> None:
    page = client.get(path)
    assert page.status_code == 200
    assets = _assets(page.text)
    assert any(script in a and a.endswith(".js") for a in assets), assets
    for asset in assets:
        url = urljoin(str(page.url), asset)
        assert urlsplit(url).netloc == "testserver", f"{path} loads {asset} from elsewhere"
        answer = client.get(url)
        assert answer.status_code == 200, (asset, answer.status_code)
        assert len(answer.content) > 0
    assert "fonts.googleapis" not in page.text
    assert "cdn." not in page.text


def test_swagger_bundle_is_the_real_script(client: TestClient) -> None:
    page = client.get("/docs").text
    bundle = next(a for a in _assets(page) if a.endswith("swagger-ui-bundle.js"))
    answer = client.get(bundle)
    assert "javascript" in answer.headers["content-type"]
    assert len(answer.content) > 100_000  # the real bundle, not a placeholder


def test_home_points_to_docs_feeds_and_health(client: TestClient) -> None:
    answer = client.get("/")
    assert answer.status_code == 200
    home: dict[str, Any] = answer.json()
    assert home["docs"] == "http://testserver/docs"
    links = (home["docs"], home["redoc"], home["openapi"], home["opml"])
    for link in (*links, *home["health"].values()):
        assert client.get(link).status_code == 200, link
    assert home["feed"].endswith("/v1/feed")
    assert "feed.rss" in home["subscriptions"]
