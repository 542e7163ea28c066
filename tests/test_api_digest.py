"""The unsubscribe endpoints (SQLite and PostgreSQL): a GET that changes nothing, a POST that
turns the digest off without a login, and links that cannot be bent, reused or left expired."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from apikit import Api, bearer, make_api

from service.config import Settings
from service.outputs.links import UNSUBSCRIBE_LINK_TTL, unsubscribe_url
from service.signing import sign
from service.storage.engine import Database
from service.storage.profiles import delete_profile


@pytest.fixture
def api(db: Database, make_settings: Callable[..., Settings]) -> Api:
    return make_api(db, make_settings, items=20)


def _subscribed(api: Api, name: str) -> tuple[int, str]:
    profile, token, _ = api.profile(name, email=f"{name}@example.org", digest_enabled=True)
    return profile["id"], token


def _path(api: Api, profile_id: int) -> str:
    url = unsubscribe_url(
        api.settings.base_url, api.settings.secret_key_bytes(), profile_id=profile_id, now=api.now
    )
    return url.removeprefix(api.settings.base_url)


def _enabled(api: Api, token: str) -> bool:
    return bool(api.client.get("/v1/profiles/me", headers=bearer(token)).json()["digest_enabled"])


def test_get_confirms_and_post_unsubscribes(api: Api) -> None:
    ada, token = _subscribed(api, "ada")
    bob, bob_token = _subscribed(api, "bob")
    page = api.client.get(_path(api, ada))
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'method="post"' in page.text and "a•••@example.org" in page.text
    assert "ada@example.org" not in page.text  # the address is not shown to whoever has the link
    assert page.headers["cache-control"] == "no-store"
    assert _enabled(api, token)
    done = api.client.post(_path(api, ada), data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200
    assert not _enabled(api, token) and _enabled(api, bob_token)
    again = api.client.get(_path(api, ada))
    assert again.status_code == 200 and "already off" in again.text
    resubscribed = api.client.patch(
        "/v1/profiles/me", json={"digest_enabled": True}, headers=bearer(token)
    )
    assert resubscribed.json()["digest_enabled"] is True
    assert _path(api, bob) != _path(api, ada)  # each profile's link is its own


def test_altered_foreign_and_expired_links_are_refused(api: Api) -> None:
    ada, token = _subscribed(api, "ada")
    good = _path(api, ada)
    body, _, mac = good.rsplit("/", 1)[1].partition(".")
    forged = sign(
        b"another-secret-of-enough-length!",
        "unsubscribe",
        {"pid": ada},
        expires_at=api.now + timedelta(days=1),
    )
    feedback = sign(
        api.settings.secret_key_bytes(),
        "feedback",
        {"pid": ada, "iid": 1, "sig": "like"},
        expires_at=api.now + timedelta(days=1),
    )
    for token_text, status in [
        (f"{body}.{mac[:-2]}xx", 403),
        (forged, 403),
        (feedback, 403),  # a feedback link cannot unsubscribe
        ("not-a-token", 403),
    ]:
        response = api.client.post(f"/v1/unsubscribe/{token_text}")
        assert response.status_code == status, token_text
        assert response.headers["content-type"] == "application/problem+json"
    api.advance(UNSUBSCRIBE_LINK_TTL + timedelta(seconds=1))
    expired = api.client.post(good)
    assert expired.status_code == 410
    assert _enabled(api, token)


def test_a_browser_gets_an_html_error_page(api: Api) -> None:
    response = api.client.get("/v1/unsubscribe/not-a-token", headers={"Accept": "text/html"})
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/html")
    assert "not-a-token" not in response.text


def test_a_deleted_profile_is_not_found(api: Api) -> None:
    ada, _ = _subscribed(api, "ada")
    path = _path(api, ada)
    delete_profile(api.db, profile_id=ada)
    assert api.client.post(path).status_code == 404


def test_the_endpoints_are_documented(api: Api) -> None:
    spec = api.client.get("/openapi.json").json()
    for method in ("get", "post"):
        operation = spec["paths"]["/v1/unsubscribe/{token}"][method]
        assert operation["summary"] and operation["description"]
        assert "text/html" in operation["responses"]["200"]["content"]
        assert "application/problem+json" in operation["responses"]["403"]["content"]
