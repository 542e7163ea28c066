"""Smoke run of the learning benchmark on tiny inputs: the model, the ranker and the baseline."""

from __future__ import annotations

from pathlib import Path

import pytest
from benchrun import bench_section
from conftest import CORPUS


@pytest.mark.corpus
def test_the_learning_benchmark_measures_the_model_and_the_baseline_in_one_run(
    tmp_path: Path,
) -> None:
    if not (CORPUS.parent / "labelled").is_dir():
        pytest.skip("../shared/labelled is absent")
    section = bench_section("learning", tmp_path / "results")
    numbers = section["numbers"]
    assert numbers["themes"] >= 1
    for key in ("learned_5", "learned_interests_10", "baseline_10"):
        values = [v for k, v in numbers.items() if k.endswith(f".{key}")]
        assert values and all(0.0 <= v <= 1.0 for v in values), (key, values)
    assert len(section["targets"]) == 4
    assert all(isinstance(t["met"], bool) for t in section["targets"])
