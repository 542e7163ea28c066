"""Learning from likes: does the feed bring a theme's papers after 5 and 10 likes? Same-run figures.

``python -m bench --only learning`` reads the latest papers of ``../shared/labelled`` and serves
them as posts of one source (no arXiv categories, so only the text counts): tagged by the
shipped tagger from their text, with their item vectors, published over the window. A **theme**
is a narrow subset defined by keywords in the title inside language models and NLP (cs.CL
papers: hallucination, translation, retrieval-augmented generation, ...). For each theme and
seed, ``likes`` theme papers are liked; the feed is ranked by the current ranker at depth 1 with
the preference model (``rank.learn``) and the topic/source affinities of those likes, with and
without interests (``llm-nlp``); precision@10 is the share of the theme's other papers in the top
10, on the same held-out papers after 5 and after 10 likes (the first 10 liked papers of a seed
left out of both). Same run, same pool: the ranker **without** the model (what the
issue measured: likes alone), and arxiv-sanity-lite's recipe (TF-IDF 1-2-grams, sublinear tf,
20k features, ``LinearSVC(C=0.01, class_weight="balanced")`` on the liked papers against all
others), ranking by its decision alone. Dislikes: after 5 dislikes of a theme, the mean position
of the theme's other papers in the feed (without interests) must go down.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import random
import re
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from bench.report import Context, Section, Table, Target
from service.catalog import load_catalog
from service.ingest.embed import item_text, shared_embedder
from service.ingest.tag import Tagger
from service.ingest.topicmodel import TopicModel
from service.rank.dial import rank_feed
from service.rank.learn import Learned, LearnEvent, train
from service.rank.model import (
    Candidate,
    CandidatePool,
    CandidateSource,
    CandidateTag,
    FeedbackEvent,
    Preferences,
    TopicIndex,
)
from service.records import NormalizedItem

TITLE = "Learning from likes: precision@10 of a theme after 5 and 10 likes, vs TF-IDF + SVM"
ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 7, 1, 12, tzinfo=UTC)
K = 10
Matrix = npt.NDArray[np.float32]
THEMES: dict[str, str] = {
    "hallucination": r"hallucinat",
    "translation": r"\btranslat",
    "retrieval-augmented": r"retrieval-augmented|\bRAG\b",
    "multilingual": r"multilingual|low-resource|cross-lingual",
    "medical": r"medical|clinical",
    "agents": r"\bagent",
    "reasoning": r"\breasoning\b",
}
SOURCE = CandidateSource(id=1, name="papers as posts", kind="post", level="research", weight=1.0)


@dataclass(frozen=True, slots=True)
class Pool:
    candidates: tuple[Candidate, ...]
    vectors: Matrix
    texts: tuple[str, ...]
    cs_cl: frozenset[int]  # positions of cs.CL-primary papers (themes live inside)
    topics: TopicIndex


def read_rows(path: Path, count: int) -> list[dict[str, Any]]:
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        rows = [json.loads(line) for line in lines]
    return rows[-count:]


def build_pool(rows: Sequence[dict[str, Any]]) -> Pool:
    """The papers as posts of one source, tagged from their text, published over a week."""
    catalog = load_catalog(ROOT / "feeds.yaml")
    tagger = Tagger(catalog.taxonomy, TopicModel.shipped())
    topics = TopicIndex.build((t.slug, t.area, t.parent, t.label) for t in catalog.taxonomy.topics)
    texts = tuple(item_text(r["title"], r["abstract"]) for r in rows)
    embedder = shared_embedder()
    vectors = np.vstack([embedder.embed(texts[i : i + 100]) for i in range(0, len(texts), 100)])
    candidates = []
    for n, row in enumerate(rows):
        at = NOW - timedelta(minutes=(len(rows) - n) * 7 * 24 * 60 / len(rows))
        item = NormalizedItem(
            canonical_key=f"url:https://example.org/{n}",
            kind="post",
            title=row["title"],
            url=f"https://example.org/{n}",
            summary_text=row["abstract"],
            summary_html="",
            published_at=at,
        )
        tags = tuple(CandidateTag(t.slug, t.area, t.score, t.origin) for t in tagger.tag(item))
        candidates.append(
            Candidate(
                id=n + 1,
                kind="post",
                title=row["title"],
                url=item.url,
                summary=row["abstract"],
                published_at=at,
                tags=tags,
                sources=(SOURCE,),
            )
        )
    cs_cl = frozenset(n for n, r in enumerate(rows) if r["categories"][0] == "cs.CL")
    return Pool(tuple(candidates), vectors, texts, cs_cl, topics)


def theme_of(pool: Pool, pattern: str) -> list[int]:
    found = re.compile(pattern, re.IGNORECASE)
    return [n for n in sorted(pool.cs_cl) if found.search(pool.candidates[n].title)]


def _events(pool: Pool, liked: Sequence[int], signal: str) -> list[LearnEvent]:
    return [
        LearnEvent(
            signal, NOW - timedelta(hours=k), n + 1, pool.candidates[n].title, pool.vectors[n]
        )
        for k, n in enumerate(liked)
    ]


def _affinity_events(pool: Pool, liked: Sequence[int], sign: int) -> tuple[FeedbackEvent, ...]:
    return tuple(
        FeedbackEvent(
            sign=sign,
            at=NOW - timedelta(hours=k),
            topics=tuple((t.slug, t.score) for t in pool.candidates[n].tags),
            source_ids=(SOURCE.id,),
        )
        for k, n in enumerate(liked)
    )


def feed_order(
    pool: Pool, marked: Sequence[int], *, sign: int, interests: bool, learn: bool
) -> list[int]:
    """Positions of the pool in feed order (depth 1), the marked papers left out."""
    signal = "like" if sign > 0 else "dislike"
    learned = None
    if learn:
        model = train(_events(pool, marked, signal), now=NOW, background=pool.vectors)
        assert model is not None
        scores = model.affinity(pool.vectors)
        ids = range(1, len(pool.candidates) + 1)
        learned = Learned(
            model,
            dict(zip(ids, scores.tolist(), strict=True)),
            dict(zip(ids, pool.vectors, strict=True)),
        )
    gone = {n + 1 for n in marked}
    candidates = tuple(c for c in pool.candidates if c.id not in gone)
    ranked = rank_feed(
        CandidatePool(
            candidates, pool.topics, _affinity_events(pool, marked, sign), learned=learned
        ),
        Preferences(interests={"llm-nlp": 1.0} if interests else {}, depth=1.0, window_days=7),
        now=NOW,
    )
    return [item.candidate.id - 1 for item in ranked.items]


def svm_order(pool: Pool, features: Any, liked: Sequence[int]) -> list[int]:
    from sklearn.svm import LinearSVC

    labels = np.zeros(len(pool.candidates), dtype=np.int8)
    labels[list(liked)] = 1
    fitted = LinearSVC(C=0.01, class_weight="balanced").fit(features, labels)
    decision = fitted.decision_function(features)
    order = np.argsort(-decision, kind="stable")
    gone = set(liked)
    return [int(n) for n in order if int(n) not in gone]


def _top(scores: npt.NDArray[Any], liked: Sequence[int]) -> list[int]:
    order = np.argsort(-scores.astype(np.float64), kind="stable")
    gone = set(liked)
    return [int(n) for n in order if int(n) not in gone]


def alternatives(pool: Pool, liked: Sequence[int]) -> dict[str, list[int]]:
    """The pool ordered by each candidate model alone (no ranker): the shipped one, the centroid
    of the liked vectors (Rocchio) and a logistic regression on the same centred vectors."""
    from sklearn.linear_model import LogisticRegression

    model = train(_events(pool, liked, "like"), now=NOW, background=pool.vectors)
    assert model is not None
    centred = pool.vectors - pool.vectors.mean(axis=0)
    centred /= np.linalg.norm(centred, axis=1, keepdims=True)
    labels = np.zeros(len(centred), dtype=np.int8)
    labels[list(liked)] = 1
    fitted = LogisticRegression(C=1.0, class_weight="balanced", max_iter=300)
    logistic = fitted.fit(centred, labels).decision_function(centred)
    return {
        "shipped": _top(model.affinity(pool.vectors), liked),
        "rocchio": _top(centred @ centred[list(liked)].mean(axis=0), liked),
        "logistic": _top(logistic, liked),
    }


def precision(order: Sequence[int], wanted: set[int], skip: Sequence[int] = ()) -> float:
    """The share of ``wanted`` in the top K of ``order``, ``skip`` left out (the papers liked in
    one of the runs compared, so 5 and 10 likes are measured on the same held-out papers)."""
    gone = set(skip)
    top = [n for n in order if n not in gone][:K]
    return sum(n in wanted for n in top) / K


@dataclass(frozen=True, slots=True)
class ThemeFigures:
    theme: str
    papers: int
    learned_5: float
    learned_10: float
    learned_interests_5: float
    learned_interests_10: float
    without_model_interests_10: float
    baseline_5: float
    baseline_10: float
    alone_shipped_5: float  # the models alone, without the ranker
    alone_shipped_10: float
    alone_rocchio_5: float
    alone_rocchio_10: float
    alone_logistic_5: float
    alone_logistic_10: float
    dislike_mean_position_before: float
    dislike_mean_position_after: float


def _mean_position(order: Sequence[int], wanted: set[int]) -> float:
    places = [i for i, n in enumerate(order) if n in wanted]
    return statistics.fmean(places) if places else float(len(order))


def measure_theme(pool: Pool, features: Any, name: str, seeds: int) -> ThemeFigures | None:
    theme = theme_of(pool, THEMES[name])
    if len(theme) < 15:
        return None
    runs: dict[str, list[float]] = {}

    def add(key: str, value: float) -> None:
        runs.setdefault(key, []).append(value)

    for seed in range(seeds):
        shuffled = random.Random(seed).sample(theme, len(theme))
        held = set(shuffled[10:])  # the same held-out papers after 5 and after 10 likes
        for likes in (5, 10):
            liked = shuffled[:likes]
            for interests in (False, True):
                order = feed_order(pool, liked, sign=1, interests=interests, learn=True)
                add(
                    f"learned{'_interests' if interests else ''}_{likes}",
                    precision(order, held, shuffled[:10]),
                )
            svm = svm_order(pool, features, liked)
            add(f"baseline_{likes}", precision(svm, held, shuffled[:10]))
            for model, order in alternatives(pool, liked).items():
                add(f"alone_{model}_{likes}", precision(order, held, shuffled[:10]))
        liked = shuffled[:10]
        held = set(theme) - set(liked)
        plain = feed_order(pool, liked, sign=1, interests=True, learn=False)
        add("without_model_interests_10", precision(plain, held))
        disliked = shuffled[:5]
        rest = set(theme) - set(disliked)
        before = feed_order(pool, [], sign=-1, interests=False, learn=False)
        after = feed_order(pool, disliked, sign=-1, interests=False, learn=True)
        add("dislike_mean_position_before", _mean_position(before, rest))
        add("dislike_mean_position_after", _mean_position(after, rest))
    means = {key: round(statistics.fmean(values), 3) for key, values in runs.items()}
    return ThemeFigures(theme=name, papers=len(theme), **means)


def tfidf_features(texts: Sequence[str]) -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(
        ngram_range=(1, 2), sublinear_tf=True, max_features=20_000, stop_words="english"
    )
    return vectorizer.fit_transform(texts)


def measure(path: Path, papers: int, themes: Sequence[str], seeds: int) -> list[ThemeFigures]:
    pool = build_pool(read_rows(path, papers))
    features = tfidf_features(pool.texts)
    found = [measure_theme(pool, features, name, seeds) for name in themes]
    return [f for f in found if f is not None]


def _targets(figures: Sequence[ThemeFigures]) -> tuple[Target, ...]:
    def met(test: Callable[[ThemeFigures], bool]) -> str:
        return f"{sum(test(f) for f in figures)} of {len(figures)} themes"

    checks: list[tuple[str, str, Callable[[ThemeFigures], bool]]] = [
        (
            "precision@10 at least the baseline (5 and 10 likes, no interests)",
            "every theme",
            lambda f: f.learned_5 >= f.baseline_5 and f.learned_10 >= f.baseline_10,
        ),
        (
            "precision@10 at least the baseline with interests llm-nlp",
            "every theme",
            lambda f: (
                f.learned_interests_5 >= f.baseline_5 and f.learned_interests_10 >= f.baseline_10
            ),
        ),
        (
            "10 likes never worse than 5",
            "every theme",
            lambda f: (
                f.learned_10 >= f.learned_5 and f.learned_interests_10 >= f.learned_interests_5
            ),
        ),
        (
            "dislikes push the theme down the feed",
            "every theme",
            lambda f: f.dislike_mean_position_after > f.dislike_mean_position_before,
        ),
    ]
    return tuple(
        Target(name=name, wanted=wanted, measured=met(test), met=all(test(f) for f in figures))
        for name, wanted, test in checks
    )


def run(ctx: Context) -> Section:
    """The ``make bench`` section (``--tiny``: 1,500 papers, two themes, one seed)."""
    path = ctx.corpus.parent / "labelled" / "arxiv_2025_2026.jsonl.gz"
    themes = ("agents", "medical") if ctx.tiny else tuple(THEMES)
    figures = measure(path, 1500 if ctx.tiny else 3000, themes, 1 if ctx.tiny else 5)
    numbers: dict[str, float] = {"themes": float(len(figures))}
    for f in figures:
        for key, value in dataclasses.asdict(f).items():
            if key != "theme":
                numbers[f"{f.theme}.{key}"] = float(value)
    columns = (
        "theme",
        "papers",
        "model 5",
        "model 10",
        "model+interests 5",
        "model+interests 10",
        "no model+interests 10",
        "TF-IDF+SVM 5",
        "TF-IDF+SVM 10",
    )
    rows = tuple(
        (
            f.theme,
            f.papers,
            f.learned_5,
            f.learned_10,
            f.learned_interests_5,
            f.learned_interests_10,
            f.without_model_interests_10,
            f.baseline_5,
            f.baseline_10,
        )
        for f in figures
    )
    alone = tuple(
        (
            f.theme,
            f"{f.alone_shipped_5} / {f.alone_shipped_10}",
            f"{f.alone_rocchio_5} / {f.alone_rocchio_10}",
            f"{f.alone_logistic_5} / {f.alone_logistic_10}",
            f"{f.baseline_5} / {f.baseline_10}",
        )
        for f in figures
    )
    dislikes = tuple(
        (f.theme, f.dislike_mean_position_before, f.dislike_mean_position_after) for f in figures
    )
    return Section(
        name="learning",
        title=TITLE,
        numbers=numbers,
        tables=(
            Table(
                title="precision@10 of the theme's other papers (depth 1)",
                columns=columns,
                rows=rows,
            ),
            Table(
                title="precision@10 of each model alone (5 / 10 likes): the choice of rank.learn",
                columns=("theme", "shipped (LDA)", "centroid", "logistic regression", "TF-IDF+SVM"),
                rows=alone,
            ),
            Table(
                title="mean feed position of the theme's other papers, before / after 5 dislikes",
                columns=("theme", "before", "after"),
                rows=dislikes,
            ),
        ),
        targets=_targets(figures),
        notes=(
            "The baseline ranks by its SVM decision alone; the feed also weighs freshness and "
            "technical level, as readers see it.",
        ),
    )
