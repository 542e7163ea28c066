"""Selection by the depth dial (pure): two ranked ends, interleaved in the proportion of ``depth``.

- The **deep** end: every kept candidate by its deep score (``score.py``), ties by id — the best
  matches of the interests first, technical and fresh first among them, reordered by likes.
- The **broad** end, a tour: a greedy pick of the best broad score minus penalties for what the
  tour already holds — ``AREA`` per earlier item of the same area (it outweighs any score gap, so
  every area the window offers comes before any area's second item), ``SOURCE`` per earlier item
  of the same source and ``SOURCE_CAP`` for each further ``SOURCE_SHARE`` of them (at most 4 of
  the top 20 from one source), ``KIND`` per earlier item of the same kind (podcasts and videos
  join the papers; a kind the profile weights above 1 is not spread away). The broad score
  itself puts overviews first. Untagged and off-topic items take no
  breadth slot: they come after every area's items. Penalties only grow as the tour goes, so the
  greedy pick is computed lazily (a heap of upper bounds) and only as far as a page needs.

The feed at depth d takes, position by position, from the deep end with share d and from the
broad end with share 1 - d (a Bresenham interleave whose first pick is deep once d >= 0.5),
skipping items already taken; each step of the dial hands a proportional number of positions
from one end to the other, so focus rises and coverage falls steadily. The same data and the
same ``now`` give the same order.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Iterator
from datetime import datetime

import numpy as np
import numpy.typing as npt

from service.rank.explain import ranked_item
from service.rank.metrics import DEFAULT_K, known_metrics
from service.rank.model import (
    Candidate,
    CandidatePool,
    FeedMetrics,
    Preferences,
    RankedFeed,
    RankedItem,
)
from service.rank.score import Scores, score_pool
from service.rank.window import KIND_INDEX

AREA = 1.2  # per earlier pick from the same area: above any broad score gap (kind weight 1)
SOURCE = 0.15  # per earlier pick from the same source
SOURCE_SHARE = 4  # items of one source before each SOURCE_CAP
SOURCE_CAP = 4.0  # above three areas' worth: a fifth item of a source waits
KIND = 0.12  # per earlier pick of the same kind
UNTAGGED = 50.0  # untagged and off-topic items come after every area's items

LearnedNote = Callable[[Candidate], str | None]


def deep_slot(position: int, depth: float) -> bool:
    """Whether ``position`` of the feed is filled from the deep end (share ``depth``)."""
    return math.floor((position + 1) * depth + 0.5) > math.floor(position * depth + 0.5)


def deep_end(scores: Scores, kept: npt.NDArray[np.int64]) -> Iterator[tuple[int, float]]:
    """(candidate index, deep score), best first, ties by id."""
    deep = scores.deep[kept]
    order = np.lexsort((scores.columns.ids[scores.rows[kept]], -deep))
    for n in order.tolist():
        yield int(kept[n]), float(deep[n])


class _Tour:
    """The broad end's greedy state. Items of one (area, kind, source) share every penalty, so
    each such group is ordered once by broad score; a heap holds each group's next item with an
    upper bound of its value (penalties only grow), re-checked when it comes up."""

    def __init__(self, scores: Scores, kept: npt.NDArray[np.int64], scale: float) -> None:
        columns, rows = scores.columns, scores.rows[kept]
        self.kept, self.scale = kept, scale
        self.spread = _kind_spread(scores.asks.preferences)
        self.counts: dict[tuple[str, int], int] = {}
        area, kind = columns.area[rows].astype(np.int64), columns.kind[rows].astype(np.int64)
        source = columns.source[rows].astype(np.int64)
        group = ((area + 1) * len(KIND_INDEX) + kind) * (len(columns.source_ids) + 1) + source + 1
        broad, ids = scores.broad[kept], columns.ids[rows]
        order = np.lexsort((ids, -broad, group))
        starts = np.flatnonzero(np.r_[True, np.diff(group[order]) != 0]) if len(order) else order
        heads = order[starts]
        self.order, self.start = order.tolist(), starts.tolist()
        self.end = [*self.start[1:], len(self.order)]
        self.keys = list(
            zip(area[heads].tolist(), kind[heads].tolist(), source[heads].tolist(), strict=True)
        )
        self.next = list(self.start)
        self.broad, self.ids = broad.tolist(), ids.tolist()
        # nothing is taken yet: a head's value is its broad score (less UNTAGGED, untagged)
        value = broad[heads].astype(np.float64) - scale * UNTAGGED * (area[heads] < 0)
        self.heap = list(
            zip((-value).tolist(), ids[heads].tolist(), range(len(heads)), strict=True)
        )
        heapq.heapify(self.heap)

    def _value(self, group: int, n: int) -> float:
        area, kind, source = self.keys[group]
        taken = self.counts.get(("s", source), 0)
        penalty = (
            (UNTAGGED if area < 0 else AREA * self.counts.get(("a", area), 0))
            + SOURCE * taken
            + SOURCE_CAP * (taken // SOURCE_SHARE)
            + self.spread[kind] * self.counts.get(("k", kind), 0)
        )
        return float(self.broad[n] - self.scale * penalty)

    def _entry(self, group: int) -> tuple[float, int, int]:
        n = self.order[self.next[group]]
        return -self._value(group, n), self.ids[n], group

    def __iter__(self) -> Iterator[tuple[int, float]]:
        heap = self.heap
        while heap:
            bound, _, group = heapq.heappop(heap)
            entry = self._entry(group)
            if entry[0] > bound and heap and entry > heap[0]:  # it lost value: re-check later
                heapq.heappush(heap, entry)
                continue
            n = self.order[self.next[group]]
            area, kind, source = self.keys[group]
            for key in (("a", area), ("s", source), ("k", kind)):
                self.counts[key] = self.counts.get(key, 0) + 1
            self.next[group] += 1
            if self.next[group] < self.end[group]:
                heapq.heappush(heap, self._entry(group))
            yield int(self.kept[n]), -entry[0]


def broad_end(
    scores: Scores, kept: npt.NDArray[np.int64], scale: float
) -> Iterator[tuple[int, float]]:
    """(candidate index, tour score) in the tour's order (the module docstring)."""
    return iter(_Tour(scores, kept, scale))


def interleaved(
    deep: Iterator[tuple[int, float]], broad: Iterator[tuple[int, float]], depth: float
) -> Iterator[tuple[int, float, bool]]:
    """(candidate index, score, from the deep end): the two ends merged, share ``depth`` deep."""
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


def _kind_spread(preferences: Preferences) -> list[float]:
    """The kind penalty by kind index: none for a kind the profile asked more of (weight > 1)."""
    weights = preferences.kind_weights
    return [0.0 if weights.get(kind, 1.0) > 1.0 else KIND for kind in KIND_INDEX]


def tour_scale(preferences: Preferences) -> float:
    """The penalties scaled up with the largest kind weight so they still outweigh score gaps."""
    return max([1.0, *preferences.kind_weights.values()])


class DialOrder:
    """A scored pool in dial order, produced only as far as asked (a page, the metrics' top k);
    only the positions asked for are explained."""

    def __init__(
        self, scores: Scores, depth: float, k: int = DEFAULT_K, note: LearnedNote | None = None
    ) -> None:
        self.scores = scores
        self.depth = min(1.0, max(0.0, depth))
        self.excluded = scores.excluded
        self.topics = scores.pool.topics
        self.note = note
        self._kept = np.flatnonzero(scores.kept).astype(np.int64)
        scale = tour_scale(scores.asks.preferences)
        self._order = interleaved(
            deep_end(scores, self._kept), broad_end(scores, self._kept, scale), self.depth
        )
        self._picks: list[tuple[int, float, bool]] = []
        self.metrics = self._measure(k)

    def __len__(self) -> int:
        return len(self._kept)

    def _produce(self, stop: int | None) -> None:
        picks = self._picks
        while stop is None or len(picks) < stop:
            following = next(self._order, None)
            if following is None:
                return
            picks.append(following)

    def _measure(self, k: int) -> FeedMetrics:
        self._produce(k)
        scores, kept = self.scores, self._kept
        candidates = scores.pool.candidates
        top = [index for index, _, _ in self._picks[:k]]
        columns, rows = scores.columns, scores.rows[kept]
        areas = np.unique(columns.top_area[rows])
        covered = [self.topics.expand(slug) for slug, _ in scores.asks.interests]
        return known_metrics(
            [candidates[index] for index in top],
            covered,
            [float(columns.technical[scores.rows[index]]) for index in top],
            available={columns.area_slugs[a] for a in areas.tolist() if a >= 0},
            matching=int(np.count_nonzero(scores.topic[kept] > 0)),
            depth=self.depth,
            k=k,
            kinds_available=len(np.unique(columns.kind[rows])),
        )

    def index_of(self, item_id: int) -> int | None:
        """The position of ``item_id`` in the order (None: not in the feed)."""
        candidates = self.scores.pool.candidates
        position = 0
        while True:
            self._produce(position + 1)
            if position >= len(self._picks):
                return None
            if candidates[self._picks[position][0]].id == item_id:
                return position
            position += 1

    def items(self, start: int = 0, stop: int | None = None) -> tuple[RankedItem, ...]:
        """Positions ``start`` to ``stop`` as RankedItems, each explained."""
        self._produce(stop)
        picks, area = self._picks, self.scores.columns.area
        rows = self.scores.rows
        seen = {int(area[rows[index]]) for index, _, _ in picks[:start]}
        end = len(picks) if stop is None else min(stop, len(picks))
        found: list[RankedItem] = []
        for position in range(start, end):
            index, score, from_deep = picks[position]
            first = int(area[rows[index]]) not in seen
            seen.add(int(area[rows[index]]))
            breadth = not from_deep and first
            found.append(
                ranked_item(self.scores, index, position, score, breadth=breadth, note=self.note)
            )
        return tuple(found)

    def ranked(self) -> RankedFeed:
        return RankedFeed(self.items(), self.metrics, self.excluded)


def dial_order(
    pool: CandidatePool,
    preferences: Preferences,
    *,
    now: datetime,
    k: int = DEFAULT_K,
    learned: npt.NDArray[np.floating] | None = None,
    note: LearnedNote | None = None,
) -> DialOrder:
    """The feed at ``preferences.depth``: scored once, ordered lazily, explained by the page.

    ``learned``: a learned preference model's affinity per candidate (``score.score_pool``);
    ``note``: what that model says of a page item it likes ("because you liked …"), or None.
    Both default to the model the loader put on the pool (``pool.learned``).
    """
    if pool.learned is not None:
        model = pool.learned
        if learned is None:
            learned = np.fromiter(
                (model.scores.get(c.id, 0.0) for c in pool.candidates),
                dtype=np.float32,
                count=len(pool.candidates),
            )
        if note is None:
            note = lambda candidate: model.because(candidate.id)  # noqa: E731
    scores = score_pool(pool, preferences, now=now, learned=learned)
    return DialOrder(scores, preferences.depth, k, note)


def rank_feed(
    pool: CandidatePool, preferences: Preferences, *, now: datetime, k: int = DEFAULT_K
) -> RankedFeed:
    """Every usable candidate of ``pool`` in dial order, each with its why, and the metrics."""
    return dial_order(pool, preferences, now=now, k=k).ranked()
