"""The API benchmark smoke-runs on tiny sizes (no timing is asserted: only that it measured)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_api_benchmark_runs_and_reports(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "bench", "--only", "api", "--tiny", "--out", str(tmp_path)]
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True, timeout=120)
    doc = json.loads((tmp_path / "latest.json").read_text())
    (section,) = doc["sections"]
    assert section["name"] == "api"
    rows = section["tables"][0]["rows"]
    endpoints = {row[2]: row for row in rows}
    assert set(endpoints) == {"/healthz", "/v1/feed", "/v1/items?q="}
    for _items, _workers, _endpoint, p50, p95, p99, rate, requests, errors in rows:
        assert requests > 0 and errors == 0  # every endpoint answered 200 under load
        assert 0 < p50 <= p95 <= p99 and rate > 0
    names = [t["name"] for t in section["targets"]]
    assert len(names) == 6 and all(isinstance(t["met"], bool) for t in section["targets"])
    assert any("bare FastAPI" in name for name in names)
    (bare,) = section["tables"][2]["rows"]  # the baseline, measured in the same run
    assert bare[0] == "/healthz" and bare[4] > 0 and bare[5] > 0 and bare[6] == 0
    assert section["numbers"]["healthz_vs_bare"] > 0
    assert section["numbers"]["peak_rss_mb"] > 0
    assert section["numbers"]["rank_page_cpu_p50_ms"] > 0
    assert any("feed page held 20 items" in note for note in section["notes"])
    assert (tmp_path / "latest.md").read_text().count("/v1/feed") >= 2
