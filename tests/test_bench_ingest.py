"""The ingest benchmark runs on tiny inputs and reports what it measured (``make bench`` runs it
at full size; nothing here times anything)."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCALES = (100, 200)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory, corpus: Path) -> dict[str, Any]:
    """The ingest section of a tiny run (the runner in-process: the imports are shared)."""
    out = tmp_path_factory.mktemp("bench")
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(ROOT))
        runner = importlib.import_module("bench.__main__")
        scales = ",".join(map(str, SCALES))
        assert (
            runner.main(["--only", "ingest", "--tiny", "--scales", scales, "--out", str(out)]) == 0
        )
    document = json.loads((out / "latest.json").read_text())
    assert "Ingest" in (out / "latest.md").read_text()
    [section] = [s for s in document["sections"] if s["name"] == "ingest"]
    return dict(section)


def _table(section: dict[str, Any], starts: str) -> list[dict[str, Any]]:
    [table] = [t for t in section["tables"] if t["title"].startswith(starts)]
    return [dict(zip(table["columns"], row, strict=True)) for row in table["rows"]]


@pytest.mark.corpus
def test_every_path_is_measured_on_the_same_entries(report: dict[str, Any]) -> None:
    numbers = report["numbers"]
    for path in ("feedparser", "parse", "serial", "pool"):
        assert numbers[f"{path}_seconds"] > 0
        assert numbers[f"{path}_items_per_s"] > 0
    assert numbers["documents"] >= 2
    entries = numbers["entries"]
    for path in ("feedparser", "parse", "serial", "pool"):  # items/s = the same entries / seconds
        rate = entries / numbers[f"{path}_seconds"]
        assert numbers[f"{path}_items_per_s"] == pytest.approx(rate, rel=1e-2)
    # serial and pool store the same items: at most one per entry
    assert 0 < numbers["serial_stored_items"] == numbers["pool_stored_items"] <= entries
    rows = _table(report, "Corpus and a generated listing")
    assert len(rows) == 4
    assert all(row["seconds"] > 0 and row["CPU seconds"] > 0 for row in rows)


@pytest.mark.corpus
def test_targets_are_reported_with_their_documented_names(report: dict[str, Any]) -> None:
    targets = {t["name"]: t for t in report["targets"]}
    assert set(targets) == {
        "end-to-end ingest vs feedparser default parse",
        "parse alone vs feedparser default parse",
        "re-ingest of unchanged bytes (ingest_bytes)",
        "re-ingest of unchanged bytes (ingest_many)",
        "time per item, largest vs smallest scale",
    }
    for target in targets.values():
        assert isinstance(target["met"], bool)
        assert target["wanted"]
        assert target["measured"]
    numbers = report["numbers"]
    end_to_end = max(numbers["serial_ratio"], numbers["pool_ratio"])
    assert targets["end-to-end ingest vs feedparser default parse"]["met"] == (end_to_end >= 4)
    parse = numbers["parse_ratio"]
    assert targets["parse alone vs feedparser default parse"]["met"] == (parse >= 30)
    for entry_point in ("serial", "pool"):
        assert numbers[f"{entry_point}_reingest_ratio"] > 0
    for name in (
        "re-ingest of unchanged bytes (ingest_bytes)",
        "re-ingest of unchanged bytes (ingest_many)",
    ):
        assert f"{int(numbers['documents'])} unchanged" in targets[name]["measured"]


@pytest.mark.corpus
def test_the_corpus_files_left_out_are_counted_with_a_reason(
    report: dict[str, Any], corpus: Path
) -> None:
    opml = sorted(corpus.rglob("*.opml"))
    assert opml
    [note] = [n for n in report["notes"] if n.startswith("Inputs:")]
    assert f"{len(opml)} OPML subscription lists" in note
    assert all(path.name in note for path in opml)
    assert "refuses as not a feed" in note


@pytest.mark.corpus
def test_the_stages_and_the_profile_say_where_the_time_goes(report: dict[str, Any]) -> None:
    stages = _table(report, "Where the serial pipeline's time goes")
    assert [row["stage"] for row in stages][:4] == [
        "parse",
        "normalize",
        "tag",
        "store (one transaction per document)",
    ]
    assert all(row["seconds"] > 0 for row in stages)
    assert sum(row["share"] for row in stages[:4]) == pytest.approx(1.0)
    profile = _table(report, "The serial path under cProfile")
    assert profile
    assert all(row["own seconds"] >= 0 and row["calls"] > 0 for row in profile)


@pytest.mark.corpus
def test_each_scale_is_ingested_whole_in_a_process_of_its_own(report: dict[str, Any]) -> None:
    rows = _table(report, "Scaling")
    assert [row["entries"] for row in rows] == list(SCALES)
    for row in rows:
        assert 0 < row["items stored"] <= row["entries"]
        assert row["seconds"] > 0
        assert row["items/s"] == pytest.approx(row["entries"] / row["seconds"], rel=1e-3)
        assert row["peak RSS MiB"] > 0
        # sampled every few hundredths of a second: a tiny run may end before a sample
        assert (
            row["pool worker peak RSS MiB"] == "not sampled" or row["pool worker peak RSS MiB"] > 0
        )
        assert row["CPU seconds"] > 0
    numbers = report["numbers"]
    cpu_growth = rows[-1]["CPU µs per entry"] / rows[0]["CPU µs per entry"]
    assert numbers["scaling_growth"] == pytest.approx(cpu_growth, rel=1e-2)
    wall_growth = rows[-1]["µs per entry"] / rows[0]["µs per entry"]
    assert numbers["scaling_growth_wall"] == pytest.approx(wall_growth, rel=1e-2)
