"""The fast dial order (rank/order.py) gives exactly the reference order (rank/select.py).

Over many generated pools (ties in scores, dates and tag scores, every kind, keywords and
negatives, followed authors, likes and dislikes, kind weights of 0 and 2, every depth) and over a
generated corpus read by the loader: the same RankedItems (positions, scores, whys), the same
metrics, the same count and exclusions, pages cut anywhere, and the same positions by id.
"""

from __future__ import annotations

import dataclasses
import random
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from corpusgen import AREAS as CORPUS_AREAS
from corpusgen import generate_corpus
from rankbuild import NOW, TOPIC_ROWS, candidate, pool, source, tag

from service.rank.loader import CandidateQuery, load_pool
from service.rank.model import CandidatePool, FeedbackEvent, Preferences, WindowMemo
from service.rank.order import dial_order
from service.rank.select import dial_feed, score_pool
from service.storage.engine import Database

SLUGS = tuple(row[0] for row in TOPIC_ROWS)
WORDS = ("survey", "transformer", "robotics", "mixture of experts", "LLM", "news", "agents")
KINDS = ("paper", "post", "podcast", "video")
LEVELS = ("research", "practitioner", "overview")
AUTHORS = ("Yoshua Bengio", "Ada Lovelace", "A. Turing", "Grace Hopper")


def _text(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(0, 4)))


def _candidates(rng: random.Random, count: int) -> list:  # type: ignore[type-arg]
    found = []
    for item_id in rng.sample(range(1, 10 * count + 10), count):
        tags = [
            tag(slug, rng.choice((0.3, 0.5, 0.7, 0.9, 1.0)))
            for slug in rng.sample(SLUGS, rng.randint(0, 3))
        ]
        sources = [
            source(
                rng.randint(1, 6), level=rng.choice(LEVELS), weight=rng.choice((0.5, 1.0, 1.5, 3.0))
            )
            for _ in range(rng.randint(0, 2))
        ]
        found.append(
            candidate(
                item_id,
                kind=rng.choice(KINDS),
                tags=tags,
                sources=sources,
                title=_text(rng),
                summary=_text(rng),
                hours_old=rng.choice((0.0, 1.0, 5.5, 30.0, 100.0, rng.uniform(-2, 200))),
                authors=rng.sample(AUTHORS, rng.randint(0, 2)),
                covered_by=rng.choice((0, 0, 1, 3)),
                feedback=frozenset({"hide"}) if rng.random() < 0.03 else frozenset(),
            )
        )
    return found


def _events(rng: random.Random) -> list[FeedbackEvent]:
    return [
        FeedbackEvent(
            sign=rng.choice((1, -1)),
            at=NOW - timedelta(days=rng.uniform(0, 60)),
            topics=tuple((slug, 0.9) for slug in rng.sample(SLUGS, 2)),
            source_ids=(rng.randint(1, 6),),
            authors=tuple(rng.sample(AUTHORS, 1)),
        )
        for _ in range(rng.choice((0, 0, 1, 4)))
    ]


def _preferences(rng: random.Random) -> Preferences:
    return Preferences(
        interests={s: rng.choice((0.5, 1.0, 2.0)) for s in rng.sample(SLUGS, rng.randint(0, 3))},
        keywords=tuple(
            rng.choice(("", "-")) + w for w in rng.sample(WORDS, rng.choice((0, 0, 1, 2)))
        ),
        authors=tuple(rng.sample(AUTHORS, rng.choice((0, 0, 1)))),
        kind_weights=rng.choice(({}, {"podcast": 0.0}, {"paper": 2.0, "post": 0.5})),
        depth=rng.choice((0.0, 0.15, 0.5, 0.85, 1.0, rng.random())),
        window_days=rng.choice((1, 7, 30)),
    )


def assert_same_order(pool_: CandidatePool, preferences: Preferences, now: datetime) -> None:
    reference = dial_feed(score_pool(pool_, preferences, now=now), preferences.depth, k=10)
    fast = dial_order(pool_, preferences, now=now, k=10)
    assert len(fast) == len(reference)
    assert fast.excluded == reference.excluded
    assert fast.metrics == reference.metrics
    assert fast.items(0, 7) == reference.items(0, 7)
    middle = len(reference) // 2
    again = dial_order(pool_, preferences, now=now, k=10)
    assert again.items(middle, middle + 5) == reference.items(middle, middle + 5)
    assert fast.items() == reference.items()
    for pick in reference.picks[:: max(1, len(reference) // 7)]:
        item_id = pick.entry.candidate.id
        assert again.index_of(item_id) == reference.index_of(item_id)
    assert again.index_of(-1) is None


@pytest.mark.parametrize("seed", range(120))
def test_the_fast_order_is_the_reference_order(seed: int) -> None:
    rng = random.Random(seed)
    candidates = _candidates(rng, rng.choice((0, 1, 5, 40, 150)))
    assert_same_order(pool(candidates, _events(rng)), _preferences(rng), NOW)


@pytest.fixture(scope="module")
def corpus_pool(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[CandidatePool, datetime]:
    path = tmp_path_factory.mktemp("order") / "corpus.db"
    shutil.copy(sqlite_template, path)
    db = Database(f"sqlite:///{path}")
    corpus = generate_corpus(db, items=3000, seed=3)
    with db.session() as session:
        found = load_pool(session, CandidateQuery(at=corpus.now, window_days=7))
    db.dispose()
    return found, corpus.now


@pytest.mark.parametrize("seed", range(12))
def test_the_fast_order_is_the_reference_order_on_a_corpus(
    corpus_pool: tuple[CandidatePool, datetime], seed: int
) -> None:
    rng = random.Random(seed)
    found, now = corpus_pool
    preferences = Preferences(
        interests={a: rng.choice((0.5, 1.0)) for a in rng.sample(CORPUS_AREAS, rng.randint(0, 4))},
        keywords=rng.choice(((), ("LLM", "-robotics"), ("benchmark",))),
        depth=rng.choice((0.0, 0.3, 0.5, 0.85, 1.0)),
    )
    assert_same_order(found, preferences, now)


def test_one_window_memo_serves_every_profile_and_instant() -> None:
    """Keyword matches and qualities remembered for one profile (and instant) are the ones the
    next profile would compute: 40 profiles at 7 instants share one memo, each as the reference."""
    rng = random.Random(99)
    candidates = _candidates(rng, 150)
    shared = dataclasses.replace(
        pool(candidates, _events(rng)), memo=WindowMemo(c.id for c in candidates)
    )
    for n in range(40):
        now = NOW + timedelta(hours=n % 7)  # more instants than the memo keeps
        preferences = _preferences(rng)
        assert_same_order(dataclasses.replace(shared, events=tuple(_events(rng))), preferences, now)
    assert shared.memo is not None
    assert 0 < len(shared.memo.clocks) <= WindowMemo.MAX_CLOCKS
