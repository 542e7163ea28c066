"""The topic model (inference, numpy only): title + abstract -> calibrated scores per topic.

Trained on arXiv's own labels (``service.ingest.topictrain``): the topics a paper's categories map
to through feeds.yaml (``ml-core`` excluded: cs.LG/cs.AI/stat.ML say nothing about the area). The
features are TF-IDF over word 1- and 2-grams, exactly as scikit-learn's ``TfidfVectorizer`` computes
them (lowercase, ``\\b\\w\\w+\\b`` tokens, sublinear tf, l2 norm), re-implemented here so that
tagging needs numpy alone. Each topic has a linear scorer, a Platt calibration (score ->
probability, fitted on a validation slice later in time than the training slice) and a threshold
tuned on that slice.

The model is one ``.npz`` file of plain arrays (no pickle): ``TopicModel.load`` refuses anything
else with a ``ModelError``, and the caller falls back to keyword rules and says so.
"""

from __future__ import annotations

import io
import itertools
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from service.errors import ModelError

FORMAT = 1  # the layout of the arrays in the file; a file of another format is refused
MAX_CHARS = 4_000  # the first few thousand characters say what an item is about
SHIPPED = "topics-arxiv-2026.npz"  # in service/ingest/models/, built by `staycurrent tags retrain`
FALLBACK_FLOOR = 0.25  # no topic passes its threshold: the best one is kept if at least this likely
_TOKEN = re.compile(r"\w\w+")  # scikit-learn's (?u)\b\w\w+\b: runs of 2+ word characters
# Every ASCII character that is not a word character (``\w``) becomes a space.
_ASCII_SEPARATORS = {
    code: " " for code in range(128) if not (chr(code).isalnum() or chr(code) == "_")
}
_ARRAYS = ("vocab", "idf", "coef", "intercept", "calib_a", "calib_b", "thresholds", "labels")

Floats = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class TopicScore:
    slug: str
    probability: float  # calibrated: about this share of items scored so carry the topic
    threshold: float  # assigned at or above this (tuned on the validation slice)

    @property
    def assigned(self) -> bool:
        return self.probability >= self.threshold


def words_of(text: str) -> list[str]:
    """The words of ``text`` as scikit-learn's token pattern finds them, lowercased: runs of 2+
    word characters (an ASCII text is split by ``str.split``, the same words several times
    faster than the regular expression)."""
    lowered = text[:MAX_CHARS].lower()
    if lowered.isascii():
        return [word for word in lowered.translate(_ASCII_SEPARATORS).split() if len(word) > 1]
    return _TOKEN.findall(lowered)


def tokens(text: str) -> list[str]:
    """Unigrams then bigrams, as scikit-learn's TfidfVectorizer(ngram_range=(1, 2)) makes them."""
    words = words_of(text)
    return words + [f"{a} {b}" for a, b in itertools.pairwise(words)]


def assigned_labels(labels: Sequence[str], probabilities: Floats, thresholds: Floats) -> list[str]:
    """The labels at or above their thresholds; else the single most likely one, if likely enough.

    Most papers are about something the model knows: keeping the best guess when no label
    passes finds the main area of papers whose wording is unusual, at little cost in precision.
    """
    hits = [label for label, p, t in zip(labels, probabilities, thresholds, strict=True) if p >= t]
    if not hits and len(labels):
        best = int(np.argmax(probabilities))
        if probabilities[best] >= FALLBACK_FLOOR:
            hits.append(labels[best])
    return hits


class TopicModel:
    """Linear scorers over TF-IDF features, one per topic, with calibration and thresholds."""

    def __init__(self, arrays: dict[str, Any], meta: dict[str, Any]) -> None:
        self.labels: tuple[str, ...] = tuple(str(x) for x in arrays["labels"])
        self._vocab = np.asarray(arrays["vocab"], dtype=str)
        self._words, self._unigram, self._bigrams, self._bigram_columns = _index(self._vocab)
        self._idf = np.asarray(arrays["idf"], dtype=np.float32)
        self._coef = np.asarray(arrays["coef"], dtype=np.float32)
        self._intercept = np.asarray(arrays["intercept"], dtype=np.float32)
        self._a = np.asarray(arrays["calib_a"], dtype=np.float32)
        self._b = np.asarray(arrays["calib_b"], dtype=np.float32)
        self.thresholds = np.asarray(arrays["thresholds"], dtype=np.float32)
        self.meta = meta
        _check_shapes(self)

    @property
    def version(self) -> str:
        """The name recorded on every item this model tagged."""
        return str(self.meta.get("version", "unknown"))

    @property
    def vocabulary_size(self) -> int:
        return len(self._vocab)

    def probabilities(self, text: str) -> Floats:
        """Calibrated probability of each label (``self.labels`` order) for one text."""
        return np.asarray(self.probability_rows([text])[0], dtype=np.float32)

    def scores(self, text: str) -> tuple[TopicScore, ...]:
        probabilities = self.probabilities(text)
        return tuple(
            TopicScore(slug, float(p), float(t))
            for slug, p, t in zip(self.labels, probabilities, self.thresholds, strict=True)
        )

    def probability_rows(self, texts: Sequence[str]) -> Floats:
        """One row of probabilities per text, the texts' TF-IDF rows scored together (a
        document's items in one batch: a few numpy calls whatever their number)."""
        margin = np.zeros((len(texts), len(self.labels)), dtype=np.float32)
        rows, columns, weights = self._features(texts)
        if rows.size:
            contributions = weights[:, np.newaxis] * self._coef[columns]
            present, starts = np.unique(rows, return_index=True)
            margin[present] = np.add.reduceat(contributions, starts, axis=0)
        margin += self._intercept
        return _sigmoid(self._a * margin + self._b)

    def _features(self, texts: Sequence[str]) -> tuple[IntArray, IntArray, Floats]:
        """The TF-IDF rows of ``texts`` as (row, column, weight) triples sorted by row: the
        terms of ``tokens(text)``, l2-normalized as scikit-learn's
        ``TfidfVectorizer(sublinear_tf=True)`` makes them.

        Words become ids by one dictionary lookup each; bigrams are looked up as integer codes
        (first id * words + second id) in a sorted array, so no bigram string is ever built.
        """
        found = [words_of(text) for text in texts]
        lengths = np.fromiter(map(len, found), dtype=np.int64, count=len(found))
        words = itertools.chain.from_iterable(found)
        ids = np.fromiter(map(self._words.get, words, _MISSING), dtype=np.int64)
        row_of = np.repeat(np.arange(len(texts), dtype=np.int64), lengths)
        known = ids >= 0
        columns = self._unigram[ids[known]]
        parts = [columns[columns >= 0]]
        row_parts = [row_of[known][columns >= 0]]
        if len(ids) > 1 and len(self._bigrams):
            first, second = ids[:-1], ids[1:]
            pairs = known[:-1] & known[1:] & (row_of[:-1] == row_of[1:])
            codes = first[pairs] * len(self._unigram) + second[pairs]
            at = np.minimum(np.searchsorted(self._bigrams, codes), len(self._bigrams) - 1)
            hit = self._bigrams[at] == codes
            parts.append(self._bigram_columns[at[hit]])
            row_parts.append(row_of[:-1][pairs][hit])
        width = len(self._vocab)
        keys, tf = np.unique(
            np.concatenate(row_parts) * width + np.concatenate(parts), return_counts=True
        )
        rows, columns = keys // width, keys % width
        weights = ((np.log(tf) + 1.0) * self._idf[columns]).astype(np.float32)
        norms = np.sqrt(np.bincount(rows, weights=weights * weights, minlength=len(texts)))
        weights /= norms[rows].astype(np.float32)
        return rows, columns, weights

    # ------------------------------------------------------------------ the file

    def to_bytes(self) -> bytes:
        """The ``.npz`` file (compressed, no pickled objects)."""
        buffer = io.BytesIO()
        np.savez_compressed(
            buffer,
            format=np.array(FORMAT),
            meta=np.array(json.dumps(self.meta, sort_keys=True)),
            vocab=self._vocab,
            idf=self._idf,
            coef=self._coef.astype(np.float16),
            intercept=self._intercept,
            calib_a=self._a,
            calib_b=self._b,
            thresholds=self.thresholds,
            labels=np.array(self.labels, dtype=str),
        )
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes, *, name: str = "the topic model") -> TopicModel:
        """Read a model file; ``ModelError`` (saying what is wrong) for anything unreadable."""
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as npz:
                if int(npz["format"]) != FORMAT:
                    raise ModelError(f"{name} has format {int(npz['format'])}, not {FORMAT}")
                arrays = {key: npz[key] for key in _ARRAYS}
                meta = json.loads(str(npz["meta"]))
        except ModelError:
            raise
        except Exception as e:  # zip, npy or json damage: all mean "not a model we can use"
            raise ModelError(f"{name} could not be read ({type(e).__name__}: {e})") from e
        if not isinstance(meta, dict):
            raise ModelError(f"{name} has no description")
        return cls(arrays, meta)

    @classmethod
    def load(cls, path: Path) -> TopicModel:
        try:
            data = path.read_bytes()
        except OSError as e:
            raise ModelError(f"the topic model {path} could not be read: {e.strerror}") from e
        return cls.from_bytes(data, name=f"the topic model {path}")

    @classmethod
    def shipped(cls) -> TopicModel:
        """The model that ships inside the package (trained on 2025-2026 arXiv listings)."""
        try:
            data = resources.files("service.ingest").joinpath("models", SHIPPED).read_bytes()
        except OSError as e:
            raise ModelError(f"the shipped topic model {SHIPPED} is missing: {e}") from e
        return cls.from_bytes(data, name=f"the shipped topic model {SHIPPED}")


_MISSING = itertools.repeat(-1)  # what ``dict.get`` gives for a word the model does not know

IntArray = npt.NDArray[np.int64]


def _index(vocab: npt.NDArray[np.str_]) -> tuple[dict[str, int], IntArray, IntArray, IntArray]:
    """Word ids, the column of each word's unigram (-1: none), bigram codes (sorted) and their
    columns. Every word of the vocabulary, alone or in a bigram, has an id."""
    words: dict[str, int] = {}
    unigram_of: dict[int, int] = {}
    pairs: list[tuple[int, int, int]] = []
    for column, term in enumerate(vocab.tolist()):
        first, _, second = term.partition(" ")
        a = words.setdefault(first, len(words))
        if second:
            pairs.append((a, words.setdefault(second, len(words)), column))
        else:
            unigram_of[a] = column
    unigram = np.full(len(words), -1, dtype=np.int64)
    for word, column in unigram_of.items():
        unigram[word] = column
    codes = np.array([a * len(words) + b for a, b, _ in pairs], dtype=np.int64)
    columns = np.array([c for _, _, c in pairs], dtype=np.int64)
    order = np.argsort(codes, kind="stable")
    return words, unigram, codes[order], columns[order]


def _check_shapes(model: TopicModel) -> None:
    labels, terms = len(model.labels), model.vocabulary_size
    expected = {
        "idf": (model._idf.shape, (terms,)),
        "coef": (model._coef.shape, (terms, labels)),
        "intercept": (model._intercept.shape, (labels,)),
        "calib_a": (model._a.shape, (labels,)),
        "calib_b": (model._b.shape, (labels,)),
        "thresholds": (model.thresholds.shape, (labels,)),
    }
    for name, (shape, wanted) in expected.items():
        if shape != wanted:
            raise ModelError(f"the topic model is inconsistent: {name} is {shape}, not {wanted}")
    if not labels or not np.all(np.isfinite(model._coef)):
        raise ModelError("the topic model is inconsistent: no labels or non-finite weights")


def _sigmoid(x: Floats) -> Floats:
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(x, -30.0, 30.0))), dtype=np.float32)
