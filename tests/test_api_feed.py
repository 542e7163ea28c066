"""GET /v1/feed on SQLite and PostgreSQL: items, why, metrics, overrides, and the cursor."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from apikit import Api, bearer, make_api
from corpusgen import generate_corpus

from service.config import Settings
from service.storage.engine import Database


@pytest.fixture
def api(db: Database, make_settings: Callable[..., Settings]) -> Api:
    return make_api(db, make_settings)


def _get(api: Api, token: str, **params: Any) -> Any:
    response = api.client.get("/v1/feed", params=params, headers=bearer(token))
    assert response.status_code == 200, response.text
    return response.json()


def test_the_feed_has_items_with_everything_and_metrics(api: Api) -> None:
    _, token, _ = api.profile("ada", preset="researcher")
    feed = _get(api, token)
    assert len(feed["items"]) == 20
    first = feed["items"][0]
    for key in ("title", "url", "kind", "source", "published", "summary", "tags", "covered_by"):
        assert key in first
    assert first["rank"] == 1 and first["why"]["summary"]
    assert first["why"]["interests"] == ["nlp"]  # depth 0.85 starts with a deep pick
    assert set(first["why"]["parts"]) >= {"relevance", "technical", "freshness", "coverage"}
    assert feed["metrics"]["depth"] == 0.85
    assert feed["metrics"]["k"] == 20 and 0 <= feed["metrics"]["coverage"] <= 1
    papers = [i for i in feed["items"] if i["kind"] == "paper"]
    assert papers and all(i["arxiv"]["id"] for i in papers)
    covered = [i for i in feed["items"] if i["covered_by_count"]]
    assert all(len(i["covered_by"]) >= 1 for i in covered)


@pytest.mark.parametrize(
    ("params", "check"),
    [
        ({"kinds": "podcast"}, lambda f: {i["kind"] for i in f["items"]} == {"podcast"}),
        ({"kinds": "post,video"}, lambda f: {i["kind"] for i in f["items"]} <= {"post", "video"}),
        ({"depth": 0}, lambda f: f["metrics"]["coverage"] >= 0.8),
        ({"depth": 1}, lambda f: f["metrics"]["focus"] >= 0.9),
        (
            {"topics": "robotics", "depth": 1},
            lambda f: f["items"][0]["why"]["interests"] == ["robotics"],
        ),
        ({"limit": 3}, lambda f: len(f["items"]) == 3),
    ],
)
def test_query_parameters_override_the_profile(api: Api, params: dict, check: Any) -> None:
    _, token, _ = api.profile("ada")
    assert check(_get(api, token, **params))


def test_the_window_can_be_narrowed(api: Api) -> None:
    _, token, _ = api.profile("ada")
    feed = _get(api, token, window_days=1, limit=100)
    assert feed["items"]
    oldest = min(i["published"] for i in feed["items"])
    assert oldest >= (api.now - timedelta(days=1)).isoformat().replace("+00:00", "Z")


@pytest.mark.parametrize(
    ("params", "path", "words"),
    [
        ({"depth": 2}, "query.depth", "less than or equal to 1"),
        ({"limit": 101}, "query.limit", "less than or equal to 100"),
        ({"limit": 0}, "query.limit", "greater than or equal to 1"),
        ({"window_days": 366}, "query.window_days", "less than or equal to 365"),
        ({"depth": "deep"}, "query.depth", "valid number"),
    ],
)
def test_bad_parameters_are_problems_naming_the_field(
    api: Api, params: dict, path: str, words: str
) -> None:
    _, token, _ = api.profile("ada")
    response = api.client.get("/v1/feed", params=params, headers=bearer(token))
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["errors"][0]["path"] == path
    assert words in problem["detail"]


@pytest.mark.parametrize(
    ("params", "words"),
    [
        (
            {"kinds": "paper,tweet"},
            "kinds: must be among paper, podcast, post, video (got 'tweet')",
        ),
        ({"topics": "nlp,astrology"}, "topics: unknown topic 'astrology'"),
        ({"cursor": "not-a-cursor"}, "cursor: the link is malformed"),
    ],
)
def test_bad_values_name_themselves(api: Api, params: dict, words: str) -> None:
    _, token, _ = api.profile("ada")
    response = api.client.get("/v1/feed", params=params, headers=bearer(token))
    assert response.status_code == 422
    assert words in response.json()["detail"]


def _all_pages(api: Api, token: str, limit: int, **params: Any) -> list[int]:
    ids: list[int] = []
    cursor = None
    for _ in range(1000):
        query = {"limit": limit, **params, **({"cursor": cursor} if cursor else {})}
        page = _get(api, token, **query)
        ids += [item["id"] for item in page["items"]]
        assert [item["rank"] for item in page["items"]] == list(
            range(len(ids) - len(page["items"]) + 1, len(ids) + 1)
        )
        cursor = page["next_cursor"]
        if cursor is None:
            return ids
    raise AssertionError("the cursor never ended")


def test_the_cursor_returns_each_item_exactly_once(api: Api) -> None:
    _, token, _ = api.profile("ada", depth=0.4)
    total = _get(api, token)["total"]
    paged = _all_pages(api, token, limit=7)
    assert len(paged) == len(set(paged)) == total
    whole = _all_pages(api, token, limit=100)
    assert paged == whole  # the same order, however it is cut


def test_pages_stay_stable_while_new_items_arrive(api: Api) -> None:
    _, token, _ = api.profile("ada", depth=0.6)
    before = _all_pages(api, token, limit=100)
    first = _get(api, token, limit=10)
    api.advance(timedelta(minutes=30))
    # a poll brings new items, some of them backdated into the window
    generate_corpus(api.db, items=40, seed=99, now=api.now, seen_at=api.now)
    ids = [item["id"] for item in first["items"]]
    cursor = first["next_cursor"]
    while cursor:
        page = _get(api, token, limit=10, cursor=cursor)
        ids += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
    assert ids == before
    assert _get(api, token)["total"] > len(before)  # a fresh feed does see the new items


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"depth": 0.1}, "belongs to another query"),
        ({"kinds": "paper"}, "belongs to another query"),
        ({"include_read": True}, "belongs to another query"),
    ],
)
def test_a_cursor_only_continues_its_own_query(api: Api, change: dict, words: str) -> None:
    _, token, _ = api.profile("ada")
    cursor = _get(api, token, limit=5)["next_cursor"]
    response = api.client.get(
        "/v1/feed", params={"cursor": cursor, **change}, headers=bearer(token)
    )
    assert response.status_code == 422
    assert words in response.json()["detail"]


def test_a_cursor_is_personal_unalterable_and_expires(api: Api) -> None:
    _, ada, _ = api.profile("ada")
    _, bob, _ = api.profile("bob")
    cursor = _get(api, ada, limit=5)["next_cursor"]
    other = api.client.get("/v1/feed", params={"cursor": cursor}, headers=bearer(bob))
    assert other.status_code == 422 and "another profile" in other.json()["detail"]
    body, mac = cursor.split(".")
    altered = api.client.get("/v1/feed", params={"cursor": f"{body}A.{mac}"}, headers=bearer(ada))
    assert altered.status_code == 422
    api.advance(timedelta(hours=25))
    late = api.client.get("/v1/feed", params={"cursor": cursor}, headers=bearer(ada))
    assert late.status_code == 422 and "expired" in late.json()["detail"]


def test_the_same_request_gives_the_same_order(api: Api) -> None:
    _, token, _ = api.profile("ada")
    first = [i["id"] for i in _get(api, token, limit=50)["items"]]
    assert first == [i["id"] for i in _get(api, token, limit=50)["items"]]
