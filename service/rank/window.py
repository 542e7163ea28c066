"""The candidate window as arrays (pure): what every profile's scoring reads, built once per window.

    Columns.build(candidates, topics, vectors)   one row per candidate, in candidate order:

    topics        float32 [n, T]  the calibrated tag score per topic column; an area's column is
                                  the best score of any tag in it (so an interest in an area covers
                                  its subtopics without expanding it)
    tags          float32 [n, T]  the raw tag scores by slug (feedback affinity weighs by them)
    top_area      int16   [n]     the area of the item's best tag (-1: untagged): ``Candidate.area``
    area          int16   [n]     the same, but -1 also for an off-topic item (best tag score
                                  under ``OFF_TOPIC``): neither takes a breadth slot
    kind, level   int8    [n]     index in ``KINDS``; 0 overview, 1 practitioner, 2 research
    technical     float32 [n]     [0, 1] half the kind, half the level
    published     float64 [n]     seconds since the epoch (freshness)
    source        int32   [n]     the item's first (most trusted) source, an index into
                                  ``source_ids``; ``source_lists`` holds every source (CSR)
    source_weight float32 [n]     log2 of the best curated weight, in [-1, 1]
    coverage      float32 [n]     [0, 1) for a paper that posts or podcasts discussed
    thin          bool    [n]     no summary and a short title (demoted at both ends)
    vectors       float32 [n, D]  the item vector (unit length; zeros where the item has none)

An item's **level** is inferred from the item as well as its sources: a title that reads as a
round-up or an explainer ("This week in …", "Weekly", "Issue #12", "… explained", a survey) makes
an overview whatever the source says, so a weekly newsletter is an overview even from a local
source. A ``PhraseMemo`` remembers, per keyword phrase, where it matches (title, summary, none),
so the next profile asking for the same phrase in the same window costs nothing.
"""

from __future__ import annotations

import functools
import math
import re
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from service.rank.model import Candidate, CandidateSource, TopicIndex
from service.records import KINDS
from service.vocabulary import DIMENSIONS

Floats = npt.NDArray[np.float32]
Ints = npt.NDArray[np.int64]
Flags = npt.NDArray[np.bool_]

KIND_INDEX: dict[str, int] = {kind: n for n, kind in enumerate(KINDS)}
LEVELS = ("overview", "practitioner", "research")
OVERVIEW, PRACTITIONER, RESEARCH = 0, 1, 2
KIND_LEVEL = {"paper": 1.0, "post": 0.55, "video": 0.4, "podcast": 0.3}
LEVEL_VALUE = (0.15, 0.55, 1.0)  # by level index
OFF_TOPIC = 0.2  # a best tag score below this names no area for the broad tour
THIN_TITLE_CHARS = 40  # a title shorter than this with no summary says too little
# Titles of items that survey, explain or gather others rather than report new work.
OVERVIEW_CUES = re.compile(
    r"\b(survey|surveys|tutorial|primer|introduction to|intro to|overview|explained|explainer|"
    r"beginner'?s?|for beginners|guide to|roundup|round-up|round up|news ?letter|this week|weekly|"
    r"last week|this month|recap|digest|issue #?\d+|no\.\s?\d+|interview|"
    r"in conversation|what is|review of|highlights|what happened|links)\b",
    re.IGNORECASE,
)


def clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def level_of(kind: str, sources: Sequence[CandidateSource], title: str) -> int:
    """Overview when the title reads as one (whatever the source), else the most technical
    level of its sources, else what its kind usually is."""
    if OVERVIEW_CUES.search(title):
        return OVERVIEW
    levels = [LEVELS.index(s.level) for s in sources if s.level in LEVELS]
    if levels:
        return max(levels)
    return RESEARCH if kind == "paper" else OVERVIEW if kind == "podcast" else PRACTITIONER


def technical_level(kind: str, sources: Sequence[CandidateSource], title: str) -> float:
    """Half the kind, half the inferred level: a paper from a research source is 1.0, a
    weekly round-up post 0.35."""
    return 0.5 * KIND_LEVEL.get(kind, 0.5) + 0.5 * LEVEL_VALUE[level_of(kind, sources, title)]


def source_weight(sources: Sequence[CandidateSource]) -> float:
    """log2 of the highest curated weight of the item's sources, in [-1, 1] (weight 1 -> 0)."""
    weights = [s.weight for s in sources if s.weight > 0]
    return clamp(math.log2(max(weights)), -1.0, 1.0) if weights else 0.0


def coverage_boost(kind: str, covered_by: int) -> float:
    """For papers: 0.5 for one post or podcast discussing it, 0.75 for two, ... towards 1."""
    return float(1 - 0.5**covered_by) if kind == "paper" and covered_by > 0 else 0.0


def is_thin(candidate: Candidate) -> bool:
    return not candidate.summary.strip() and len(candidate.title.strip()) < THIN_TITLE_CHARS


class PhraseMemo:
    """Where each keyword phrase matches in a window: 3 title, 2 summary only, 1 nowhere (a
    byte per row), computed for the whole window on first use and shared by threads."""

    MAX_PHRASES = 1024

    def __init__(self, titles: Sequence[str], summaries: Sequence[str]) -> None:
        self.titles, self.summaries = titles, summaries
        self.codes: dict[str, npt.NDArray[np.int8]] = {}
        self.lock = threading.Lock()

    def codes_of(self, phrase: str, pattern: re.Pattern[str]) -> npt.NDArray[np.int8]:
        found = self.codes.get(phrase)
        if found is None:
            found = np.fromiter(
                (
                    3 if pattern.search(title) else 2 if pattern.search(summary) else 1
                    for title, summary in zip(self.titles, self.summaries, strict=True)
                ),
                dtype=np.int8,
                count=len(self.titles),
            )
            with self.lock:
                if len(self.codes) < self.MAX_PHRASES:
                    found = self.codes.setdefault(phrase, found)
        return found


class GroupMemo:
    """Answers the window remembers by key (the story groups of the last few candidate sets),
    least recently used out; shared by threads."""

    SIZE = 8

    def __init__(self) -> None:
        self.found: OrderedDict[object, dict[int, int]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: object, compute: Callable[[], dict[int, int]]) -> dict[int, int]:
        with self.lock:
            found = self.found.get(key)
            if found is not None:
                self.found.move_to_end(key)
                return found
        found = compute()
        with self.lock:
            self.found[key] = found
            while len(self.found) > self.SIZE:
                self.found.popitem(last=False)
        return found


@dataclass(frozen=True, slots=True)
class Columns:
    """A list of candidates as arrays (see the module docstring), one row per candidate."""

    ids: Ints
    row_of: Mapping[int, int]  # item id -> its row
    topic_slugs: tuple[str, ...]
    column: Mapping[str, int]  # topic slug -> its column
    topics: Floats
    tags: Floats
    tag_total: Floats
    area_slugs: tuple[str, ...]
    top_area: npt.NDArray[np.int16]
    area: npt.NDArray[np.int16]
    kind: npt.NDArray[np.int8]
    level: npt.NDArray[np.int8]
    technical: Floats
    published: npt.NDArray[np.float64]
    source_ids: Ints
    source: npt.NDArray[np.int32]
    source_lists: tuple[Ints, Ints]  # (row start offsets [n + 1], source indexes)
    source_weight: Floats
    coverage: Floats
    thin: Flags
    vectors: Floats
    authors: Mapping[str, Ints]  # author key -> rows
    surnames: Mapping[str, Ints]  # the surname of an author key -> rows
    phrases: PhraseMemo
    arxiv: npt.NDArray[np.object_]  # the arXiv id (None: none)
    groups: GroupMemo  # story groups (rank.stories) of candidate sets of this window

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def build(
        cls,
        candidates: Sequence[Candidate],
        topics: TopicIndex,
        vectors: Mapping[int, bytes] | None = None,
    ) -> Columns:
        slugs = _topic_slugs(candidates, topics)
        tag_matrix, topic_matrix = _topic_matrices(candidates, slugs)
        area_slugs = tuple(sorted({t.area for c in candidates for t in c.tags}))
        source_ids, source, lists = _sources(candidates)
        authors, surnames = _author_rows(candidates)
        return cls(
            ids=np.array([c.id for c in candidates], dtype=np.int64),
            row_of={c.id: row for row, c in enumerate(candidates)},
            topic_slugs=slugs,
            column={slug: n for n, slug in enumerate(slugs)},
            topics=topic_matrix,
            tags=tag_matrix,
            tag_total=tag_matrix.sum(axis=1, dtype=np.float32),
            area_slugs=area_slugs,
            top_area=_areas(candidates, area_slugs, 0.0),
            area=_areas(candidates, area_slugs, OFF_TOPIC),
            kind=np.array([KIND_INDEX.get(c.kind, 0) for c in candidates], dtype=np.int8),
            level=np.array(
                [level_of(c.kind, c.sources, c.title) for c in candidates], dtype=np.int8
            ),
            technical=_floats(technical_level(c.kind, c.sources, c.title) for c in candidates),
            published=np.array([c.published_at.timestamp() for c in candidates], dtype=np.float64),
            source_ids=source_ids,
            source=source,
            source_lists=lists,
            source_weight=_floats(source_weight(c.sources) for c in candidates),
            coverage=_floats(coverage_boost(c.kind, c.covered_by) for c in candidates),
            thin=np.array([is_thin(c) for c in candidates], dtype=np.bool_),
            vectors=_vectors(candidates, vectors or {}),
            authors=authors,
            surnames=surnames,
            phrases=PhraseMemo([c.title for c in candidates], [c.summary for c in candidates]),
            arxiv=np.array([c.arxiv_id for c in candidates] + [None], dtype=object)[:-1],
            groups=GroupMemo(),
        )


def _floats(values: Iterable[float]) -> Floats:
    return np.fromiter(values, dtype=np.float32)


def _topic_slugs(candidates: Sequence[Candidate], topics: TopicIndex) -> tuple[str, ...]:
    found = set(topics.areas) | {t.slug for c in candidates for t in c.tags}
    return tuple(sorted(found | {t.area for c in candidates for t in c.tags}))


def _topic_matrices(candidates: Sequence[Candidate], slugs: Sequence[str]) -> tuple[Floats, Floats]:
    column = {slug: n for n, slug in enumerate(slugs)}
    tags = np.zeros((len(candidates), len(slugs)), dtype=np.float32)
    covered = np.zeros_like(tags)
    for row, c in enumerate(candidates):
        for t in c.tags:
            tags[row, column[t.slug]] += t.score
            for slug in (t.slug, t.area):
                covered[row, column[slug]] = max(covered[row, column[slug]], t.score)
    return tags, covered


def _areas(
    candidates: Sequence[Candidate], area_slugs: Sequence[str], floor: float
) -> npt.NDArray[np.int16]:
    index = {slug: n for n, slug in enumerate(area_slugs)}
    areas = np.full(len(candidates), -1, dtype=np.int16)
    for row, c in enumerate(candidates):
        area = c.area
        if area is not None and max(t.score for t in c.tags) >= floor:
            areas[row] = index[area]
    return areas


def _sources(
    candidates: Sequence[Candidate],
) -> tuple[Ints, npt.NDArray[np.int32], tuple[Ints, Ints]]:
    ids = sorted({s.id for c in candidates for s in c.sources})
    index = {source_id: n for n, source_id in enumerate(ids)}
    first = np.array(
        [index[c.sources[0].id] if c.sources else -1 for c in candidates], dtype=np.int32
    )
    offsets = np.zeros(len(candidates) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(c.sources) for c in candidates])
    flat = np.array([index[s.id] for c in candidates for s in c.sources], dtype=np.int64)
    return np.array(ids, dtype=np.int64), first, (offsets, flat)


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


def _author_rows(
    candidates: Sequence[Candidate],
) -> tuple[dict[str, Ints], dict[str, Ints]]:
    by_key: dict[str, list[int]] = {}
    by_surname: dict[str, list[int]] = {}
    for row, c in enumerate(candidates):
        for name in c.authors:
            key = author_key(name)
            if key:
                by_key.setdefault(key, []).append(row)
                by_surname.setdefault(key.split(" ", maxsplit=1)[0], []).append(row)
    return (
        {k: np.unique(np.array(v, dtype=np.int64)) for k, v in by_key.items()},
        {k: np.unique(np.array(v, dtype=np.int64)) for k, v in by_surname.items()},
    )


def _vectors(candidates: Sequence[Candidate], vectors: Mapping[int, bytes]) -> Floats:
    matrix = np.zeros((len(candidates), DIMENSIONS), dtype=np.float32)
    for row, c in enumerate(candidates):
        blob = vectors.get(c.id)
        if blob is not None and len(blob) == 4 * DIMENSIONS:
            matrix[row] = np.frombuffer(blob, dtype="<f4")
    return matrix
