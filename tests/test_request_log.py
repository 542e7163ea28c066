"""Structured logs: one line per API request (method, route, path, status, duration) with no
token in it, and JSON lines from a real ``staycurrent serve`` when STAYCURRENT_LOG_FORMAT=json.
The image's health check command is run against the same server.
"""

from __future__ import annotations

import json
import logging
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from deployfiles import dockerfile_instructions, final_stage
from feedgen import Post, blog
from feedserver import FeedServer, Route
from hypothesis import given
from hypothesis import strategies as st
from processkit import free_port, json_lines, stop_leftovers
from workerprocs import cli_env, start, wait_until

from service.logs import redact
from service.outputs.api.requestlog import level_for, shown_path
from service.storage.engine import Database
from service.storage.sources import add_source

TOKEN_CHARS = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~",
    min_size=12,
    max_size=64,
)


@pytest.mark.parametrize(
    ("template", "params", "raw", "shown"),
    [
        (
            "/v1/subscriptions/{token}/feed.rss",
            {"token": "Zk8wSecretFeedToken"},
            "/v1/subscriptions/Zk8wSecretFeedToken/feed.rss",
            "/v1/subscriptions/***/feed.rss",
        ),
        (
            "/v1/feedback/{token}",
            {"token": "eyJp.sig"},
            "/v1/feedback/eyJp.sig",
            "/v1/feedback/***",
        ),
        (
            "/v1/unsubscribe/{token}",
            {"token": "u.sig"},
            "/v1/unsubscribe/u.sig",
            "/v1/unsubscribe/***",
        ),
        (
            "/v1/sources/{source_id}/health",
            {"source_id": 7},
            "/v1/sources/7/health",
            "/v1/sources/7/health",
        ),
        ("/files/{rest:path}", {"rest": "a/b.txt"}, "/files/a/b.txt", "/files/a/b.txt"),
        ("/v1/feed", {}, "/v1/feed", "/v1/feed"),
        (None, {}, "/v1/subscriptions/Zk8wSecret/nothing", "/v1/subscriptions/***/nothing"),
        (None, {}, "/v1/feedback/eyJp.sig/extra", "/v1/feedback/***/extra"),
        (None, {}, "/nowhere/at/all", "/nowhere/at/all"),
    ],
)
def test_the_logged_path_keeps_ids_and_hides_tokens(
    template: str | None, params: dict[str, Any], raw: str, shown: str
) -> None:
    assert shown_path(template, params, raw) == shown


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("/v1/subscriptions/Zk8w-x_y/feed.rss", "/v1/subscriptions/***/feed.rss"),
        ("/v1/subscriptions/{token}/feed.rss", "/v1/subscriptions/{token}/feed.rss"),
        ("/v1/subscriptions/{token}x/feed.rss", "/v1/subscriptions/***/feed.rss"),
        ("GET /v1/feedback/eyJ.sig?signal=like", "GET /v1/feedback/***?signal=like"),
        ("/v1/unsubscribe/{token}", "/v1/unsubscribe/{token}"),
        ("Authorization: Bearer abc.DEF-123", "Authorization: Bearer ***"),
        ("postgresql+psycopg://sc:pa55@db/sc", "postgresql+psycopg://sc:***@db/sc"),
        ("/v1/sources/7/health", "/v1/sources/7/health"),
        ("/V1/Subscriptions/Zk8w-x_y/feed.rss", "/V1/Subscriptions/***/feed.rss"),
        ("GET /v1/FEEDBACK/eyJ.sig?signal=like", "GET /v1/FEEDBACK/***?signal=like"),
        ("mysql://sc:pa55@db/sc", "mysql://sc:***@db/sc"),
    ],
)
def test_redact_hides_credentials_and_keeps_route_placeholders(text: str, shown: str) -> None:
    assert redact(text) == shown


@given(
    token=TOKEN_CHARS,
    prefix=st.sampled_from(["subscriptions", "feedback", "unsubscribe"]),
    version=st.sampled_from(["v1", "V1"]),
    data=st.data(),
)
def test_no_token_survives_in_a_path_that_matched_no_route(
    token: str, prefix: str, version: str, data: st.DataObject
) -> None:
    cased = "".join(c.upper() if data.draw(st.booleans()) else c for c in prefix)  # any case
    shown = shown_path(None, {}, f"/{version}/{cased}/{token}/whatever")
    assert shown == f"/{version}/{cased}/***/whatever"  # the token, whatever it is, is gone


@pytest.mark.parametrize(
    ("route", "status", "level"),
    [
        ("/v1/feed", 200, logging.INFO),
        ("/v1/feed", 404, logging.INFO),
        ("/healthz", 200, logging.DEBUG),
        ("/metrics", 200, logging.DEBUG),
        ("/readyz", 503, logging.WARNING),
        ("/v1/feed", 500, logging.WARNING),
    ],
)
def test_probes_are_quiet_and_server_errors_stand_out(route: str, status: int, level: int) -> None:
    assert level_for(route, status) == level


# --------------------------------------------------------------------------- a real server

ADMIN = "admin-token-that-must-never-be-logged"
FORGED = "forged.signature-that-must-never-be-logged"


def health_check_command() -> list[str]:
    """The Dockerfile's HEALTHCHECK command, run with this interpreter."""
    [check] = [i.args for i in final_stage(dockerfile_instructions()) if i.keyword == "HEALTHCHECK"]
    argv = json.loads(check[check.index("CMD") + 3 :])
    assert argv[0] == "python"
    return [sys.executable, *argv[1:]]


def run_health_check(port: int) -> int:
    env = {"PATH": "/usr/bin:/bin", "STAYCURRENT_PORT": str(port)}
    return subprocess.run(
        health_check_command(), env=env, capture_output=True, check=False
    ).returncode


def requests_made(base: str, source_id: int) -> tuple[list[tuple[str, str, int]], set[str]]:
    """Make requests worth logging: (method, route template, status) of each, and the tokens."""
    made: list[tuple[str, str, int]] = []
    with httpx.Client(base_url=base, timeout=10) as client:

        def call(method: str, route: str, path: str, **options: Any) -> httpx.Response:
            response = client.request(method, path, **options)
            made.append((method, route, response.status_code))
            return response

        admin = {"Authorization": f"Bearer {ADMIN}"}
        created = call("POST", "/v1/profiles", "/v1/profiles", json={"name": "ada"}, headers=admin)
        assert created.status_code == 201, created.text
        api_token, feed_token = created.json()["api_token"], created.json()["feed_token"]
        bearer = {"Authorization": f"Bearer {api_token}"}
        call("GET", "/v1/profiles/me", "/v1/profiles/me", headers=bearer)
        feed = f"/v1/subscriptions/{feed_token}/feed.rss"
        call("GET", "/v1/subscriptions/{token}/feed.rss", feed)
        call("GET", "/v1/feedback/{token}", f"/v1/feedback/{FORGED}")
        call("GET", "/v1/unsubscribe/{token}", f"/v1/unsubscribe/{FORGED}")
        call("GET", "/v1/sources/{source_id}/health", f"/v1/sources/{source_id}/health")
        call("GET", "unmatched", f"/v1/subscriptions/{FORGED}/nothing-here")
        call("GET", "/healthz", "/healthz")
    return made, {ADMIN, FORGED, api_token, feed_token}


@pytest.mark.slow
def test_serve_writes_json_lines_a_line_per_request_and_no_token(
    sqlite_url: str, tmp_path: Path
) -> None:
    port = free_port()
    with FeedServer.running() as server:
        db = Database(sqlite_url)
        post = Post("p1", "A post", "https://blog.example/p1")
        url = server.route("/json/feed", Route.feed(blog("Blog", "https://blog.example", [post])))
        with db.write() as session:
            source_id = add_source(session, name="a blog", url=url, kind="post").id or 0
        env = cli_env(
            sqlite_url,
            port=port,
            log_format="json",
            admin_token=ADMIN,
            poll_tick_seconds=0.5,
            data_dir=tmp_path / "data",
        )
        serving = start(["serve"], env, tmp_path, "serve")
        try:
            wait_until(lambda: run_health_check(port) == 0, "the image's health check to pass")
            requests, secrets = requests_made(f"http://127.0.0.1:{port}", source_id)
            wait_until(lambda: "poll round done" in serving.output(), "the poller's round")
            serving.process.send_signal(signal.SIGTERM)
            assert serving.finish(timeout=15) == 0, serving.output()
        finally:
            stop_leftovers([serving])
            db.dispose()
    assert run_health_check(port) != 0  # nothing listens any more: unhealthy
    records = json_lines(serving.stderr.read_text())
    logged = {
        (r["method"], r["route"], r["status"]) for r in records if r["logger"] == "staycurrent.api"
    }
    assert set(requests) - {("GET", "/healthz", 200)} <= logged
    assert ("GET", "/healthz", 200) not in logged  # probes log at DEBUG only
    for record in (r for r in records if r["logger"] == "staycurrent.api"):
        assert {"ts", "level", "msg", "path", "duration_ms"} <= set(record)
        assert record["duration_ms"] >= 0 and record["path"].startswith("/")
    everything = serving.output()
    for secret in secrets:
        assert secret not in everything
    assert "authorization" not in everything.lower()
    [round_line] = [r for r in records if r["msg"] == "poll round done"][:1]
    assert (round_line["sources"], round_line["items_new"], round_line["errors"]) == (1, 1, 0)
    assert isinstance(round_line["worker"], str) and round_line["seconds"] >= 0
