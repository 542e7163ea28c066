"""Smoke run of the CLI start-up benchmark: it must run each command and report its CPU time
beside the same run's ``python -c pass`` (no timing is asserted: speed lives in bench/)."""

from __future__ import annotations

from pathlib import Path

import pytest
from benchrun import bench_section


def test_the_startup_benchmark_reports_each_command_beside_the_baseline(tmp_path: Path) -> None:
    out = tmp_path / "results"
    section = bench_section("startup", out)
    [table] = section["tables"]
    rows = {row[0]: dict(zip(table["columns"], row, strict=True)) for row in table["rows"]}
    assert list(rows) == [
        "python -c pass (baseline)",
        "--version",
        "--help",
        "items list (empty database)",
    ]
    baseline = rows["python -c pass (baseline)"]["CPU s"]
    for name, row in rows.items():
        assert row["CPU s"] > 0, name
        assert row["above baseline s"] == pytest.approx(row["CPU s"] - baseline, abs=0.002)
    names = [t["name"] for t in section["targets"]]
    assert names == [
        "staycurrent --version",
        "staycurrent --help",
        "staycurrent items list (empty database)",
    ]
    assert all(
        isinstance(t["met"], bool) and "baseline" in t["measured"] for t in section["targets"]
    )
    assert "CLI start-up" in (out / "latest.md").read_text()
