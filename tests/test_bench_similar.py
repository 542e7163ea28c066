"""Smoke run of the item-vector benchmark on tiny inputs: both methods measured in one run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import CORPUS

ROOT = Path(__file__).resolve().parent.parent
BENCH = (sys.executable, "-m", "bench")


@pytest.mark.corpus
def test_the_similar_benchmark_measures_dense_and_tfidf_in_one_run(tmp_path: Path) -> None:
    if not (CORPUS.parent / "labelled").is_dir():
        pytest.skip("../shared/labelled is absent")
    out = tmp_path / "results"
    subprocess.run(
        [*BENCH, "--only", "similar", "--tiny", "--out", str(out)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    [section] = json.loads((out / "latest.json").read_text())["sections"]
    assert section["name"] == "similar"
    numbers = section["numbers"]
    assert numbers["papers"] == 300
    for name in ("dense_full", "tfidf_full", "dense_title", "tfidf_title"):
        assert 0.3 < numbers[name] <= 1.0, (name, numbers[name])
    assert numbers["dense_us_per_item"] > 0
    [target] = section["targets"]
    assert isinstance(target["met"], bool)
