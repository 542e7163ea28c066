"""The documents the ingest benchmark reads: the shared corpus, and generated feeds of any size.

``corpus_documents`` takes every feed file of ``../shared/corpus`` and leaves out, with a reason,
the OPML lists and the documents the pipeline refuses as not a feed. ``generated_documents``
writes arXiv listings and blogs totalling N entries into a folder (so the process that ingests them
reads them from disk, one at a time, like the command line does) and returns their manifest.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from feedgen import DAY, Paper, Post, arxiv_listing, blog, random_papers

from service.errors import ParseError
from service.ingest.parse import parse_feed
from service.records import Kind

KIND_BY_FOLDER: dict[str, Kind] = {
    "arxiv_api": "paper",
    "arxiv_listing": "paper",
    "podcast": "podcast",
}
NOT_FEED_FILES = frozenset({"README.md", "PROVENANCE.tsv"})
PAPERS_PER_LISTING = 500
POSTS_PER_BLOG = 25
PAPER_SHARE = 0.8  # of the entries of a scaling run; the rest are blog posts
CROSS_LIST_SHARE = 0.1  # of a listing's papers, announced again from the previous listing
_CATEGORIES = ("cs.LG", "cs.CL", "cs.CV", "cs.AI", "stat.ML", "cs.RO", "cs.IR", "eess.AS")
_WORDS = (
    "reinforcement learning policy gradient language model transformer diffusion image "
    "segmentation graph neural network recommender retrieval speech recognition robot "
    "manipulation benchmark dataset fairness alignment interpretability optimization convex "
    "federated learning time series Bayesian inference protein molecule agent planning the of "
    "a we and to in for with on is that by this from our show results method approach"
).split()


@dataclass(frozen=True)
class Document:
    """One feed document: what it is called, the kind of its source, its bytes, its entries."""

    name: str
    kind: Kind
    body: bytes
    entries: int

    @property
    def url(self) -> str:
        return f"https://corpus.example/{self.name}"


@dataclass(frozen=True)
class Corpus:
    """The corpus documents ingested, and those left out with the reason why."""

    documents: tuple[Document, ...]
    opml: tuple[str, ...]
    refused: tuple[tuple[str, str], ...]  # (file, the pipeline's reason)
    too_large: int = 0  # files left out for being over max_bytes (tiny runs)
    max_bytes: int | None = None


@dataclass(frozen=True)
class GeneratedFile:
    """A generated feed on disk, as the manifest of a scaling run lists it."""

    name: str
    kind: Kind
    path: Path
    entries: int


def corpus_documents(folder: Path, *, max_bytes: int | None = None) -> Corpus:
    """Every feed file under ``folder``; OPML lists and documents that are not feeds left out."""
    documents: list[Document] = []
    opml: list[str] = []
    refused: list[tuple[str, str]] = []
    too_large = 0
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        name = f"{path.parent.name}/{path.name}"
        if path.name in NOT_FEED_FILES:
            continue
        if path.suffix.lower() == ".opml":
            opml.append(name)
            continue
        body = path.read_bytes()
        if max_bytes is not None and len(body) > max_bytes:
            too_large += 1
            continue
        document = _document(name, KIND_BY_FOLDER.get(path.parent.name, "post"), body)
        if isinstance(document, str):
            refused.append((name, document))
        else:
            documents.append(document)
    return Corpus(tuple(documents), tuple(opml), tuple(refused), too_large, max_bytes)


def _document(name: str, kind: Kind, body: bytes) -> Document | str:
    """The document with its entry count, or the reason the pipeline refuses it."""
    try:
        feed = parse_feed(body, url=f"https://corpus.example/{name}")
    except ParseError as exc:
        return exc.reason
    return Document(name, kind, body, len(feed.entries))


def generated_listing(entries: int) -> Document:
    """An rss.arxiv.org listing of ``entries`` papers, as the issue's benchmark asks for."""
    body = arxiv_listing("cs.LG", random_papers(entries))
    return Document(f"generated/arxiv_cs.LG_{entries}.xml", "paper", body, entries)


# --------------------------------------------------------------------------- scaling inputs


def _arxiv_id(number: int) -> str:
    """A distinct new-style arXiv id for every number (up to 99,999 a month, 12 months a year)."""
    month, serial = divmod(number, 99_999)
    year, month = divmod(month, 12)
    return f"{24 + year:02d}{month + 1:02d}.{serial + 1:05d}"


def _paper(number: int, rng: random.Random, category: str) -> Paper:
    others = rng.sample(_CATEGORIES, k=rng.randint(0, 2))
    return Paper(
        _arxiv_id(number),
        " ".join(rng.choices(_WORDS, k=9)).capitalize(),
        " ".join(rng.choices(_WORDS, k=140)) + ".",
        rng.randint(1, 3),
        tuple(dict.fromkeys((category, *others))),
        rng.choice(("new", "new", "new", "replace")),
    )


def _listings(total: int, rng: random.Random) -> list[tuple[str, list[Paper]]]:
    """Listings of about PAPERS_PER_LISTING entries totalling ``total``; from the second on, a
    share of each listing is papers of the previous one cross-listed here."""
    listings: list[tuple[str, list[Paper]]] = []
    number = 0
    for index, size in enumerate(_split(total, PAPERS_PER_LISTING)):
        category = _CATEGORIES[index % len(_CATEGORIES)]
        previous = listings[-1][1] if listings else []
        crossed = [
            Paper(p.arxiv_id, p.title, p.abstract, p.version, (category,), "cross")
            for p in previous[: int(size * CROSS_LIST_SHARE)]
        ]
        fresh = [_paper(number + i, rng, category) for i in range(size - len(crossed))]
        number += len(fresh)
        listings.append((category, fresh + crossed))
    return listings


def _post_body(rng: random.Random, number: int) -> str:
    words = " ".join(rng.choices(_WORDS, k=180))
    mention = f' <a href="https://arxiv.org/abs/{_arxiv_id(number)}">the paper</a>'
    return f"<p>{words[:600]}</p><p>{words[600:]}{mention if number % 3 == 0 else ''}</p>"


def _blogs(total: int, rng: random.Random) -> list[tuple[str, list[Post]]]:
    blogs: list[tuple[str, list[Post]]] = []
    number = 0
    for index, size in enumerate(_split(total, POSTS_PER_BLOG)):
        site = f"https://blog{index}.example"
        posts = [
            Post(
                f"{site}/p/{number + i}",
                " ".join(rng.choices(_WORDS, k=7)).capitalize(),
                f"{site}/posts/{number + i}?utm_source=rss",
                _post_body(rng, number + i),
                DAY - timedelta(hours=number + i),
            )
            for i in range(size)
        ]
        number += size
        blogs.append((site, posts))
    return blogs


def _split(total: int, size: int) -> list[int]:
    """``total`` in parts of at most ``size``, as even as can be."""
    if total <= 0:
        return []
    parts = -(-total // size)
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def generated_documents(folder: Path, entries: int, *, seed: int = 11) -> list[GeneratedFile]:
    """Write arXiv listings and blogs totalling ``entries`` entries into ``folder``, in the
    order they are to be ingested: the blogs spread evenly between the listings, so that every
    stretch of the run has the same mix."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    papers = round(entries * PAPER_SHARE)
    listings: list[GeneratedFile] = []
    for index, (category, listing) in enumerate(_listings(papers, rng)):
        path = folder / f"arxiv-{index:04d}-{category}.xml"
        path.write_bytes(arxiv_listing(category, listing))
        listings.append(GeneratedFile(path.name, "paper", path, len(listing)))
    blogs: list[GeneratedFile] = []
    for index, (site, posts) in enumerate(_blogs(entries - papers, rng)):
        path = folder / f"blog-{index:05d}.xml"
        path.write_bytes(blog(f"Blog {index}", site, posts))
        blogs.append(GeneratedFile(path.name, "post", path, len(posts)))
    return _interleaved(listings, blogs)


def _interleaved(first: list[GeneratedFile], second: list[GeneratedFile]) -> list[GeneratedFile]:
    """Both lists, in their own orders, the second spread evenly among the first."""
    if not first or not second:
        return first + second
    keyed = [((i + 1) / len(first), 0, f) for i, f in enumerate(first)]
    keyed += [((i + 1) / len(second), 1, f) for i, f in enumerate(second)]
    return [f for _, _, f in sorted(keyed, key=lambda k: (k[0], k[1]))]
