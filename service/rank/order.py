"""The dial order, fast: the same order as ``select.dial_feed``, computed with plain floats, lazily.

    score_lean   every candidate scored in one loop: a (deep, broad, area) per kept candidate,
                 no ScoreParts or records per candidate (``select._score_all`` makes both)
    DialOrder    the two ends as heaps (the deep end by score, the broad end's areas each a
                 heap, merged as ``select.spread`` merges them) and their interleave, produced
                 only as far as a page (or the metrics' top k) needs; only the items asked for
                 are scored in full and explained (``select.explain``)

Every float is computed with the same operations in the same order as ``score.py`` and
``select.py``, so scores, ties and the order are identical (``tests/test_rank_order.py`` checks
this path against the reference one on generated pools).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from service.rank.metrics import DEFAULT_K, known_metrics
from service.rank.model import (
    Candidate,
    CandidatePool,
    CandidateTag,
    FeedMetrics,
    Preferences,
    RankedItem,
    TopicIndex,
    Traits,
)
from service.rank.score import (
    AFFINITY_WEIGHT,
    AUTHOR_WEIGHT,
    KEYWORD_WEIGHT,
    Scorer,
    affinity_score,
    author_match,
    excluded_by,
    half_life_hours,
    keyword_match,
    topic_match,
    traits_of,
)
from service.rank.select import (
    DEEP_TRACE,
    Scored,
    broad_penalty,
    broad_score,
    deep_score,
    deep_slot,
    explain,
)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_UNTAGGED = ""


def _microseconds(moment: datetime) -> int:
    delta = moment - _EPOCH
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


@dataclass(frozen=True, slots=True)
class LeanPool:
    """A pool scored for one profile: for each kept candidate its deep and broad score and area."""

    kept: tuple[Candidate, ...]
    deep: tuple[float, ...]
    broad: tuple[float, ...]
    areas: tuple[str, ...]  # "" when untagged
    technical: tuple[float, ...]
    excluded: int
    matching: int  # kept candidates that match an interest
    scorer: Scorer
    topics: TopicIndex
    traits_known: Mapping[int, Traits]


def _interest_map(
    scorer: Scorer, interests: Mapping[str, float]
) -> dict[str, tuple[float, ...]] | None:
    """Each tag slug with the normalized weights of the interests it meets (None: weights the
    lean path does not take, such as a non-positive one)."""
    if not interests:
        return {}
    strongest = max(interests.values())
    if strongest <= 0 or min(interests.values()) <= 0:
        return None
    found: dict[str, list[float]] = {}
    for slug, weight in interests.items():
        for topic in scorer.covered.get(slug, frozenset({slug})):
            found.setdefault(topic, []).append(weight / strongest)
    return {slug: tuple(weights) for slug, weights in found.items()}


def _topic(tags: Sequence[CandidateTag], interest_map: Mapping[str, tuple[float, ...]]) -> float:
    """``score.topic_match``'s score: the best (interest weight / strongest) x tag score; -1.0
    when no tag meets an interest."""
    topic = -1.0
    for tag in tags:
        weights = interest_map.get(tag.slug)
        if weights is not None:
            for weight in weights:
                topic = max(topic, weight * tag.score)
    return min(topic, 1.0)


def _relevance(candidate: Candidate, topic: float, scorer: Scorer, leaning: bool) -> float:
    """``score.relevance`` of the topic and the keyword, author and affinity matches (the same
    operations in the same order)."""
    keywords, followed = scorer.keywords, scorer.preferences.authors
    keyword = (
        keyword_match(candidate.title, candidate.summary, keywords).score
        if keywords.positives
        else 0.0
    )
    author = author_match(candidate.authors, followed).score if followed else 0.0
    miss = (1 - topic) * (1 - KEYWORD_WEIGHT * keyword) * (1 - AUTHOR_WEIGHT * author)
    if not leaning:
        return max(0.0, min(1.0, 1 - miss - AFFINITY_WEIGHT * 0.0))
    lean = affinity_score(candidate, scorer.affinity)
    miss *= 1 - AFFINITY_WEIGHT * max(lean, 0.0)
    return max(0.0, min(1.0, 1 - miss - AFFINITY_WEIGHT * max(-lean, 0.0)))


def _ends(traits: Traits, fresh: float, relevance: float, weight: float) -> tuple[float, float]:
    """``select.deep_score`` and ``select.broad_score`` (the same operations in the same order)."""
    source = (traits.source + 1) / 2
    tech = traits.technical
    quality = 0.4 * tech + 0.3 * fresh + 0.15 * traits.coverage + 0.15 * source
    deep = weight * (relevance * (0.55 + 0.45 * quality) + DEEP_TRACE * quality)
    quality = 0.35 * (1 - tech) + 0.35 * fresh + 0.15 * traits.coverage + 0.15 * source
    return deep, weight * (0.25 * relevance + quality)


def _excluded(candidate: Candidate, traits: Traits, scorer: Scorer) -> bool:
    keywords = scorer.keywords
    return "hide" in candidate.feedback or (
        bool(keywords.negatives) and excluded_by(candidate, keywords, traits.topics) is not None
    )


def score_lean(pool: CandidatePool, preferences: Preferences, *, now: datetime) -> LeanPool:
    """Score every candidate of ``pool`` for ``preferences`` as ``select.score_pool`` does."""
    scorer = Scorer.prepare(preferences, pool.topics, pool.events, now)
    interest_map = _interest_map(scorer, preferences.interests)
    affinity = scorer.affinity
    leaning = bool(affinity.topics or affinity.sources or affinity.authors)
    half_life = half_life_hours(preferences.window_days)
    now_us = _microseconds(now)
    kept: list[Candidate] = []
    ends: list[tuple[float, float]] = []
    traits_kept: list[Traits] = []
    excluded = matching = 0
    for candidate in pool.candidates:
        traits = pool.traits.get(candidate.id) or traits_of(candidate)
        weight = preferences.kind_weights.get(candidate.kind, 1.0)
        if weight <= 0 or _excluded(candidate, traits, scorer):
            excluded += 1
            continue
        if interest_map is None:
            found = topic_match(candidate.tags, preferences.interests, scorer.covered)
            topic, matched = found.score, bool(found.matched)
        else:
            topic = _topic(candidate.tags, interest_map)
            matched, topic = topic >= 0, max(topic, 0.0)
        # score.freshness: exact microseconds, as timedelta.total_seconds() divides them
        age_hours = max((now_us - _microseconds(candidate.published_at)) / 1_000_000 / 3600, 0.0)
        fresh = float(0.5 ** (age_hours / half_life))
        ends.append(_ends(traits, fresh, _relevance(candidate, topic, scorer, leaning), weight))
        kept.append(candidate)
        traits_kept.append(traits)
        matching += matched
    return LeanPool(
        kept=tuple(kept),
        deep=tuple(deep for deep, _ in ends),
        broad=tuple(broad for _, broad in ends),
        areas=tuple(traits.area or _UNTAGGED for traits in traits_kept),
        technical=tuple(traits.technical for traits in traits_kept),
        excluded=excluded,
        matching=matching,
        scorer=scorer,
        topics=pool.topics,
        traits_known=pool.traits,
    )


# --------------------------------------------------------------------------- the two ends, lazily


def deep_end(lean: LeanPool) -> Iterator[tuple[int, float]]:
    """(index, score) best deep score first, ties by id (``select.deep_order``)."""
    ids = [c.id for c in lean.kept]
    heap = [(-score, ids[index], index) for index, score in enumerate(lean.deep)]
    heapq.heapify(heap)
    while heap:
        negative, _, index = heapq.heappop(heap)
        yield index, -negative


def broad_end(lean: LeanPool, penalty: float) -> Iterator[tuple[int, float]]:
    """(index, score) in the greedy MMR order over areas (``select.spread``)."""
    ids = [c.id for c in lean.kept]
    buckets: dict[str, list[tuple[float, int, int]]] = {}
    for index, (area, score) in enumerate(zip(lean.areas, lean.broad, strict=True)):
        buckets.setdefault(area, []).append((-score, ids[index], index))
    heap: list[tuple[float, int, str]] = []
    for area, bucket in buckets.items():
        heapq.heapify(bucket)
        heap.append((bucket[0][0], bucket[0][1], area))
    heapq.heapify(heap)
    taken: dict[str, int] = dict.fromkeys(buckets, 0)
    while heap:
        negative, _, area = heapq.heappop(heap)
        bucket = buckets[area]
        yield heapq.heappop(bucket)[2], -negative
        taken[area] += 1
        if bucket:
            value = -bucket[0][0] - penalty * taken[area]
            heapq.heappush(heap, (-value, bucket[0][1], area))


def interleaved(
    deep: Iterator[tuple[int, float]], broad: Iterator[tuple[int, float]], depth: float
) -> Iterator[tuple[int, float, bool]]:
    """(index, score, from the deep end) as ``select.interleave`` merges the two ends."""
    ends = {True: deep, False: broad}
    live = {True: True, False: True}
    taken: set[int] = set()
    position = 0
    while live[True] or live[False]:
        side = deep_slot(position, depth)
        if not live[side]:
            side = not side
        following = next(ends[side], None)
        if following is None:  # that end is exhausted (both hold the same items)
            live[side] = False
            continue
        index, score = following
        if index not in taken:
            taken.add(index)
            position += 1
            yield index, score, side


class DialOrder:
    """A lean pool in dial order (``select.DialFeed``'s interface), produced as far as asked."""

    def __init__(self, lean: LeanPool, preferences: Preferences, depth: float, k: int) -> None:
        self.lean = lean
        self.depth = min(1.0, max(0.0, depth))
        self.excluded = lean.excluded
        self.topics = lean.topics
        self._picks: list[tuple[int, float, bool]] = []
        self._order = interleaved(
            deep_end(lean), broad_end(lean, broad_penalty(preferences)), self.depth
        )
        self._ids = {c.id: index for index, c in enumerate(lean.kept)}
        self.metrics = self._measure(k)

    def __len__(self) -> int:
        return len(self.lean.kept)

    def _produce(self, stop: int | None) -> None:
        picks = self._picks
        while stop is None or len(picks) < stop:
            following = next(self._order, None)
            if following is None:
                return
            picks.append(following)

    def _measure(self, k: int) -> FeedMetrics:
        self._produce(k)
        top = self._picks[:k]
        lean = self.lean
        return known_metrics(
            [lean.kept[index] for index, _, _ in top],
            tuple(lean.scorer.covered.values()),
            [lean.technical[index] for index, _, _ in top],
            available={area for area in lean.areas if area},
            matching=lean.matching,
            depth=self.depth,
            k=k,
        )

    def index_of(self, item_id: int) -> int | None:
        if item_id not in self._ids:
            return None
        wanted = self._ids[item_id]
        position = 0
        while True:
            self._produce(position + 1)
            if position >= len(self._picks):
                return None
            if self._picks[position][0] == wanted:
                return position
            position += 1

    def items(self, start: int = 0, stop: int | None = None) -> tuple[RankedItem, ...]:
        """Positions ``start`` to ``stop`` as RankedItems, each scored in full and explained."""
        self._produce(stop)
        picks = self._picks
        seen_areas = {self.lean.areas[index] for index, _, _ in picks[:start]}
        end = len(picks) if stop is None else min(stop, len(picks))
        return tuple(
            self._item(picks[position], position, seen_areas) for position in range(start, end)
        )

    def _item(self, pick: tuple[int, float, bool], position: int, seen: set[str]) -> RankedItem:
        index, score, from_deep = pick
        lean = self.lean
        candidate = lean.kept[index]
        parts = lean.scorer.score(candidate, lean.traits_known.get(candidate.id))
        entry = Scored(candidate, parts, deep_score(parts), broad_score(parts), lean.areas[index])
        first_of_area = entry.area not in seen
        seen.add(entry.area)
        breadth = not from_deep and first_of_area and parts.topic == 0
        shown = {
            **parts.as_dict(),
            "deep_score": round(entry.deep, 4),
            "broad_score": round(entry.broad, 4),
        }
        why = explain(entry, breadth_pick=breadth, topics=self.topics, parts_shown=shown)
        return RankedItem(candidate, position, round(score, 6), why)


def dial_order(
    pool: CandidatePool, preferences: Preferences, *, now: datetime, k: int = DEFAULT_K
) -> DialOrder:
    """The feed at ``preferences.depth``: ``select.dial_feed(score_pool(...))``, lazily."""
    return DialOrder(score_lean(pool, preferences, now=now), preferences, preferences.depth, k)
