"""The parts of an item's score, each a pure function with a fixed range (table-tested one by one).

Relevance (what the reader asked for)
    topic_match     [0, 1]  best interest weight (normalized) x tag score; an area covers its
                            subtopics
    keyword_match   [0, 1]  a keyword or phrase in the title (1.0) or the summary (0.6);
                            negatives (``-robotics``) exclude the item (see ``is_excluded``)
    author_match    0 or 1  an author the reader follows ("Y. Bengio" matches "Yoshua Bengio")
    affinity_score  [-1, 1] likes and dislikes of similar topics, sources and authors, decaying
    relevance       [0, 1]  noisy-or of the matches and a liked affinity, minus a disliked one
    learned         [-1, 1] the profile's preference model (``rank.learn``) on the item vector;
                            added to relevance where the ends rank (``learned_relevance``), so
                            likes reorder items within the interests and bring in neighbours

Character of the item
    technical_level [0, 1]  kind and source level; surveys, tutorials and news lower
    freshness       (0, 1]  halves every half-life
    source_weight   [-1, 1] log2 of the curated source weight
    coverage_boost  [0, 1)  a paper that posts or podcasts discussed
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TypeVar

from service.rank.model import (
    Affinity,
    Candidate,
    CandidateSource,
    CandidateTag,
    FeedbackEvent,
    Preferences,
    ScoreParts,
    TopicIndex,
    Traits,
)

if TYPE_CHECKING:
    from service.rank.learn import Learned

K = TypeVar("K", str, int)

KEYWORD_IN_TITLE = 1.0
KEYWORD_IN_SUMMARY = 0.6
KEYWORD_WEIGHT = (
    0.35  # off-topic keyword matches rank with weak topic matches, not above strong ones
)
AUTHOR_WEIGHT = 0.5
AFFINITY_WEIGHT = 0.6
LEARNED_WEIGHT = 1.0  # a learned +1 weighs as much as a full interest match
LEARNED_NOTE = 0.3  # the learned affinity from which an item's why names the liked items
AFFINITY_HALF_LIFE_DAYS = 30.0
AFFINITY_TOPIC, AFFINITY_SOURCE, AFFINITY_AUTHOR = 0.5, 0.3, 0.2
KIND_LEVEL = {"paper": 1.0, "post": 0.55, "video": 0.4, "podcast": 0.3}
SOURCE_LEVEL = {"research": 1.0, "practitioner": 0.55, "overview": 0.15}
LIGHT_CUE_PENALTY = 0.25
# Title words that mark an item as an overview rather than new technical work.
LIGHT_CUES = re.compile(
    r"\b(survey|surveys|tutorial|primer|introduction to|intro to|overview|explained|explainer|"
    r"beginner'?s?|for beginners|guide to|roundup|round-up|news|this week|weekly|recap|digest|"
    r"interview|in conversation|what is|review of)\b",
    re.IGNORECASE,
)


def clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


# --------------------------------------------------------------------------- topics


@dataclass(frozen=True, slots=True)
class TopicMatch:
    score: float
    matched: tuple[str, ...]  # interest slugs, strongest first


def expand_interests(
    interests: Mapping[str, float], topics: TopicIndex
) -> dict[str, frozenset[str]]:
    """Each interest slug with the topics it covers (itself and, for an area, its subtopics)."""
    return {slug: topics.expand(slug) for slug in sorted(interests)}


def topic_match(
    tags: Sequence[CandidateTag],
    interests: Mapping[str, float],
    covered: Mapping[str, frozenset[str]],
) -> TopicMatch:
    """Best (interest weight / strongest weight) x (tag score) over the interests an item meets."""
    if not interests or not tags:
        return TopicMatch(0.0, ())
    strongest = max(interests.values())
    found: list[tuple[float, str]] = []
    for slug, weight in interests.items():
        scores = [t.score for t in tags if t.slug in covered.get(slug, frozenset({slug}))]
        if scores:
            found.append((weight / strongest * max(scores), slug))
    found.sort(key=lambda pair: (-pair[0], pair[1]))
    best = clamp(found[0][0], 0.0, 1.0) if found else 0.0
    return TopicMatch(best, tuple(slug for _, slug in found))


def matches_interest(tags: Sequence[CandidateTag], covered: Iterable[frozenset[str]]) -> bool:
    """Whether any tag is an interest or a subtopic of one (the ``focus`` test)."""
    slugs = {t.slug for t in tags}
    return any(slugs & topics for topics in covered)


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


@dataclass(frozen=True, slots=True)
class KeywordMatch:
    score: float
    matched: tuple[str, ...]


def keyword_match(title: str, summary: str, keywords: Keywords) -> KeywordMatch:
    """1.0 for a keyword in the title, 0.6 in the summary only; every keyword found is listed."""
    best = 0.0
    matched: list[str] = []
    for phrase, pattern in keywords.positives:
        if pattern.search(title):
            best = max(best, KEYWORD_IN_TITLE)
        elif pattern.search(summary):
            best = max(best, KEYWORD_IN_SUMMARY)
        else:
            continue
        matched.append(phrase)
    return KeywordMatch(best, tuple(matched))


_NO_KEYWORD = KeywordMatch(0.0, ())


def excluded_by(
    candidate: Candidate, keywords: Keywords, topics: frozenset[str] | None = None
) -> str | None:
    """The negative keyword that excludes this item (in its text or as one of its topics)."""
    if not keywords.negatives:
        return None
    slugs = topics if topics is not None else topic_slugs(candidate)
    for word, pattern, slug in keywords.negatives:
        if slug in slugs or pattern.search(candidate.title) or pattern.search(candidate.summary):
            return word
    return None


def topic_slugs(candidate: Candidate) -> frozenset[str]:
    return frozenset({t.slug for t in candidate.tags} | {t.area for t in candidate.tags})


# --------------------------------------------------------------------------- authors


@functools.lru_cache(maxsize=65536)
def author_key(name: str) -> str:
    """'Yoshua Bengio', 'Y. Bengio' and 'Bengio, Yoshua' all give 'bengio y'."""
    text = unicodedata.normalize("NFKD", name)
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    if "," in text:
        last, _, first = text.partition(",")
        text = f"{first} {last}"
    words = re.findall(r"[a-z0-9]+(?:['-][a-z0-9]+)*", text)
    if not words:
        return ""
    initial = words[0][0] if len(words) > 1 else ""
    return f"{words[-1]} {initial}".strip()


@dataclass(frozen=True, slots=True)
class AuthorMatch:
    score: float
    matched: tuple[str, ...]  # the item's authors that the reader follows


def _same_author(followed: str, author: str) -> bool:
    if not followed or not author:
        return False
    if " " not in followed:  # a bare surname follows every initial
        return author.split(" ", maxsplit=1)[0] == followed
    return followed == author


def author_match(authors: Sequence[str], followed: Sequence[str]) -> AuthorMatch:
    if not followed or not authors:
        return AuthorMatch(0.0, ())
    keys = [author_key(f) for f in followed]
    matched = tuple(a for a in authors if any(_same_author(k, author_key(a)) for k in keys))
    return AuthorMatch(1.0 if matched else 0.0, matched)


# --------------------------------------------------------------------------- affinity


def _decay(age_days: float, half_life_days: float) -> float:
    return float(0.5 ** (max(age_days, 0.0) / half_life_days))


def _squash(totals: Mapping[K, float]) -> dict[K, float]:
    return {key: math.tanh(value / 2.0) for key, value in totals.items() if value}


def affinities(
    events: Iterable[FeedbackEvent],
    now: datetime,
    half_life_days: float = AFFINITY_HALF_LIFE_DAYS,
) -> Affinity:
    """Sum each like (+) and dislike (-), halved every ``half_life_days``; squashed to (-1, 1)."""
    topics: dict[str, float] = defaultdict(float)
    sources: dict[int, float] = defaultdict(float)
    authors: dict[str, float] = defaultdict(float)
    for event in events:
        weight = event.sign * _decay((now - event.at).total_seconds() / 86400, half_life_days)
        for slug, score in event.topics:
            topics[slug] += weight * score
        for source_id in event.source_ids:
            sources[source_id] += weight
        for name in event.authors:
            authors[author_key(name)] += weight
    return Affinity(topics=_squash(topics), sources=_squash(sources), authors=_squash(authors))


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def affinity_score(candidate: Candidate, affinity: Affinity) -> float:
    """Tag-score-weighted topic affinity, mean source affinity, strongest author affinity."""
    if not (affinity.topics or affinity.sources or affinity.authors):
        return 0.0
    total = sum(t.score for t in candidate.tags)
    topic = (
        sum(t.score * affinity.topics.get(t.slug, 0.0) for t in candidate.tags) / total
        if total
        else 0.0
    )
    source = _mean([affinity.sources.get(s.id, 0.0) for s in candidate.sources])
    author = 0.0
    if affinity.authors:
        values = [affinity.authors.get(author_key(a), 0.0) for a in candidate.authors]
        author = max(values, key=abs, default=0.0)
    combined = AFFINITY_TOPIC * topic + AFFINITY_SOURCE * source + AFFINITY_AUTHOR * author
    return clamp(combined, -1.0, 1.0)


def relevance(topic: float, keyword: float, author: float, affinity: float) -> float:
    """Noisy-or of the matches (any one can make an item relevant); a positive affinity is one
    more match (a learned, milder interest), a negative one is subtracted."""
    liked, disliked = max(affinity, 0.0), max(-affinity, 0.0)
    miss = (1 - topic) * (1 - KEYWORD_WEIGHT * keyword) * (1 - AUTHOR_WEIGHT * author)
    miss *= 1 - AFFINITY_WEIGHT * liked
    return clamp(1 - miss - AFFINITY_WEIGHT * disliked, 0.0, 1.0)


def learned_relevance(relevance: float, learned: float) -> float:
    """LEARNED HOOK (issue 18): the relevance the two ends rank by, in [-1, 2]: the matches plus
    the preference model's affinity, unbounded above 1 so that likes order items that match an
    interest fully, and below 0 so that what resembles dislikes sinks."""
    return relevance + LEARNED_WEIGHT * learned


# --------------------------------------------------------------------------- character


def technical_level(kind: str, sources: Sequence[CandidateSource], title: str) -> float:
    """Half the kind, half the most technical source level; overview cues in the title lower it."""
    kind_level = KIND_LEVEL.get(kind, 0.5)
    levels = [SOURCE_LEVEL.get(s.level, 0.55) for s in sources]
    source_level = max(levels) if levels else kind_level
    level = 0.5 * kind_level + 0.5 * source_level
    if LIGHT_CUES.search(title):
        level -= LIGHT_CUE_PENALTY
    return clamp(level, 0.0, 1.0)


def half_life_hours(window_days: int) -> float:
    """Freshness half-life for a window: about a third of it, never under 12 hours."""
    return max(12.0, window_days * 24 * 0.35)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def microseconds(moment: datetime) -> int:
    """Exact microseconds since the epoch (what ``timedelta.total_seconds()`` divides)."""
    delta = moment - _EPOCH
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def freshness(published_at: datetime, now: datetime, half_life: float) -> float:
    """1.0 when new (or dated in the future), 0.5 after ``half_life`` hours, and so on."""
    age_hours = max((now - published_at).total_seconds() / 3600, 0.0)
    return float(0.5 ** (age_hours / half_life))


def source_weight(sources: Sequence[CandidateSource]) -> float:
    """log2 of the highest curated weight of the item's sources, in [-1, 1] (weight 1 -> 0)."""
    weights = [s.weight for s in sources if s.weight > 0]
    if not weights:
        return 0.0
    return clamp(math.log2(max(weights)), -1.0, 1.0)


def coverage_boost(kind: str, covered_by: int) -> float:
    """For papers: 0.5 for one post or podcast discussing it, 0.75 for two, ... towards 1."""
    if kind != "paper" or covered_by <= 0:
        return 0.0
    return float(1 - 0.5**covered_by)


# --------------------------------------------------------------------------- all parts


def traits_of(candidate: Candidate) -> Traits:
    """The profile-free parts of a candidate's score, computed once and shared."""
    return Traits(
        technical=technical_level(candidate.kind, candidate.sources, candidate.title),
        source=source_weight(candidate.sources),
        coverage=coverage_boost(candidate.kind, candidate.covered_by),
        area=candidate.area,
        topics=topic_slugs(candidate),
        published_us=microseconds(candidate.published_at),
        tag_total=sum(t.score for t in candidate.tags),
        source_ids=tuple(s.id for s in candidate.sources),
        author_keys=tuple(author_key(a) for a in candidate.authors),
    )


@dataclass(frozen=True, slots=True)
class Scorer:
    """What every candidate of one feed is scored against, prepared once."""

    preferences: Preferences
    covered: Mapping[str, frozenset[str]]
    keywords: Keywords
    affinity: Affinity
    now: datetime
    learned: Learned | None = None  # LEARNED HOOK (issue 18)

    @classmethod
    def prepare(
        cls,
        preferences: Preferences,
        topics: TopicIndex,
        events: Iterable[FeedbackEvent],
        now: datetime,
        learned: Learned | None = None,
    ) -> Scorer:
        return cls(
            preferences=preferences,
            covered=expand_interests(preferences.interests, topics),
            keywords=compile_keywords(preferences.keywords),
            affinity=affinities(events, now),
            now=now,
            learned=learned,
        )

    def learned_of(self, candidate: Candidate) -> float:
        """LEARNED HOOK: the preference model's affinity for ``candidate`` (0: no model)."""
        return self.learned.scores.get(candidate.id, 0.0) if self.learned is not None else 0.0

    def score(self, candidate: Candidate, traits: Traits | None = None) -> ScoreParts:
        """Every part for ``candidate``; ``traits`` (its profile-free parts) if known already."""
        prefs = self.preferences
        traits = traits or traits_of(candidate)
        topic = topic_match(candidate.tags, prefs.interests, self.covered)
        keyword = (
            keyword_match(candidate.title, candidate.summary, self.keywords)
            if self.keywords.positives
            else _NO_KEYWORD
        )
        author = author_match(candidate.authors, prefs.authors)
        leaning = affinity_score(candidate, self.affinity)
        learned = self.learned_of(candidate)
        because = (
            self.learned.because(candidate.id)
            if self.learned is not None and learned >= LEARNED_NOTE
            else None
        )
        return ScoreParts(
            topic=topic.score,
            keyword=keyword.score,
            author=author.score,
            affinity=leaning,
            relevance=relevance(topic.score, keyword.score, author.score, leaning),
            technical=traits.technical,
            freshness=freshness(
                candidate.published_at, self.now, half_life_hours(prefs.window_days)
            ),
            source=traits.source,
            coverage=traits.coverage,
            kind_weight=prefs.kind_weights.get(candidate.kind, 1.0),
            matched_interests=topic.matched,
            matched_keywords=keyword.matched,
            matched_authors=author.matched,
            learned=learned,
            because=because,
        )
