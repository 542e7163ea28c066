"""The reading page's benchmark smoke-runs on tiny sizes (no timing is asserted: only that it
measured every page against the API baseline of the same run)."""

from __future__ import annotations

from pathlib import Path

from benchrun import bench_section


def test_the_reading_page_benchmark_runs_and_reports(tmp_path: Path) -> None:
    section = bench_section("web", tmp_path)
    rows = {row[0]: row for row in section["tables"][0]["rows"]}
    assert {
        "/app/ (feed page)",
        "/app/feed/list?depth= (slider)",
        "/v1/feed (API baseline)",
    } <= set(rows)
    assert len([p for p in rows if p.startswith("/app/")]) == 8
    for _page, requests, p50, p95, worst in rows.values():
        assert requests > 0 and 0 < p50 <= p95 <= worst
    assert [t["met"] in (True, False) for t in section["targets"]] == [True, True]
    numbers = section["numbers"]
    ratio = numbers["feed_page_p50_ms"] / numbers["api_feed_p50_ms"]
    assert abs(numbers["feed_page_over_api"] - ratio) < 0.01
