"""The topic model: numpy inference equals scikit-learn's features, the file round-trips, a bad
file is refused with a reason, training on a small time slice learns the big areas."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from service.catalog import load_catalog
from service.errors import ModelError
from service.ingest.tag import Tagger
from service.ingest.topicmodel import FORMAT, TopicModel, assigned_labels, tokens
from service.ingest.topictrain import (
    LabelledPaper,
    Labelling,
    baseline_predictor,
    evaluate,
    format_table,
    model_predictor,
    read_labelled,
    split_by_time,
    train,
)

ROOT = Path(__file__).resolve().parent.parent
LABELLED = ROOT.parent / "shared" / "labelled" / "arxiv_2025_2026.jsonl.gz"
TEXTS = [
    "Vision transformers for semantic segmentation of street scenes",
    "A large language model answers questions about Élan and naïve café owners",
    "Reinforcement learning for robot grasping, with sim-to-real transfer; robot robot",
    "混合 scripts: 大规模语言模型 and Кириллица in one abstract",
]


def handmade_model(texts: list[str], labels: tuple[str, ...] = ("a", "b")) -> tuple[Any, Any]:
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, dtype=np.float32)
    vectorizer.fit(texts)
    rng = np.random.default_rng(7)
    terms = len(vectorizer.vocabulary_)
    arrays = {
        "vocab": np.array(vectorizer.get_feature_names_out(), dtype=str),
        "idf": vectorizer.idf_.astype(np.float32),
        "coef": rng.normal(size=(terms, len(labels))).astype(np.float16).astype(np.float32),
        "intercept": np.array([0.1, -0.2], dtype=np.float32),
        "calib_a": np.array([1.5, 0.7], dtype=np.float32),
        "calib_b": np.array([-0.3, 0.2], dtype=np.float32),
        "thresholds": np.array([0.5, 0.4], dtype=np.float32),
        "labels": np.array(labels, dtype=str),
    }
    return vectorizer, TopicModel(arrays, {"version": "handmade-1"})


def test_features_are_scikit_learns_tfidf_and_probabilities_follow() -> None:
    vectorizer, model = handmade_model(TEXTS)
    for text in [*TEXTS, "segmentation of robot scenes, unseen words too"]:
        x = vectorizer.transform([text])
        margin = np.asarray(x @ model._coef).ravel() + model._intercept
        expected = 1 / (1 + np.exp(-(model._a * margin + model._b)))
        assert np.allclose(model.probabilities(text), expected, atol=1e-5)


@pytest.mark.parametrize(
    "text",
    [
        *TEXTS,
        "a b cc d_e 12 3 x1 _ __ é ÉÉ straße İstanbul ﬁne e\u0301t\u00e9",
        "tabs\tand\nnew lines; dots...and--dashes/slashes 3.14 C++ C# .NET",
        "",
    ],
)
def test_tokens_are_scikit_learns(text: str) -> None:
    analyzer = TfidfVectorizer(ngram_range=(1, 2)).build_analyzer()
    assert sorted(tokens(text)) == sorted(analyzer(text))


def test_tokens_are_unigrams_then_bigrams() -> None:
    assert tokens("A robot-arm, GRASPS a cup") == [
        "robot",
        "arm",
        "grasps",
        "cup",
        "robot arm",
        "arm grasps",
        "grasps cup",
    ]


def test_the_file_round_trips() -> None:
    _, model = handmade_model(TEXTS)
    again = TopicModel.from_bytes(model.to_bytes())
    assert again.version == "handmade-1"
    assert again.labels == model.labels
    for text in TEXTS:
        assert np.allclose(again.probabilities(text), model.probabilities(text))


def test_text_without_known_words_gets_the_intercepts() -> None:
    _, model = handmade_model(TEXTS)
    expected = 1 / (1 + np.exp(-(model._a * model._intercept + model._b)))
    assert np.allclose(model.probabilities(""), expected)
    assert np.allclose(model.probabilities("zzz qqq"), expected)


def test_a_long_text_is_read_only_up_to_its_first_characters() -> None:
    _, model = handmade_model(TEXTS)
    head = TEXTS[2] + " "
    long_text = head * 20 + "segmentation " * 200_000  # about 2.6 MB
    assert np.allclose(model.probabilities(long_text), model.probabilities(long_text[:4_000]))


def test_assigned_labels_keeps_the_best_guess_only_when_likely_enough() -> None:
    labels = ["a", "b", "c"]
    thresholds = np.array([0.5, 0.5, 0.5], dtype=np.float32)
    assert assigned_labels(labels, np.array([0.6, 0.7, 0.1], np.float32), thresholds) == ["a", "b"]
    assert assigned_labels(labels, np.array([0.3, 0.4, 0.1], np.float32), thresholds) == ["b"]
    assert assigned_labels(labels, np.array([0.1, 0.05, 0.1], np.float32), thresholds) == []


def corrupt_variants(good: bytes) -> list[tuple[str, bytes]]:
    truncated = good[: len(good) // 2]
    flipped = bytearray(good)
    flipped[len(flipped) // 3 : len(flipped) // 3 + 64] = b"\x00" * 64
    return [
        ("empty", b""),
        ("text", b"not a model at all"),
        ("truncated", truncated),
        ("damaged", bytes(flipped)),
    ]


@pytest.mark.parametrize("case", ["empty", "text", "truncated", "damaged"])
def test_a_corrupt_file_is_refused_with_a_reason(case: str) -> None:
    _, model = handmade_model(TEXTS)
    data = dict(corrupt_variants(model.to_bytes()))[case]
    with pytest.raises(ModelError, match="topic model"):
        TopicModel.from_bytes(data)


def rewritten(data: bytes, **changes: Any) -> bytes:
    """The model file with some arrays replaced."""
    import io

    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        arrays = {key: npz[key] for key in npz.files}
    arrays.update(changes)
    out = io.BytesIO()
    np.savez(out, **arrays)
    return out.getvalue()


def test_a_file_of_another_format_or_inconsistent_shapes_is_refused() -> None:
    _, model = handmade_model(TEXTS)
    data = model.to_bytes()
    with pytest.raises(ModelError, match="format"):
        TopicModel.from_bytes(rewritten(data, format=np.array(FORMAT + 1)))
    with pytest.raises(ModelError, match="inconsistent"):
        TopicModel.from_bytes(rewritten(data, thresholds=np.zeros(5, dtype=np.float32)))
    with pytest.raises(ModelError, match="inconsistent"):
        TopicModel.from_bytes(rewritten(data, labels=np.array([], dtype=str)))


def test_a_missing_file_is_refused_with_its_path(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="could not be read"):
        TopicModel.load(tmp_path / "nowhere.npz")


def test_pickled_objects_are_never_loaded(tmp_path: Path) -> None:
    path = tmp_path / "evil.npz"
    with zipfile.ZipFile(path, "w") as archive:
        with archive.open("format.npy", "w") as f:
            np.save(f, np.array([object()], dtype=object), allow_pickle=True)
    with pytest.raises(ModelError):
        TopicModel.load(path)


def test_the_shipped_model_loads_and_tags_the_areas_it_knows() -> None:
    model = TopicModel.shipped()
    assert model.version.startswith("topics-arxiv-")
    assert {"computer-vision", "llm-nlp", "robotics", "speech-audio"} <= set(model.labels)
    scores = {s.slug: s for s in model.scores("Speech recognition with self-supervised audio")}
    assert scores["speech-audio"].assigned
    assert not scores["computer-vision"].assigned


# --------------------------------------------------------------------------- training


@pytest.fixture(scope="module")
def small_run() -> tuple[Any, ...]:
    """Train on about 2,000 papers spread over the whole period (the full run is in bench)."""
    if not LABELLED.is_file():
        pytest.skip(f"{LABELLED} is not here")
    papers = read_labelled(LABELLED, limit=3_000)
    labelling = Labelling(Tagger(load_catalog(ROOT / "feeds.yaml").taxonomy))
    split = split_by_time(papers)
    model = train(split, labelling, version="small-1", max_features=5_000)
    return papers, labelling, split, model


def test_the_split_is_by_time(small_run: tuple[Any, ...]) -> None:
    papers, _, split, _ = small_run
    assert len(split.train) + len(split.validation) + len(split.test) == len(papers)
    assert split.train[-1].listed <= split.validation[0].listed
    assert split.validation[-1].listed <= split.test[0].listed


def test_truth_is_the_areas_of_the_categories_without_ml_core(small_run: tuple[Any, ...]) -> None:
    _, labelling, _, _ = small_run
    paper = LabelledPaper("1", "t", "a", ("cs.CV", "cs.LG", "cs.CR", "cs.XX"), "2025-04-01")
    assert labelling.topics(paper) == {"computer-vision", "security-privacy"}
    assert labelling.areas(labelling.topics(paper)) == {"computer-vision", "safety-alignment"}
    assert labelling.primary_areas(paper) == {"computer-vision"}
    assert labelling.primary_areas(LabelledPaper("2", "t", "a", ("cs.LG",), "x")) == set()


def test_a_small_model_learns_the_big_areas_and_reports_per_area(
    small_run: tuple[Any, ...],
) -> None:
    _, labelling, split, model = small_run
    ours = evaluate("ours", model_predictor(model, labelling), split, labelling)
    baseline = evaluate("baseline", baseline_predictor(split, labelling), split, labelling)
    figures = {f.area: f for f in ours.areas}
    assert figures["computer-vision"].f1 > 0.8
    assert figures["llm-nlp"].f1 > 0.6
    assert ours.primary_found > baseline.primary_found
    assert ours.untagged < baseline.untagged
    table = format_table(ours, baseline)
    assert "computer-vision" in table and "baseline" in table
    assert ours.as_dict()["areas"][0]["area"] == ours.areas[0].area
