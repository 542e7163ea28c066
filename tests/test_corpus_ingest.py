"""Every file of ../shared/corpus through the whole pipeline into a real database.

Each ingests or is refused with a typed reason; nothing crashes; arXiv ids are extracted; arXiv
listings that overlap give no duplicates; the same bytes twice change nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import corpus_files
from sqlmodel import col, func, select

from service.catalog import load_catalog
from service.errors import ParseError
from service.ingest.bulk import ingest_many
from service.ingest.pipeline import Pipeline
from service.ingest.tag import Tagger
from service.records import SourceForUpdate
from service.storage.catalog import sync_taxonomy
from service.storage.engine import Database
from service.storage.migrate import upgrade
from service.storage.models import Item, ItemSource, ItemTag, Source, Tag
from service.storage.sources import add_source, for_update

ROOT = Path(__file__).resolve().parent.parent
CATALOG = load_catalog(ROOT / "feeds.yaml")
ARXIV_FOLDERS = {"arxiv_api", "arxiv_listing"}
KIND_BY_FOLDER = {"arxiv_api": "paper", "arxiv_listing": "paper", "podcast": "podcast"}


def _source(db: Database, path: Path, suffix: str = "") -> SourceForUpdate:
    folder = path.parent.name
    with db.write() as s:
        row = add_source(
            s,
            name=f"{folder}/{path.name}{suffix}",
            url=f"https://corpus.example/{folder}/{path.name}{suffix}",
            kind=KIND_BY_FOLDER.get(folder, "post"),  # type: ignore[arg-type]
            origin="local",
        )
        return for_update(row)


def _ingest_all(db: Database, pipeline: Pipeline, corpus: Path) -> dict[Path, str]:
    outcomes: dict[Path, str] = {}
    for path in corpus_files():
        try:
            result = pipeline.ingest_bytes(_source(db, path), path.read_bytes())
            outcomes[path] = result.outcome
        except ParseError as exc:
            assert exc.reason, path
            outcomes[path] = f"refused: {exc.reason}"
    return outcomes


@pytest.fixture
def pipeline(db: Database) -> Pipeline:
    with db.write() as s:
        sync_taxonomy(s, CATALOG.taxonomy)
    return Pipeline(db=db, tagger=Tagger(CATALOG.taxonomy))


@pytest.mark.corpus
def test_every_corpus_file_ingests_or_is_refused_with_a_reason(
    db: Database, pipeline: Pipeline, corpus: Path
) -> None:
    outcomes = _ingest_all(db, pipeline, corpus)
    assert len(outcomes) == len(corpus_files()) > 50
    refused = {p.name: o for p, o in outcomes.items() if o.startswith("refused")}
    # Refused: the OPML lists (imported elsewhere), an arXiv API error, and an XML declaration that
    # is not XML. Everything else, broken or odd, yields its entries.
    opml = {p.name for p in corpus_files() if p.suffix == ".opml"}
    assert len(opml) >= 3
    assert set(refused) == opml | {
        "arxivpy_idlist_abc_error_http400.atom.xml",
        "broken_dylanharris_bogus_xml_decl_rss_prefix.xml",
    }, refused
    for name in opml:
        assert (
            refused[name]
            == "refused: not a feed: the document is an OPML subscription list (import it)"
        )
    assert refused["arxivpy_idlist_abc_error_http400.atom.xml"] == (
        "refused: the arXiv API returned an error: incorrect id format for abc"
    )
    with db.session() as s:
        stored = s.exec(select(func.count()).select_from(Item)).one()
    assert stored > 1000


@pytest.mark.corpus
def test_arxiv_files_give_papers_with_ids_and_no_duplicates(
    db: Database, pipeline: Pipeline, corpus: Path
) -> None:
    arxiv_files = [p for p in corpus_files() if p.parent.name in ARXIV_FOLDERS]
    assert len(arxiv_files) >= 8
    # every listing twice, as two sources (a cross-listing overlap): still one item per paper
    for suffix in ("", " (mirror)"):
        for path in arxiv_files:
            try:
                pipeline.ingest_bytes(_source(db, path, suffix), path.read_bytes())
            except ParseError:
                assert "error_http400" in path.name
    with db.session() as s:
        items = s.exec(select(Item)).all()
        ids = [i.arxiv_id for i in items]
        sightings = s.exec(select(func.count()).select_from(ItemSource)).one()
    assert all(ids), [i.title for i in items if not i.arxiv_id]
    assert len(ids) == len(set(ids))
    assert len(items) >= 50
    assert sightings == 2 * len(items)
    assert "1605.08386" in ids
    assert any((i or "").startswith("1805.") for i in ids)  # from the old RDF listing of 2018
    for item in items:
        assert item.url == f"https://arxiv.org/abs/{item.arxiv_id}"
        assert item.arxiv_categories, item.arxiv_id


@pytest.mark.corpus
def test_the_same_bytes_twice_change_nothing(
    db: Database, pipeline: Pipeline, corpus: Path
) -> None:
    _ingest_all(db, pipeline, corpus)
    with db.session() as s:
        before = s.exec(
            select(Item.id, Item.content_hash, Item.changed_at).order_by(col(Item.id))
        ).all()
        sources = s.exec(select(Source).where(col(Source.content_hash).is_not(None))).all()
        again = [for_update(src) for src in sources]
    for source in again:
        path = next(p for p in corpus_files() if source.name == f"{p.parent.name}/{p.name}")
        assert pipeline.ingest_bytes(source, path.read_bytes()).outcome == "unchanged"
    with db.session() as s:
        after = s.exec(
            select(Item.id, Item.content_hash, Item.changed_at).order_by(col(Item.id))
        ).all()
    assert after == before


@pytest.mark.corpus
def test_ml_papers_almost_all_get_an_area(db: Database, pipeline: Pipeline, corpus: Path) -> None:
    for path in corpus_files():
        if path.parent.name in ARXIV_FOLDERS and "error" not in path.name:
            pipeline.ingest_bytes(_source(db, path), path.read_bytes())
    # papers listed in an ML category (the API search for "testing" also returns software testing,
    # statistics and physics papers, which need not get an ML area)
    ml = {"cs.LG", "cs.AI", "cs.CL", "cs.CV", "stat.ML", "cs.NE", "cs.IR", "cs.RO", "eess.AS"}
    with db.session() as s:
        papers = [p for p in s.exec(select(Item)) if ml & set(p.arxiv_categories)]
        tagged = set(s.exec(select(ItemTag.item_id)))
    assert len(papers) >= 30
    share = sum(p.id in tagged for p in papers) / len(papers)
    assert share >= 0.95, [(p.title, p.arxiv_categories) for p in papers if p.id not in tagged]


def _snapshot(db: Database) -> list[tuple[str, str, str | None, tuple[str, ...]]]:
    with db.session() as s:
        tags: dict[int, list[str]] = {}
        for item_id, slug in s.exec(select(ItemTag.item_id, Tag.slug).join(Tag)):
            tags.setdefault(item_id, []).append(slug)
        return sorted(
            (i.canonical_key, i.title, i.arxiv_id, tuple(sorted(tags.get(i.id or 0, []))))
            for i in s.exec(select(Item))
        )


@pytest.mark.corpus
def test_parallel_ingest_stores_exactly_what_serial_ingest_stores(
    sqlite_url: str, tmp_path: Path, corpus: Path
) -> None:
    serial, parallel = Database(sqlite_url), Database(f"sqlite:///{tmp_path / 'parallel.db'}")
    upgrade(parallel)  # the serial database comes migrated from the template
    outcomes = {}
    for db in (serial, parallel):
        with db.write() as s:
            sync_taxonomy(s, CATALOG.taxonomy)
        pipeline = Pipeline(db=db, tagger=Tagger(CATALOG.taxonomy))
        documents = [(_source(db, path), path.read_bytes()) for path in corpus_files()]
        if db is serial:
            results: list[object] = []
            for source, body in documents:
                try:
                    results.append(pipeline.ingest_bytes(source, body).outcome)
                except ParseError as exc:
                    results.append(exc.reason)
        else:
            results = [
                r.reason if isinstance(r, ParseError) else r.outcome
                for r in ingest_many(pipeline, documents)
            ]
        outcomes[db is serial] = results
    assert outcomes[True] == outcomes[False]
    assert _snapshot(parallel) == _snapshot(serial)
    assert len(_snapshot(serial)) > 1000
    serial.dispose()
    parallel.dispose()
