"""``ingest.bulk.ingest_many``: documents from any iterable, read a bounded way ahead of storage,
no process started when nothing changed; and the records it sends between processes."""

from __future__ import annotations

import copyreg
import os
import pickle
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from feedgen import Post, arxiv_listing, blog, random_papers
from sqlmodel import col, func, select

from service.catalog import load_catalog
from service.errors import ParseError
from service.ingest.bulk import ingest_many
from service.ingest.pipeline import Pipeline, process_document
from service.ingest.tag import Tagger
from service.records import SourceForUpdate
from service.storage.engine import Database
from service.storage.models import Source
from service.storage.sources import add_source, for_update

ROOT = Path(__file__).resolve().parent.parent
TAXONOMY = load_catalog(ROOT / "feeds.yaml").taxonomy


def _documents(db: Database, count: int) -> list[tuple[SourceForUpdate, bytes]]:
    with db.write() as s:
        sources = [
            for_update(
                add_source(
                    s, name=f"f{n}", url=f"https://f{n}.example/", kind="post", origin="local"
                )
            )
            for n in range(count)
        ]
    return [
        (
            source,
            blog(
                f"F{n}",
                f"https://f{n}.example/",
                [Post(f"g{n}", f"Post {n}", f"https://f{n}.example/p")],
            ),
        )
        for n, source in enumerate(sources)
    ]


def _stored_documents(db: Database) -> int:
    with db.session() as s:
        query = (
            select(func.count()).select_from(Source).where(col(Source.content_hash).is_not(None))
        )
        return int(s.exec(query).one())


def test_documents_are_read_at_most_ahead_of_storage(db: Database) -> None:
    documents = _documents(db, 12)
    in_flight: list[int] = []

    def lazily() -> Iterator[tuple[SourceForUpdate, bytes]]:
        for number, document in enumerate(documents):
            in_flight.append(number + 1 - _stored_documents(db))  # read, not yet stored
            yield document

    results = ingest_many(Pipeline(db=db, tagger=Tagger(TAXONOMY)), lazily(), processes=2, ahead=3)
    assert [r.outcome for r in results if not isinstance(r, ParseError)] == ["updated"] * 12
    assert max(in_flight) == 3
    assert _stored_documents(db) == 12


def test_unchanged_documents_start_no_process(db: Database) -> None:
    pipeline = Pipeline(db=db, tagger=Tagger(TAXONOMY))
    documents = _documents(db, 3)
    ingest_many(pipeline, documents)
    with db.session() as s:
        again = [(for_update(s.get_one(Source, src.id)), body) for src, body in documents]
    forks: list[int] = []
    os.register_at_fork(after_in_parent=lambda: forks.append(1))
    results = ingest_many(pipeline, again)
    assert [r.outcome for r in results if not isinstance(r, ParseError)] == ["unchanged"] * 3
    assert forks == []


@pytest.mark.parametrize(
    "body",
    [
        arxiv_listing("cs.LG", random_papers(5)),
        blog("B", "https://b.example/", [Post("g", "A post about RL", "https://b.example/p")]),
    ],
    ids=("arxiv", "blog"),
)
def test_processed_documents_survive_pickling_whole(body: bytes) -> None:
    source = SourceForUpdate(id=1, name="s", url="https://s.example/feed", kind="post")
    processed = process_document(body, source, datetime.now(UTC), Tagger(TAXONOMY))
    assert processed.items and processed.feed.entries
    for value in (processed, processed.feed, *processed.feed.entries, *processed.items, source):
        assert pickle.loads(pickle.dumps(value)) == value
    # what crosses the pool pickles as its class and field values (the cheap way)
    crossing = (processed, processed.feed, *processed.items, processed.items[0].item, source)
    for value in crossing:
        record, fields = copyreg.dispatch_table[type(value)](value)
        assert record is type(value) and record(*fields) == value
