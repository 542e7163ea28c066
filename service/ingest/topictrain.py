"""Training and evaluating the topic model on arXiv's labels (scikit-learn; not on the tag path).

    labelled papers (title, abstract, categories, listed)
      | split by time: train (earliest) | validation | test (latest)
      | TF-IDF 1-2-grams + one linear SVM per topic, class-weighted (train)
      | Platt calibration + per-topic threshold (validation)
      | evaluate by area (test): per-area P/R/F1, precision of assigned areas, primary area found

A paper's truth is the set of topics its categories map to through feeds.yaml (the tagger's own
category map, ``Tagger.category_topics``); ``ml-core`` is left out. The model predicts those topics;
figures are given by area (a subtopic counts for its area). The same run trains the plain baseline
(TF-IDF + one-vs-rest logistic regression at 0.5) on the same slices, so the figures compare.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from service.errors import ModelError
from service.ingest.tag import GENERAL_AREA, Tagger
from service.ingest.topicmodel import MAX_CHARS, TopicModel, assigned_labels

MAX_FEATURES = 60_000  # vocabulary cap: keeps the file a few MB and training minutes
MIN_DF = 3
MIN_POSITIVES = 30  # a topic with fewer training papers gets no scorer (too few to learn from)
REGULARIZATION = 0.5  # C of each linear SVM (0.1, 0.5, 2 gave macro-F1 0.331, 0.337, 0.326)
VALIDATION_SHARE, TEST_SHARE = 0.1, 0.2
THRESHOLD_BETA = 0.6  # thresholds maximize F-beta: precision weighs more than recall
THRESHOLD_RANGE = (0.05, 0.95)


@dataclass(frozen=True, slots=True)
class LabelledPaper:
    arxiv_id: str
    title: str
    abstract: str
    categories: tuple[str, ...]  # primary first
    listed: str  # ISO date: the split is by this

    @property
    def text(self) -> str:
        return f"{self.title}. {self.abstract}"[:MAX_CHARS]


@dataclass(frozen=True, slots=True)
class AreaFigures:
    area: str
    train_support: int
    test_support: int
    precision: float
    recall: float
    f1: float


@dataclass(frozen=True, slots=True)
class Evaluation:
    """Figures of one tagger on the test slice, by area."""

    name: str
    areas: tuple[AreaFigures, ...]
    macro_f1: float
    precision: float  # of all areas assigned, the share the categories confirm
    recall: float
    primary_found: float  # papers whose primary category's area is among the assigned areas
    untagged: float  # papers given no area at all
    papers: int

    def as_dict(self) -> dict[str, Any]:
        body = {k: getattr(self, k) for k in ("name", "macro_f1", "precision", "recall")}
        body |= {"primary_found": self.primary_found, "untagged": self.untagged}
        body["papers"] = self.papers
        body["areas"] = [{k: getattr(a, k) for k in AreaFigures.__slots__} for a in self.areas]
        return body


@dataclass(frozen=True, slots=True)
class Split:
    train: tuple[LabelledPaper, ...]
    validation: tuple[LabelledPaper, ...]
    test: tuple[LabelledPaper, ...]


@dataclass(frozen=True, slots=True)
class Labelling:
    """What a paper's categories say: its topics (model targets), areas and primary area."""

    tagger: Tagger
    area_of: dict[str, str] = field(default_factory=dict)

    def topics(self, paper: LabelledPaper) -> frozenset[str]:
        found = self.tagger.category_topics(paper.categories)
        return frozenset(slug for slug in found if slug != GENERAL_AREA)

    def areas(self, slugs: Iterable[str]) -> frozenset[str]:
        return frozenset(self.tagger.area(slug) for slug in slugs) - {GENERAL_AREA}

    def primary_areas(self, paper: LabelledPaper) -> frozenset[str]:
        return self.areas(self.tagger.category_topics(paper.categories[:1]))


def read_labelled(path: Path, *, limit: int | None = None) -> list[LabelledPaper]:
    """The labelled set (``{"id","title","abstract","categories","listed"}`` a line), by date."""
    papers: list[LabelledPaper] = []
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            papers.append(
                LabelledPaper(
                    str(row["id"]),
                    str(row["title"]),
                    str(row.get("abstract") or ""),
                    tuple(row.get("categories") or ()),
                    str(row["listed"]),
                )
            )
    papers.sort(key=lambda p: (p.listed, p.arxiv_id))
    return papers if limit is None else thin(papers, limit)


def thin(papers: Sequence[LabelledPaper], limit: int) -> list[LabelledPaper]:
    """An evenly spaced subset of ``limit`` papers, still in time order."""
    if len(papers) <= limit:
        return list(papers)
    step = len(papers) / limit
    return [papers[int(i * step)] for i in range(limit)]


def split_by_time(papers: Sequence[LabelledPaper]) -> Split:
    """Earliest papers to train, the next slice to calibrate, the latest to test."""
    ordered = sorted(papers, key=lambda p: (p.listed, p.arxiv_id))
    n = len(ordered)
    test_start = int(n * (1 - TEST_SHARE))
    validation_start = int(n * (1 - TEST_SHARE - VALIDATION_SHARE))
    return Split(
        tuple(ordered[:validation_start]),
        tuple(ordered[validation_start:test_start]),
        tuple(ordered[test_start:]),
    )


# --------------------------------------------------------------------------- training


def train(
    split: Split,
    labelling: Labelling,
    *,
    version: str,
    max_features: int = MAX_FEATURES,
    regularization: float = REGULARIZATION,
) -> TopicModel:
    """Fit the model on ``split.train``, calibrate and set thresholds on ``split.validation``."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    labels = _trainable_labels(split.train, labelling)
    if not labels:
        raise ModelError("too few labelled papers to train a topic model")
    vectorizer = TfidfVectorizer(
        ngram_range=(1, 2),
        sublinear_tf=True,
        min_df=min(MIN_DF, max(1, len(split.train) // 1000)),
        max_features=max_features,
        dtype=np.float32,
    )
    train_x = vectorizer.fit_transform([p.text for p in split.train])
    validation_x = vectorizer.transform([p.text for p in split.validation])
    train_y = _targets(split.train, labels, labelling)
    validation_y = _targets(split.validation, labels, labelling)
    coef, intercept = _fit_scorers(train_x, train_y, regularization)
    margins = validation_x @ coef + intercept
    calib_a, calib_b = _calibrate(margins, validation_y)
    probabilities = 1.0 / (1.0 + np.exp(-(margins * calib_a + calib_b)))
    thresholds = _tune_thresholds(probabilities, validation_y)
    arrays = {
        "vocab": np.array(vectorizer.get_feature_names_out(), dtype=str),
        "idf": vectorizer.idf_.astype(np.float32),
        "coef": coef.astype(np.float32),
        "intercept": intercept.astype(np.float32),
        "calib_a": calib_a.astype(np.float32),
        "calib_b": calib_b.astype(np.float32),
        "thresholds": thresholds.astype(np.float32),
        "labels": np.array(labels, dtype=str),
    }
    meta = {
        "version": version,
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "train_papers": len(split.train),
        "train_listed": [split.train[0].listed, split.train[-1].listed],
        "validation_listed": _span(split.validation),
        "max_features": max_features,
        "regularization": regularization,
    }
    return TopicModel(arrays, meta)


def _trainable_labels(papers: Sequence[LabelledPaper], labelling: Labelling) -> list[str]:
    counts: dict[str, int] = {}
    for paper in papers:
        for slug in labelling.topics(paper):
            counts[slug] = counts.get(slug, 0) + 1
    return sorted(slug for slug, n in counts.items() if n >= MIN_POSITIVES)


def _targets(
    papers: Sequence[LabelledPaper], labels: Sequence[str], labelling: Labelling
) -> np.ndarray[Any, np.dtype[np.bool_]]:
    column = {slug: j for j, slug in enumerate(labels)}
    y = np.zeros((len(papers), len(labels)), dtype=bool)
    for i, paper in enumerate(papers):
        for slug in labelling.topics(paper):
            if slug in column:
                y[i, column[slug]] = True
    return y


def _fit_scorers(x: Any, y: Any, regularization: float) -> tuple[Any, Any]:
    from sklearn.svm import LinearSVC

    coef = np.zeros((x.shape[1], y.shape[1]), dtype=np.float32)
    intercept = np.zeros(y.shape[1], dtype=np.float32)
    for j in range(y.shape[1]):
        scorer = LinearSVC(C=regularization, class_weight="balanced")
        scorer.fit(x, y[:, j])
        coef[:, j] = scorer.coef_[0]
        intercept[j] = scorer.intercept_[0]
    return coef, intercept


def _calibrate(margins: Any, y: Any) -> tuple[Any, Any]:
    """Platt scaling per topic: probability = sigmoid(a * margin + b), fitted on validation."""
    from sklearn.linear_model import LogisticRegression

    a = np.ones(y.shape[1], dtype=np.float32)
    b = np.zeros(y.shape[1], dtype=np.float32)
    for j in range(y.shape[1]):
        if 0 < y[:, j].sum() < len(y):
            platt = LogisticRegression(C=100.0).fit(np.asarray(margins[:, j : j + 1]), y[:, j])
            a[j], b[j] = platt.coef_[0, 0], platt.intercept_[0]
    return a, b


def _tune_thresholds(probabilities: Any, y: Any) -> Any:
    """Per topic, the threshold with the best F-beta on validation (beta < 1: precision first)."""
    low, high = THRESHOLD_RANGE
    grid = np.linspace(low, high, 41)
    thresholds = np.full(y.shape[1], 0.5, dtype=np.float32)
    beta2 = THRESHOLD_BETA**2
    for j in range(y.shape[1]):
        truth = y[:, j]
        if not truth.any():
            continue
        best = -1.0
        for t in grid:
            predicted = probabilities[:, j] >= t
            tp = float(np.sum(predicted & truth))
            fp, fn = float(np.sum(predicted & ~truth)), float(np.sum(~predicted & truth))
            score = (1 + beta2) * tp / max((1 + beta2) * tp + beta2 * fn + fp, 1.0)
            if score > best:
                best, thresholds[j] = score, t
    return thresholds


def _span(papers: Sequence[LabelledPaper]) -> list[str]:
    return [papers[0].listed, papers[-1].listed] if papers else []


# --------------------------------------------------------------------------- evaluation

AreaPredictor = Callable[[Sequence[LabelledPaper]], list[frozenset[str]]]


def model_predictor(model: TopicModel, labelling: Labelling) -> AreaPredictor:
    def predict(papers: Sequence[LabelledPaper]) -> list[frozenset[str]]:
        rows = model.probability_rows([p.text for p in papers])
        return [
            labelling.areas(assigned_labels(model.labels, row, model.thresholds)) for row in rows
        ]

    return predict


def baseline_predictor(
    split: Split, labelling: Labelling, *, max_features: int = MAX_FEATURES
) -> AreaPredictor:
    """The plain reference: TF-IDF + one-vs-rest logistic regression, each topic at 0.5."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier

    labels = _trainable_labels(split.train, labelling)
    vectorizer = TfidfVectorizer(max_features=max_features, dtype=np.float32)
    x = vectorizer.fit_transform([p.text for p in split.train])
    classifier = OneVsRestClassifier(LogisticRegression(max_iter=500, solver="liblinear"))
    classifier.fit(x, _targets(split.train, labels, labelling))

    def predict(papers: Sequence[LabelledPaper]) -> list[frozenset[str]]:
        predicted = classifier.predict(vectorizer.transform([p.text for p in papers]))
        rows = np.asarray(predicted.todense() if hasattr(predicted, "todense") else predicted)
        return [labelling.areas(labels[j] for j in np.flatnonzero(row)) for row in rows]

    return predict


def evaluate(name: str, predict: AreaPredictor, split: Split, labelling: Labelling) -> Evaluation:
    """Per-area figures of ``predict`` on ``split.test`` (truth: the areas of the categories)."""
    truths = [labelling.areas(labelling.topics(p)) for p in split.test]
    predictions = predict(split.test)
    train_support: dict[str, int] = {}
    for paper in split.train:
        for area in labelling.areas(labelling.topics(paper)):
            train_support[area] = train_support.get(area, 0) + 1
    areas = sorted(set(train_support) | {a for t in truths for a in t})
    figures = tuple(_area_figures(a, truths, predictions, train_support.get(a, 0)) for a in areas)
    scored = [f for f in figures if f.test_support > 0 and f.train_support >= MIN_POSITIVES]
    tp = sum(len(t & p) for t, p in zip(truths, predictions, strict=True))
    assigned = sum(len(p) for p in predictions)
    relevant = sum(len(t) for t in truths)
    primaries = [
        (labelling.primary_areas(p), pred) for p, pred in zip(split.test, predictions, strict=True)
    ]
    with_primary = [(pa, pred) for pa, pred in primaries if pa]
    return Evaluation(
        name=name,
        areas=figures,
        macro_f1=_mean([f.f1 for f in scored]),
        precision=tp / assigned if assigned else 0.0,
        recall=tp / relevant if relevant else 0.0,
        primary_found=_mean([float(bool(pa & pred)) for pa, pred in with_primary]),
        untagged=_mean([float(not p) for p in predictions]),
        papers=len(split.test),
    )


def _area_figures(
    area: str, truths: list[frozenset[str]], predictions: list[frozenset[str]], train: int
) -> AreaFigures:
    tp = sum(area in t and area in p for t, p in zip(truths, predictions, strict=True))
    predicted = sum(area in p for p in predictions)
    support = sum(area in t for t in truths)
    precision = tp / predicted if predicted else 0.0
    recall = tp / support if support else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return AreaFigures(area, train, support, round(precision, 3), round(recall, 3), round(f1, 3))


def _mean(values: Sequence[float]) -> float:
    return round(sum(values) / len(values), 3) if values else 0.0


def format_table(ours: Evaluation, baseline: Evaluation) -> str:
    """The per-area table (ours and the baseline side by side) and the summary figures."""
    base = {f.area: f for f in baseline.areas}
    lines = [
        f"{'area':<24} {'train':>6} {'test':>5}  {'P':>5} {'R':>5} {'F1':>5}  | baseline F1",
    ]
    for f in ours.areas:
        b = base.get(f.area)
        lines.append(
            f"{f.area:<24} {f.train_support:>6} {f.test_support:>5}  "
            f"{f.precision:>5.2f} {f.recall:>5.2f} {f.f1:>5.2f}  | {b.f1 if b else 0.0:>5.2f}"
        )
    for e in (ours, baseline):
        lines.append(
            f"{e.name:<10} macro-F1 {e.macro_f1:.3f}  precision {e.precision:.3f}  "
            f"recall {e.recall:.3f}  primary found {e.primary_found:.3f}  "
            f"untagged {e.untagged:.3f}  ({e.papers} test papers)"
        )
    return "\n".join(lines)
