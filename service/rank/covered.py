"""Papers everyone covers: the papers whose coverage grew fastest in the window (pure).

Coverage is posts and podcast episodes linking a paper by arXiv id. A paper's covering items in
the window are compared with those of the baseline before it, with the same smoothed rate ratio
as the themes (``trends.poisson_z``, prior of half a sighting); it needs ``min_sources`` different
feeds in the window — one blog's series on a paper is not "everyone".
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from service.rank.trends import poisson_z
from service.records import CoverageSighting

PRIOR = 0.5
KIND_WORDS = {"post": ("post", "posts"), "podcast": ("episode", "episodes")}


@dataclass(frozen=True, slots=True)
class CoveredPaper:
    arxiv_id: str
    paper_id: int | None
    title: str
    score: float
    ratio: float
    covering: int  # covering items in the window
    before: int  # covering items in the baseline
    sources: int
    first_seen: datetime
    latest_seen: datetime
    areas: tuple[str, ...]
    covering_ids: tuple[int, ...]
    evidence: str


def covered_papers(
    sightings: Sequence[CoverageSighting],
    *,
    now: datetime,
    window_days: float = 7.0,
    baseline_days: float = 28.0,
    min_sources: int = 2,
    limit: int = 10,
) -> tuple[CoveredPaper, ...]:
    """The papers with the fastest-growing coverage as of ``now``, best first."""
    start = now - timedelta(days=window_days)
    floor = start - timedelta(days=baseline_days)
    recent: defaultdict[str, list[CoverageSighting]] = defaultdict(list)
    before: Counter[str] = Counter()
    for s in sightings:
        if start < s.published_at <= now:
            recent[s.arxiv_id].append(s)
        elif floor < s.published_at <= start:
            before[s.arxiv_id] += 1
    papers = [
        _paper(arxiv_id, found, before[arxiv_id], window_days / baseline_days)
        for arxiv_id, found in recent.items()
        if len({s.by_source for s in found}) >= min_sources
    ]
    papers.sort(key=lambda p: (-p.score, -p.covering, p.arxiv_id))
    return tuple(p for p in papers if p.score > 0)[:limit]


def _paper(arxiv_id: str, found: list[CoverageSighting], before: int, scale: float) -> CoveredPaper:
    by_item = {s.by_item: s for s in found}
    items = sorted(by_item.values(), key=lambda s: (s.published_at, s.by_item))
    sources = len({s.by_source for s in items})
    expected = (before + PRIOR) * scale
    known = next((s for s in items if s.paper_title), None)
    return CoveredPaper(
        arxiv_id=arxiv_id,
        paper_id=known.paper_id if known else None,
        title=known.paper_title if known and known.paper_title else f"arXiv:{arxiv_id}",
        score=round(poisson_z(len(items), expected), 3),
        ratio=round(len(items) / expected, 3),
        covering=len(items),
        before=before,
        sources=sources,
        first_seen=items[0].published_at,
        latest_seen=items[-1].published_at,
        areas=known.paper_areas if known else (),
        covering_ids=tuple(s.by_item for s in items),
        evidence=coverage_words(items, sources, before),
    )


def coverage_words(items: Sequence[CoverageSighting], sources: int, before: int) -> str:
    """ "covered by 3 posts and 1 episode from 4 sources; 1 before" """
    kinds = Counter(s.by_kind for s in items)
    parts = []
    for kind, count in sorted(kinds.items()):
        one, many = KIND_WORDS.get(kind, (kind, kind + "s"))
        parts.append(f"{count} {one if count == 1 else many}")
    feeds = "1 source" if sources == 1 else f"{sources} sources"
    earlier = "none before" if before == 0 else f"{before} before"
    return f"covered by {' and '.join(parts)} from {feeds}; {earlier}"
