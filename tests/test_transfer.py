"""db export / import: SQLite to PostgreSQL keeps every source, item, profile and signal."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from corpusgen import generate_corpus
from sqlmodel import col, select

from service.errors import InvalidInputError
from service.storage.engine import Database
from service.storage.feedback import record_feedback
from service.storage.models import Delivery, DeliveryItem, Item
from service.storage.profiles import create_profile, find_by_token
from service.storage.transfer import export_jsonl, export_records, import_jsonl

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def _populate(db: Database) -> tuple[str, str]:
    generate_corpus(db, items=300, seed=5, now=NOW)
    made = create_profile(
        db,
        name="ada",
        changes={"interests": {"nlp": 1.0}, "depth": 0.8, "email": "ada@example.org"},
    )
    profile_id = made.profile.id
    assert profile_id is not None
    with db.session() as s:
        ids = list(s.exec(select(Item.id).order_by(col(Item.id)).limit(4)))
    for item_id, signal in zip(ids, ("like", "hide", "save", "read"), strict=True):
        assert item_id is not None
        record_feedback(db, profile_id=profile_id, item_id=item_id, signal=signal, now=NOW)
    with db.write() as s:
        delivery = Delivery(
            profile_id=profile_id,
            period="2026-11-20",
            status="sent",
            sent_at=NOW,
            message_id="<d1@staycurrent>",
            item_count=2,
            minutes=7,
        )
        s.add(delivery)
        s.flush()
        assert delivery.id is not None
        for item_id in ids[:2]:
            assert item_id is not None
            s.add(DeliveryItem(delivery_id=delivery.id, item_id=item_id, profile_id=profile_id))
    return made.api_token, made.feed_token


def _comparable(db: Database) -> list[dict[str, Any]]:
    return [r for r in export_records(db) if r["type"] != "meta"]


@pytest.mark.postgres
def test_sqlite_to_postgres_keeps_everything(sqlite_url: str, postgres_url: str) -> None:
    source, target = Database(sqlite_url), Database(postgres_url)
    api_token, feed_token = _populate(source)
    buffer = io.StringIO()
    counts = export_jsonl(source, buffer)
    assert counts.counts["item"] == 300
    assert counts.counts["feedback"] == 4
    imported = import_jsonl(target, io.StringIO(buffer.getvalue()).readlines())
    assert imported.counts == {k: v for k, v in counts.counts.items() if k != "meta"}
    assert _comparable(target) == _comparable(source)
    with target.session() as s:
        assert find_by_token(s, api_token, which="api") is not None
        assert find_by_token(s, feed_token, which="feed") is not None
    # importing again merges: nothing doubles
    import_jsonl(target, io.StringIO(buffer.getvalue()).readlines())
    assert _comparable(target) == _comparable(source)
    source.dispose()
    target.dispose()


def test_the_cli_round_trip_between_two_sqlite_files(sqlite_url: str, tmp_path: Path) -> None:
    source = Database(sqlite_url)
    _populate(source)
    dump = tmp_path / "export.jsonl"
    target_url = f"sqlite:///{tmp_path / 'other.db'}"
    env_base = {"STAYCURRENT_SECRET_KEY": "k" * 40, "PATH": "/usr/bin:/bin"}
    for url, args in ((sqlite_url, ["export", str(dump)]), (target_url, ["import", str(dump)])):
        done = subprocess.run(
            [sys.executable, "-m", "service.cli", "db", *args],
            cwd=tmp_path,
            env={**env_base, "STAYCURRENT_DATABASE_URL": url},
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert "300 items" in done.stdout
    target = Database(target_url)
    assert _comparable(target) == _comparable(source)
    source.dispose()
    target.dispose()


@pytest.mark.parametrize(
    ("lines", "reason"),
    [
        (["not json"], "line 1: not JSON"),
        (['{"type": "tag", "slug": "x"}'], "line 1: an export starts with its meta record"),
        (['{"type": "meta", "format": "other", "version": 1}'], "line 1: not a version 1"),
        (
            ['{"type": "meta", "format": "staycurrent-export", "version": 1}', '{"type": "bogus"}'],
            "line 2: not a Staycurrent export record",
        ),
        (
            [
                '{"type": "meta", "format": "staycurrent-export", "version": 1}',
                json.dumps(
                    {
                        "type": "feedback",
                        "profile": "nobody",
                        "item": "k",
                        "signal": "like",
                        "created_at": NOW.isoformat(),
                    }
                ),
            ],
            "line 2: refers to unknown 'nobody'",
        ),
    ],
)
def test_a_bad_export_is_refused_with_the_line(db: Database, lines: list[str], reason: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        import_jsonl(db, lines)
    assert caught.value.reason.startswith(reason), caught.value.reason
