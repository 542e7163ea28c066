"""Every candidate scored for one profile in a few array operations (pure).

A profile becomes a handful of arrays (``Asks.prepare``): weights over the window's topic
columns, compiled keywords, followed author keys, and the feedback affinities (by topic column,
by source, by author). Each part has a fixed range:

Relevance (what the reader asked for)
    topic     [0, 1]  best interest weight (normalized to [0.5, 1]: a weaker interest's papers
                      do not fall under a stronger one's news) x how surely the item is in it:
                      a calibrated tag score of ``FULL_MATCH`` or more is a full match, so tag
                      scores do not order the matches (their technical level and freshness do)
    keyword   [0, 1]  a keyword or phrase in the title (1.0) or the summary (0.6); negatives
                      (``-robotics``) exclude the item (as text or as one of its topics)
    author    0 or 1  an author the reader follows ("Y. Bengio" matches "Yoshua Bengio")
    affinity  [-1, 1] likes and dislikes of similar topics, sources and authors, decaying
    learned   [-1, 1] a learned preference model's opinion (0: none), passed in per candidate
    lean      [-1, 1] affinity + learned
    relevance [0, 1]  noisy-or of the matches and a liked lean, minus a disliked one

The two ends of the dial
    deep  = kind weight x (relevance x (0.55 + 0.45 quality_deep) + PREFERENCE x affinity
            + LEARNED_WEIGHT x learned + trace)
    broad = kind weight x (0.25 relevance + quality_broad)

The affinity and the learned model's opinion are added outside the relevance gate, so likes
reorder the items *within* the interests (all of which have relevance 1) as well as bring in
neighbours outside them (through relevance). The two are separate terms: clipped together, a
topic affinity that every liked paper shares saturated the lean and drowned what the model tells
apart (bench learning, mean precision@10 after 10 likes: 0.34 clipped together, 0.47 apart,
the TF-IDF+SVM baseline 0.48 in the same runs). Source affinity counts for little when positive
(``AFFINITY_SOURCE_LIKED``): liking five papers that one aggregator carried must not fill the top
with that aggregator.
A thin item (no summary, a short title) loses ``THIN`` of its quality at both ends.
"""

from __future__ import annotations

import operator
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from service.rank.model import CandidatePool, FeedbackEvent, Preferences, Rows
from service.rank.window import KIND_INDEX, Columns, Floats, author_key

K = TypeVar("K", str, int)

KEYWORD_IN_TITLE = 1.0
KEYWORD_IN_SUMMARY = 0.6
KEYWORD_WEIGHT = 0.35  # off-topic keyword matches rank with weak topic matches
AUTHOR_WEIGHT = 0.5
AFFINITY_WEIGHT = 0.8
AFFINITY_HALF_LIFE_DAYS = 30.0
AFFINITY_TOPIC, AFFINITY_SOURCE, AFFINITY_AUTHOR = 0.5, 0.3, 0.2
AFFINITY_SOURCE_LIKED = 0.1  # a liked source only breaks ties; a disliked one weighs 0.3
FULL_MATCH = 0.6  # a tag score from which an item is fully in the topic
WEAKEST_INTEREST = 0.5  # an interest's weight counts from this (strongest: 1)
PREFERENCE = 0.4  # the affinity's share of the deep score, outside the relevance gate
LEARNED_WEIGHT = 1.0  # the learned model's share, outside the gate and never clipped with it
DEEP_TRACE = 0.02  # keeps unmatched items ordered by quality at the end of the deep list
THIN = 0.2
_CODE_SCORE = np.array([0.0, 0.0, KEYWORD_IN_SUMMARY, KEYWORD_IN_TITLE], dtype=np.float32)


# --------------------------------------------------------------------------- keywords


@dataclass(frozen=True, slots=True)
class Keywords:
    """Keywords compiled once: positives to look for, negatives that exclude."""

    positives: tuple[tuple[str, re.Pattern[str]], ...] = ()
    negatives: tuple[tuple[str, re.Pattern[str], str], ...] = ()  # (word, pattern, as a slug)


def _pattern(phrase: str) -> re.Pattern[str]:
    words = [re.escape(word) for word in phrase.split()]
    return re.compile(r"(?<!\w)" + r"[\s-]+".join(words) + r"(?!\w)", re.IGNORECASE)


def _slug(text: str) -> str:
    return "-".join(re.findall(r"[a-z0-9]+", text.lower()))


def compile_keywords(keywords: Iterable[str]) -> Keywords:
    positives: list[tuple[str, re.Pattern[str]]] = []
    negatives: list[tuple[str, re.Pattern[str], str]] = []
    for raw in keywords:
        phrase = raw.strip()
        if phrase.startswith("-") and phrase[1:].strip():
            word = phrase[1:].strip()
            negatives.append((word, _pattern(word), _slug(word)))
        elif phrase and not phrase.startswith("-"):
            positives.append((phrase, _pattern(phrase)))
    return Keywords(tuple(positives), tuple(negatives))


# --------------------------------------------------------------------------- feedback affinity


@dataclass(frozen=True, slots=True)
class Affinity:
    """Learned leanings in (-1, 1): by topic slug, source id and author key."""

    topics: Mapping[str, float]
    sources: Mapping[int, float]
    authors: Mapping[str, float]

    def __bool__(self) -> bool:
        return bool(self.topics or self.sources or self.authors)


def _squash(totals: Mapping[K, float]) -> dict[K, float]:
    return {key: float(np.tanh(value / 2.0)) for key, value in totals.items() if value}


def affinities(
    events: Iterable[FeedbackEvent], now: datetime, half_life_days: float = AFFINITY_HALF_LIFE_DAYS
) -> Affinity:
    """Sum each like (+) and dislike (-), halved every ``half_life_days``; squashed to (-1, 1)."""
    topics: dict[str, float] = defaultdict(float)
    sources: dict[int, float] = defaultdict(float)
    authors: dict[str, float] = defaultdict(float)
    for event in events:
        age_days = max((now - event.at).total_seconds() / 86400, 0.0)
        weight = event.sign * 0.5 ** (age_days / half_life_days)
        for slug, score in event.topics:
            topics[slug] += weight * score
        for source_id in event.source_ids:
            sources[source_id] += weight
        for name in event.authors:
            authors[author_key(name)] += weight
    return Affinity(topics=_squash(topics), sources=_squash(sources), authors=_squash(authors))


def _affinity(columns: Columns, rows: Rows, affinity: Affinity) -> Floats:
    """Tag-score-weighted topic affinity, mean source affinity, strongest author affinity."""
    result = np.zeros(len(rows), dtype=np.float32)
    if not affinity:
        return result
    column = columns.column
    by_topic = np.zeros(len(columns.topic_slugs), dtype=np.float32)
    for slug, value in affinity.topics.items():
        if slug in column:
            by_topic[column[slug]] = value
    total = columns.tag_total[rows]
    weighted = columns.tags[rows] @ by_topic
    topic = np.divide(weighted, total, out=np.zeros_like(weighted), where=total > 0)
    source = _source_affinity(columns, rows, affinity.sources)
    source = np.where(source > 0, AFFINITY_SOURCE_LIKED * source, AFFINITY_SOURCE * source)
    author = _author_affinity(columns, rows, affinity.authors)
    combined = AFFINITY_TOPIC * topic + source + AFFINITY_AUTHOR * author
    clipped: Floats = np.clip(combined, -1.0, 1.0).astype(np.float32)
    return clipped


def _source_affinity(columns: Columns, rows: Rows, sources: Mapping[int, float]) -> Floats:
    if not sources:
        return np.zeros(len(rows), dtype=np.float32)
    by_source = np.array([sources.get(int(s), 0.0) for s in columns.source_ids], dtype=np.float32)
    offsets, flat = columns.source_lists
    starts, ends = offsets[rows], offsets[rows + 1]
    values = np.concatenate([by_source[flat], np.zeros(1, dtype=np.float32)])
    cumulative = np.concatenate([np.zeros(1, dtype=np.float64), np.cumsum(values[:-1])])
    counts = ends - starts
    sums = cumulative[ends] - cumulative[starts]
    means: Floats = np.divide(sums, counts, out=np.zeros(len(rows)), where=counts > 0).astype(
        np.float32
    )
    return means


def _author_affinity(columns: Columns, rows: Rows, authors: Mapping[str, float]) -> Floats:
    strongest = np.zeros(len(columns), dtype=np.float32)
    for key, value in sorted(authors.items()):
        found = columns.authors.get(key)
        if found is not None:
            current = strongest[found]
            strongest[found] = np.where(np.abs(value) > np.abs(current), value, current)
    return strongest[rows]


# --------------------------------------------------------------------------- the profile


@dataclass(frozen=True, slots=True)
class Asks:
    """What every candidate of one feed is scored against, prepared once."""

    preferences: Preferences
    interests: tuple[tuple[str, float], ...]  # slug, normalized weight; strongest first
    keywords: Keywords
    followed: tuple[str, ...]  # author keys of followed authors
    affinity: Affinity
    now: datetime

    @classmethod
    def prepare(
        cls, preferences: Preferences, events: Iterable[FeedbackEvent], now: datetime
    ) -> Asks:
        weights = {slug: w for slug, w in preferences.interests.items() if w > 0}
        strongest = max(weights.values(), default=1.0)
        soft = {
            s: WEAKEST_INTEREST + (1 - WEAKEST_INTEREST) * w / strongest for s, w in weights.items()
        }
        return cls(
            preferences=preferences,
            interests=tuple(sorted(soft.items(), key=lambda p: (-p[1], p[0]))),
            keywords=compile_keywords(preferences.keywords),
            followed=tuple(k for k in (author_key(a) for a in preferences.authors) if k),
            affinity=affinities(events, now),
            now=now,
        )


def half_life_hours(window_days: int) -> float:
    """Freshness half-life for a window: about a third of it, never under 12 hours."""
    return max(12.0, window_days * 24 * 0.35)


# --------------------------------------------------------------------------- all candidates


@dataclass(frozen=True, slots=True)
class Scores:
    """Every part of every candidate's score, aligned with ``pool.candidates``."""

    pool: CandidatePool
    columns: Columns
    rows: Rows
    asks: Asks
    kept: npt.NDArray[np.bool_]  # not excluded (hidden, a negative keyword, a kind weight 0)
    topic: Floats
    keyword: Floats
    author: Floats
    affinity: Floats
    learned: Floats
    relevance: Floats
    freshness: Floats
    kind_weight: Floats
    deep: Floats
    broad: Floats

    @property
    def excluded(self) -> int:
        return int(len(self.kept) - np.count_nonzero(self.kept))


def topic_match(columns: Columns, rows: Rows, asks: Asks) -> Floats:
    """Best normalized interest weight x min(1, tag score / FULL_MATCH) over the interests."""
    best = np.zeros(len(rows), dtype=np.float32)
    column = columns.column
    for slug, weight in asks.interests:
        if slug in column:
            sure = np.minimum(columns.topics[rows, column[slug]] / FULL_MATCH, 1.0)
            best = np.maximum(best, weight * sure)
    return best


def _keyword(columns: Columns, rows: Rows, keywords: Keywords) -> Floats:
    best = np.zeros(len(rows), dtype=np.float32)
    for phrase, pattern in keywords.positives:
        best = np.maximum(best, _CODE_SCORE[columns.phrases.codes_of(phrase, pattern)[rows]])
    return best


def _negatives(columns: Columns, rows: Rows, keywords: Keywords) -> npt.NDArray[np.bool_]:
    out = np.zeros(len(rows), dtype=np.bool_)
    column = columns.column
    for word, pattern, slug in keywords.negatives:
        out |= columns.phrases.codes_of(word, pattern)[rows] > 1
        if slug in column:
            out |= columns.topics[rows, column[slug]] > 0
    return out


def followed_rows(columns: Columns, followed: Sequence[str]) -> npt.NDArray[np.bool_]:
    """Rows with an author the reader follows (a bare surname follows every initial)."""
    found = np.zeros(len(columns), dtype=np.bool_)
    for key in followed:
        rows = columns.authors.get(key) if " " in key else columns.surnames.get(key)
        if rows is not None:
            found[rows] = True
    return found


def relevance(topic: Floats, keyword: Floats, author: Floats, lean: Floats) -> Floats:
    """Noisy-or of the matches (any one can make an item relevant); a positive lean is one more
    match (a learned, milder interest), a negative one is subtracted."""
    miss = (1 - topic) * (1 - KEYWORD_WEIGHT * keyword) * (1 - AUTHOR_WEIGHT * author)
    miss = miss * (1 - AFFINITY_WEIGHT * np.maximum(lean, 0.0))
    result: Floats = np.clip(1 - miss - AFFINITY_WEIGHT * np.maximum(-lean, 0.0), 0.0, 1.0)
    return result


def _kind_weights(columns: Columns, rows: Rows, preferences: Preferences) -> Floats:
    by_kind = np.ones(len(KIND_INDEX), dtype=np.float32)
    for kind, weight in preferences.kind_weights.items():
        if kind in KIND_INDEX:
            by_kind[KIND_INDEX[kind]] = weight
    return by_kind[columns.kind[rows]]


def _hidden(pool: CandidatePool) -> npt.NDArray[np.bool_]:
    hidden = np.zeros(len(pool.candidates), dtype=np.bool_)
    marks = map(operator.attrgetter("feedback"), pool.candidates)
    hidden[[n for n, mark in enumerate(marks) if mark and "hide" in mark]] = True
    return hidden


def score_pool(
    pool: CandidatePool,
    preferences: Preferences,
    *,
    now: datetime,
    learned: npt.NDArray[np.floating] | None = None,
) -> Scores:
    """Score every candidate of ``pool`` for ``preferences`` as of ``now``.

    ``learned`` is a learned preference model's affinity for each candidate (aligned with
    ``pool.candidates``, in [-1, 1], 0 = no opinion), e.g. ``model.affinity(pool.vectors())``.
    """
    columns, rows = pool.arrays()
    asks = Asks.prepare(preferences, pool.events, now)
    quality = _Quality.of(columns, rows, now, preferences.window_days)
    topic = topic_match(columns, rows, asks)
    keyword = _keyword(columns, rows, asks.keywords)
    author = followed_rows(columns, asks.followed)[rows].astype(np.float32)
    affinity = _affinity(columns, rows, asks.affinity)
    opinion = _learned(learned, len(rows))
    lean = np.clip(affinity + opinion, -1.0, 1.0)
    rel = relevance(topic, keyword, author, lean)
    weight = _kind_weights(columns, rows, preferences)
    kept = ~(_hidden(pool) | _negatives(columns, rows, asks.keywords)) & (weight > 0)
    deep = weight * (
        rel * (0.55 + 0.45 * quality.deep)
        + PREFERENCE * affinity
        + LEARNED_WEIGHT * opinion
        + DEEP_TRACE * quality.deep
    )
    broad = weight * (0.25 * rel + quality.broad)
    return Scores(
        pool, columns, rows, asks, kept, topic, keyword, author, affinity, opinion, rel,
        quality.fresh, weight, deep.astype(np.float32), broad.astype(np.float32),
    )  # fmt: skip


def _learned(learned: npt.NDArray[np.floating] | None, size: int) -> Floats:
    if learned is None:
        return np.zeros(size, dtype=np.float32)
    values = np.asarray(learned, dtype=np.float32)
    if values.shape != (size,):
        raise ValueError(f"learned: one value per candidate ({size}), got shape {values.shape}")
    return np.clip(np.nan_to_num(values), -1.0, 1.0)


@dataclass(frozen=True, slots=True)
class _Quality:
    """The profile-free parts of both ends as of ``now``."""

    fresh: Floats
    deep: Floats
    broad: Floats

    @classmethod
    def of(cls, columns: Columns, rows: Rows, now: datetime, window_days: int) -> _Quality:
        age_hours = np.maximum((now.timestamp() - columns.published[rows]) / 3600.0, 0.0)
        fresh = (0.5 ** (age_hours / half_life_hours(window_days))).astype(np.float32)
        source = (columns.source_weight[rows] + 1) / 2
        coverage, tech = columns.coverage[rows], columns.technical[rows]
        thin = THIN * columns.thin[rows]
        deep = 0.4 * tech + 0.3 * fresh + 0.15 * coverage + 0.15 * source - thin
        broad = 0.45 * (1 - tech) + 0.3 * fresh + 0.1 * coverage + 0.15 * source - thin
        return cls(fresh, deep.astype(np.float32), broad.astype(np.float32))
