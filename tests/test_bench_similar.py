"""Smoke run of the item-vector benchmark on tiny inputs: both methods measured in one run."""

from __future__ import annotations

from pathlib import Path

import pytest
from benchrun import bench_section
from conftest import CORPUS


@pytest.mark.corpus
def test_the_similar_benchmark_measures_dense_and_tfidf_in_one_run(tmp_path: Path) -> None:
    if not (CORPUS.parent / "labelled").is_dir():
        pytest.skip("../shared/labelled is absent")
    out = tmp_path / "results"
    section = bench_section("similar", out)
    numbers = section["numbers"]
    assert numbers["papers"] == 300
    for name in ("dense_full", "tfidf_full", "dense_title", "tfidf_title"):
        assert 0.3 < numbers[name] <= 1.0, (name, numbers[name])
    assert numbers["dense_us_per_item"] > 0
    [target] = section["targets"]
    assert isinstance(target["met"], bool)
