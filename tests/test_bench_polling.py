"""The polling benchmark at tiny sizes: it runs, and what it reports is consistent.

Nothing here is timed: the benchmark's targets may be met or missed on a busy machine; the test
checks that the numbers exist, that the server's counts hold (each source once per round, the
per-host limit) and that the targets are there under their documented names.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TARGETS = {
    "round 2 (all 304) vs ideal",
    "round 1 (all 200) vs max(ideal, processing ÷ cores)",
    "each source fetched once per round",
    "per-host limit",
    "worker peak RSS",
    "worker start-up CPU",
    "round 2 CPU vs lemon24/reader",
}


def run_tiny(out: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--only", "polling", "--tiny", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    doc = json.loads((out / "latest.json").read_text())
    assert (out / "latest.md").read_text().count("## Polling") == 1
    [section] = [s for s in doc["sections"] if s["name"] == "polling"]
    return section


def test_tiny_polling_benchmark_reports_consistent_rounds(tmp_path: Path) -> None:
    section = run_tiny(tmp_path)
    n = section["numbers"]
    sources, per_host = int(n["sources"]), int(n["per_host"])
    assert sources > 0
    keys = ("ideal_seconds", "round1_seconds", "round2_seconds", "parse_only_seconds")
    for key in (*keys, "process_only_seconds", "worker_startup_cpu_seconds"):
        assert n[key] > 0, key
    assert n["worker_peak_rss_mb"] > 10
    assert n["items_stored"] > 0
    for r in (1, 2):
        assert n[f"round{r}_fetched"] == sources  # the server saw each source once in each round
        assert n[f"round{r}_sources_fetched"] == sources
        assert n[f"round{r}_max_per_source"] == 1
        assert 1 <= n[f"round{r}_max_in_flight_per_host"] <= per_host
        assert n[f"round{r}_sources_polled"] == sources  # the worker's own count
        assert n[f"round{r}_errors"] == 0
    assert n["round1_items_new"] == n["items_stored"]
    assert n["round2_not_modified"] == sources  # all 304 ...
    assert n["round2_conditional_requests"] == sources  # ... because every request was conditional
    assert n["round2_items_new"] == 0
    # the baseline polled the same server: every feed twice, the second time conditionally
    assert n["reader_requests"] == 2 * sources
    assert n["reader_conditional_requests"] == sources
    assert n["reader_round2_cpu_seconds"] > 0

    targets = {t["name"]: t for t in section["targets"]}
    assert set(targets) == TARGETS
    assert targets["each source fetched once per round"]["met"] is True
    assert targets["per-host limit"]["met"] is True
    assert all(isinstance(t["met"], bool) and t["measured"] for t in targets.values())

    [table] = section["tables"]
    assert [row[0] for row in table["rows"]] == ["round 1 (200)", "round 2 (304)"]
    assert all(row[table["columns"].index("fetched")] == sources for row in table["rows"])
    assert section["notes"]
