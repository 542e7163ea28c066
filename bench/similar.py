"""Is the dense item vector good enough for "more like this"? Measured against TF-IDF, same run.

``python -m bench.similar [--papers N] [--labelled PATH]`` reads the latest ``N`` papers of
``../shared/labelled`` (a later slice than any tagger trains on), takes each paper's areas from
its arXiv categories through ``feeds.yaml`` (``ml-core``, the catch-all, left out), and asks, for
each paper with an area, whether its 5 nearest neighbours (cosine) share one. Two queries per
paper: title + abstract (a paper or a full post) and the title alone (the many feeds that give
only a title), always against the title + abstract of the others. Both methods see the same
papers and texts; the TF-IDF is fitted on them (an unfair advantage: it knows the vocabulary of
the test set), the dense vector is the shipped model as ingest uses it.
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from bench.report import Context, Section, Table, Target
from service.catalog import Taxonomy, load_catalog
from service.ingest.embed import shared_embedder

TITLE = "Item vectors: more like this, dense vector vs TF-IDF (same run), and cost"
ROOT = Path(__file__).resolve().parent.parent
LABELLED = ROOT.parent / "shared" / "labelled" / "arxiv_2025_2026.jsonl.gz"
K = 5
BATCH = 50
COST_TARGET_US = 300
Matrix = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class Paper:
    title: str
    abstract: str
    areas: frozenset[str]


@dataclass(frozen=True, slots=True)
class Figures:
    """Share of the K nearest neighbours that share an area with the query, by method and query."""

    papers: int
    dense_full: float
    tfidf_full: float
    dense_title: float
    tfidf_title: float
    dense_us_per_item: float  # CPU, in batches of ``BATCH`` (one document's items at ingest)


def area_map(taxonomy: Taxonomy) -> dict[str, set[str]]:
    """arXiv category -> the areas it maps to, without the catch-all ml-core."""
    found: dict[str, set[str]] = {}
    for topic in taxonomy.topics:
        if topic.area == "ml-core":
            continue
        for category in topic.arxiv:
            found.setdefault(category, set()).add(topic.area)
    return found


def read_papers(path: Path, count: int, areas: dict[str, set[str]]) -> list[Paper]:
    """The last ``count`` lines of the labelled set with at least one area."""
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        rows = [json.loads(line) for line in lines]
    papers: list[Paper] = []
    for row in reversed(rows):
        mapped = frozenset(a for c in row["categories"] for a in areas.get(c, ()))
        if mapped:
            papers.append(Paper(row["title"], row["abstract"], mapped))
        if len(papers) == count:
            break
    return papers


def tfidf(documents: Sequence[str], queries: Sequence[str]) -> tuple[Matrix, Matrix]:
    """Unit-length TF-IDF rows (scikit-learn: sublinear tf, smooth idf, English stopwords,
    terms in 2+ documents), fitted on ``documents``."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(
        sublinear_tf=True, stop_words="english", min_df=2, token_pattern=r"[a-z0-9][a-z0-9-]+"
    )
    docs = vectorizer.fit_transform(documents)
    return _dense(docs), _dense(vectorizer.transform(queries))


def _dense(rows: Any) -> Matrix:
    out: Matrix = np.asarray(rows.toarray(), dtype=np.float32)
    return out


def neighbour_precision(docs: Matrix, queries: Matrix, papers: Sequence[Paper]) -> float:
    """Mean share of each query's K nearest other papers that share one of its areas."""
    sims = queries @ docs.T
    np.fill_diagonal(sims, -np.inf)  # query i is paper i: not its own neighbour
    top = np.argpartition(-sims, K, axis=1)[:, :K]
    hits = [
        sum(not papers[i].areas.isdisjoint(papers[j].areas) for j in row) / K
        for i, row in enumerate(top)
    ]
    return float(np.mean(hits))


def measure(papers: Sequence[Paper]) -> Figures:
    full = [f"{p.title}\n{p.abstract}" for p in papers]
    titles = [p.title for p in papers]
    embedder = shared_embedder()
    started = time.process_time()
    dense_docs = np.vstack(
        [embedder.embed(full[i : i + BATCH]) for i in range(0, len(full), BATCH)]
    )
    took = time.process_time() - started
    dense_titles = embedder.embed(titles)
    sparse_docs, sparse_titles = tfidf(full, titles)
    return Figures(
        papers=len(papers),
        dense_full=neighbour_precision(dense_docs, dense_docs, papers),
        tfidf_full=neighbour_precision(sparse_docs, sparse_docs, papers),
        dense_title=neighbour_precision(dense_docs, dense_titles, papers),
        tfidf_title=neighbour_precision(sparse_docs, sparse_titles, papers),
        dense_us_per_item=took / len(papers) * 1e6,
    )


def run(ctx: Context) -> Section:
    """The ``make bench`` section (300 papers with ``--tiny``)."""
    path = ctx.corpus.parent / "labelled" / LABELLED.name
    areas = area_map(load_catalog(ROOT / "feeds.yaml").taxonomy)
    f = measure(read_papers(path, 300 if ctx.tiny else 3000, areas))
    return Section(
        name="similar",
        title=TITLE,
        numbers=dataclasses.asdict(f),
        tables=(
            Table(
                title=f"Share of the {K} nearest neighbours sharing an area ({f.papers} papers)",
                columns=("query", "dense vector", "TF-IDF"),
                rows=(
                    ("title + abstract", round(f.dense_full, 3), round(f.tfidf_full, 3)),
                    ("title only", round(f.dense_title, 3), round(f.tfidf_title, 3)),
                ),
            ),
        ),
        targets=(
            Target(
                name="vector cost per item (one core, CPU time)",
                wanted=f"≤ {COST_TARGET_US} µs",
                measured=f"{f.dense_us_per_item:.0f} µs",
                met=f.dense_us_per_item <= COST_TARGET_US,
            ),
        ),
        notes=(
            "TF-IDF is fitted on the measured papers themselves, which favours it; a random "
            "pair of these papers shares an area about half the time.",
        ),
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.similar", description=__doc__)
    parser.add_argument("--papers", type=int, default=3000)
    parser.add_argument("--labelled", type=Path, default=LABELLED)
    args = parser.parse_args(argv)
    areas = area_map(load_catalog(ROOT / "feeds.yaml").taxonomy)
    figures = measure(read_papers(args.labelled, args.papers, areas))
    print(json.dumps(dataclasses.asdict(figures), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
