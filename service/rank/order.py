"""The dial order, fast: the same order as ``select.dial_feed``, computed with plain floats, lazily.

    score_lean   every candidate scored in one loop: a (deep, broad, area) per kept candidate,
                 no ScoreParts or records per candidate (``select._score_all`` makes both);
                 what is the same for every profile — keyword matches by phrase, the quality
                 parts as of one instant, author keys, publish time — comes from the cached
                 window's ``WindowMemo`` and ``Traits``, computed once per window
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
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from service.rank.metrics import DEFAULT_K, known_metrics
from service.rank.model import (
    Affinity,
    Candidate,
    CandidatePool,
    CandidateTag,
    FeedMetrics,
    Preferences,
    RankedItem,
    TopicIndex,
    Traits,
    WindowMemo,
)
from service.rank.score import (
    AFFINITY_AUTHOR,
    AFFINITY_SOURCE,
    AFFINITY_TOPIC,
    AFFINITY_WEIGHT,
    AUTHOR_WEIGHT,
    KEYWORD_IN_SUMMARY,
    KEYWORD_IN_TITLE,
    KEYWORD_WEIGHT,
    Scorer,
    author_key,
    half_life_hours,
    learned_relevance,
    microseconds,
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

_UNTAGGED = ""


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


_Interests = dict[str, tuple[float, ...]] | None


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


_CODE_SCORE = (0.0, 0.0, KEYWORD_IN_SUMMARY, KEYWORD_IN_TITLE)  # by WindowMemo code


@dataclass(frozen=True, slots=True)
class _Matcher:
    """One profile's keywords and authors against one pool, with the pool's memo of matches."""

    positives: tuple[tuple[bytearray, re.Pattern[str]], ...]
    negatives: tuple[tuple[bytearray, re.Pattern[str], str], ...]
    positions: Mapping[int, int]
    full_authors: frozenset[str]  # followed author keys with an initial: equal keys match
    surnames: frozenset[str]  # followed bare surnames: an author key's surname matches

    @classmethod
    def prepare(cls, scorer: Scorer, memo: WindowMemo) -> _Matcher:
        keywords = scorer.keywords
        followed = [author_key(name) for name in scorer.preferences.authors]
        return cls(
            positives=tuple((memo.table(p), pattern) for p, pattern in keywords.positives),
            negatives=tuple(
                (memo.table(word), pattern, slug) for word, pattern, slug in keywords.negatives
            ),
            positions=memo.positions,
            full_authors=frozenset(key for key in followed if key and " " in key),
            surnames=frozenset(key for key in followed if key and " " not in key),
        )


def _code(table: bytearray, position: int, pattern: re.Pattern[str], item: Candidate) -> int:
    """The memo's match code of ``pattern`` for the candidate at ``position`` (looked up once)."""
    code = table[position]
    if not code:
        code = 3 if pattern.search(item.title) else 2 if pattern.search(item.summary) else 1
        table[position] = code
    return code


def _keyword(matcher: _Matcher, position: int, candidate: Candidate) -> float:
    """``score.keyword_match``'s score: the best of title (1.0) and summary (0.6) matches."""
    best = 0.0
    for table, pattern in matcher.positives:
        best = max(best, _CODE_SCORE[_code(table, position, pattern, candidate)])
    return best


def _author(matcher: _Matcher, traits: Traits) -> float:
    """``score.author_match``'s score from the candidate's author keys."""
    full, surnames = matcher.full_authors, matcher.surnames
    for key in traits.author_keys:
        if key and (key in full or key.split(" ", maxsplit=1)[0] in surnames):
            return 1.0
    return 0.0


class _Leaning:
    """One profile's affinity as ``score.affinity_score`` reads it, with each source list's
    mean remembered (candidates share a few hundred source lists)."""

    def __init__(self, affinity: Affinity) -> None:
        self.affinity = affinity
        self.authors = frozenset(affinity.authors)
        self.source_means: dict[tuple[int, ...], float] = {}

    def source(self, source_ids: tuple[int, ...]) -> float:
        found = self.source_means.get(source_ids)
        if found is None:
            sources = self.affinity.sources
            values = [sources.get(source_id, 0.0) for source_id in source_ids]
            found = self.source_means[source_ids] = sum(values) / len(values) if values else 0.0
        return found


def _affinity(candidate: Candidate, traits: Traits, leaning: _Leaning) -> float:
    """``score.affinity_score`` from the candidate's traits (the same operations in order; a
    part none of whose keys the affinity knows is 0.0 without the sum)."""
    affinity = leaning.affinity
    total, topics = traits.tag_total, affinity.topics
    topic = 0.0
    if total and not traits.topics.isdisjoint(topics):
        topic = sum(t.score * topics.get(t.slug, 0.0) for t in candidate.tags) / total
    source = leaning.source(traits.source_ids)
    author = 0.0
    if not leaning.authors.isdisjoint(traits.author_keys):
        authors = affinity.authors
        author = max([authors.get(key, 0.0) for key in traits.author_keys], key=abs)
    combined = AFFINITY_TOPIC * topic + AFFINITY_SOURCE * source + AFFINITY_AUTHOR * author
    return max(-1.0, min(1.0, combined))


def _relevance(
    candidate: Candidate,
    traits: Traits,
    topic: float,
    leaning: _Leaning | None,
    matches: tuple[float, float],
) -> float:
    """``score.relevance`` of the topic and the keyword, author and affinity matches (the same
    operations in the same order)."""
    keyword, author = matches
    miss = (1 - topic) * (1 - KEYWORD_WEIGHT * keyword) * (1 - AUTHOR_WEIGHT * author)
    if leaning is None:
        return max(0.0, min(1.0, 1 - miss - AFFINITY_WEIGHT * 0.0))
    lean = _affinity(candidate, traits, leaning)
    miss *= 1 - AFFINITY_WEIGHT * max(lean, 0.0)
    return max(0.0, min(1.0, 1 - miss - AFFINITY_WEIGHT * max(-lean, 0.0)))


def _qualities(traits: Traits, now_us: int, half_life: float) -> tuple[float, float]:
    """The quality parts of ``select.deep_score`` and ``select.broad_score`` (the same
    operations in the same order; ``score.freshness`` from exact microseconds)."""
    age_hours = max((now_us - traits.published_us) / 1_000_000 / 3600, 0.0)
    fresh = float(0.5 ** (age_hours / half_life))
    source = (traits.source + 1) / 2
    tech = traits.technical
    deep = 0.4 * tech + 0.3 * fresh + 0.15 * traits.coverage + 0.15 * source
    broad = 0.35 * (1 - tech) + 0.35 * fresh + 0.15 * traits.coverage + 0.15 * source
    return deep, broad


def _excluded(candidate: Candidate, traits: Traits, matcher: _Matcher, position: int) -> bool:
    """``score.excluded_by`` found a negative keyword (as a topic, in the title or summary), or
    the item is hidden."""
    if "hide" in candidate.feedback:
        return True
    for table, pattern, slug in matcher.negatives:
        if slug in traits.topics or _code(table, position, pattern, candidate) > 1:
            return True
    return False


@dataclass(slots=True)
class _Tally:
    """What ``score_lean`` collects, in candidate order."""

    kept: list[Candidate] = field(default_factory=list)
    ends: list[tuple[float, float]] = field(default_factory=list)
    traits: list[Traits] = field(default_factory=list)
    excluded: int = 0
    matching: int = 0


def _topic_of(
    candidate: Candidate, preferences: Preferences, scorer: Scorer, interests: _Interests
) -> tuple[float, bool]:
    if interests is None:
        found = topic_match(candidate.tags, preferences.interests, scorer.covered)
        return found.score, bool(found.matched)
    topic = _topic(candidate.tags, interests)
    return max(topic, 0.0), topic >= 0


def score_lean(pool: CandidatePool, preferences: Preferences, *, now: datetime) -> LeanPool:
    """Score every candidate of ``pool`` for ``preferences`` as ``select.score_pool`` does."""
    scorer = Scorer.prepare(preferences, pool.topics, pool.events, now, pool.learned)
    interests = _interest_map(scorer, preferences.interests)
    memo = pool.memo or WindowMemo(c.id for c in pool.candidates)
    matcher = _Matcher.prepare(scorer, memo)
    half_life = half_life_hours(preferences.window_days)
    now_us = microseconds(now)
    known, positions, weights = pool.traits, matcher.positions, preferences.kind_weights
    keywords, authors = bool(matcher.positives), bool(matcher.full_authors or matcher.surnames)
    qualities = memo.qualities(now_us, half_life)
    affinity = scorer.affinity
    leaning = (
        _Leaning(affinity) if affinity.topics or affinity.sources or affinity.authors else None
    )
    tally = _Tally()
    for candidate in pool.candidates:
        traits = known.get(candidate.id) or traits_of(candidate)
        position = positions[candidate.id]
        weight = weights.get(candidate.kind, 1.0)
        if weight <= 0 or _excluded(candidate, traits, matcher, position):
            tally.excluded += 1
            continue
        topic, matched = _topic_of(candidate, preferences, scorer, interests)
        quality = qualities[position]
        if quality is None:
            quality = qualities[position] = _qualities(traits, now_us, half_life)
        matches = (
            _keyword(matcher, position, candidate) if keywords else 0.0,
            _author(matcher, traits) if authors else 0.0,
        )
        relevance = _relevance(candidate, traits, topic, leaning, matches)
        if scorer.learned is not None:  # LEARNED HOOK (issue 18)
            relevance = learned_relevance(relevance, scorer.learned_of(candidate))
        deep, broad = quality  # select.deep_score and broad_score, the same operations
        tally.ends.append(
            (
                weight * (relevance * (0.55 + 0.45 * deep) + DEEP_TRACE * deep),
                weight * (0.25 * relevance + broad),
            )
        )
        tally.kept.append(candidate)
        tally.traits.append(traits)
        tally.matching += matched
    return _lean_pool(tally, scorer, pool)


def _lean_pool(tally: _Tally, scorer: Scorer, pool: CandidatePool) -> LeanPool:
    return LeanPool(
        kept=tuple(tally.kept),
        deep=tuple(deep for deep, _ in tally.ends),
        broad=tuple(broad for _, broad in tally.ends),
        areas=tuple(traits.area or _UNTAGGED for traits in tally.traits),
        technical=tuple(traits.technical for traits in tally.traits),
        excluded=tally.excluded,
        matching=tally.matching,
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
