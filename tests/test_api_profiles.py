"""Profile endpoints on SQLite and PostgreSQL: create (admin), read, change, rotate (owner)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from apikit import ADMIN, Api, bearer, make_api

from service.config import Settings
from service.storage.engine import Database


@pytest.fixture
def api(db: Database, make_settings: Callable[..., Settings]) -> Api:
    return make_api(db, make_settings, items=20)


def test_creating_a_profile_returns_both_tokens_once(api: Api) -> None:
    response = api.client.post(
        "/v1/profiles",
        json={"name": "ada", "preset": "educator", "interests": {"robotics": 2, "nlp": 1}},
        headers=ADMIN,
    )
    assert response.status_code == 201
    created = response.json()
    assert created["profile"]["depth"] == 0.15
    assert created["profile"]["interests"] == {"robotics": 2.0, "nlp": 1.0}
    assert created["api_token"] != created["feed_token"]
    me = api.client.get("/v1/profiles/me", headers=bearer(created["api_token"]))
    assert me.status_code == 200
    assert "token" not in me.text.lower()
    assert created["api_token"] not in me.text
    assert (
        api.client.get("/v1/profiles/me", headers=bearer(created["feed_token"])).status_code == 401
    )


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"name": "ada", "interests": {"nope": 1}}, 422, "interests: unknown topic 'nope'"),
        ({"name": "ada", "depth": 1.2}, 422, "body.depth: Input should be less than or equal to 1"),
        ({"name": "ada", "colour": "blue"}, 422, "body.colour: Extra inputs are not permitted"),
        ({"name": ""}, 422, "body.name"),
        ({"interests": {"nlp": 1}}, 422, "body.name: Field required"),
        ({"name": "ada", "preset": "wizard"}, 422, "body.preset"),
        ({"name": "ada", "kind_weights": {"tweet": 1}}, 422, "body.kind_weights.tweet"),
        ({"name": "ada", "muted_sources": [424242]}, 422, "muted_sources: no source has id 424242"),
    ],
)
def test_bad_profiles_are_refused_by_name(api: Api, body: dict, status: int, words: str) -> None:
    response = api.client.post("/v1/profiles", json=body, headers=ADMIN)
    assert response.status_code == status
    assert words in response.json()["detail"]


def test_a_name_is_taken_once(api: Api) -> None:
    api.profile("ada")
    response = api.client.post("/v1/profiles", json={"name": "ada"}, headers=ADMIN)
    assert response.status_code == 409
    assert response.json()["detail"] == "name: that name is taken; choose another"


def test_patch_changes_only_what_is_sent(api: Api) -> None:
    _, token, _ = api.profile("ada", keywords=["agents"], depth=0.7)
    response = api.client.patch(
        "/v1/profiles/me", json={"preset": "researcher", "window_days": 14}, headers=bearer(token)
    )
    assert response.status_code == 200
    changed = response.json()
    assert (changed["depth"], changed["window_days"], changed["keywords"]) == (0.85, 14, ["agents"])
    again = api.client.get("/v1/profiles/me", headers=bearer(token)).json()
    assert again == changed
    cleared = api.client.patch("/v1/profiles/me", json={"email": None}, headers=bearer(token))
    assert cleared.json()["email"] is None


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"token_hash": "00"}, 422, "body.token_hash: Extra inputs are not permitted"),
        ({"interests": {"quantum": 1}}, 422, "unknown topic 'quantum'"),
        ({"timezone": "Moon/Base"}, 422, "timezone: unknown IANA time zone"),
        ({"name": "bob"}, 409, "name: that name is taken; choose another"),
        ({"name": "ｂｏｂ"}, 409, "name: that name is taken; choose another"),  # NFKC: "bob"
        ({"name": " bob\u2028"}, 409, "name: that name is taken; choose another"),  # spaces
    ],
)
def test_bad_patches_are_refused(api: Api, body: dict, status: int, words: str) -> None:
    api.profile("bob")
    _, token, _ = api.profile("ada")
    response = api.client.patch("/v1/profiles/me", json=body, headers=bearer(token))
    assert response.status_code == status
    assert words in response.json()["detail"]
    assert "bob" not in response.json()["detail"]  # a clash names no other profile


@pytest.mark.parametrize("name", ["bob\u200b", "\u200bbob", "bo\u00adb", "bob\u202e", "bob\ufeff"])
def test_names_with_invisible_characters_are_refused(api: Api, name: str) -> None:
    api.profile("bob")
    created = api.client.post("/v1/profiles", json={"name": name}, headers=ADMIN)
    assert created.status_code == 422
    assert "no control or invisible characters" in created.json()["detail"]
    _, token, _ = api.profile("ada")
    renamed = api.client.patch("/v1/profiles/me", json={"name": name}, headers=bearer(token))
    assert renamed.status_code == 422


def test_rotating_the_api_token(api: Api) -> None:
    _, old, feed = api.profile("ada")
    response = api.client.post("/v1/profiles/me/rotate", json={"token": "api"}, headers=bearer(old))
    assert response.status_code == 200
    new = response.json()["token"]
    assert response.json()["token_kind"] == "api"
    assert api.client.get("/v1/profiles/me", headers=bearer(old)).status_code == 401
    assert api.client.get("/v1/profiles/me", headers=bearer(new)).status_code == 200
    assert api.client.get("/v1/profiles/me", headers=bearer(feed)).status_code == 401


def test_rotating_the_feed_token_keeps_the_api_token(api: Api) -> None:
    _, token, _ = api.profile("ada")
    response = api.client.post(
        "/v1/profiles/me/rotate", json={"token": "feed"}, headers=bearer(token)
    )
    assert response.json()["token_kind"] == "feed"
    assert api.client.get("/v1/profiles/me", headers=bearer(token)).status_code == 200
    bad = api.client.post("/v1/profiles/me/rotate", json={"token": "both"}, headers=bearer(token))
    assert bad.status_code == 422 and bad.json()["errors"][0]["path"] == "body.token"
