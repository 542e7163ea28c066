"""Smoke run of the Google Reader API benchmark on tiny inputs: it must run and report."""

from __future__ import annotations

from pathlib import Path

from benchrun import bench_report


def test_the_greader_benchmark_syncs_and_marks_read(tmp_path: Path) -> None:
    out = tmp_path / "results"
    doc = bench_report("greader", out, "--scales", "300,600", timeout=300)
    [section] = doc["sections"]
    assert section["name"] == "greader"
    [table] = section["tables"]
    rows = [dict(zip(table["columns"], row, strict=True)) for row in table["rows"]]
    assert [r["items"] for r in rows] == [300, 600]
    for r in rows:
        assert 0 < r["synced"] <= 1000
        assert r["first sync ms"] > 0 and r["sync ms"] > 0 and r["SQL floor ms"] > 0
        assert r["100 edit-tag ms"] > 0 and r["100 /v1/feedback ms"] > 0
    names = [t["name"] for t in section["targets"]]
    assert names[1] == "100 edit-tag calls at 600 items"
    assert all(isinstance(t["met"], bool) for t in section["targets"])
    assert "## Google Reader API" in (out / "latest.md").read_text()
