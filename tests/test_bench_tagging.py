"""Smoke run of the tagging benchmark on a small time slice: it must run and report its figures."""

from __future__ import annotations

from pathlib import Path

import pytest
from benchrun import bench_section

ROOT = Path(__file__).resolve().parent.parent
LABELLED = ROOT.parent / "shared" / "labelled" / "arxiv_2025_2026.jsonl.gz"


@pytest.mark.skipif(not LABELLED.is_file(), reason="the labelled set is not here")
def test_the_tagging_benchmark_reports_ours_and_the_baseline_per_area(tmp_path: Path) -> None:
    out = tmp_path / "results"
    section = bench_section("tagging", out)
    numbers = section["numbers"]
    assert numbers["train_papers"] + numbers["test_papers"] < 2_000
    for name in ("ours", "baseline"):
        assert 0 < numbers[f"{name}_macro_f1"] <= 1
        assert 0 < numbers[f"{name}_precision"] <= 1
        assert 0 < numbers[f"{name}_primary_found"] <= 1
    assert numbers["tag_us_per_item"] > 0 and numbers["model_us_per_item"] > 0
    summary, areas = section["tables"]
    assert [row[0] for row in summary["rows"]] == ["ours", "baseline"]
    columns = areas["columns"]
    rows = {row[0]: dict(zip(columns, row, strict=True)) for row in areas["rows"]}
    assert rows["computer-vision"]["test"] > 0 and rows["computer-vision"]["F1"] > 0.5
    assert all(0 <= r["P"] <= 1 and 0 <= r["baseline F1"] <= 1 for r in rows.values())
    names = [t["name"] for t in section["targets"]]
    assert "macro-F1 (text only)" in names and "beats the baseline on every figure" in names
    assert all(isinstance(t["met"], bool) for t in section["targets"])
    assert "Topic tagging" in (out / "latest.md").read_text()
