"""One story, shown once (rank.stories, pure): coverage folds into its paper, near-duplicates
into the first of them; the duplicate threshold checked against the shipped model's vectors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from service.ingest.embed import item_text, shared_embedder, to_blob
from service.rank.model import Candidate, CandidatePool, CandidateSource, TopicIndex
from service.rank.stories import (
    DUPLICATE_SIMILARITY,
    StoryInputs,
    distinctive_words,
    duplicate_groups,
    fold_stories,
    nearest,
)
from service.vocabulary import title_key

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)

# The same launch written up by three blogs, and two other launches of the same week.
LAUNCH = [
    (
        "Introducing GPT-5.5",
        "OpenAI releases GPT-5.5, a new model that is faster and better at coding, with a 1M "
        "token context window, available today in ChatGPT and the API.",
    ),
    (
        "OpenAI launches GPT-5.5",
        "GPT-5.5 is out: OpenAI's newest model brings a one-million-token context, stronger "
        "coding and lower latency. It ships in ChatGPT and via the API starting today.",
    ),
    (
        "GPT-5.5 is here: what you need to know",
        "OpenAI today announced GPT-5.5. The model improves coding, supports 1M tokens of "
        "context and is available to ChatGPT users and API developers.",
    ),
]
OTHERS = [
    (
        "Introducing Claude Opus 5",
        "Anthropic releases Claude Opus 5, its most capable model, better at agentic coding and "
        "long tasks, available in the API and claude.ai.",
    ),
    (
        "Gemini 3 Flash now available",
        "Google makes Gemini 3 Flash generally available, a fast and cheap model for developers "
        "in the Gemini API and Vertex AI.",
    ),
]


def _source(n: int) -> CandidateSource:
    return CandidateSource(n, f"blog {n}", "post", "practitioner", 1.0)


def _post(
    item_id: int, title: str, *, source: int, hours: float = 0, kind: str = "post"
) -> Candidate:
    return Candidate(
        id=item_id,
        kind=kind,
        title=title,
        url=f"https://blog{source}.example/{item_id}",
        summary="",
        published_at=NOW - timedelta(hours=hours),
        sources=(_source(source),),
    )


def _paper(item_id: int, arxiv_id: str) -> Candidate:
    return Candidate(
        id=item_id,
        kind="paper",
        title=f"Paper {arxiv_id}",
        url=f"https://arxiv.org/abs/{arxiv_id}",
        summary="",
        published_at=NOW,
        arxiv_id=arxiv_id,
        sources=(CandidateSource(99, "arXiv cs.CL", "paper", "research", 1.0),),
    )


def _vectors(texts: list[tuple[str, str]]) -> np.ndarray:
    return shared_embedder().embed([item_text(title, summary) for title, summary in texts])


def test_the_same_launch_rewritten_is_above_the_threshold_and_other_launches_below() -> None:
    vectors = _vectors(LAUNCH + OTHERS)
    sims = vectors @ vectors.T
    same = [sims[i, j] for i in range(3) for j in range(3) if i < j]
    different = [sims[i, j] for i in range(3) for j in (3, 4)]
    assert min(same) >= DUPLICATE_SIMILARITY, same
    assert max(different) < DUPLICATE_SIMILARITY - 0.2, different


def test_the_same_announcement_on_three_blogs_is_one_story_with_three_sources() -> None:
    texts = LAUNCH + OTHERS
    hours = [30, 2, 10, 1, 5]
    posts = [
        _post(n + 1, t, source=n + 1, hours=h)
        for n, ((t, _), h) in enumerate(zip(texts, hours, strict=True))
    ]
    blobs = {p.id: to_blob(v) for p, v in zip(posts, _vectors(texts), strict=True)}
    pool = CandidatePool(tuple(posts), TopicIndex())
    folded = fold_stories(pool, StoryInputs({}, blobs))
    ids = [c.id for c in folded.pool.candidates]
    assert ids == [1, 4, 5]  # the earliest write-up is the story; the other launches stay
    story = folded.pool.candidates[0]
    assert [s.id for s in story.sources] == [1, 3, 2]  # its own, then by publication
    assert [c.id for c in folded.same_story[1]] == [3, 2]  # earliest first


@pytest.mark.parametrize(
    ("second", "folded"),
    [
        ({"source": 2, "hours": 10}, True),
        ({"source": 1, "hours": 10}, False),  # one source's two items are two stories
        ({"source": 2, "hours": 60}, False),  # too far apart in time
        ({"source": 2, "hours": 10, "kind": "paper"}, False),  # papers are never duplicates
    ],
)
def test_duplicates_need_other_sources_and_time_proximity(second: dict, folded: bool) -> None:
    vector = to_blob(_vectors(LAUNCH[:1])[0])
    items = [_post(1, "Introducing GPT-5.5", source=1), _post(2, "Introducing GPT-5.5!", **second)]
    assert duplicate_groups(items, {1: vector, 2: vector}) == ({1: 2} if folded else {})  # earlier


def test_alike_vectors_without_a_shared_title_word_stay_apart() -> None:
    # The model knows English best: unrelated texts in another script can score 0.9.
    vector = to_blob(_vectors(LAUNCH[:1])[0])
    items = [_post(1, "Цитата #17370", source=1), _post(2, "Невидимая броня для Nokia", source=2)]
    assert duplicate_groups(items, {1: vector, 2: vector}) == {}


def test_equal_titles_are_one_story_whatever_the_vectors() -> None:
    a, b = _vectors(OTHERS)
    items = [
        _post(1, "Introducing Claude Opus 5", source=1, hours=3),
        _post(2, "introducing  claude opus-5", source=2),
    ]
    assert title_key(items[0].title) != title_key(items[1].title)  # opus-5 is one word
    same = [
        _post(1, "Introducing Claude Opus 5", source=1, hours=3),
        _post(2, "Introducing: Claude Opus 5", source=2),
    ]
    assert duplicate_groups(same, {1: to_blob(a), 2: to_blob(b)}) == {2: 1}


def test_a_post_about_a_paper_of_the_feed_is_its_coverage_not_a_story() -> None:
    paper = _paper(1, "2604.21003")
    about = _post(2, "The Last Harness You'll Ever Build", source=1)
    elsewhere = _post(3, "On a paper not in this feed", source=1)
    pool = CandidatePool((paper, about, elsewhere), TopicIndex())
    mentions = {2: ("2604.21003",), 3: ("2401.00001",)}
    folded = fold_stories(pool, StoryInputs(mentions, {}))
    assert [c.id for c in folded.pool.candidates] == [1, 3]
    assert folded.coverage_folded == 1


def test_distinctive_words_name_things() -> None:
    assert distinctive_words("GPT-5.5 is here: what you need to know") == {
        "gpt-5.5",
        "need",
        "know",
    }


def test_nearest_is_best_first_bounded_and_floored() -> None:
    matrix = np.array([[1, 0], [0.6, 0.8], [0, 1], [-1, 0]], dtype=np.float32)
    target = np.array([1, 0], dtype=np.float32)
    assert nearest(target, [10, 11, 12, 13], matrix, k=3, floor=0.5) == [(10, 1.0), (11, 0.6)]
    assert nearest(target, [10, 11, 12, 13], matrix, k=1, floor=-1) == [(10, 1.0)]
    assert nearest(target, [], matrix[:0], k=3, floor=0) == []


def test_a_hidden_paper_takes_its_coverage_with_it() -> None:
    about = _post(2, "The Last Harness You'll Ever Build", source=1)
    pool = CandidatePool((about,), TopicIndex())
    kept = fold_stories(pool, StoryInputs({2: ("2604.21003",)}, {}))
    gone = fold_stories(pool, StoryInputs({2: ("2604.21003",)}, {}, frozenset({"2604.21003"})))
    assert [c.id for c in kept.pool.candidates] == [2]
    assert gone.pool.candidates == ()
