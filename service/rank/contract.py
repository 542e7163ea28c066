"""The measured contract of the depth dial, as a function any corpus can be checked with (pure).

Over the dial settings 0, 0.25, 0.5, 0.75, 1 (k = 20):

1. at depth 1, focus@k >= 0.9 wherever at least k candidates match an interest;
2. at depth 0, coverage@k >= 0.8 (wherever the candidates have an area at all);
3. from one setting to the next, focus never falls and coverage never rises by more than 0.05;
4. the mean technical level of the top k at depth 1 is at least that at depth 0.

``dial_metrics`` ranks one candidate pool at every setting; ``dial_violations`` checks the
numbers and returns each broken promise as a sentence (an empty tuple means the contract holds).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from service.rank.dial import DialOrder
from service.rank.metrics import DEFAULT_K
from service.rank.model import CandidatePool, FeedMetrics, Preferences
from service.rank.score import score_pool

DIAL: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0)
MIN_FOCUS_DEEP = 0.9
MIN_COVERAGE_BROAD = 0.8
STEP_TOLERANCE = 0.05
EPSILON = 1e-9


@dataclass(frozen=True, slots=True)
class DialReport:
    """The metrics at each dial setting and whatever the contract found wrong with them."""

    metrics: tuple[FeedMetrics, ...]
    violations: tuple[str, ...]

    @property
    def holds(self) -> bool:
        return not self.violations


def dial_metrics(
    pool: CandidatePool,
    preferences: Preferences,
    *,
    now: datetime,
    depths: Sequence[float] = DIAL,
    k: int = DEFAULT_K,
) -> tuple[FeedMetrics, ...]:
    """Rank ``pool`` at each depth of ``depths`` (the profile's other preferences unchanged)."""
    scores = score_pool(pool, preferences, now=now)
    return tuple(DialOrder(scores, depth, k).metrics for depth in depths)


def _ends(metrics: Sequence[FeedMetrics]) -> list[str]:
    problems: list[str] = []
    deep, broad = metrics[-1], metrics[0]
    if deep.matching_available >= deep.k and deep.focus < MIN_FOCUS_DEEP - EPSILON:
        problems.append(
            f"depth {deep.depth:g}: focus@{deep.k} is {deep.focus:.2f} < {MIN_FOCUS_DEEP} "
            f"although {deep.matching_available} candidates match an interest"
        )
    if broad.areas_available and broad.coverage < MIN_COVERAGE_BROAD - EPSILON:
        problems.append(
            f"depth {broad.depth:g}: coverage@{broad.k} is {broad.coverage:.2f} < "
            f"{MIN_COVERAGE_BROAD} ({broad.areas_covered} of {broad.areas_available} areas)"
        )
    if deep.mean_technical < broad.mean_technical - EPSILON:
        problems.append(
            f"mean technical level at depth {deep.depth:g} ({deep.mean_technical:.2f}) is below "
            f"that at depth {broad.depth:g} ({broad.mean_technical:.2f})"
        )
    return problems


def _steps(metrics: Sequence[FeedMetrics], focus_tolerance: float) -> list[str]:
    problems: list[str] = []
    for before, after in itertools.pairwise(metrics):
        step = f"from depth {before.depth:g} to {after.depth:g}"
        if after.focus < before.focus - focus_tolerance - EPSILON:
            problems.append(f"{step}: focus falls from {before.focus:.2f} to {after.focus:.2f}")
        if after.coverage > before.coverage + STEP_TOLERANCE + EPSILON:
            problems.append(
                f"{step}: coverage rises from {before.coverage:.2f} to {after.coverage:.2f} "
                f"(more than {STEP_TOLERANCE})"
            )
    return problems


def dial_violations(
    metrics: Sequence[FeedMetrics], *, focus_tolerance: float = 0.0
) -> tuple[str, ...]:
    """Every way ``metrics`` (ordered by rising depth, 0 first and 1 last) break the contract.

    ``focus_tolerance`` 0 reads "focus never falls" strictly; 0.05 reads it like coverage.
    """
    if len(metrics) < 2:
        return ("the contract needs metrics for at least depth 0 and depth 1",)
    return tuple(_ends(metrics) + _steps(metrics, focus_tolerance))


def check_dial(
    pool: CandidatePool,
    preferences: Preferences,
    *,
    now: datetime,
    depths: Sequence[float] = DIAL,
    k: int = DEFAULT_K,
) -> DialReport:
    """Rank at every setting of the dial and check the contract on the result."""
    metrics = dial_metrics(pool, preferences, now=now, depths=depths, k=k)
    return DialReport(metrics, dial_violations(metrics))
