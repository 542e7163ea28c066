"""Smoke run of the trend radar benchmark on tiny inputs: it runs and reports what it measured."""

from __future__ import annotations

from pathlib import Path

from benchrun import bench_section


def test_the_trends_benchmark_measures_quality_and_cost(tmp_path: Path) -> None:
    out = tmp_path / "results"
    section = bench_section("trends", out, "--scales", "300,2000")
    quality, cost = section["tables"]
    rows = [dict(zip(quality["columns"], row, strict=True)) for row in quality["rows"]]
    assert [r["seed"] for r in rows] == [1, 2]
    for r in rows:
        assert 0 <= r["precision@10"] <= 1 and 0 <= r["recall"] <= 1
        assert r["decoys in top 10"] >= 0 and r["detect CPU s"] > 0
    [at_scale] = [dict(zip(cost["columns"], row, strict=True)) for row in cost["rows"]]
    assert at_scale["items"] >= 2000 and at_scale["windows"] == 3
    assert at_scale["refresh CPU s"] > 0 and 0 < at_scale["GET p50 ms"] <= at_scale["GET p95 ms"]
    names = [t["name"] for t in section["targets"]]
    assert names[:4] == [
        "precision@10 (worst seed)",
        "recall of bursts (worst seed)",
        "decoys in the top 10 (worst seed)",
        "date span error (worst)",
    ]
    assert all(isinstance(t["met"], bool) for t in section["targets"])
