"""GET /metrics: Prometheus text with database figures and request latency."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from apikit import make_api
from sqlmodel import col, select

from service.clock import utcnow
from service.config import Settings
from service.storage.engine import Database
from service.storage.models import Delivery, Item, PollLog, Profile, Source

SAMPLE = re.compile(r'^[a-z_0-9]+(\{([a-z_]+="[^"]*",?)*\})? -?[0-9.e+]+$')


def _samples(text: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("#"):
            assert re.match(r"^# (HELP|TYPE) [a-z_0-9]+ ", line), line
            continue
        assert SAMPLE.match(line), f"not a Prometheus sample: {line!r}"
        name, value = line.rsplit(" ", 1)
        out[name] = float(value)
    return out


def test_metrics_report_the_database_and_request_latency(
    db: Database, make_settings: Callable[..., Settings]
) -> None:
    api = make_api(db, make_settings, items=120)
    now = utcnow()
    with db.write() as s:
        source_id = s.exec(select(Source.id)).first()
        assert source_id is not None
        s.add(PollLog(source_id=source_id, started_at=now, outcome="updated", items_new=7))
        s.add(
            PollLog(
                source_id=source_id, started_at=now, outcome="error", error_kind="fetch_timeout"
            )
        )
        s.add(
            PollLog(
                source_id=source_id,
                started_at=now - timedelta(days=2),
                outcome="error",
                error_kind="gone",
            )
        )
    api.profile("ada")
    with db.write() as s:
        profile_id = s.exec(select(Profile.id)).one()
        assert profile_id is not None
        s.add(Delivery(profile_id=profile_id, period="2026-11-20", status="sent"))
    api.client.get("/healthz")
    api.client.get("/v1/items/999999")
    response = api.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    got = _samples(response.text)
    assert got['staycurrent_polls_24h{outcome="updated"}'] == 1
    assert got['staycurrent_poll_errors_24h{reason="fetch_timeout"}'] == 1
    assert 'staycurrent_poll_errors_24h{reason="gone"}' not in got  # older than 24 h
    with db.session() as s:
        recent = s.exec(select(Item).where(col(Item.first_seen_at) >= now - timedelta(hours=24)))
        assert got["staycurrent_items_ingested_24h"] == len(recent.all())  # not the poll log's 7
    assert sum(v for k, v in got.items() if k.startswith("staycurrent_items{")) == 120
    assert got['staycurrent_digests{status="sent"}'] == 1
    with db.session() as s:
        active = len(s.exec(select(Source).where(Source.active == True)).all())  # noqa: E712
    assert (
        sum(
            v
            for k, v in got.items()
            if k.startswith("staycurrent_sources{") and 'active="true"' in k
        )
        == active
    )
    health: dict[str, Any] = {k: v for k, v in got.items() if 'route="/healthz"' in k}
    assert (
        health[
            'staycurrent_http_request_duration_seconds_count{method="GET",route="/healthz",status="2xx"}'
        ]
        == 1
    )
    assert (
        health[
            'staycurrent_http_request_duration_seconds_bucket{method="GET",route="/healthz",status="2xx",le="+Inf"}'
        ]
        == 1
    )
    # a route template, never the id: ids would multiply the series
    assert any('route="/v1/items/{item_id}"' in k or 'route="unmatched"' in k for k in got)
    assert not any("999999" in k for k in got)


def test_every_middleware_is_plain_asgi_and_shared_checks_take_no_thread_hop(
    db: Database, make_settings: Callable[..., Settings]
) -> None:
    import inspect

    from starlette.middleware.base import BaseHTTPMiddleware

    from service.outputs.api import deps
    from service.outputs.api.app import create_app
    from service.outputs.api.query_guard import refuse_unknown_query

    app = create_app(make_settings(), db=db)
    classes = [m.cls for m in app.user_middleware]
    assert {c.__name__ for c in classes} == {"RequestLog", "RateLimit", "ProblemGuard", "BodyLimit"}
    assert not any(isinstance(c, type) and issubclass(c, BaseHTTPMiddleware) for c in classes)
    # FastAPI runs a plain function in its thread pool; these run on every request
    for check in (refuse_unknown_query, deps.get_settings, deps.get_db, deps.get_now):
        assert inspect.iscoroutinefunction(check), check.__name__


def test_requests_refused_before_routing_are_timed_too(
    db: Database, make_settings: Callable[..., Settings]
) -> None:
    api = make_api(db, make_settings, items=10, api_feed_requests_per_minute=1)
    for _ in range(3):
        api.client.get("/v1/subscriptions/nobody/feed.rss")
    got = _samples(api.client.get("/metrics").text)
    name = "staycurrent_http_request_duration_seconds_count"
    # the rate limiter's 429s never reach a route: counted as unmatched, by status class
    assert got.get(f'{name}{{method="GET",route="unmatched",status="4xx"}}', 0) >= 1
