"""Who may call what: anonymous / profile / other profile / admin / bad token x every endpoint.

401 = no or bad credentials (with WWW-Authenticate: Bearer); 403 = credentials that may not do
this. A profile only ever sees and changes its own data; profile tokens never grant admin; tokens
never reach the logs or an error. Items, topics and sources are open to read (no token needed);
changing sources is the admin's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
from apikit import ADMIN_TOKEN, Api, bearer, make_api
from sqlmodel import select

from service.config import Settings
from service.storage.engine import Database
from service.storage.models import Item, Source
from service.storage.profiles import create_profile

BOGUS = "bogus-token-that-nobody-has-0123456789"
PRINCIPALS = ("anonymous", "ada", "bob", "admin", "bogus")
OPML = '<opml version="2.0"><body><outline text="F" xmlUrl="https://f.example/{n}"/></body></opml>'
PUBLIC = {"items", "item", "topics", "sources", "source"}
ENDPOINTS: dict[str, tuple[str, str, Any, dict[str, int]]] = {
    "feed": ("GET", "/v1/feed", None, {"ada": 200, "bob": 200, "admin": 403}),
    "trends": ("GET", "/v1/trends", None, {"anonymous": 200, "ada": 200, "bob": 200, "admin": 403}),
    "me": ("GET", "/v1/profiles/me", None, {"ada": 200, "bob": 200, "admin": 403}),
    "patch-me": (
        "PATCH",
        "/v1/profiles/me",
        {"depth": 0.3},
        {"ada": 200, "bob": 200, "admin": 403},
    ),
    "rotate": (
        "POST",
        "/v1/profiles/me/rotate",
        {"token": "feed"},
        {"ada": 200, "bob": 200, "admin": 403},
    ),
    "feedback": (
        "POST",
        "/v1/feedback",
        {"item_id": 0, "signal": "save"},
        {"ada": 200, "bob": 200, "admin": 403},
    ),
    "create-profile": (
        "POST",
        "/v1/profiles",
        {"name": "new"},
        {"ada": 403, "bob": 403, "admin": 201},
    ),
    # open to anyone: no token needed, and a bad one is not looked at
    "items": ("GET", "/v1/items", None, dict.fromkeys(PRINCIPALS, 200)),
    "item": ("GET", "/v1/items/{item}", None, dict.fromkeys(PRINCIPALS, 200)),
    "topics": ("GET", "/v1/topics", None, dict.fromkeys(PRINCIPALS, 200)),
    "sources": ("GET", "/v1/sources", None, dict.fromkeys(PRINCIPALS, 200)),
    "source": ("GET", "/v1/sources/{source}", None, dict.fromkeys(PRINCIPALS, 200)),
    # admin only
    "create-source": (
        "POST",
        "/v1/sources",
        {"url": "http://93.184.216.34/feed-{n}.xml"},
        {"ada": 403, "bob": 403, "admin": 201},
    ),
    "patch-source": (
        "PATCH",
        "/v1/sources/{source}",
        {"weight": 2.0},
        {"ada": 403, "bob": 403, "admin": 200},
    ),
    "delete-source": (
        "DELETE",
        "/v1/sources/{source}",
        None,
        {"ada": 403, "bob": 403, "admin": 204},
    ),
    "import-sources": (
        "POST",
        "/v1/sources/import",
        OPML,
        {"ada": 403, "bob": 403, "admin": 200},
    ),
}


@pytest.fixture
def api(db: Database, make_settings: Callable[..., Settings]) -> Api:
    return make_api(db, make_settings, items=20)


def _tokens(api: Api) -> dict[str, str | None]:
    _, ada, _ = api.profile("ada")
    _, bob, _ = api.profile("bob", interests={"robotics": 1.0})
    return {"anonymous": None, "ada": ada, "bob": bob, "admin": ADMIN_TOKEN, "bogus": BOGUS}


def _call(api: Api, endpoint: str, token: str | None, n: int) -> Any:
    method, path, body, _ = ENDPOINTS[endpoint]
    with api.db.session() as session:
        item_id = session.exec(select(Item.id)).first()
        source_id = session.exec(select(Source.id)).first()
    path = path.format(item=item_id, source=source_id)
    if endpoint == "feedback":
        body = {**body, "item_id": item_id}
    if endpoint == "create-profile":
        body = {"name": f"new-{n}"}
    if endpoint == "create-source":
        body = {"url": body["url"].format(n=n)}
    headers = bearer(token) if token else {}
    if endpoint == "import-sources":
        headers["content-type"] = "text/x-opml"
        return api.client.request(method, path, content=body.format(n=n), headers=headers)
    return api.client.request(method, path, json=body, headers=headers)


@pytest.mark.parametrize("endpoint", sorted(ENDPOINTS))
def test_the_auth_matrix(api: Api, endpoint: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    tokens = _tokens(api)
    refused = {} if endpoint in PUBLIC else {"anonymous": 401, "bogus": 401}
    expected = {**refused, **ENDPOINTS[endpoint][3]}
    got = {}
    for n, who in enumerate(PRINCIPALS):
        response = _call(api, endpoint, tokens[who], n)
        got[who] = response.status_code
        if response.status_code == 401:
            assert response.headers["www-authenticate"].startswith("Bearer")
        if response.status_code >= 400:
            assert response.headers["content-type"] == "application/problem+json"
            for token in tokens.values():
                assert token is None or token not in response.text
    assert got == expected
    for token in tokens.values():
        assert token is None or token not in caplog.text


def test_a_profile_sees_and_changes_only_its_own_data(api: Api) -> None:
    tokens = _tokens(api)
    ada, bob = bearer(str(tokens["ada"])), bearer(str(tokens["bob"]))
    assert api.client.get("/v1/profiles/me", headers=ada).json()["name"] == "ada"
    assert api.client.get("/v1/profiles/me", headers=bob).json()["name"] == "bob"
    api.client.patch("/v1/profiles/me", json={"keywords": ["bobs-only"]}, headers=bob)
    assert api.client.get("/v1/profiles/me", headers=ada).json()["keywords"] == []
    item = api.client.get("/v1/feed", headers=bob).json()["items"][0]["id"]
    api.client.post("/v1/feedback", json={"item_id": item, "signal": "hide"}, headers=bob)
    ada_ids = [
        i["id"]
        for i in api.client.get("/v1/feed", params={"limit": 100}, headers=ada).json()["items"]
    ]
    assert item in ada_ids  # bob's hide is bob's
    bob_ids = [
        i["id"]
        for i in api.client.get("/v1/feed", params={"limit": 100}, headers=bob).json()["items"]
    ]
    assert item not in bob_ids


@pytest.mark.parametrize(
    "header", ["Basic YWRhOnNlY3JldA==", "Bearer", "Bearer ", "Token abc", "bearer" + " x" * 3]
)
def test_malformed_credentials_are_401(api: Api, header: str) -> None:
    response = api.client.get("/v1/profiles/me", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_a_disabled_admin_api_refuses_everyone_and_says_why(
    db: Database, make_settings: Callable[..., Settings]
) -> None:
    api = make_api(db, make_settings, items=5, admin_token=None)
    profile_token = create_profile(db, name="ada").api_token
    for token in (None, profile_token, ADMIN_TOKEN):
        headers = bearer(token) if token else {}
        response = api.client.post("/v1/profiles", json={"name": "x"}, headers=headers)
        assert response.status_code == 403
        assert "admin API is disabled" in response.json()["detail"]
        assert "STAYCURRENT_ADMIN_TOKEN" in response.json()["detail"]
