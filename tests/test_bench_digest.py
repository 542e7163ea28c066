"""Smoke run of the digest benchmark on tiny inputs: it must run and report what it measured."""

from __future__ import annotations

from pathlib import Path

from benchrun import bench_report


def test_the_digest_benchmark_builds_and_sends_every_profile(tmp_path: Path) -> None:
    out = tmp_path / "results"
    doc = bench_report("digest", out, "--scales", "300,600", timeout=120)
    assert doc["tiny"] is True and doc["machine"]["cores"] >= 1
    [section] = doc["sections"]
    assert section["name"] == "digest"
    [table] = section["tables"]
    columns = table["columns"]
    rows = [dict(zip(columns, row, strict=True)) for row in table["rows"]]
    assert [r["items"] for r in rows] == [300, 600]
    for r in rows:
        assert r["profiles"] == 12
        assert r["sent"] == r["received"] == 12  # every due profile got exactly one message
        assert r["build s"] > 0 and r["send s"] > 0 and r["items/digest"] > 0
        assert 0 < r["build p50 ms"] <= r["build p95 ms"]
    names = [t["name"] for t in section["targets"]]
    assert names == [
        "build 12 digests at 600 items",
        "send 12 digests end to end at 600 items",
        "peak memory building and sending at 600 items",
    ]
    assert all(r["peak RSS MB"] > 0 for r in rows)
    assert all(isinstance(t["met"], bool) for t in section["targets"])
    assert "## Digest" in (out / "latest.md").read_text()
