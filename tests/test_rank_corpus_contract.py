"""The dial's measured contract on the real captures in ../shared/corpus, ingested end to end.

The corpus spans years of posts, a few days of arXiv listings and several podcasts; the window is
widened to hold all of it (the loader still caps candidates at its usual bound).
"""

from __future__ import annotations

import shutil
from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from conftest import corpus_files, skip_or_fail
from sqlmodel import func, select

from service.catalog import load_catalog
from service.errors import ParseError
from service.ingest.pipeline import Pipeline
from service.ingest.tag import Tagger
from service.ingest.topicmodel import TopicModel
from service.rank.contract import check_dial
from service.rank.dial import dial_order
from service.rank.loader import CandidateQuery, load_pool
from service.rank.model import CandidatePool, Preferences
from service.rank.window import OFF_TOPIC
from service.storage.catalog import sync_taxonomy
from service.storage.engine import Database
from service.storage.models import Item
from service.storage.sources import add_source, for_update

ROOT = Path(__file__).resolve().parent.parent
CATALOG = load_catalog(ROOT / "feeds.yaml")
LEVEL = {"arxiv_api": "research", "arxiv_listing": "research", "podcast": "overview"}
KIND = {"arxiv_api": "paper", "arxiv_listing": "paper", "podcast": "podcast"}

PROFILES = {
    "nlp researcher": Preferences(interests={"llm-nlp": 1.0}),
    "agents and safety": Preferences(interests={"agents": 1.0, "safety-alignment": 0.8}),
    "vision engineer": Preferences(interests={"computer-vision": 1.0, "ml-systems": 0.5}),
}


@pytest.fixture(scope="module")
def corpus_pool(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[CandidatePool, datetime]:
    if not corpus_files():
        skip_or_fail("the shared corpus is absent")
    path = tmp_path_factory.mktemp("corpus-contract") / "corpus.db"
    shutil.copy(sqlite_template, path)
    db = Database(f"sqlite:///{path}")
    with db.write() as s:
        sync_taxonomy(s, CATALOG.taxonomy)
    # Tagged as an installation tags: the shipped topic model beside the keyword rules.
    pipeline = Pipeline(db=db, tagger=Tagger(CATALOG.taxonomy, TopicModel.shipped()))
    for file in corpus_files():
        folder = file.parent.name
        with db.write() as s:
            row = add_source(
                s,
                name=file.name,
                url=f"https://corpus.example/{file.name}",
                kind=KIND.get(folder, "post"),  # type: ignore[arg-type]
                level=LEVEL.get(folder, "practitioner"),  # type: ignore[arg-type]
                origin="local",
            )
            source = for_update(row)
        try:
            pipeline.ingest_bytes(source, file.read_bytes())
        except ParseError:
            continue
    with db.session() as s:
        newest = s.exec(select(func.max(Item.published_at))).one()
        assert newest is not None
        now = newest + timedelta(hours=1)
        pool = load_pool(s, CandidateQuery(at=now, window_days=365 * 20))
    db.dispose()
    return pool, now


@pytest.mark.corpus
@pytest.mark.parametrize("name", sorted(PROFILES))
def test_the_dial_contract_holds_on_the_real_corpus(
    corpus_pool: tuple[CandidatePool, datetime], name: str
) -> None:
    pool, now = corpus_pool
    report = check_dial(pool, PROFILES[name], now=now)
    assert report.holds, "\n".join(report.violations)
    broad, deep = report.metrics[0], report.metrics[-1]
    assert broad.areas_available >= 10
    assert broad.coverage > deep.coverage or deep.coverage >= 0.8


@pytest.mark.corpus
@pytest.mark.parametrize("name", [*sorted(PROFILES), "no interests"])
def test_depth_zero_is_a_broad_tour_of_the_real_corpus(
    corpus_pool: tuple[CandidatePool, datetime], name: str
) -> None:
    """At most 4 of the top 20 from one source, at least 3 kinds (the corpus has papers, posts,
    podcasts and videos), no untagged or off-topic item; against the broad score alone, which
    lets one source take more."""
    pool, now = corpus_pool
    preferences = replace(PROFILES.get(name, Preferences()), depth=0.0)
    order = dial_order(pool, preferences, now=now)
    top = [item.candidate for item in order.items(0, 20)]
    per_source = Counter(c.sources[0].id for c in top)
    assert max(per_source.values()) <= 4, per_source
    assert order.metrics.kinds_available >= 3 and len({c.kind for c in top}) >= 3
    assert all(c.tags and max(t.score for t in c.tags) >= OFF_TOPIC for c in top)
    scores = order.scores
    alone = np.lexsort((scores.columns.ids[scores.rows], -scores.broad))[:20]
    baseline = Counter(pool.candidates[n].sources[0].id for n in alone.tolist())
    assert max(baseline.values()) > max(per_source.values())
