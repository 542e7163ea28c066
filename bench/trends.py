"""Trend radar: quality on a generated stream with known ground truth, and what a refresh costs.

**Quality.** ``tests/trendgen.py`` generates five weeks of background (papers from arXiv
listings with 400 lead authors, posts from 30 blogs, episodes from 10 podcasts) with 11 injected
bursts of 6-24 items from 4-12 voices over 1.5-5.5 days, and five decoys (one feed repeating a
phrase, one prolific author, a steady high-volume phrase, a phrase spread thin over the weeks, a
phrase seen three times). For each of several seeds: precision@10 (themes of the top 10 that are
injected bursts), recall (bursts found among the 30 themes), decoys in the top 10, and how far
each found burst's first and latest sighting are from the truth.

**Cost.** A SQLite database of the largest scale's items (the same generator, ~1,000 items a day
over the days that make up the count) is refreshed as the worker does (``refresh_trends``,
every window forced) and the CPU time measured; then ``GET /v1/trends`` in-process (TestClient,
p50 and p95 of 50 requests).

Targets (issue 19): precision@10 ≥ 0.9, recall ≥ 0.8, no decoy in the top 10, date spans within
a day; a refresh at 200k items ≤ 2 s of CPU; ``GET /v1/trends`` ≤ 20 ms.
"""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.report import Context, Section, Table, Target
from service.config import Settings
from service.outputs.trends import refresh_trends
from service.rank.trends import Theme, TrendParams, detect_themes
from service.storage.engine import Database
from service.storage.migrate import upgrade
from service.storage.trends import trend_items

NAME = "trends"
TITLE = "Trend radar: ground-truth quality and refresh cost"
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
SEEDS = (1, 2, 3, 4, 5)
PER_DAY_AT_SCALE = 1000
REQUESTS = 50


def _quality(seed: int, per_day: int) -> tuple[float, float, int, float, float]:
    from trendgen import generate_stream, matches

    stream = generate_stream(seed=seed, now=NOW, per_day=per_day)
    started = time.process_time()
    themes = detect_themes(stream.items, now=NOW, params=TrendParams(limit=30)).themes
    cpu = time.process_time() - started

    def burst(theme: Theme) -> str | None:
        hits = [b.key for b in stream.bursts if matches(b.key, theme.label, theme.aliases)]
        return hits[0] if hits else None

    top = themes[:10]
    precision = sum(burst(t) is not None for t in top) / max(1, len(top))
    found = {burst(t) for t in themes} - {None}
    decoys = sum(any(matches(d.key, t.label, t.aliases) for d in stream.decoys) for t in top)
    truth = {b.key: b for b in stream.bursts}
    errors = [
        max(
            abs((t.first_seen - truth[key].first).total_seconds()),
            abs((t.latest_seen - truth[key].latest).total_seconds()),
        )
        / 86400
        for t in themes
        if (key := burst(t)) is not None
    ]
    return precision, len(found) / len(stream.bursts), decoys, max(errors, default=0.0), cpu


def _database(ctx: Context, items: int) -> Database:
    from trendgen import generate_stream, store_stream

    db = Database(f"sqlite:///{Path(ctx.workdir) / 'trends.db'}")
    upgrade(db)
    per_day = min(PER_DAY_AT_SCALE, max(30, items // 42))
    stream = generate_stream(seed=11, now=NOW, per_day=per_day, baseline_days=items / per_day - 7)
    store_stream(db, stream)
    return db


def _api_times(db: Database, ctx: Context) -> list[float]:
    from fastapi.testclient import TestClient

    from service.outputs.api.app import create_app

    settings = Settings(
        database_url="sqlite://",
        data_dir=Path(ctx.workdir) / "data",
        secret_key="bench-secret-key-that-is-long-enough-0123456789",
    )
    client = TestClient(create_app(settings, db=db, clock=lambda: NOW + timedelta(minutes=1)))
    client.get("/v1/trends")  # warm
    times = []
    for _ in range(REQUESTS):
        started = time.perf_counter()
        response = client.get("/v1/trends", params={"limit": 10})
        times.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"GET /v1/trends answered {response.status_code}: {response.text}")
    return sorted(times)


def run(ctx: Context) -> Section:
    per_day = 40 if ctx.tiny else 300
    seeds = SEEDS[:2] if ctx.tiny else SEEDS
    rows = [(seed, per_day, *_quality(seed, per_day)) for seed in seeds]
    scale = max(ctx.scales)
    db = _database(ctx, scale)
    with db.session() as session:
        from sqlalchemy import func, select

        from service.storage.models import Item

        stored = int(session.execute(select(func.count()).select_from(Item)).scalar() or 0)
    started = time.process_time()
    with db.session() as session:  # the same-run baseline: only reading what a refresh reads
        read = len(trend_items(session, since=NOW - timedelta(days=42), until=NOW))
    read_cpu = time.process_time() - started
    started = time.process_time()
    outcomes = refresh_trends(db, now=NOW, force=True)
    refresh_cpu = time.process_time() - started
    times = _api_times(db, ctx)
    db.dispose()
    p50, p95 = statistics.median(times), times[int(0.95 * (len(times) - 1))]
    worst_precision = min(r[2] for r in rows)
    worst_recall = min(r[3] for r in rows)
    decoys = max(r[4] for r in rows)
    span = max(r[5] for r in rows)
    quality = Table(
        title="Ground truth, per seed (11 bursts, 5 decoys, 5 weeks)",
        columns=(
            "seed",
            "items/day",
            "precision@10",
            "recall",
            "decoys in top 10",
            "worst span error (days)",
            "detect CPU s",
        ),
        rows=tuple(
            (seed, pd, round(p, 2), round(r, 2), d, round(e, 3), round(c, 3))
            for seed, pd, p, r, d, e, c in rows
        ),
    )
    cost = Table(
        title="Cost at scale",
        columns=(
            "items",
            "items read",
            "read CPU s",
            "refresh CPU s",
            "windows",
            "themes",
            "GET p50 ms",
            "GET p95 ms",
        ),
        rows=(
            (
                stored,
                read,
                round(read_cpu, 3),
                round(refresh_cpu, 3),
                len(outcomes),
                sum(o.themes for o in outcomes),
                round(p50, 2),
                round(p95, 2),
            ),
        ),
    )
    targets = (
        Target(
            "precision@10 (worst seed)", ">= 0.9", f"{worst_precision:.2f}", worst_precision >= 0.9
        ),
        Target(
            "recall of bursts (worst seed)", ">= 0.8", f"{worst_recall:.2f}", worst_recall >= 0.8
        ),
        Target("decoys in the top 10 (worst seed)", "0", str(decoys), decoys == 0),
        Target("date span error (worst)", "<= 1 day", f"{span:.2f} days", span <= 1.0),
        Target(
            f"refresh at {stored} items", "<= 2 s CPU", f"{refresh_cpu:.2f} s", refresh_cpu <= 2.0
        ),
        Target("GET /v1/trends in-process p50", "<= 20 ms", f"{p50:.1f} ms", p50 <= 20.0),
    )
    return Section(
        name=NAME,
        title=TITLE,
        numbers={"refresh_cpu_s": round(refresh_cpu, 3), "get_p50_ms": round(p50, 2)},
        tables=(quality, cost),
        targets=targets,
        notes=(
            f"The refresh computes the 3-, 7- and 14-day windows against 28 days of baseline; "
            f"the scale database spreads its items at up to {PER_DAY_AT_SCALE} a day.",
        ),
    )
