"""Limits on what one document can cost: entries read per document, and writes that wait out a
database another process holds locked instead of failing."""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy
from feedgen import Post, blog
from sqlmodel import func, select

from service.catalog import load_catalog
from service.clock import utcnow
from service.ingest import pipeline as pipeline_module
from service.ingest.bulk import ingest_many
from service.ingest.pipeline import Pipeline
from service.ingest.tag import Tagger
from service.records import SourceForUpdate
from service.storage import engine
from service.storage.engine import Database
from service.storage.models import Item
from service.storage.sources import add_source, load_for_update

ROOT = Path(__file__).resolve().parent.parent
TAXONOMY = load_catalog(ROOT / "feeds.yaml").taxonomy


def many_posts(count: int, prefix: str = "") -> bytes:
    posts = [
        Post(f"p{n}", f"Post number {n}", f"https://many.example/{prefix}{n}") for n in range(count)
    ]
    return blog("Many", "https://many.example", posts)


def a_source(db: Database, name: str = "many") -> SourceForUpdate:
    with db.write() as s:
        source_id = add_source(s, name=name, url=f"https://many.example/{name}", kind="post").id
    return for_update(db, source_id or 0)


def for_update(db: Database, source_id: int) -> SourceForUpdate:
    with db.session() as s:
        (loaded,) = load_for_update(s, [source_id], utcnow())
    return loaded


def stored(db: Database) -> int:
    with db.session() as s:
        return s.exec(select(func.count()).select_from(Item)).one()


@pytest.mark.parametrize("how", ["one document", "many documents"])
def test_entries_past_the_cap_are_not_read_and_the_cut_is_said(
    db: Database, caplog: pytest.LogCaptureFixture, how: str
) -> None:
    pipeline = Pipeline(db=db, tagger=Tagger(TAXONOMY), max_entries=50)
    source = a_source(db)
    with caplog.at_level(logging.WARNING, logger="staycurrent.pipeline"):
        if how == "one document":
            result = pipeline.ingest_bytes(source, many_posts(200))
        else:
            (result,) = ingest_many(pipeline, [(source, many_posts(200))])
    assert not isinstance(result, Exception)
    assert result.items_new == 50
    assert stored(db) == 50
    assert result.reason is not None
    assert "holds 200 entries; only the first 50 were read" in result.reason
    with db.session() as s:
        titles = set(s.exec(select(Item.title)))
    assert titles == {f"Post number {n}" for n in range(50)}  # the first ones, in document order


def write_transactions(db: Database, work: Callable[[], object]) -> int:
    """How many transactions ``work`` committed."""
    commits: list[object] = []

    def count(_conn: object) -> None:
        commits.append(_conn)

    sqlalchemy.event.listen(db.engine, "commit", count)
    try:
        work()
    finally:
        sqlalchemy.event.remove(db.engine, "commit", count)
    return len(commits)


def test_a_large_document_is_stored_in_transactions_that_let_other_writers_in(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline_module, "STORE_BATCH", 10)
    pipeline = Pipeline(db=db, tagger=Tagger(TAXONOMY))
    small, large = a_source(db, "small"), a_source(db, "large")
    one = write_transactions(db, lambda: pipeline.ingest_bytes(small, many_posts(5, "s")))
    four = write_transactions(db, lambda: pipeline.ingest_bytes(large, many_posts(35, "l")))
    assert (one, four) == (one, 4 * one)  # 35 items in batches of 10: four transactions
    assert stored(db) == 40
    again = pipeline.ingest_bytes(for_update(db, large.id), many_posts(35, "l"))
    assert again.outcome == "unchanged"  # the content hash was written with the last batch


def test_a_write_waits_out_another_process_holding_the_database(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "SQLITE_BUSY_TIMEOUT_MS", 100)
    monkeypatch.setattr(engine, "LOCKED_RETRY_PAUSE_SECONDS", 0.3)
    db = Database(sqlite_url)
    source = a_source(db)
    path = sqlite_url.removeprefix("sqlite:///")
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")  # another process writing, past the busy timeout
    release = threading.Timer(0.5, holder.rollback)
    release.start()
    try:
        result = Pipeline(db=db, tagger=Tagger(TAXONOMY)).ingest_bytes(source, many_posts(3))
    finally:
        release.join()
        holder.close()
    assert result.items_new == 3
    assert stored(db) == 3
