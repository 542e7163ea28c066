"""Health in words: the pure sentences, ``sources status`` and ``GET /v1/sources/{id}/health``."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from service.ingest.health import describe
from service.outputs.api.app import create_app
from service.records import PollIntent, SourceFacts
from service.storage.engine import Database
from service.storage.sources import add_source, apply_poll

NOW = datetime(2026, 11, 24, 14, 0, tzinfo=UTC)  # a Tuesday
SATURDAY = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
THANKSGIVING = datetime(2026, 11, 26, 6, 0, tzinfo=UTC)
BLOG = "https://blog.example/feed.xml"
LISTING = "https://rss.arxiv.org/rss/cs.LG"


def at(hhmm: str, day: datetime = NOW) -> datetime:
    hours, minutes = (int(part) for part in hhmm.split(":"))
    return day.replace(hour=hours, minute=minutes)


def facts(**changes: Any) -> SourceFacts:
    base = SourceFacts(
        id=1,
        name="Blog",
        url=BLOG,
        kind="post",
        active=True,
        state="ok",
        next_poll_at=at("14:20"),
        last_attempt_at=at("13:50"),
        last_success_at=at("13:50"),
        last_status=200,
        last_outcome="updated",
    )
    return replace(base, **changes)


NEW = {"state": "new", "last_attempt_at": None, "last_success_at": None, "last_status": None}
FAILING = {"state": "error", "last_outcome": "error", "last_success_at": at("08:00")}


@pytest.mark.parametrize(
    ("changes", "now", "status", "sentence"),
    [
        (
            {**NEW, "next_poll_at": at("14:05")},
            NOW,
            "new",
            "new: never polled yet; first poll 14:05 UTC",
        ),
        (
            {**NEW, "next_poll_at": at("13:00")},
            NOW,
            "new",
            "new: never polled yet; first poll due now",
        ),
        (
            {"last_outcome": "not_modified", "last_status": 304},
            NOW,
            "ok",
            "not modified (304); next poll 14:20 UTC",
        ),
        ({}, NOW, "ok", "updated (200); next poll 14:20 UTC"),
        (
            {"last_outcome": "unchanged", "next_poll_at": datetime(2026, 11, 25, 2, 0, tzinfo=UTC)},
            NOW,
            "ok",
            "unchanged: the same bytes as last time; next poll 2026-11-25 02:00 UTC",
        ),
        (
            {**FAILING, "consecutive_errors": 5, "last_error": "timed out after 30 s",
             "last_status": None, "next_poll_at": at("14:05")},
            NOW,
            "backing_off",
            "backing off after 5 errors: timed out after 30 s; next try 14:05 UTC",
        ),
        (
            {**FAILING, "consecutive_errors": 1, "last_status": 404,
             "last_error": "the server answered 404 Not Found"},
            NOW,
            "backing_off",
            "backing off after 1 error: the server answered 404 Not Found; next try 14:20 UTC",
        ),
        (
            {"state": "gone", "last_outcome": "gone", "last_status": 410, "consecutive_errors": 2,
             "last_error": "the publisher removed this feed (410 Gone)",
             "next_poll_at": datetime(2026, 12, 1, 14, 0, tzinfo=UTC)},
            NOW,
            "gone",
            "gone: the publisher removed this feed (410 Gone); probing weekly; "
            "next probe 2026-12-01 14:00 UTC",
        ),
        (
            {"url": LISTING, "last_outcome": "empty",
             "next_poll_at": datetime(2026, 11, 30, 5, 30, tzinfo=UTC)},
            SATURDAY,
            "quiet",
            "arXiv publishes no listing on Saturday; next poll 2026-11-30 05:30 UTC",
        ),
        (
            {"url": LISTING, "last_outcome": "empty", "last_attempt_at": at("05:31", THANKSGIVING),
             "next_poll_at": datetime(2026, 11, 27, 5, 30, tzinfo=UTC)},
            THANKSGIVING,
            "ok",
            "arXiv published an empty listing (no announcement that day, e.g. a holiday); "
            "next poll 2026-11-27 05:30 UTC",
        ),
        (
            {"url": LISTING, **FAILING, "consecutive_errors": 2,
             "last_error": "timed out after 30 s",
             "next_poll_at": datetime(2026, 11, 28, 13, 0, tzinfo=UTC)},
            SATURDAY,
            "backing_off",
            "backing off after 2 errors: timed out after 30 s; next try 13:00 UTC",
        ),
        ({"last_outcome": "empty"}, NOW, "ok", "the feed is empty (200); next poll 14:20 UTC"),
        ({"active": False}, NOW, "inactive", "removed from the catalog: not polled"),
        (
            {"active": False, "origin": "local"},
            NOW,
            "inactive",
            "local source (files ingested by hand)",
        ),
        (
            {"last_outcome": "not_modified", "last_status": 304, "lease_owner": "w1",
             "lease_until": at("14:04")},
            NOW,
            "ok",
            "being polled now; last time: not modified (304)",
        ),
        (
            {"lease_owner": "w1", "lease_until": at("13:59")},  # an expired lease: not polling
            NOW,
            "ok",
            "updated (200); next poll 14:20 UTC",
        ),
        (
            {**NEW, "lease_owner": "w1", "lease_until": at("14:04")},
            NOW,
            "new",
            "being polled now for the first time",
        ),
    ],
)  # fmt: skip
def test_health_sentences(
    changes: dict[str, Any], now: datetime, status: str, sentence: str
) -> None:
    health = describe(facts(**changes), now)
    assert (health.status, health.sentence) == (status, sentence)


def test_health_carries_the_facts() -> None:
    health = describe(facts(consecutive_errors=0, items_last_7_days=12), NOW)
    assert (health.last_attempt_at, health.last_success_at, health.last_status) == (
        at("13:50"),
        at("13:50"),
        200,
    )
    assert (health.next_poll_at, health.items_last_7_days, health.polling_now) == (
        at("14:20"),
        12,
        False,
    )
    assert describe(facts(active=False), NOW).next_poll_at is None


# --------------------------------------------------------------------------- from the database


def _seed(db: Database) -> dict[str, int]:
    """Three sources: never polled, timed out twice, not modified."""
    now = datetime.now(UTC)
    with db.write() as s:
        ids = {
            name: add_source(s, name=name, url=f"https://{name}.example/feed", kind="post").id or 0
            for name in ("fresh", "failing", "steady")
        }
    with db.write() as s:
        for errors in (1, 2):
            apply_poll(
                s,
                PollIntent(
                    source_id=ids["failing"],
                    attempted_at=now - timedelta(minutes=10),
                    outcome="error",
                    next_poll_at=now + timedelta(hours=1),
                    consecutive_errors=errors,
                    state="error",
                    error_kind="fetch_timeout",
                    error_reason="timed out after 30 s",
                ),
            )
        apply_poll(
            s,
            PollIntent(
                source_id=ids["steady"],
                attempted_at=now - timedelta(minutes=5),
                outcome="not_modified",
                next_poll_at=now + timedelta(minutes=30),
                consecutive_errors=0,
                state="ok",
                status_code=304,
                succeeded=True,
            ),
        )
    return ids


def test_the_health_endpoint(db: Database, make_settings: Any) -> None:
    ids = _seed(db)

    async def ask() -> tuple[httpx.Response, httpx.Response, httpx.Response]:
        transport = httpx.ASGITransport(app=create_app(make_settings(), db=db))
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            return (
                await client.get(f"/v1/sources/{ids['failing']}/health"),
                await client.get(f"/v1/sources/{ids['steady']}/health"),
                await client.get("/v1/sources/999999/health"),
            )

    failing, steady_response, missing = asyncio.run(ask())
    steady = steady_response.json()
    assert failing.status_code == 200
    body = failing.json()
    assert body["status"] == "backing_off"
    assert body["consecutive_errors"] == 2
    assert body["sentence"].startswith("backing off after 2 errors: timed out after 30 s; next try")
    assert body["last_success"] is None
    assert (steady["status"], steady["last_status"]) == ("ok", 304)
    assert steady["sentence"].startswith("not modified (304); next poll ")
    assert missing.status_code == 404


def _cli(db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STAYCURRENT_")}
    env |= {
        "STAYCURRENT_DATABASE_URL": db_url,
        "STAYCURRENT_SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789",
        "COLUMNS": "250",
    }
    return subprocess.run(
        [sys.executable, "-m", "service.cli", "sources", "status", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_sources_status_json_and_table(sqlite_url: str) -> None:
    db = Database(sqlite_url)
    ids = _seed(db)
    db.dispose()
    done = _cli(sqlite_url, "--json")
    assert done.returncode == 0, done.stderr
    rows = {row["name"]: row for row in map(json.loads, done.stdout.splitlines())}
    assert set(rows) == {"fresh", "failing", "steady"}
    assert rows["fresh"]["status"] == "new"
    assert rows["fresh"]["sentence"].startswith("new: never polled yet; first poll")
    assert rows["failing"]["id"] == ids["failing"]
    assert rows["failing"]["consecutive_errors"] == 2
    assert rows["steady"]["last_status"] == 304
    one = _cli(sqlite_url, "--json", "--source", "steady")
    assert [json.loads(line)["name"] for line in one.stdout.splitlines()] == ["steady"]
    table = _cli(sqlite_url)
    assert table.returncode == 0, table.stderr
    assert "backing off after 2 errors: timed out after 30 s" in table.stdout
    unknown = _cli(sqlite_url, "--source", "nope")
    assert (unknown.returncode, unknown.stderr.strip()) == (1, "no source named 'nope'")
