"""Selection by the depth dial (pure): two ranked ends, interleaved in the proportion of ``depth``.

- The **deep** list: every candidate by ``deep_score`` = relevance x (0.55 + 0.45 x quality_deep)
  + a trace of quality. The best matches of the interests come first, technical items first among
  them, many per topic; an item that matches nothing scores almost 0.
- The **broad** list: greedy diversification (MMR over areas) of ``broad_score`` =
  0.25 x relevance + quality_broad. Each pick takes the best ``score - penalty x (items already
  picked from its area)``; the penalty outweighs any score gap, so the list spans every area the
  window offers before any area gets a second item. Overviews first; interests a mild boost.

The feed at depth d takes, position by position, from the deep list with share d and from the
broad list with share 1 - d (a Bresenham interleave whose first pick is deep once d >= 0.5),
skipping items already taken. At d = 1 it is the deep list, at d = 0 the broad list, and each
step of the dial hands a proportional number of positions from one list to the other, so focus
rises and coverage falls steadily. Ties are broken by item id: the same data and the same ``now``
give the same order.
"""

from __future__ import annotations

import heapq
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from service.rank.metrics import DEFAULT_K, known_metrics
from service.rank.model import (
    Candidate,
    CandidatePool,
    FeedMetrics,
    Preferences,
    RankedFeed,
    RankedItem,
    ScoreParts,
    TopicIndex,
    Why,
)
from service.rank.score import Scorer, excluded_by, learned_relevance, traits_of

DIVERSITY = 1.2  # per earlier pick from the same area: above any broad score gap (kind weight 1)
DEEP_TRACE = 0.02  # keeps unmatched items ordered by quality at the end of the deep list
AFFINITY_NOTE = 0.1
_UNTAGGED = ""


def quality_deep(parts: ScoreParts) -> float:
    """In [0, 1]: technical first, then fresh, trusted, discussed."""
    source = (parts.source + 1) / 2
    return 0.4 * parts.technical + 0.3 * parts.freshness + 0.15 * parts.coverage + 0.15 * source


def quality_broad(parts: ScoreParts) -> float:
    """In [0, 1]: overviews first, then fresh, trusted, discussed."""
    source = (parts.source + 1) / 2
    return (
        0.35 * (1 - parts.technical)
        + 0.35 * parts.freshness
        + 0.15 * parts.coverage
        + 0.15 * source
    )


def deep_score(parts: ScoreParts) -> float:
    """The deep end: relevance gates everything; among matches, technical and fresh first."""
    quality = quality_deep(parts)
    relevance = learned_relevance(parts.relevance, parts.learned)
    return parts.kind_weight * (relevance * (0.55 + 0.45 * quality) + DEEP_TRACE * quality)


def broad_score(parts: ScoreParts) -> float:
    """The broad end: overviews and fresh items from anywhere; interests a mild boost."""
    relevance = learned_relevance(parts.relevance, parts.learned)
    return parts.kind_weight * (0.25 * relevance + quality_broad(parts))


@dataclass(frozen=True, slots=True)
class Scored:
    candidate: Candidate
    parts: ScoreParts
    deep: float
    broad: float
    area: str  # "" when untagged


def deep_order(scored: Sequence[Scored]) -> list[tuple[Scored, float]]:
    """Best deep score first; ties by id."""
    ordered = sorted(scored, key=lambda e: (-e.deep, e.candidate.id))
    return [(entry, entry.deep) for entry in ordered]


def spread(scored: Sequence[Scored], penalty: float) -> list[tuple[Scored, float]]:
    """Greedy MMR over areas: each step takes the best broad score minus ``penalty`` x the
    number of items already taken from its area; ties by id."""
    buckets: dict[str, list[Scored]] = defaultdict(list)
    for entry in scored:
        buckets[entry.area].append(entry)
    for entries in buckets.values():
        entries.sort(key=lambda e: (-e.broad, e.candidate.id))
    heap = [(-entries[0].broad, entries[0].candidate.id, area) for area, entries in buckets.items()]
    heapq.heapify(heap)
    taken: dict[str, int] = defaultdict(int)
    order: list[tuple[Scored, float]] = []
    while heap:
        negative, _, area = heapq.heappop(heap)
        order.append((buckets[area][taken[area]], -negative))
        taken[area] += 1
        if taken[area] < len(buckets[area]):
            following = buckets[area][taken[area]]
            value = following.broad - penalty * taken[area]
            heapq.heappush(heap, (-value, following.candidate.id, area))
    return order


def deep_slot(position: int, depth: float) -> bool:
    """Whether ``position`` of the feed is filled from the deep list (share ``depth``)."""
    return math.floor((position + 1) * depth + 0.5) > math.floor(position * depth + 0.5)


@dataclass(frozen=True, slots=True)
class Pick:
    entry: Scored
    score: float
    deep: bool  # taken from the deep list


def interleave(
    deep: Sequence[tuple[Scored, float]], broad: Sequence[tuple[Scored, float]], depth: float
) -> list[Pick]:
    """Merge the two lists (which hold the same items), share ``depth`` from the deep one."""
    lists = {True: deep, False: broad}
    cursor = {True: 0, False: 0}
    taken: set[int] = set()
    picks: list[Pick] = []
    while cursor[True] < len(deep) or cursor[False] < len(broad):
        side = deep_slot(len(picks), depth)
        if cursor[side] >= len(lists[side]):
            side = not side
        entry, score = lists[side][cursor[side]]
        cursor[side] += 1
        if entry.candidate.id not in taken:
            taken.add(entry.candidate.id)
            picks.append(Pick(entry, score, side))
    return picks


def _labels(slugs: Sequence[str], topics: TopicIndex) -> str:
    return ", ".join(topics.label(slug) for slug in slugs)


def _sentence(parts: ScoreParts, brings: str | None, area: str, topics: TopicIndex) -> str:
    reasons: list[str] = []
    if parts.matched_interests:
        reasons.append(f"matches your interests: {_labels(parts.matched_interests, topics)}")
    if parts.matched_keywords:
        reasons.append("mentions " + ", ".join(f'"{k}"' for k in parts.matched_keywords))
    if parts.matched_authors:
        reasons.append(f"by {', '.join(parts.matched_authors)}, whom you follow")
    if parts.because is not None:
        reasons.append(parts.because)
    elif parts.affinity >= AFFINITY_NOTE:
        reasons.append("similar to items you liked")
    elif parts.affinity <= -AFFINITY_NOTE:
        reasons.append("similar to items you disliked")
    if brings is not None:
        reasons.append(f"covers {topics.label(brings)}, outside your interests")
    if parts.coverage > 0:
        reasons.append("discussed by posts or podcasts")
    if not reasons:
        where = f" in {topics.label(area)}" if area else ""
        reasons.append(f"recent{where}")
    text = "; ".join(reasons)
    return text[0].upper() + text[1:]


def explain(
    entry: Scored, *, breadth_pick: bool, topics: TopicIndex, parts_shown: Mapping[str, float]
) -> Why:
    """The why of one item: what it matched, its parts, and the area a breadth pick brings."""
    brings = entry.area if breadth_pick and entry.area else None
    return Why(
        interests=entry.parts.matched_interests,
        keywords=entry.parts.matched_keywords,
        authors=entry.parts.matched_authors,
        parts=parts_shown,
        brings_area=brings,
        summary=_sentence(entry.parts, brings, entry.area, topics),
    )


def _score_all(pool: CandidatePool, scorer: Scorer) -> tuple[list[Scored], int]:
    kept: list[Scored] = []
    excluded = 0
    known = pool.traits
    for candidate in pool.candidates:
        traits = known.get(candidate.id) or traits_of(candidate)
        if (
            "hide" in candidate.feedback
            or excluded_by(candidate, scorer.keywords, traits.topics) is not None
        ):
            excluded += 1
            continue
        parts = scorer.score(candidate, traits)
        if parts.kind_weight <= 0:
            excluded += 1
            continue
        area = traits.area or _UNTAGGED
        kept.append(Scored(candidate, parts, deep_score(parts), broad_score(parts), area))
    return kept, excluded


def _ranked_items(
    picks: Sequence[Pick], topics: TopicIndex, start: int = 0, stop: int | None = None
) -> tuple[RankedItem, ...]:
    """Picks ``start`` to ``stop`` as RankedItems, each explained (a breadth pick is the first
    of its area in the whole order)."""
    seen_areas: set[str] = {pick.entry.area for pick in picks[:start]}
    items: list[RankedItem] = []
    for position in range(start, len(picks) if stop is None else min(stop, len(picks))):
        pick = picks[position]
        entry = pick.entry
        first_of_area = entry.area not in seen_areas
        seen_areas.add(entry.area)
        breadth = not pick.deep and first_of_area and entry.parts.topic == 0
        shown = {
            **entry.parts.as_dict(),
            "deep_score": round(entry.deep, 4),
            "broad_score": round(entry.broad, 4),
        }
        why = explain(entry, breadth_pick=breadth, topics=topics, parts_shown=shown)
        items.append(RankedItem(entry.candidate, position, round(pick.score, 6), why))
    return tuple(items)


def broad_penalty(preferences: Preferences) -> float:
    """DIVERSITY, scaled up with the largest kind weight so it still outweighs score gaps."""
    return DIVERSITY * max([1.0, *preferences.kind_weights.values()])


@dataclass(frozen=True, slots=True)
class ScoredPool:
    """A pool scored for one profile: both ends ranked, ready to be interleaved at any depth."""

    kept: tuple[Scored, ...]
    excluded: int
    deep: tuple[tuple[Scored, float], ...]
    broad: tuple[tuple[Scored, float], ...]
    covered: tuple[frozenset[str], ...]  # the interests, each with its subtopics
    topics: TopicIndex


def score_pool(pool: CandidatePool, preferences: Preferences, *, now: datetime) -> ScoredPool:
    """Score every candidate once and rank both ends (nothing here depends on the depth)."""
    scorer = Scorer.prepare(preferences, pool.topics, pool.events, now, pool.learned)
    kept, excluded = _score_all(pool, scorer)
    return ScoredPool(
        kept=tuple(kept),
        excluded=excluded,
        deep=tuple(deep_order(kept)),
        broad=tuple(spread(kept, broad_penalty(preferences))),
        covered=tuple(scorer.covered.values()),
        topics=pool.topics,
    )


@dataclass(frozen=True, slots=True)
class DialFeed:
    """A scored pool in dial order; items are explained only when asked for (a page)."""

    picks: tuple[Pick, ...]
    metrics: FeedMetrics
    excluded: int
    topics: TopicIndex

    def __len__(self) -> int:
        return len(self.picks)

    def index_of(self, item_id: int) -> int | None:
        for index, pick in enumerate(self.picks):
            if pick.entry.candidate.id == item_id:
                return index
        return None

    def items(self, start: int = 0, stop: int | None = None) -> tuple[RankedItem, ...]:
        """Positions ``start`` to ``stop`` as RankedItems, each with its why."""
        return _ranked_items(self.picks, self.topics, start, stop)

    def ranked(self) -> RankedFeed:
        return RankedFeed(self.items(), self.metrics, self.excluded)


def dial_feed(scored: ScoredPool, depth: float, *, k: int = DEFAULT_K) -> DialFeed:
    """The feed at ``depth``: the two ends interleaved and measured, explained lazily."""
    depth = min(1.0, max(0.0, depth))
    picks = interleave(scored.deep, scored.broad, depth)
    top = picks[:k]
    metrics = known_metrics(
        [pick.entry.candidate for pick in top],
        scored.covered,
        [pick.entry.parts.technical for pick in top],
        available={entry.area for entry in scored.kept if entry.area},
        matching=sum(1 for entry in scored.kept if entry.parts.matched_interests),
        depth=depth,
        k=k,
    )
    return DialFeed(tuple(picks), metrics, scored.excluded, scored.topics)


def feed_at(scored: ScoredPool, depth: float, *, k: int = DEFAULT_K) -> RankedFeed:
    """The feed at ``depth``: the two ends interleaved, each item explained, the metrics."""
    return dial_feed(scored, depth, k=k).ranked()


def rank_feed(
    pool: CandidatePool, preferences: Preferences, *, now: datetime, k: int = DEFAULT_K
) -> RankedFeed:
    """Every usable candidate of ``pool`` in dial order, each with its why, and the metrics."""
    return feed_at(score_pool(pool, preferences, now=now), preferences.depth, k=k)
