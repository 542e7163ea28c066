"""The preference model (rank.learn) on small hand-made vector fixtures, and its hook in ranking."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from rankbuild import NOW, TOPICS, candidate, tag

from service.errors import InvalidInputError
from service.rank.dial import rank_feed
from service.rank.learn import Learned, LearnEvent, PreferenceModel, train
from service.rank.model import CandidatePool, Preferences

DIM = 16


def _unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def _cluster(seed: int, axis: int, count: int) -> np.ndarray:
    """``count`` unit vectors near basis vector ``axis`` (a theme)."""
    rng = np.random.default_rng(seed)
    rows = rng.normal(0, 0.25, size=(count, DIM))
    rows[:, axis] += 1.0
    return _unit(rows)


THEME_A, THEME_B, OTHERS = _cluster(1, 0, 12), _cluster(2, 1, 12), _cluster(3, 2, 60)
WINDOW = np.vstack([THEME_A, THEME_B, OTHERS])


def _events(rows: np.ndarray, signal: str, first_id: int = 1000) -> list[LearnEvent]:
    return [
        LearnEvent(signal, NOW - timedelta(days=n), first_id + n, f"Paper {n} on theme", row)
        for n, row in enumerate(rows)
    ]


def test_no_usable_feedback_gives_no_model() -> None:
    assert train([], now=NOW) is None
    zero = LearnEvent("like", NOW, 1, "no vector", np.zeros(DIM, np.float32))
    assert train([zero], now=NOW, background=WINDOW) is None
    unknown = LearnEvent("shrug", NOW, 2, "unknown signal", THEME_A[0])
    assert train([unknown], now=NOW, background=WINDOW) is None


def test_likes_raise_their_theme_above_the_rest_and_stay_in_range() -> None:
    model = train(_events(THEME_A[:5], "like"), now=NOW, background=WINDOW)
    assert model is not None
    scores = model.affinity(WINDOW)
    assert scores.dtype == np.float32 and scores.shape == (len(WINDOW),)
    assert np.all(scores >= -1) and np.all(scores <= 1)
    assert scores[5:12].min() > scores[12:].max()  # the theme's other items above all others
    assert abs(float(np.median(scores[24:]))) < 0.3  # unrelated items: about no opinion


def test_a_row_of_zeros_has_no_opinion() -> None:
    model = train(_events(THEME_A[:5], "like"), now=NOW, background=WINDOW)
    assert model is not None
    rows = np.vstack([np.zeros((1, DIM), np.float32), THEME_A[6:7]])
    assert model.affinity(rows).tolist()[0] == 0.0
    with pytest.raises(InvalidInputError):
        model.affinity(np.zeros((2, DIM + 1), np.float32))


def test_dislikes_and_hides_lower_what_they_resemble() -> None:
    for signal in ("dislike", "hide"):
        model = train(_events(THEME_B[:4], signal), now=NOW, background=WINDOW)
        assert model is not None
        scores = model.affinity(WINDOW)
        assert scores[16:24].max() < 0  # theme B's other items
        assert scores[16:24].mean() < scores[24:].mean()


def test_likes_and_dislikes_together_split_the_themes() -> None:
    events = _events(THEME_A[:4], "like") + _events(THEME_B[:4], "dislike", first_id=2000)
    model = train(events, now=NOW, background=WINDOW)
    assert model is not None
    scores = model.affinity(WINDOW)
    assert scores[4:12].mean() > 0.3 > -0.3 > scores[16:24].mean()


def test_old_likes_weigh_less_than_new_ones() -> None:
    old = [
        LearnEvent("like", NOW - timedelta(days=400 + n), 10 + n, "old", row)
        for n, row in enumerate(THEME_B[:4])
    ]
    model = train(old + _events(THEME_A[:4], "like"), now=NOW, background=WINDOW)
    assert model is not None
    scores = model.affinity(WINDOW)
    assert scores[4:12].mean() > scores[16:24].mean()


def test_the_model_depends_on_the_events_not_on_when_it_is_trained() -> None:
    events = _events(THEME_A[:5], "like")
    first = train(events, now=NOW, background=WINDOW)
    later = train(events, now=NOW + timedelta(days=90), background=WINDOW)
    assert first is not None and later is not None
    assert np.allclose(first.affinity(WINDOW), later.affinity(WINDOW), atol=1e-5)


def test_stored_and_read_back_gives_the_same_scores_and_reason() -> None:
    model = train(_events(THEME_A[:3], "like"), now=NOW, background=WINDOW)
    assert model is not None
    again = PreferenceModel.from_blob(model.to_blob())
    assert np.array_equal(again.affinity(WINDOW), model.affinity(WINDOW))
    assert again.because(THEME_A[7]) == model.because(THEME_A[7])
    with pytest.raises(InvalidInputError):
        PreferenceModel.from_blob(b"\x05\x00\x00\x00nope!")


def test_because_names_the_nearest_liked_item_and_counts_the_others() -> None:
    rows = THEME_A[:3]
    events = [
        LearnEvent(
            "like", NOW, 1, "Tree of Thoughts: Deliberate Problem Solving with LLMs", rows[0]
        ),
        LearnEvent("like", NOW, 2, "Second", rows[1]),
        LearnEvent("like", NOW, 3, "Third", rows[2]),
    ]
    model = train(events, now=NOW, background=WINDOW)
    assert model is not None
    assert model.because(rows[0]) == (
        "because you liked 'Tree of Thoughts: Deliberate Problem Solving with LLMs'"
    )
    between = rows.mean(axis=0)
    text = model.because(between / np.linalg.norm(between))
    assert text is not None and text.startswith("because you liked '")
    assert text.endswith("and 2 others")
    assert model.because(np.zeros(DIM, np.float32)) is None


def test_likes_reorder_items_within_an_interest_in_the_ranker() -> None:
    """Every candidate matches the interest fully; only the learned model can order them."""
    candidates = tuple(
        candidate(n + 1, tags=(tag("llm", 1.0),), hours_old=n % 5) for n in range(20)
    )
    vectors = np.vstack([OTHERS[:16], THEME_A[8:12]])  # items 17-20 resemble the likes
    model = train(_events(THEME_A[:6], "like"), now=NOW, background=WINDOW)
    assert model is not None
    ids = [c.id for c in candidates]
    learned = Learned(
        model,
        dict(zip(ids, model.affinity(vectors).tolist(), strict=True)),
        dict(zip(ids, vectors, strict=True)),
    )
    preferences = Preferences(interests={"llm": 1.0}, depth=1.0)
    plain = rank_feed(CandidatePool(candidates, TOPICS), preferences, now=NOW)
    taught = rank_feed(CandidatePool(candidates, TOPICS, learned=learned), preferences, now=NOW)
    assert {i.candidate.id for i in plain.items[:4]} != {17, 18, 19, 20}
    assert {i.candidate.id for i in taught.items[:4]} == {17, 18, 19, 20}
    assert "because you liked 'Paper" in taught.items[0].why.summary


def test_reads_of_everything_stay_a_weak_signal() -> None:
    """Reading a sample of the whole window teaches nothing: no item gets a strong affinity."""
    sample = WINDOW[::3]
    model = train(_events(sample, "read"), now=NOW, background=WINDOW)
    assert model is not None
    scores = model.affinity(WINDOW)
    assert float(np.abs(scores).mean()) < 0.35
    liked = train(_events(THEME_A[:5], "like"), now=NOW, background=WINDOW)
    assert liked is not None
    assert float(np.abs(liked.affinity(THEME_A[5:])).mean()) > 0.6
