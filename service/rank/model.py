"""Frozen records of ranking: what the loader reads (from storage) and what selection returns.

    loader.load_pool (storage)  ->  CandidatePool: Candidates + TopicIndex + FeedbackEvents,
                                    with the window's arrays (window.Columns) and their rows
    score.score_pool            ->  Scores: every part of every candidate as arrays (pure)
    dial.dial_order             ->  DialOrder: the feed at a depth; RankedItems (each with its
                                    Why, explain.why) only for the positions asked for

Every datetime is timezone-aware UTC.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from service.rank.learn import Learned
    from service.rank.window import Columns

Rows = npt.NDArray[np.int64]


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
class CandidatePool:
    """What the loader read for one feed: the candidates, the taxonomy and the profile's likes,
    with the window's arrays (``columns``) and each candidate's row in them (``rows``)."""

    candidates: tuple[Candidate, ...]
    topics: TopicIndex
    events: tuple[FeedbackEvent, ...] = ()
    truncated: bool = False  # the candidate cap was reached: older items were left out
    # story id -> the near-duplicates folded into it, earliest first (rank.stories)
    same_story: Mapping[int, tuple[Candidate, ...]] = field(default_factory=dict)
    columns: Columns | None = field(default=None, compare=False)  # None: built from candidates
    rows: Rows | None = field(default=None, compare=False)
    # the profile's learned preference model on these candidates (rank.preference; None: none)
    learned: Learned | None = field(default=None, compare=False)

    def arrays(self) -> tuple[Columns, Rows]:
        """The window's columns and the candidates' rows in them (built here for a pool made
        without a window: tests, one-off rankings)."""
        if self.columns is not None and self.rows is not None:
            return self.columns, self.rows
        from service.rank.window import Columns  # window builds on these records

        return Columns.build(self.candidates, self.topics), np.arange(
            len(self.candidates), dtype=np.int64
        )

    def vectors(self) -> npt.NDArray[np.float32]:
        """The candidates' item vectors (unit rows; zeros where an item has none), in order:
        what a learned preference model scores."""
        columns, rows = self.arrays()
        return columns.vectors[rows]


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
    learned: float = 0.0  # [-1, 1] a learned preference model's opinion (0: none)
    matched_interests: tuple[str, ...] = ()
    matched_keywords: tuple[str, ...] = ()
    matched_authors: tuple[str, ...] = ()

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
    sources_covered: int = 0  # distinct sources (an item's first source) in the top k
    max_per_source: int = 0  # the most items of the top k from one source
    kinds_covered: int = 0  # distinct kinds in the top k
    kinds_available: int = 0  # distinct kinds among the candidates


@dataclass(frozen=True, slots=True)
class RankedFeed:
    items: tuple[RankedItem, ...]
    metrics: FeedMetrics
    excluded: int = 0  # candidates dropped by negative keywords or a kind weight of 0
