"""``staycurrent tags``: rebuild (resumable, progress), evaluate and retrain from a labelled set,
retrain from the stored papers; /readyz says whether items are tagged by the model or by rules."""

from __future__ import annotations

import asyncio
import gzip
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from clikit import cli_on
from sqlmodel import select

from service.clock import utcnow
from service.outputs.api.app import create_app
from service.storage.engine import Database
from service.storage.models import Item, ItemTag
from service.storage.retag import save_topic_model

ROOT = Path(__file__).resolve().parent.parent
LABELLED = ROOT.parent / "shared" / "labelled" / "arxiv_2025_2026.jsonl.gz"


@pytest.fixture
def small_labelled(tmp_path: Path) -> Path:
    """1,500 papers of the labelled set, evenly spread in time (read from ../shared)."""
    if not LABELLED.is_file():
        pytest.skip(f"{LABELLED} is not here")
    with gzip.open(LABELLED, "rt", encoding="utf-8") as lines:
        rows = lines.readlines()
    step = len(rows) / 1_500
    path = tmp_path / "small.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as out:
        out.writelines(rows[int(i * step)] for i in range(1_500))
    return path


def test_rebuild_tags_every_item_with_the_model_and_says_so(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STAYCURRENT_FEEDS_FILE", str(ROOT / "feeds.yaml"))
    with cli_on(sqlite_url, tmp_path, monkeypatch) as cli:
        synced = cli("sources", "sync")
        assert synced.exit_code == 0, synced.output
        db = Database(sqlite_url)
        with db.write() as s:
            for n, title in enumerate(["Speech recognition at scale", "Object detection, fast"]):
                now = utcnow()
                s.add(
                    Item(
                        canonical_key=f"url:{n}",
                        kind="post",
                        title=title,
                        published_at=now,
                        first_seen_at=now,
                        changed_at=now,
                    )
                )
        result = cli("tags", "rebuild", "--batch", "1")
        assert result.exit_code == 0, result.output
        assert "re-tagged and re-linked 2 items, each with its vector" in result.output
        with db.session() as s:
            assert {i.vector is not None for i in s.exec(select(Item))} == {True}
            models = set(s.exec(select(Item.tag_model)))
            tagged = set(s.exec(select(ItemTag.item_id)))
        assert len(models) == 1 and next(iter(models), "").startswith("topics-arxiv-")
        assert len(tagged) == 2
        db.dispose()


def test_evaluate_prints_the_per_area_table_and_the_baseline(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_labelled: Path
) -> None:
    monkeypatch.setenv("STAYCURRENT_FEEDS_FILE", str(ROOT / "feeds.yaml"))
    with cli_on(sqlite_url, tmp_path, monkeypatch) as cli:
        result = cli("tags", "evaluate", "--labelled", str(small_labelled), "--json")
        assert result.exit_code == 0, result.output
        figures = json.loads(result.output)
        assert figures["model"]["name"].startswith("topics-arxiv-")
        assert figures["baseline"]["name"] == "baseline"
        areas = {a["area"]: a for a in figures["model"]["areas"]}
        assert areas["computer-vision"]["f1"] > 0.8
        table = cli("tags", "evaluate", "--labelled", str(small_labelled))
        assert "computer-vision" in table.output and "baseline   macro-F1" in table.output


def test_retrain_writes_a_model_file_from_a_labelled_set(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_labelled: Path
) -> None:
    out = tmp_path / "model.npz"
    monkeypatch.setenv("STAYCURRENT_FEEDS_FILE", str(ROOT / "feeds.yaml"))
    with cli_on(sqlite_url, tmp_path, monkeypatch) as cli:
        result = cli(
            "tags",
            "retrain",
            "--labelled",
            str(small_labelled),
            "--output",
            str(out),
            "--version",
            "test-1",
        )
        assert result.exit_code == 0, result.output
        assert f"wrote {out}" in " ".join(result.output.split())
    from service.ingest.topicmodel import TopicModel

    assert TopicModel.load(out).version == "test-1"


def test_retrain_from_too_few_stored_papers_says_why(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STAYCURRENT_FEEDS_FILE", str(ROOT / "feeds.yaml"))
    with cli_on(sqlite_url, tmp_path, monkeypatch) as cli:
        result = cli("tags", "retrain")
    assert result.exit_code == 1
    assert "only 0 stored arXiv papers" in result.output


def readiness(db: Database, make_settings: Any) -> dict[str, Any]:
    async def ask() -> httpx.Response:
        transport = httpx.ASGITransport(app=create_app(make_settings(), db=db))
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            return await client.get("/readyz")

    response = asyncio.run(ask())
    assert response.status_code == 200
    return dict(response.json())


def test_readyz_names_the_model_in_use(db: Database, make_settings: Any) -> None:
    body = readiness(db, make_settings)
    assert body["status"] == "ready"
    assert body["tagging"].startswith("model topics-arxiv-")


def test_readyz_says_when_a_corrupt_model_leaves_keyword_rules(
    db: Database, make_settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with db.write() as s:
        save_topic_model(
            s, version="local-x", data=b"PK\x03\x04broken", figures={}, active=True, now=utcnow()
        )
    body = readiness(db, make_settings)
    assert body["status"] == "ready"  # tagging goes on, by rules
    assert body["tagging"].startswith("keyword rules only: the topic model local-x could not")
    assert "keyword rules only" in caplog.text
