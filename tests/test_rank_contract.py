"""The measured contract of the dial over a realistic generated corpus (several seeds, profiles).

The check itself is ``service.rank.contract.check_dial`` — the same function ``staycurrent feed
--dial`` runs on a real database, so the contract can be re-measured on the real corpus.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest
from corpusgen import AREAS, generate_corpus

from service.rank.contract import DIAL, check_dial, dial_violations
from service.rank.loader import CandidateQuery, load_pool
from service.rank.model import CandidatePool, Preferences
from service.storage.engine import Database

PROFILES = {
    "researcher": Preferences(interests={"nlp": 1.0, "safety-alignment": 0.7}),
    "one-subtopic": Preferences(interests={"diffusion-models": 1.0}),
    "sparse-areas": Preferences(interests={"causal-inference": 1.0, "time-series": 1.0}),
    "keywords-and-authors": Preferences(
        interests={"computer-vision": 1.0, "robotics": 0.5},
        keywords=("quantization", "-diffusion"),
        authors=("Yoshua Bengio",),
    ),
    "many-areas": Preferences(
        interests={"nlp": 1.0, "computer-vision": 1.0, "reinforcement-learning": 1.0, "robotics": 1}
    ),
    "podcast-lover": Preferences(
        interests={"ml-systems": 1.0}, kind_weights={"podcast": 2.0, "paper": 0.5}
    ),
}
SEEDS = (7, 11, 2026)


@pytest.fixture(scope="module", params=SEEDS)
def generated(
    request: pytest.FixtureRequest, sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[CandidatePool, datetime]:
    path = tmp_path_factory.mktemp(f"contract{request.param}") / "corpus.db"
    shutil.copy(sqlite_template, path)
    db = Database(f"sqlite:///{path}")
    corpus = generate_corpus(db, items=2500, seed=request.param)
    with db.session() as session:
        pool = load_pool(session, CandidateQuery(at=corpus.now, window_days=7))
    db.dispose()
    return pool, corpus.now


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_the_dial_contract_holds(generated: tuple[CandidatePool, datetime], name: str) -> None:
    pool, now = generated
    report = check_dial(pool, PROFILES[name], now=now)
    assert report.holds, "\n".join(report.violations)
    assert [m.depth for m in report.metrics] == list(DIAL)


def test_the_corpus_exercises_every_clause(generated: tuple[CandidatePool, datetime]) -> None:
    pool, now = generated
    metrics = check_dial(pool, PROFILES["researcher"], now=now).metrics
    broad, deep = metrics[0], metrics[-1]
    assert deep.matching_available >= 20  # so the focus clause at depth 1 is really tested
    assert broad.areas_available >= 14 and len(AREAS) >= 14
    assert deep.focus >= 0.9 and broad.coverage >= 0.8
    assert broad.focus < deep.focus and broad.coverage > deep.coverage  # the dial really moves


def test_the_contract_catches_a_dial_turned_the_wrong_way(
    generated: tuple[CandidatePool, datetime],
) -> None:
    pool, now = generated
    metrics = check_dial(pool, PROFILES["researcher"], now=now).metrics
    turned = [replace(m, depth=d) for d, m in zip(DIAL, reversed(metrics), strict=True)]
    assert dial_violations(turned)
