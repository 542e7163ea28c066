"""Per-client rate limits: failed authentication and lens documents answer 429 with Retry-After.

The budgets are token buckets (``TokenBuckets``, a pure decider tested with a table) applied by the
real app: a client guessing tokens is stopped after its budget, whichever way it guesses (API token,
feed token in a subscription URL), while another client is served; a client fetching
cache-busting lens URLs is stopped after its budget and served again once it refilled.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from apikit import Api, bearer, make_api
from fastapi.testclient import TestClient

from service.config import Settings
from service.outputs.api.ratelimit import TokenBuckets
from service.storage.engine import Database


@pytest.fixture
def api(db: Database, make_settings: Callable[..., Settings]) -> Api:
    return make_api(
        db, make_settings, items=20, api_auth_failures_per_minute=5, api_feed_requests_per_minute=4
    )


def client_at(api: Api, address: str) -> TestClient:
    return TestClient(api.client.app, client=(address, 50000))


@pytest.mark.parametrize(
    ("takes", "after", "expected"),
    [
        (0, 0.0, None),  # a fresh bucket has a token
        (3, 0.0, None),  # three of four taken: one left
        (4, 0.0, 15),  # empty: a token every 15 s at 4 a minute
        (4, 14.0, 1),  # almost refilled: round up, never 0
        (4, 15.0, None),
        (4, 600.0, None),  # refilled (to the budget, no more: see below)
    ],
)
def test_token_buckets(takes: int, after: float, expected: int | None) -> None:
    buckets = TokenBuckets(per_minute=4)
    for _ in range(takes):
        assert buckets.take("client", 100.0) is None
    assert buckets.wait("client", 100.0 + after) == expected
    assert buckets.wait("another client", 100.0) is None


def test_the_bucket_never_holds_more_than_its_budget() -> None:
    buckets = TokenBuckets(per_minute=4)
    taken = [buckets.take("client", 1_000.0) for _ in range(5)]
    assert taken == [None, None, None, None, 15]


def test_guessing_tokens_is_stopped_and_other_clients_carry_on(api: Api) -> None:
    _, token, _ = api.profile("ada")
    guesser, other = client_at(api, "192.0.2.7"), client_at(api, "192.0.2.8")
    statuses = [guesser.get("/v1/feed", headers=bearer(f"guess-{n}")).status_code for n in range(5)]
    assert statuses == [401] * 5
    refused = guesser.get("/v1/subscriptions/guess-6/feed.rss")
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 12
    assert "too many requests" in refused.json()["detail"]
    # the right token does not get through either until the budget refills
    assert guesser.get("/v1/feed", headers=bearer(token)).status_code == 429
    assert other.get("/v1/feed", headers=bearer(token)).status_code == 200
    assert guesser.get("/healthz").status_code == 200  # requests without a token are served
    api.advance(timedelta(seconds=13))
    assert guesser.get("/v1/feed", headers=bearer(token)).status_code == 200


def test_unknown_feed_tokens_count_as_failures(api: Api) -> None:
    guesser = client_at(api, "192.0.2.9")
    for n in range(5):
        assert guesser.get(f"/v1/subscriptions/guess-{n}/sources.opml").status_code == 404
    assert guesser.get("/v1/subscriptions/guess-5/sources.opml").status_code == 429


def test_cache_busting_lens_requests_are_limited_per_client(api: Api) -> None:
    _, _, feed_token = api.profile("ada")
    reader, other = client_at(api, "198.51.100.4"), client_at(api, "198.51.100.5")
    path = f"/v1/subscriptions/{feed_token}/feed.rss"
    served = [reader.get(path, params={"limit": 10 + n}).status_code for n in range(4)]
    assert served == [200] * 4
    refused = reader.get(path, params={"limit": 20})
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "15"
    assert other.get(path).status_code == 200
    assert reader.get(f"/v1/subscriptions/{feed_token}/sources.opml").status_code == 200
    api.advance(timedelta(seconds=15))
    assert reader.get(path).status_code == 200
