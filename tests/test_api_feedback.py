"""Feedback through the API and through signed one-click links (SQLite and PostgreSQL)."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from apikit import Api, bearer, link_generation_of, make_api
from sqlmodel import select

from service.config import Settings
from service.outputs.links import feedback_token, feedback_url
from service.signing import sign
from service.storage.engine import Database
from service.storage.models import Feedback, Item


@pytest.fixture
def api(db: Database, make_settings: Callable[..., Settings]) -> Api:
    return make_api(db, make_settings, items=60)


def _items(api: Api) -> list[int]:
    with api.db.session() as session:
        return [i for i in session.exec(select(Item.id).order_by(Item.id)).all() if i]


def _signals(api: Api, profile_id: int) -> set[tuple[int, str]]:
    with api.db.session() as session:
        rows = session.exec(select(Feedback).where(Feedback.profile_id == profile_id)).all()
    return {(row.item_id, row.signal) for row in rows}


def test_posting_feedback(api: Api) -> None:
    profile, token, _ = api.profile("ada")
    item = _items(api)[0]
    first = api.client.post(
        "/v1/feedback", json={"item_id": item, "signal": "like"}, headers=bearer(token)
    )
    assert first.status_code == 200
    assert first.json() == {
        "item_id": item,
        "signal": "like",
        "changed": True,
        "replaced": None,
        "signals": ["like"],
    }
    again = api.client.post(
        "/v1/feedback", json={"item_id": item, "signal": "like"}, headers=bearer(token)
    )
    assert again.json()["changed"] is False
    flip = api.client.post(
        "/v1/feedback", json={"item_id": item, "signal": "dislike"}, headers=bearer(token)
    )
    assert flip.json()["replaced"] == "like" and flip.json()["signals"] == ["dislike"]
    assert _signals(api, profile["id"]) == {(item, "dislike")}


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"item_id": 987654, "signal": "like"}, 404, "no item has id 987654"),
        ({"item_id": 1, "signal": "love"}, 422, "body.signal"),
        ({"item_id": "one", "signal": "like"}, 422, "body.item_id"),
        ({"signal": "like"}, 422, "body.item_id: Field required"),
    ],
)
def test_bad_feedback_is_refused(api: Api, body: dict, status: int, words: str) -> None:
    _, token, _ = api.profile("ada")
    response = api.client.post("/v1/feedback", json=body, headers=bearer(token))
    assert response.status_code == status
    assert words in response.json()["detail"]


def _link(api: Api, profile_id: int, item_id: int, signal: str = "like") -> str:
    url = feedback_url(
        api.settings.base_url,
        api.settings.secret_key_bytes(),
        profile_id=profile_id,
        item_id=item_id,
        signal=signal,
        generation=link_generation_of(api.db, profile_id),
        now=api.now,
    )
    return url.removeprefix(api.settings.base_url)


def test_opening_a_link_records_nothing_and_its_button_records_once(api: Api) -> None:
    profile, _, _ = api.profile("ada")
    item = _items(api)[3]
    path = _link(api, profile["id"], item, "save")
    page = api.client.get(path, headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<form method="post">' in page.text and "Save" in page.text
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["cache-control"] == "no-store"
    for _ in range(3):  # a scanner prefetching, a preview, a reload
        api.client.get(path)
    assert _signals(api, profile["id"]) == set()
    done = api.client.post(path)
    assert done.status_code == 200 and "Done: saved" in done.text
    api.client.post(path)
    assert _signals(api, profile["id"]) == {(item, "save")}


def test_a_hide_link_removes_the_item_from_the_feed(api: Api) -> None:
    profile, token, _ = api.profile("ada")
    first = api.client.get("/v1/feed", headers=bearer(token)).json()["items"][0]["id"]
    api.client.post(_link(api, profile["id"], first, "hide"))
    ids = [
        i["id"]
        for i in api.client.get("/v1/feed", params={"limit": 100}, headers=bearer(token)).json()[
            "items"
        ]
    ]
    assert first not in ids


def _tampered(path: str, **change: object) -> str:
    token = path.rsplit("/", 1)[1]
    body, mac = token.split(".")
    document = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    document["d"].update(change)
    raw = json.dumps(document, separators=(",", ":"), sort_keys=True).encode()
    return "/v1/feedback/" + base64.urlsafe_b64encode(raw).rstrip(b"=").decode() + "." + mac


@pytest.mark.parametrize(
    "change", [{"iid": "other item"}, {"pid": "other profile"}, {"sig": "hide"}]
)
def test_a_link_cannot_be_bent_to_another_item_profile_or_signal(api: Api, change: dict) -> None:
    ada, _, _ = api.profile("ada")
    bob, _, _ = api.profile("bob")
    items = _items(api)
    values = {"iid": items[1], "pid": bob["id"], "sig": "hide"}
    key = next(iter(change))
    forged = _tampered(_link(api, ada["id"], items[0]), **{key: values[key]})
    for method in (api.client.get, api.client.post):
        response = method(forged)
        assert response.status_code == 403
        assert response.headers["content-type"] == "application/problem+json"
        assert "signature does not match" in response.json()["detail"]
    assert _signals(api, ada["id"]) == set() and _signals(api, bob["id"]) == set()


def test_links_expire(api: Api) -> None:
    ada, _, _ = api.profile("ada")
    path = _link(api, ada["id"], _items(api)[0])
    api.advance(timedelta(days=31))
    response = api.client.post(path)
    assert response.status_code == 410
    assert "expired" in response.json()["detail"]
    assert response.json()["instance"] == "/v1/feedback/***"  # the token is not echoed
    html = api.client.get(path, headers={"Accept": "text/html,application/xhtml+xml"})
    assert html.status_code == 410 and html.headers["content-type"].startswith("text/html")
    assert "This link has expired" in html.text
    assert _signals(api, ada["id"]) == set()


def test_tokens_for_other_purposes_or_keys_are_not_links(api: Api) -> None:
    ada, _, _ = api.profile("ada")
    item = _items(api)[0]
    secret = api.settings.secret_key_bytes()
    payload: dict[str, str | int] = {"pid": ada["id"], "iid": item, "sig": "like"}
    cursor_like = sign(secret, "feed-cursor", payload, expires_at=api.now + timedelta(days=1))
    other_key = feedback_token(
        b"another-secret-key-0123456789",
        profile_id=ada["id"],
        item_id=item,
        signal="like",
        generation=link_generation_of(api.db, ada["id"]),
        expires_at=api.now + timedelta(days=1),
    )
    for token in (cursor_like, other_key, "garbage"):
        assert api.client.post(f"/v1/feedback/{token}").status_code == 403
    assert _signals(api, ada["id"]) == set()


def test_a_link_to_a_deleted_profile_is_not_found(api: Api) -> None:
    path = _link(api, 4242, _items(api)[0])
    response = api.client.get(path)
    assert response.status_code == 404
    assert "no longer exists" in response.json()["detail"]


def test_rotating_the_feed_token_revokes_the_feedback_links_handed_out_before(api: Api) -> None:
    ada, api_token, feed_token = api.profile("ada")
    document = api.client.get(f"/v1/subscriptions/{feed_token}/feed.rss").text
    links = re.findall(r"/v1/feedback/[^\"<&\s]+", document)
    assert links  # the feed carries one-click links
    rotated = api.client.post(
        "/v1/profiles/me/rotate", json={"token": "feed"}, headers=bearer(api_token)
    )
    assert rotated.status_code == 200
    for path in (links[0], links[-1]):
        refused = api.client.post(path)
        assert refused.status_code == 410
        assert "feed token was rotated" in refused.json()["detail"]
    assert _signals(api, ada["id"]) == set()
    new_feed = rotated.json()["token"]
    fresh = api.client.get(f"/v1/subscriptions/{new_feed}/feed.rss").text
    fresh_links = re.findall(r"/v1/feedback/[^\"<&\s]+", fresh)
    assert api.client.post(fresh_links[0]).status_code == 200
    assert _signals(api, ada["id"])
