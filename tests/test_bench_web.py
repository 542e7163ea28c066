"""The reading page's benchmark smoke-runs on tiny sizes (no timing is asserted: only that it
measured every page, and each page's API twin in the same run)."""

from __future__ import annotations

from pathlib import Path

from benchrun import bench_section


def test_the_reading_page_benchmark_runs_and_reports(tmp_path: Path) -> None:
    section = bench_section("web", tmp_path)
    rows = {row[0]: row for row in section["tables"][0]["rows"]}
    assert {"/healthz (floor)", "/app/ (feed page)", "/app/feed/list?depth= (slider)"} <= set(rows)
    assert len([p for p in rows if p.startswith("/app/")]) == 8
    for page, requests, p50, p95, worst, twin, ratio in rows.values():
        assert requests > 0 and 0 < p50 <= p95 <= worst
        if page not in ("/healthz (floor)", "/app/saved"):  # every other page has an API twin
            assert twin > 0 and abs(ratio - p50 / twin) < 0.02
    assert [t["met"] in (True, False) for t in section["targets"]] == [True, True]
    numbers = section["numbers"]
    ratio = numbers["feed_page_p50_ms"] / numbers["api_feed_p50_ms"]
    assert abs(numbers["feed_page_over_api"] - ratio) < 0.01
