"""The Google Reader API in-process: a reader app's sync and its read marks.

For each scale (items): a SQLite file gets a generated corpus (``tests/corpusgen.py``, spread
over 14 days) and one profile (window 30 days: every item is in its reading list) with an app
password; the app (``create_app``) is called in-process through Starlette's TestClient, as a
reader app calls it over HTTP, after ``ClientLogin``.

- First sync: the first call ranks the profile's lenses (``lens_feed`` for each, as the RSS
  lenses do) and lists its sources; it is then kept for the ranking tick.
- Client sync of 1,000 items: ``stream/items/ids`` (reading list, unread, n=1000) then
  ``stream/items/contents`` with those 1,000 ids (POST), median of 5 runs.
  Baseline: the same 1,000 items' columns read with one plain SQL query (the floor under any
  way of serving them), in the same run.
- 100 ``edit-tag`` calls, one item each (``a=…/read``). Baseline: 100 ``POST /v1/feedback``
  calls recording ``read`` on 100 other items, in the same run.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import col

from bench.report import Context, Section, Table, Target
from service.config import Settings
from service.outputs.api.app import create_app
from service.storage.app_passwords import create_app_password
from service.storage.engine import Database
from service.storage.migrate import upgrade
from service.storage.models import Item
from service.storage.profiles import create_profile

NAME = "greader"
TITLE = "Google Reader API: a reader app's sync of 1,000 items and 100 read marks"
SYNC_MS = 300.0
EDITS_S = 1.0
RUNS = 5
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
READING_LIST = "user/-/state/com.google/reading-list"
READ = "user/-/state/com.google/read"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _settings(workdir: Path, db_path: Path) -> Settings:
    return Settings(
        database_url=f"sqlite:///{db_path}",
        data_dir=workdir / "data",
        secret_key="bench-secret-key-that-is-long-enough-0123456789",
        base_url="https://staycurrent.example.org",
        api_auth_failures_per_minute=1000,
    )


def _timed(work: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    result = work()
    return (time.perf_counter() - t0) * 1000, result


def _signed_in(client: TestClient, db: Database) -> tuple[dict[str, str], str]:
    created = create_profile(
        db,
        name="reader",
        changes={"interests": {"nlp": 1.0, "generative-models": 0.5}, "window_days": 30},
    )
    assert created.profile.id is not None
    password = create_app_password(db, profile_id=created.profile.id, label="bench", now=NOW)
    signed = client.post(
        "/accounts/ClientLogin", data={"Email": "reader", "Passwd": password.password}
    )
    auth = signed.text.split("Auth=")[1].strip()
    return {"Authorization": f"GoogleLogin auth={auth}"}, created.api_token


def _sync(client: TestClient, headers: dict[str, str]) -> list[str]:
    ids = client.get(
        "/reader/api/0/stream/items/ids",
        params={"s": READING_LIST, "xt": READ, "n": 1000, "output": "json"},
        headers=headers,
    ).json()["itemRefs"]
    refs = [ref["id"] for ref in ids]
    body = urlencode([("i", i) for i in refs])
    contents = client.post(
        "/reader/api/0/stream/items/contents?output=json", content=body, headers=headers | FORM
    )
    assert contents.status_code == 200, contents.text
    assert len(contents.json()["items"]) == len(refs)
    return refs


def _floor(db: Database, ids: list[int]) -> None:
    columns: tuple[Any, ...] = (Item.id, Item.title, Item.url, Item.published_at)
    columns += (Item.summary_html, Item.authors)
    with db.session() as session:
        rows = session.execute(sa.select(*columns).where(col(Item.id).in_(ids))).all()
    assert len(rows) == len(ids)


def _edits(client: TestClient, headers: dict[str, str], ids: list[str]) -> None:
    for item_id in ids:
        done = client.post(
            "/reader/api/0/edit-tag",
            content=urlencode({"i": item_id, "a": READ}),
            headers=headers | FORM,
        )
        assert done.text == "OK", done.text


def _feedback(client: TestClient, token: str, ids: list[str]) -> None:
    for item_id in ids:
        done = client.post(
            "/v1/feedback",
            json={"item_id": int(item_id), "signal": "read"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert done.status_code in (200, 201), done.text


def _one_scale(ctx: Context, items: int) -> dict[str, float]:
    from corpusgen import generate_corpus

    db_path = ctx.workdir / f"greader-{items}.db"
    settings = _settings(ctx.workdir, db_path)
    db = Database(settings.database_url)
    upgrade(db)
    generate_corpus(db, items=items, seed=21, now=NOW, span_days=14)
    client = TestClient(create_app(settings, db=db, clock=lambda: NOW))
    headers, token = _signed_in(client, db)
    first_ms, refs = _timed(lambda: _sync(client, headers))
    runs = [_timed(lambda: _sync(client, headers))[0] for _ in range(RUNS)]
    floors = [_timed(lambda: _floor(db, [int(r) for r in refs]))[0] for _ in range(RUNS)]
    edits_ms, _ = _timed(lambda: _edits(client, headers, refs[:100]))
    feedback_ms, _ = _timed(lambda: _feedback(client, token, refs[100:200]))
    db.dispose()
    return {
        "items": items,
        "synced": len(refs),
        "first_ms": round(first_ms, 1),
        "sync_ms": round(statistics.median(runs), 1),
        "floor_ms": round(statistics.median(floors), 1),
        "edits_ms": round(edits_ms, 1),
        "feedback_ms": round(feedback_ms, 1),
    }


def run(ctx: Context) -> Section:
    rows = [_one_scale(ctx, items) for items in ctx.scales]
    largest = rows[-1]
    targets = (
        Target(
            name=f"sync {largest['synced']:,.0f} items (ids + contents) "
            f"at {largest['items']:,} items",
            wanted=f"≤ {SYNC_MS:.0f} ms",
            measured=f"{largest['sync_ms']:.0f} ms (SQL floor {largest['floor_ms']:.0f} ms)",
            met=largest["sync_ms"] <= SYNC_MS,
        ),
        Target(
            name=f"100 edit-tag calls at {largest['items']:,} items",
            wanted=f"≤ {EDITS_S:.0f} s",
            measured=f"{largest['edits_ms'] / 1000:.2f} s "
            f"(100 POST /v1/feedback: {largest['feedback_ms'] / 1000:.2f} s)",
            met=largest["edits_ms"] / 1000 <= EDITS_S,
        ),
    )
    table = Table(
        title="A reader app's sync per corpus size",
        columns=(
            "items",
            "synced",
            "first sync ms",
            "sync ms",
            "SQL floor ms",
            "sync / floor",
            "100 edit-tag ms",
            "100 /v1/feedback ms",
        ),
        rows=tuple(
            (
                int(r["items"]),
                int(r["synced"]),
                r["first_ms"],
                r["sync_ms"],
                r["floor_ms"],
                round(r["sync_ms"] / r["floor_ms"], 1) if r["floor_ms"] else 0.0,
                r["edits_ms"],
                r["feedback_ms"],
            )
            for r in rows
        ),
    )
    notes = (
        "In-process (TestClient), one SQLite file per scale, the profile's window holding every "
        "item. 'first sync' includes ranking the profile's lenses, once per 15-minute tick; "
        "'sync' is the median of 5 later syncs. The SQL floor reads the same 1,000 items' "
        "columns in one query.",
    )
    return Section(name=NAME, title=TITLE, tables=(table,), targets=targets, notes=notes)
