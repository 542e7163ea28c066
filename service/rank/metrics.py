"""The measured contract of a feed: focus@k and coverage@k (pure).

An item's area is the area of its highest-scoring tag (``Candidate.area``).

- ``focus@k``    = share of the top k matching at least one interest (a topic or a subtopic of it);
- ``coverage@k`` = distinct areas in the top k / min(k, distinct areas among the candidates);
- spread: distinct sources (an item's first source) and kinds in the top k, and the most items
  of the top k from one source.

Both are 0.0 when there is nothing to measure (an empty feed, or candidates without any area).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from service.rank.model import Candidate, CandidateTag, FeedMetrics

DEFAULT_K = 20


def matches_interest(tags: Sequence[CandidateTag], covered: Iterable[frozenset[str]]) -> bool:
    """Whether any tag is an interest or a subtopic of one (the ``focus`` test)."""
    slugs = {t.slug for t in tags}
    return any(slugs & topics for topics in covered)


def areas_of(items: Sequence[Candidate]) -> set[str]:
    return {area for item in items if (area := item.area) is not None}


def focus_at(
    ranked: Sequence[Candidate], covered: Sequence[frozenset[str]], k: int = DEFAULT_K
) -> float:
    top = ranked[:k]
    if not top:
        return 0.0
    return sum(1 for item in top if matches_interest(item.tags, covered)) / len(top)


def coverage_at(
    ranked: Sequence[Candidate], candidates: Sequence[Candidate], k: int = DEFAULT_K
) -> tuple[float, int, int]:
    """(coverage, areas covered by the top k, areas available among the candidates)."""
    covered = len(areas_of(ranked[:k]))
    available = len(areas_of(candidates))
    if available == 0:
        return 0.0, covered, available
    return covered / min(k, available), covered, available


def feed_metrics(
    ranked: Sequence[Candidate],
    candidates: Sequence[Candidate],
    covered: Sequence[frozenset[str]],
    technical: Sequence[float],
    *,
    depth: float,
    k: int = DEFAULT_K,
) -> FeedMetrics:
    """Every number of the contract for one ranked feed (``technical`` aligned with ``ranked``)."""
    return known_metrics(
        ranked[:k],
        covered,
        technical[:k],
        available=areas_of(candidates),
        matching=sum(1 for c in candidates if matches_interest(c.tags, covered)),
        depth=depth,
        k=k,
        kinds_available=len({c.kind for c in candidates}),
    )


def known_metrics(
    ranked: Sequence[Candidate],
    covered: Sequence[frozenset[str]],
    technical: Sequence[float],
    *,
    available: set[str],
    matching: int,
    depth: float,
    k: int = DEFAULT_K,
    kinds_available: int = 0,
) -> FeedMetrics:
    """``feed_metrics`` with what it needs of the whole candidate set already counted: the areas
    among the candidates, how many match an interest, how many kinds they have."""
    top = ranked[:k]
    areas_covered = len(areas_of(top))
    per_source = Counter(item.sources[0].id for item in top if item.sources)
    coverage = areas_covered / min(k, len(available)) if available else 0.0
    top_technical = technical[:k]
    return FeedMetrics(
        depth=depth,
        k=k,
        focus=focus_at(ranked, covered, k),
        coverage=coverage,
        areas_covered=areas_covered,
        areas_available=len(available),
        matching_available=matching,
        mean_technical=sum(top_technical) / len(top_technical) if top_technical else 0.0,
        sources_covered=len(per_source),
        max_per_source=max(per_source.values(), default=0),
        kinds_covered=len({item.kind for item in top}),
        kinds_available=kinds_available,
    )
