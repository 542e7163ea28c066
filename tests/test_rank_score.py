"""Each part of the score, one table each (expected values worked out by hand from the docs),
computed by the array scorer over one-item or few-item pools."""

from __future__ import annotations

import math
from datetime import timedelta

import numpy as np
import pytest
from rankbuild import NOW, candidate, pool, source, tag

from service.rank.explain import parts_of
from service.rank.model import Candidate, FeedbackEvent, Preferences
from service.rank.score import (
    affinities,
    half_life_hours,
    relevance,
    score_pool,
)
from service.rank.window import author_key, coverage_boost, source_weight, technical_level


def _scores(items: list[Candidate], prefs: Preferences, events: list[FeedbackEvent] = ()):  # type: ignore[assignment]
    return score_pool(pool(items, events), prefs, now=NOW)


def _one(item: Candidate, prefs: Preferences, events: list[FeedbackEvent] = ()):  # type: ignore[assignment]
    scores = _scores([item], prefs, events)
    return scores, parts_of(scores, 0)


@pytest.mark.parametrize(
    ("interests", "tags", "score", "matched"),
    [
        ({"nlp": 1.0}, [tag("llm", 0.8)], 1.0, ("nlp",)),  # an area covers its subtopics
        ({"nlp": 1.0}, [tag("llm", 0.3)], 0.5, ("nlp",)),  # below 0.6: a partial match
        ({"llm": 1.0}, [tag("nlp", 0.9)], 0.0, ()),  # a subtopic does not cover its area
        ({"nlp": 1.0, "vision": 0.5}, [tag("detection", 1.0)], 0.75, ("vision",)),  # 0.5 + 0.5 w
        (
            {"nlp": 2.0, "vision": 1.0},
            [tag("nlp", 0.3), tag("vision", 1.0)],
            0.75,
            ("vision", "nlp"),
        ),
        ({"nlp": 1.0}, [tag("llm", 0.4), tag("translation", 0.7)], 1.0, ("nlp",)),
        ({"robotics": 1.0}, [tag("llm", 0.9)], 0.0, ()),
        ({}, [tag("llm", 0.9)], 0.0, ()),
        ({"nlp": 1.0}, [], 0.0, ()),
    ],
)
def test_topic_match(
    interests: dict[str, float], tags: list, score: float, matched: tuple[str, ...]
) -> None:
    scores, parts = _one(candidate(1, tags=tags), Preferences(interests=interests))
    assert float(scores.topic[0]) == pytest.approx(score)
    assert parts.matched_interests == matched


@pytest.mark.parametrize(
    ("keywords", "title", "summary", "score", "matched"),
    [
        (
            ["mixture of experts"],
            "Sparse Mixture-of-Experts at scale",
            "",
            1.0,
            ("mixture of experts",),
        ),
        (["diffusion"], "A new sampler", "Faster diffusion sampling.", 0.6, ("diffusion",)),
        (["RAG"], "Fragment assembly", "fragmented text", 0.0, ()),
        (["rag"], "Better RAG pipelines", "", 1.0, ("rag",)),
        (["agents", "diffusion"], "Agents", "diffusion too", 1.0, ("agents", "diffusion")),
        (["-robotics"], "Robotics news", "", 0.0, ()),
        ([], "Anything", "at all", 0.0, ()),
    ],
)
def test_keyword_match(
    keywords: list[str], title: str, summary: str, score: float, matched: tuple[str, ...]
) -> None:
    scores, parts = _one(
        candidate(1, title=title, summary=summary), Preferences(keywords=tuple(keywords))
    )
    assert float(scores.keyword[0]) == pytest.approx(score)
    assert parts.matched_keywords == matched


@pytest.mark.parametrize(
    ("keywords", "item", "excluded"),
    [
        (["-robotics"], candidate(1, tags=[tag("robotics")]), "robotics"),
        (["-robotics"], candidate(1, tags=[tag("manipulation")]), "robotics"),  # by its area
        (["-robotics"], candidate(1, title="Robotics at home"), "robotics"),
        (["-robotics"], candidate(1, summary="a robotics benchmark"), "robotics"),
        (["-robotics"], candidate(1, tags=[tag("llm")], title="Robots"), None),
        (["-large language"], candidate(1, title="Large-language models"), "large language"),
        (["robotics"], candidate(1, tags=[tag("robotics")]), None),  # positives never exclude
    ],
)
def test_negative_keywords_exclude(
    keywords: list[str], item: Candidate, excluded: str | None
) -> None:
    scores = _scores([item], Preferences(keywords=tuple(keywords)))
    assert bool(scores.kept[0]) == (excluded is None)


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("Yoshua Bengio", "bengio y"),
        ("Y. Bengio", "bengio y"),
        ("Bengio, Yoshua", "bengio y"),
        ("Jürgen Schmidhuber", "schmidhuber j"),
        ("Bengio", "bengio"),
        ("  ", ""),
    ],
)
def test_author_key(name: str, key: str) -> None:
    assert author_key(name) == key


@pytest.mark.parametrize(
    ("followed", "authors", "matched"),
    [
        (["Yoshua Bengio"], ["Y. Bengio", "A. Turing"], ("Y. Bengio",)),
        (["Bengio"], ["Samy Bengio"], ("Samy Bengio",)),
        (["Samy Bengio"], ["Yoshua Bengio"], ()),
        ([], ["Yoshua Bengio"], ()),
        (["Ada Lovelace"], [], ()),
    ],
)
def test_author_match(followed: list[str], authors: list[str], matched: tuple[str, ...]) -> None:
    scores, parts = _one(candidate(1, authors=authors), Preferences(authors=tuple(followed)))
    assert parts.matched_authors == matched
    assert float(scores.author[0]) == (1.0 if matched else 0.0)


def _event(sign: int, days_ago: float, **fields: object) -> FeedbackEvent:
    return FeedbackEvent(sign=sign, at=NOW - timedelta(days=days_ago), **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("events", "expected_llm"),
    [
        ([_event(1, 0, topics=(("llm", 1.0),))], math.tanh(0.5)),
        ([_event(1, 30, topics=(("llm", 1.0),))], math.tanh(0.25)),  # halves every 30 days
        ([_event(-1, 0, topics=(("llm", 0.5),))], math.tanh(-0.25)),
        ([_event(1, 0, topics=(("llm", 1.0),))] * 20, math.tanh(10)),  # bounded below 1
        ([_event(1, 0, topics=(("llm", 1.0),)), _event(-1, 0, topics=(("llm", 1.0),))], 0.0),
        ([], 0.0),
    ],
)
def test_topic_affinity_decays_and_stays_bounded(
    events: list[FeedbackEvent], expected_llm: float
) -> None:
    found = affinities(events, NOW)
    assert found.topics.get("llm", 0.0) == pytest.approx(expected_llm)
    assert all(-1 < value < 1 for value in found.topics.values())


def test_source_and_author_affinities() -> None:
    found = affinities([_event(-1, 0, source_ids=(3,), authors=("Yoshua Bengio",))], NOW)
    assert found.sources == {3: pytest.approx(math.tanh(-0.5))}
    assert found.authors == {"bengio y": pytest.approx(math.tanh(-0.5))}


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        ([], 0.0),
        # tag-score weighted topic affinity: tanh(0.5) on llm (1.0) of llm + nlp (1.5 in all)
        ([_event(1, 0, topics=(("llm", 1.0),))], 0.5 * math.tanh(0.5) / 1.5),
        ([_event(-1, 0, source_ids=(1,))], 0.3 * math.tanh(-0.5)),  # a disliked source
        ([_event(1, 0, source_ids=(1,))], 0.1 * math.tanh(0.5)),  # a liked one breaks ties only
        ([_event(1, 0, authors=("Yoshua Bengio",))], 0.2 * math.tanh(0.5)),
    ],
)
def test_feedback_affinity(events: list[FeedbackEvent], expected: float) -> None:
    item = candidate(
        1, tags=[tag("llm", 1.0), tag("nlp", 0.5)], sources=[source(1)], authors=["Y. Bengio"]
    )
    scores, _ = _one(item, Preferences(), events)
    assert float(scores.affinity[0]) == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize(
    ("topic", "keyword", "author", "affinity", "expected"),
    [
        (0, 0, 0, 0, 0.0),
        (1, 0, 0, 0, 1.0),
        (0, 1, 0, 0, 0.35),
        (0, 0, 1, 0, 0.5),
        (0.5, 1, 0, 0, 1 - 0.5 * 0.65),
        (0, 1, 1, 0, 1 - 0.65 * 0.5),
        (0, 0, 0, 1, 0.8),
        (0, 0, 0, 0.5, 0.4),
        (0.5, 0, 0, 0.5, 1 - 0.5 * 0.6),
        (0, 0, 0, -1, 0.0),
        (1, 0, 0, -1, 0.2),
        (0.9, 0, 0, -0.5, 0.5),
        (1, 1, 1, 1, 1.0),
    ],
)
def test_relevance(
    topic: float, keyword: float, author: float, affinity: float, expected: float
) -> None:
    found = relevance(
        *(np.array([value], dtype=np.float32) for value in (topic, keyword, author, affinity))
    )
    assert float(found[0]) == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize(
    ("kind", "levels", "title", "expected"),
    [
        ("paper", ["research"], "Sparse Experts for Translation", 1.0),
        ("paper", ["research"], "A Survey of Diffusion Models", 0.5 + 0.5 * 0.15),  # an overview
        ("post", ["research"], "Advancing agents", 0.5 * 0.55 + 0.5),
        ("post", ["practitioner"], "How we used RAG in production", 0.55),
        ("post", ["research"], "This week in AI: agents and more", 0.5 * 0.55 + 0.5 * 0.15),
        ("post", ["practitioner"], "The Weekly Issue #212", 0.5 * 0.55 + 0.5 * 0.15),
        ("podcast", ["overview"], "Episode 3: on agents", 0.5 * 0.3 + 0.5 * 0.15),
        ("video", ["research"], "Paper walkthrough: experts", 0.7),
        ("paper", [], "No source known", 1.0),
        ("post", [], "No source known", 0.55),
        ("post", ["overview", "research"], "Cross-posted", 0.775),  # the most technical source
    ],
)
def test_technical_level(kind: str, levels: list[str], title: str, expected: float) -> None:
    sources = [source(i, level=level) for i, level in enumerate(levels)]
    assert technical_level(kind, sources, title) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("hours_old", "half_life", "expected"),
    [(0, 48, 1.0), (48, 48, 0.5), (96, 48, 0.25), (-5, 48, 1.0), (12, 12, 0.5)],
)
def test_freshness(hours_old: float, half_life: float, expected: float) -> None:
    window = {48: 5, 12: 1}[int(half_life)]  # half-lives of 5- and 1-day windows
    assert half_life_hours(window) == pytest.approx(max(12.0, window * 24 * 0.35))
    scores = _scores([candidate(1, hours_old=hours_old)], Preferences(window_days=window))
    assert float(scores.freshness[0]) == pytest.approx(
        expected ** (half_life / half_life_hours(window)), rel=1e-5
    )


@pytest.mark.parametrize(("window", "hours"), [(7, 58.8), (1, 12.0), (30, 252.0)])
def test_half_life_follows_the_window(window: int, hours: float) -> None:
    assert half_life_hours(window) == pytest.approx(hours)


@pytest.mark.parametrize(
    ("weights", "expected"),
    [([], 0.0), ([1.0], 0.0), ([2.0], 1.0), ([0.5], -1.0), ([4.0], 1.0), ([0.5, 2.0], 1.0)],
)
def test_source_weight(weights: list[float], expected: float) -> None:
    sources = [source(i, weight=w) for i, w in enumerate(weights)]
    assert source_weight(sources) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("kind", "covered_by", "expected"),
    [("paper", 0, 0.0), ("paper", 1, 0.5), ("paper", 2, 0.75), ("post", 3, 0.0)],
)
def test_coverage_boost(kind: str, covered_by: int, expected: float) -> None:
    assert coverage_boost(kind, covered_by) == pytest.approx(expected)


def test_the_parts_together_and_what_matched() -> None:
    preferences = Preferences(
        interests={"nlp": 1.0},
        keywords=("experts",),
        authors=("Yoshua Bengio",),
        kind_weights={"paper": 1.5},
    )
    item = candidate(
        1, tags=[tag("llm", 0.3)], title="Sparse experts", authors=["Y. Bengio"], covered_by=1
    )
    _, parts = _one(item, preferences)
    assert (parts.topic, parts.keyword, parts.author) == pytest.approx((0.5, 1.0, 1.0))
    assert parts.relevance == pytest.approx(1 - 0.5 * 0.65 * 0.5)
    assert parts.matched_interests == ("nlp",)
    assert parts.matched_keywords == ("experts",)
    assert parts.matched_authors == ("Y. Bengio",)
    assert (parts.coverage, parts.kind_weight) == (0.5, 1.5)


def test_one_profiles_feedback_is_its_own() -> None:
    items = [candidate(n, tags=[tag("llm" if n % 2 else "vision", 0.9)]) for n in range(1, 9)]
    liked = [_event(1, 0, topics=(("vision", 1.0),))]
    plain = _scores(items, Preferences())
    with_likes = _scores(items, Preferences(), liked)
    assert np.array_equal(_scores(items, Preferences()).deep, plain.deep)  # nothing was kept
    assert not np.array_equal(with_likes.deep, plain.deep)
