"""focus@k, coverage@k, an item's area, and the dial contract's checks (pure tables)."""

from __future__ import annotations

import pytest
from rankbuild import TOPICS, candidate, tag

from service.rank.contract import dial_violations
from service.rank.metrics import coverage_at, focus_at
from service.rank.model import FeedMetrics


@pytest.mark.parametrize(
    ("tags", "area"),
    [
        ([tag("llm", 0.9), tag("vision", 0.4)], "nlp"),
        ([tag("llm", 0.3), tag("detection", 0.8)], "vision"),
        ([tag("robotics", 0.5), tag("audio", 0.5)], "audio"),  # a tie goes to the first area
        ([], None),
    ],
)
def test_an_items_area_is_that_of_its_highest_scoring_tag(tags: list, area: str | None) -> None:
    assert candidate(1, tags=tags).area == area


NLP = [TOPICS.expand("nlp")]


@pytest.mark.parametrize(
    ("tag_lists", "k", "focus"),
    [
        ([["llm"], ["nlp"], ["vision"], ["audio"]], 4, 0.5),
        ([["llm"], ["nlp"], ["vision"], ["audio"]], 2, 1.0),
        ([["vision", "translation"]], 20, 1.0),  # any tag matching counts, not just the area
        ([["vision"]], 20, 0.0),
        ([], 20, 0.0),
    ],
)
def test_focus_at_k(tag_lists: list[list[str]], k: int, focus: float) -> None:
    ranked = [candidate(i, tags=[tag(s) for s in slugs]) for i, slugs in enumerate(tag_lists)]
    assert focus_at(ranked, NLP, k) == pytest.approx(focus)


@pytest.mark.parametrize(
    ("top_areas", "other_areas", "k", "expected"),
    [
        (["nlp", "vision"], ["audio", "theory"], 2, (1.0, 2, 4)),  # min(k, available) = 2
        (["nlp", "nlp", "vision"], ["audio"], 3, (2 / 3, 2, 3)),
        (["nlp"] * 5, ["vision", "audio", "theory", "robotics"], 20, (1 / 5, 1, 5)),
        ([], [], 20, (0.0, 0, 0)),
    ],
)
def test_coverage_at_k(
    top_areas: list[str], other_areas: list[str], k: int, expected: tuple[float, int, int]
) -> None:
    ranked = [candidate(i, tags=[tag(a)]) for i, a in enumerate(top_areas)]
    rest = [candidate(100 + i, tags=[tag(a)]) for i, a in enumerate(other_areas)]
    coverage, covered, available = coverage_at(ranked, ranked + rest, k)
    assert (round(coverage, 6), covered, available) == (round(expected[0], 6), *expected[1:])


def _m(depth: float, focus: float, coverage: float, technical: float = 0.5) -> FeedMetrics:
    return FeedMetrics(
        depth=depth,
        k=20,
        focus=focus,
        coverage=coverage,
        areas_covered=round(coverage * 16),
        areas_available=16,
        matching_available=100,
        mean_technical=technical,
    )


GOOD = [
    _m(0, 0.3, 1.0, 0.3),
    _m(0.25, 0.45, 0.9),
    _m(0.5, 0.6, 0.6),
    _m(0.75, 0.8, 0.3),
    _m(1, 1, 0.1, 0.9),
]


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({}, None),
        ({4: _m(1, 0.85, 0.1, 0.9)}, "depth 1: focus@20 is 0.85 < 0.9"),
        ({0: _m(0, 0.3, 0.75, 0.3)}, "depth 0: coverage@20 is 0.75 < 0.8"),
        ({2: _m(0.5, 0.4, 0.6)}, "from depth 0.25 to 0.5: focus falls from 0.45 to 0.40"),
        ({4: _m(1, 1, 0.1, 0.2)}, "mean technical level at depth 1 (0.20) is below"),
    ],
)
def test_dial_violations(change: dict[int, FeedMetrics], problem: str | None) -> None:
    metrics = [change.get(i, m) for i, m in enumerate(GOOD)]
    found = dial_violations(metrics)
    if problem is None:
        assert found == ()
    else:
        assert any(problem in line for line in found), found


def test_coverage_may_rise_by_at_most_a_step_tolerance() -> None:
    metrics = list(GOOD)
    metrics[2] = _m(0.5, 0.6, 0.95)  # +0.05 over depth 0.25: allowed
    assert dial_violations(metrics) == ()
    metrics[2] = _m(0.5, 0.6, 0.96)  # +0.06: refused
    assert any("coverage rises from 0.90 to 0.96" in line for line in dial_violations(metrics))


def test_focus_at_depth_one_is_only_required_with_enough_matches() -> None:
    thin = FeedMetrics(1, 20, 0.5, 0.1, 2, 16, 10, 0.9)  # only 10 candidates match
    assert dial_violations([GOOD[0], thin]) == ()
