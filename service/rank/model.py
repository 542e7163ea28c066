"""Frozen records of ranking: what the loader reads (from storage) and what selection returns.

    loader.load_pool (storage)  ->  CandidatePool: Candidates + TopicIndex + FeedbackEvents
    score.score_candidate       ->  ScoreParts per candidate (pure)
    select.rank_feed            ->  RankedFeed: RankedItems (each with its Why) + FeedMetrics

Every datetime is timezone-aware UTC.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from service.rank.learn import Learned


@dataclass(frozen=True, slots=True)
class CandidateTag:
    slug: str
    area: str  # the slug of the tag's area (itself for an area)
    score: float  # in (0, 1]
    origin: str  # category | model | keyword | source


@dataclass(frozen=True, slots=True)
class CandidateSource:
    id: int
    name: str
    kind: str
    level: str  # research | practitioner | overview
    weight: float


@dataclass(frozen=True, slots=True)
class Candidate:
    """An item that may enter a feed, with everything scoring and display need."""

    id: int
    kind: str
    title: str
    url: str | None
    summary: str
    published_at: datetime
    authors: tuple[str, ...] = ()
    reading_minutes: int | None = None
    arxiv_id: str | None = None
    arxiv_primary: str | None = None
    arxiv_categories: tuple[str, ...] = ()
    pdf_url: str | None = None
    enclosure_url: str | None = None
    enclosure_type: str | None = None
    duration_seconds: int | None = None
    episode: int | None = None
    season: int | None = None
    image_url: str | None = None
    tags: tuple[CandidateTag, ...] = ()
    sources: tuple[CandidateSource, ...] = ()
    covered_by: int = 0  # posts and podcasts that mention this paper
    feedback: frozenset[str] = frozenset()

    @property
    def area(self) -> str | None:
        """The area of the highest-scoring tag (ties: the first area slug); None when untagged."""
        if not self.tags:
            return None
        best = min(self.tags, key=lambda t: (-t.score, t.area, t.slug))
        return best.area


@dataclass(frozen=True, slots=True)
class TopicIndex:
    """The taxonomy as ranking needs it: each topic's area, parent and label."""

    areas: Mapping[str, str] = field(default_factory=dict)  # slug -> area slug
    parents: Mapping[str, str | None] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def build(cls, rows: Iterable[tuple[str, str, str | None, str]]) -> TopicIndex:
        """From (slug, area, parent, label) rows."""
        areas: dict[str, str] = {}
        parents: dict[str, str | None] = {}
        labels: dict[str, str] = {}
        for slug, area, parent, label in rows:
            areas[slug], parents[slug], labels[slug] = area, parent, label
        return cls(areas, parents, labels)

    def expand(self, slug: str) -> frozenset[str]:
        """The topic and, for an area, every subtopic of it."""
        return frozenset({slug} | {s for s, parent in self.parents.items() if parent == slug})

    def label(self, slug: str) -> str:
        return self.labels.get(slug, slug)


@dataclass(frozen=True, slots=True)
class Preferences:
    """What a profile asks of its feed (after any per-request overrides)."""

    interests: Mapping[str, float] = field(default_factory=dict)  # topic slug -> weight
    keywords: tuple[str, ...] = ()  # "-robotics" is a negative
    authors: tuple[str, ...] = ()
    kind_weights: Mapping[str, float] = field(default_factory=dict)  # missing kind -> 1.0
    depth: float = 0.5
    window_days: int = 7


@dataclass(frozen=True, slots=True)
class FeedbackEvent:
    """A like (+1) or dislike (-1) at a time, with what the item was about."""

    sign: int
    at: datetime
    topics: tuple[tuple[str, float], ...] = ()
    source_ids: tuple[int, ...] = ()
    authors: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Affinity:
    """Learned leanings in [-1, 1]: by topic slug, source id and author key."""

    topics: Mapping[str, float] = field(default_factory=dict)
    sources: Mapping[int, float] = field(default_factory=dict)
    authors: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Traits:
    """What an item's score takes from the item alone (the same for every profile)."""

    technical: float
    source: float
    coverage: float
    area: str | None
    topics: frozenset[str]  # tag slugs and their areas (negative keywords exclude by topic)
    published_us: int = 0  # published_at in microseconds since the epoch (freshness)
    tag_total: float = 0.0  # the sum of the tag scores (topic affinity divides by it)
    source_ids: tuple[int, ...] = ()  # in the candidate's source order (source affinity)
    author_keys: tuple[str, ...] = ()  # score.author_key of each author, in order


class WindowMemo:
    """What scoring learns about a fixed list of candidates that is the same for every profile,
    remembered for the next profile ranked from the same cached window (filled lazily):

    - ``table(phrase)``: each candidate's match of a keyword phrase (0 not yet looked, 1 none,
      2 in the summary, 3 in the title), a byte per candidate, at most ``MAX_PHRASES`` phrases;
    - ``qualities(now_us, half_life)``: each candidate's (deep, broad) quality as of ``now``
      (freshness, technical level, coverage, source), for the last ``MAX_CLOCKS`` instants.
    """

    MAX_PHRASES = 1024  # ~4 MB per window at most
    MAX_CLOCKS = 4

    def __init__(self, ids: Iterable[int]) -> None:
        self.positions: dict[int, int] = {item_id: n for n, item_id in enumerate(ids)}
        self.phrases: dict[str, bytearray] = {}
        self.clocks: dict[tuple[int, float], list[tuple[float, float] | None]] = {}
        self.lock = threading.Lock()  # for adding and evicting instants (threads share a window)

    def table(self, phrase: str) -> bytearray:
        """The matches of ``phrase`` by position (a private table once the memo is full)."""
        found = self.phrases.get(phrase)
        if found is None:
            found = bytearray(len(self.positions))
            if len(self.phrases) < self.MAX_PHRASES:
                found = self.phrases.setdefault(phrase, found)
        return found

    def qualities(self, now_us: int, half_life: float) -> list[tuple[float, float] | None]:
        """The (deep, broad) qualities as of ``now_us`` by position (None: not yet computed)."""
        key = (now_us, half_life)
        found = self.clocks.get(key)
        if found is None:
            with self.lock:
                found = self.clocks.get(key)
                if found is None:
                    while len(self.clocks) >= self.MAX_CLOCKS:
                        del self.clocks[next(iter(self.clocks))]
                    found = self.clocks[key] = [None] * len(self.positions)
        return found


@dataclass(frozen=True, slots=True)
class CandidatePool:
    """What the loader read for one feed: the candidates, the taxonomy and the profile's likes."""

    candidates: tuple[Candidate, ...]
    topics: TopicIndex
    events: tuple[FeedbackEvent, ...] = ()
    truncated: bool = False  # the candidate cap was reached: older items were left out
    traits: Mapping[int, Traits] = field(default_factory=dict)  # by id; missing = computed
    memo: WindowMemo | None = field(
        default=None, compare=False
    )  # the window's keyword matches (None: matched afresh)
    # story id -> the near-duplicates folded into it, earliest first (rank.stories)
    same_story: Mapping[int, tuple[Candidate, ...]] = field(default_factory=dict)
    # LEARNED HOOK (issue 18): the profile's preference model applied to the candidates
    learned: Learned | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class ScoreParts:
    """Every part of an item's score, each in a fixed range, and what it matched."""

    topic: float  # [0, 1] best interest match
    keyword: float  # [0, 1] best keyword match
    author: float  # 0 or 1: a followed author
    affinity: float  # [-1, 1] from likes and dislikes
    relevance: float  # [0, 1] the parts above combined
    technical: float  # [0, 1] 1 = a research paper, 0 = a news round-up
    freshness: float  # (0, 1] halves every half-life
    source: float  # [-1, 1] log2 of the source weight
    coverage: float  # [0, 1) papers discussed by posts or podcasts
    kind_weight: float  # [0, 2] the profile's weight for this kind
    matched_interests: tuple[str, ...] = ()
    matched_keywords: tuple[str, ...] = ()
    matched_authors: tuple[str, ...] = ()
    learned: float = 0.0  # [-1, 1] the preference model's affinity (LEARNED HOOK)
    because: str | None = None  # "because you liked '…'" (LEARNED HOOK)

    def as_dict(self) -> dict[str, float]:
        names = (
            "topic",
            "keyword",
            "author",
            "affinity",
            "relevance",
            "technical",
            "freshness",
            "source",
            "coverage",
            "kind_weight",
            "learned",
        )
        return {name: round(float(getattr(self, name)), 4) for name in names}


@dataclass(frozen=True, slots=True)
class Why:
    """Why an item is where it is, in parts and in one sentence."""

    interests: tuple[str, ...]
    keywords: tuple[str, ...]
    authors: tuple[str, ...]
    parts: Mapping[str, float]
    brings_area: str | None  # for breadth picks: the area it adds to the feed
    summary: str


@dataclass(frozen=True, slots=True)
class RankedItem:
    candidate: Candidate
    position: int  # 0-based in the whole ranked order
    score: float  # the dial score it was picked with (after the diversity penalty)
    why: Why


@dataclass(frozen=True, slots=True)
class FeedMetrics:
    """The measured contract of a feed: how focused and how broad its top k is."""

    depth: float
    k: int
    focus: float
    coverage: float
    areas_covered: int
    areas_available: int
    matching_available: int  # candidates that match an interest
    mean_technical: float  # of the top k


@dataclass(frozen=True, slots=True)
class RankedFeed:
    items: tuple[RankedItem, ...]
    metrics: FeedMetrics
    excluded: int = 0  # candidates dropped by negative keywords or a kind weight of 0
