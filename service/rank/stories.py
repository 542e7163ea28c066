"""One story, shown once (pure): coverage folded into its paper, near-duplicates into their first.

A feed shows each story once:

- **Coverage.** A post or episode that discusses a paper of the same feed is not a story of its
  own: the paper is, "covered by" it (``Candidate.covered_by`` counts, the page lists them). A
  paper the reader hid (or read) takes its coverage with it.
- **Near-duplicates.** The same announcement on three blogs is one story with three sources:
  two posts, episodes or videos from different sources are the same story when they were
  published within ``DUPLICATE_HOURS`` of each other and either their titles are the same once
  case, punctuation and spacing are set aside (``title_key``), or their vectors are at least
  ``DUPLICATE_SIMILARITY`` alike **and** their titles share a distinctive word (a word of 4+
  letters or one with a digit: ``gpt-5.5``). The earliest is the story; the others lend it their
  sources.

Calibration of ``DUPLICATE_SIMILARITY`` (the shipped WordLlama vectors of title + summary): the
same launch rewritten by three writers scores 0.84–0.91 (tests/test_stories.py); the most alike
pair of different stories from different sources within 72 hours of each other in
``../shared/corpus`` scores 0.38; different model launches of one week 0.31–0.37. The model
knows English best: unrelated Russian posts years apart score up to 0.90, which the time window
and the shared title word keep apart. Papers are never folded as duplicates: an arXiv id is
already one row. The newest ``DUPLICATE_WINDOW`` posts, episodes and videos of a feed are
compared, all pairs at once (numpy).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from service.rank.model import Candidate, CandidatePool
from service.rank.window import KIND_INDEX, GroupMemo
from service.vocabulary import title_key

DUPLICATE_SIMILARITY = 0.80
DUPLICATE_HOURS = 48
DUPLICATE_WINDOW = 1500  # newest posts, episodes and videos compared (pairwise: ~10 MB a matrix)
_WORD = re.compile(r"\w[\w.-]*\w|\w")
_STOP = frozenset(
    "this that with from what have your about into more just will than their them they been "
    "were when which while over also here news week".split()
)

Vectors = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class StoryInputs:
    """What folding needs beyond the candidates (the loader's window holds it)."""

    mentions: Mapping[int, tuple[str, ...]]  # non-paper candidate id -> arXiv ids it covers
    vectors: Mapping[int, bytes]  # non-paper candidate id -> its stored vector
    # papers the profile hid (or read, when read items leave the feed): their story is gone
    papers_gone: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Folded:
    """A pool with each story once, and what was folded into each story."""

    pool: CandidatePool
    same_story: Mapping[int, tuple[Candidate, ...]]  # story id -> its duplicates, earliest first
    coverage_folded: int  # posts and episodes shown only as "covered by" their paper


def distinctive_words(title: str) -> frozenset[str]:
    """The words of a title that name something: 4+ letters or with a digit, not a stopword."""
    words = _WORD.findall(title.casefold())
    return frozenset(
        w for w in words if (len(w) >= 4 or any(ch.isdigit() for ch in w)) and w not in _STOP
    )


@dataclass(frozen=True, slots=True)
class _Story:
    """What deciding "the same story" reads of a candidate, computed once per candidate."""

    candidate: Candidate
    sources: frozenset[int]
    key: str
    words: frozenset[str]

    @classmethod
    def of(cls, c: Candidate) -> _Story:
        key = title_key(c.title)
        return cls(c, frozenset(s.id for s in c.sources), key, distinctive_words(c.title))


def _same_story(a: _Story, b: _Story, similarity: float) -> bool:
    """Called for pairs published within ``DUPLICATE_HOURS`` of each other."""
    if a.sources & b.sources:
        return False  # one source's two items are two stories
    if a.key == b.key and len(a.key) >= 12:
        return True
    return similarity >= DUPLICATE_SIMILARITY and bool(a.words & b.words)


def duplicate_groups(
    candidates: Sequence[Candidate],
    vectors: Mapping[int, bytes],
    memo: GroupMemo | None = None,
) -> dict[int, int]:
    """Candidate id -> the id of its story (the earliest of its group); only folded ones.

    ``memo``: the window's memory of earlier answers (every profile ranked from one window asks
    about nearly the same posts); within one window the chosen ids decide the answer.
    """
    eligible = [c for c in candidates if c.kind != "paper" and c.id in vectors]
    newest = sorted(eligible, key=lambda c: (c.published_at, c.id), reverse=True)
    chosen = tuple(newest[:DUPLICATE_WINDOW])
    if len(chosen) < 2:
        return {}
    if memo is None:
        return _compute_groups(chosen, vectors)
    return dict(memo.get(tuple(c.id for c in chosen), lambda: _compute_groups(chosen, vectors)))


def _compute_groups(chosen: tuple[Candidate, ...], vectors: Mapping[int, bytes]) -> dict[int, int]:
    items = [_Story.of(c) for c in chosen]
    matrix = np.vstack([np.frombuffer(vectors[s.candidate.id], dtype="<f4") for s in items])
    hours = np.array([s.candidate.published_at.timestamp() / 3600 for s in items], dtype=np.float32)
    near = np.abs(hours[:, None] - hours[None, :]) <= DUPLICATE_HOURS
    sims = matrix @ matrix.T
    keys = np.array([hash(s.key) for s in items])
    candidates_mask = np.triu(
        near & ((sims >= DUPLICATE_SIMILARITY) | (keys[:, None] == keys)), k=1
    )
    parent = list(range(len(items)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in np.argwhere(candidates_mask).tolist():
        if _same_story(items[i], items[j], float(sims[i, j])):
            parent[root(i)] = root(j)
    groups: dict[int, list[Candidate]] = {}
    for n, s in enumerate(items):
        groups.setdefault(root(n), []).append(s.candidate)
    leaders: dict[int, int] = {}
    for members in groups.values():
        first = min(members, key=lambda c: (c.published_at, c.id))
        leaders.update({c.id: first.id for c in members if c.id != first.id})
    return leaders


def fold_stories(pool: CandidatePool, inputs: StoryInputs) -> Folded:
    """``pool`` with each story once: coverage of a paper in the pool and near-duplicates
    leave it; a story takes the sources of its duplicates (its own first). The pool's rows in
    the window's arrays follow its candidates."""
    columns, rows = pool.arrays()
    candidates = pool.candidates
    is_paper = columns.kind[rows] == KIND_INDEX["paper"]
    papers = set(columns.arxiv[rows[is_paper]].tolist()) | inputs.papers_gone
    papers.discard(None)
    at = np.full(len(columns), -1, dtype=np.int64)  # window row -> position in the pool
    at[rows] = np.arange(len(rows))

    def position(item_id: int) -> int:
        row = columns.row_of.get(item_id)
        return -1 if row is None else int(at[row])

    keep = np.ones(len(candidates), dtype=np.bool_)
    for item_id, found in inputs.mentions.items():
        n = position(item_id)
        if n >= 0 and not is_paper[n] and not papers.isdisjoint(found):
            keep[n] = False
    covering = len(candidates) - int(np.count_nonzero(keep))
    others = [candidates[n] for n in np.flatnonzero(keep & ~is_paper).tolist()]
    leaders = duplicate_groups(others, inputs.vectors, columns.groups)
    followers = [candidates[n] for n in map(position, leaders) if n >= 0 and keep[n]]
    folded: dict[int, list[Candidate]] = {}
    for c in sorted(followers, key=lambda c: (c.published_at, c.id)):
        folded.setdefault(leaders[c.id], []).append(c)
        keep[position(c.id)] = False
    kept_positions = np.flatnonzero(keep)
    kept = tuple(candidates[n] for n in kept_positions.tolist())
    if folded:
        kept = tuple(_with_sources(c, folded[c.id]) if c.id in folded else c for c in kept)
    same_story = {story: tuple(members) for story, members in folded.items()}
    pool_rows = rows[kept_positions] if pool.rows is not None else None
    return Folded(
        pool=replace(pool, candidates=kept, same_story=same_story, rows=pool_rows),
        same_story=same_story,
        coverage_folded=covering,
    )


def _with_sources(story: Candidate, duplicates: Sequence[Candidate]) -> Candidate:
    if not duplicates:
        return story
    merged = {s.id: s for s in story.sources}
    for duplicate in duplicates:
        for source in duplicate.sources:
            merged.setdefault(source.id, source)
    return replace(story, sources=tuple(merged.values()))


def nearest(
    target: Vectors, ids: Sequence[int], matrix: Vectors, *, k: int, floor: float
) -> list[tuple[int, float]]:
    """The ``k`` rows of ``matrix`` most like ``target`` (cosine of unit vectors), at least
    ``floor`` alike, best first (ties: the smaller id)."""
    if not ids or k <= 0:
        return []
    sims = matrix @ target
    top = np.argpartition(-sims, k - 1)[:k] if k < len(ids) else range(len(ids))
    order = sorted(top, key=lambda n: (-float(sims[n]), ids[n]))
    return [(ids[n], round(float(sims[n]), 4)) for n in order if sims[n] >= floor]
