"""Item vectors in storage (SQLite and PostgreSQL): made at ingest, kept with the item, given to
items stored before them by migration 0004 and the backfill, and used by "more like this"."""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from apikit import make_api
from clikit import cli_on
from conftest import CORPUS
from sqlmodel import col, select

import service.ingest.pipeline as pipeline_module
from service.catalog import load_catalog
from service.cli.common import database
from service.config import Settings
from service.errors import ModelError
from service.ingest.backfill import backfill_items
from service.ingest.bulk import ingest_many
from service.ingest.embed import Embedder, from_blob, shared_embedder
from service.ingest.pipeline import Pipeline
from service.ingest.tag import Tagger
from service.outputs.similar import similar_items
from service.records import SourceForUpdate
from service.storage.catalog import sync_taxonomy
from service.storage.engine import Database
from service.storage.migrate import upgrade
from service.storage.models import Item, ItemLink
from service.storage.search import search_items
from service.storage.sources import add_source, for_update
from service.storage.views import ItemFilter
from service.vocabulary import MODEL_NAME

ROOT = Path(__file__).resolve().parent.parent
CATALOG = load_catalog(ROOT / "feeds.yaml")
HF_DAILY = CORPUS / "blog" / "blog_huggingface_daily_papers_feedgen.xml"


def _source(db: Database, name: str, kind: str = "post") -> SourceForUpdate:
    with db.write() as s:
        row = add_source(
            s,
            name=name,
            url=f"https://corpus.example/{name}",
            kind=kind,
            origin="local",  # type: ignore[arg-type]
        )
        return for_update(row)


def _pipeline(db: Database, *, vectors: bool = True) -> Pipeline:
    with db.write() as s:
        sync_taxonomy(s, CATALOG.taxonomy)
    return Pipeline(db=db, tagger=Tagger(CATALOG.taxonomy), vectors=vectors)


@pytest.mark.corpus
def test_ingest_gives_every_item_a_unit_vector_of_the_shipped_model(db: Database) -> None:
    _pipeline(db).ingest_bytes(_source(db, "hf"), HF_DAILY.read_bytes())
    with db.session() as s:
        items = list(s.exec(select(Item)))
    assert len(items) == 22
    assert {i.vector_model for i in items} == {MODEL_NAME}
    norms = [float(np.linalg.norm(from_blob(i.vector or b""))) for i in items]
    assert norms == pytest.approx([1.0] * len(items), abs=1e-4)
    again = shared_embedder().embed([f"{items[0].title}\n{items[0].summary_text}"])[0]
    assert from_blob(items[0].vector or b"") == pytest.approx(again, abs=1e-6)


@pytest.mark.corpus
def test_more_like_this_is_best_first_explained_and_bounded_by_time(db: Database) -> None:
    _pipeline(db).ingest_bytes(_source(db, "hf"), HF_DAILY.read_bytes())
    with db.session() as s:
        target = s.exec(select(Item).where(col(Item.title).contains("Evaluator Vision"))).one()
        assert target.id is not None
        found = similar_items(s, target.id, limit=5, days=30)
        narrow = similar_items(s, target.id, limit=5, days=1)
    assert found.items and found.note is None
    sims = [x.similarity for x in found.items]
    assert sims == sorted(sims, reverse=True) and all(0.3 <= x <= 1 for x in sims)
    assert target.id not in {x.view.item.id for x in found.items}
    assert all(f"similar in meaning: {x.similarity:.2f}" in x.why for x in found.items)
    published = {x.view.item.published_at for x in narrow.items}
    assert all(abs((p - target.published_at).days) <= 1 for p in published)
    assert len(narrow.items) < len(found.items) or len(found.items) == 5


# --------------------------------------------------------------------------- migration 0004


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def old_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A database at revision 0001 (before vectors), fresh for this test."""
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path}/old.db")
        upgrade(db, "0001")
        yield db
        db.dispose()
        return
    admin_url = os.environ.get("STAYCURRENT_TEST_POSTGRES_URL")
    if not admin_url:
        pytest.skip("PostgreSQL tests need STAYCURRENT_TEST_POSTGRES_URL")
    admin = sa.create_engine(
        admin_url.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
    )
    name = f"sc_old_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    db = Database(admin.url.set(database=name).render_as_string(hide_password=False))
    upgrade(db, "0001")
    yield db
    db.dispose()
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


_OLD_ROWS = [
    (
        "url:https://tldr.example/a",
        "post",
        "Paper of the day: a harness for agents",
        "Summary at https://tldr.takara.ai/p/2604.21003 and doi:10.48550/arXiv.2604.21523",
    ),
    (
        "url:https://blog.example/harness",
        "post",
        "Notes on agent harnesses",
        "I read &ldquo;The Last Harness You&#39;ll Ever Build&rdquo; this week.",
    ),
    (
        "arxiv:2604.21003",
        "paper",
        "The Last Harness You'll Ever Build",
        "A harness for agents that improves itself.",
    ),
]


def _insert_old_items(db: Database) -> None:
    when = datetime(2026, 4, 23, tzinfo=UTC).replace(tzinfo=None)
    with db.engine.begin() as conn:
        for key, kind, title, summary in _OLD_ROWS:
            arxiv_id = key.removeprefix("arxiv:") if kind == "paper" else None
            conn.execute(
                sa.text(
                    "INSERT INTO item (canonical_key, kind, title, summary_text, summary_html,"
                    " authors, authors_text, published_at, first_seen_at, changed_at,"
                    " content_hash, arxiv_categories, arxiv_id) VALUES (:k, :kind, :t, :s, :s,"
                    " '[]', '', :w, :w, :w, '', '[]', :a)"
                ),
                {"k": key, "kind": kind, "t": title, "s": summary, "w": when, "a": arxiv_id},
            )


def test_migration_0004_upgrades_a_populated_database_and_the_backfill_fills_it(
    old_db: Database,
) -> None:
    _insert_old_items(old_db)
    upgrade(old_db)
    with old_db.session() as s:
        ids = sorted(i for i in s.exec(select(Item.id)) if i is not None)
        assert [i.vector for i in s.exec(select(Item))] == [None, None, None]
    with old_db.write() as s:
        first = backfill_items(s, [*ids, 999], embedder=shared_embedder())
    assert (first.items, first.vectors, first.links) == (3, 3, 3)
    with old_db.write() as s:
        second = backfill_items(s, ids, embedder=shared_embedder())
    assert (second.vectors, second.links) == (0, 0)  # idempotent
    with old_db.session() as s:
        links = {(link.item_id, link.arxiv_id) for link in s.exec(select(ItemLink))}
        # by id (a takara TLDR link, an arXiv DOI), and by a quoted title
        assert links == {(ids[0], "2604.21003"), (ids[0], "2604.21523"), (ids[1], "2604.21003")}
        assert all(i.vector_model == MODEL_NAME for i in s.exec(select(Item)))
        # full-text search still follows the rows the backfill rewrote
        assert [v.item.id for v in search_items(s, "harness", ItemFilter()).items] != []


def test_the_backfill_without_a_model_still_links(db: Database) -> None:
    _insert_old_items(db)
    with db.write() as s:
        ids = [i for i in s.exec(select(Item.id)) if i is not None]
        done = backfill_items(s, ids, embedder=None)
    assert (done.vectors, done.links) == (0, 3)


def test_the_api_lists_similar_items_once_the_backfill_made_vectors(
    db: Database, make_settings: Callable[..., Settings]
) -> None:
    api = make_api(db, make_settings, items=60)
    first = api.client.get("/v1/items/1/similar")
    assert first.status_code == 200 and first.json()["items"] == []
    assert "backfill" in first.json()["note"]
    with db.write() as s:
        ids = [i for i in s.exec(select(Item.id)) if i is not None]
        backfill_items(s, ids, embedder=shared_embedder())
    body = api.client.get("/v1/items/1/similar", params={"limit": 4, "days": 90}).json()
    assert body["item_id"] == 1 and body["model"] == MODEL_NAME and body["note"] is None
    assert 1 <= len(body["items"]) <= 4 and 1 not in [i["id"] for i in body["items"]]
    sims = [i["similarity"] for i in body["items"]]
    assert sims == sorted(sims, reverse=True)
    assert api.client.get("/v1/items/999999/similar").status_code == 404
    assert api.client.get("/v1/items/1/similar", params={"limit": 0}).status_code == 422


@pytest.mark.corpus
def test_ingest_in_a_pool_of_processes_makes_the_vectors_there(db: Database) -> None:
    pipeline = _pipeline(db)
    [result] = ingest_many(pipeline, [(_source(db, "hf"), HF_DAILY.read_bytes())], processes=1)
    assert not isinstance(result, Exception) and result.items_new == 22
    with db.session() as s:
        models = [i.vector_model for i in s.exec(select(Item))]
    assert models == [MODEL_NAME] * 22


def test_without_vectors_ingest_stores_none(db: Database) -> None:
    _pipeline(db, vectors=False).ingest_bytes(_source(db, "hf"), HF_DAILY.read_bytes())
    with db.session() as s:
        assert {i.vector for i in s.exec(select(Item))} == {None}


def test_tags_rebuild_backfills_then_the_cli_lists_similar_items(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STAYCURRENT_FEEDS_FILE", str(ROOT / "feeds.yaml"))  # the taxonomy
    with cli_on(db_url, tmp_path, monkeypatch) as cli:
        db = database()
        _insert_old_items(db)
        before = cli("items", "similar", "1", "--json")
        assert before.exit_code == 0 and "backfill" in json.loads(before.stdout)["note"]
        done = cli("tags", "rebuild", "--batch", "2")
        assert done.exit_code == 0, done.output
        assert "re-linked 3 items, each with its vector" in done.stdout
        with db.session() as s:
            assert len(list(s.exec(select(ItemLink)))) == 3
        found = json.loads(cli("items", "similar", "3", "--json", "--days", "5").stdout)
        assert found["note"] is None and found["items"][0]["similarity"] >= 0.3
        assert cli("items", "similar", "99").exit_code != 0


def test_a_model_that_cannot_be_read_leaves_ingest_going_without_vectors(
    db: Database, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken() -> Embedder:
        raise ModelError("the embedding model could not be read: corrupt file")

    monkeypatch.setattr(pipeline_module, "shared_embedder", broken)
    monkeypatch.setattr(pipeline_module, "_embedder_failed", False)
    pipeline = _pipeline(db)
    with caplog.at_level(logging.WARNING, logger="staycurrent.pipeline"):
        result = pipeline.ingest_bytes(_source(db, "hf"), HF_DAILY.read_bytes())
        pipeline.ingest_bytes(_source(db, "hf2"), HF_DAILY.read_bytes())
    assert result.items_new == 22
    with db.session() as s:
        assert {i.vector for i in s.exec(select(Item))} == {None}
    warnings = [r.getMessage() for r in caplog.records if "no vectors" in r.getMessage()]
    assert warnings == ["items get no vectors: the embedding model could not be read: corrupt file"]
