"""Feed documents for tests and benchmarks, in the exact shapes real publishers serve.

``arxiv_listing`` writes the current rss.arxiv.org RSS format (description
``arXiv:ID vN Announce Type: T Abstract: …``, ``arxiv:announce_type``, ``dc:creator``); ``blog``
an RSS 2.0 blog; ``podcast`` an iTunes podcast feed. Built with ElementTree, so text is escaped.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from xml.etree import ElementTree as ET

ARXIV_NS = "http://arxiv.org/schemas/atom"
DC_NS = "http://purl.org/dc/elements/1.1/"
ITUNES_NS = "http://www.itunes.com/dtds/podcast-1.0.dtd"
ET.register_namespace("arxiv", ARXIV_NS)
ET.register_namespace("dc", DC_NS)
ET.register_namespace("itunes", ITUNES_NS)

DAY = datetime(2026, 11, 24, 5, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Paper:
    arxiv_id: str
    title: str
    abstract: str = "We propose a method and evaluate it on standard benchmarks."
    version: int = 1
    categories: tuple[str, ...] = ("cs.LG",)
    announce: str = "new"
    authors: tuple[str, ...] = ("Ada Lovelace", "Alan Turing")


@dataclass(frozen=True)
class Post:
    guid: str
    title: str
    link: str
    body: str = "<p>A post about machine learning.</p>"
    published: datetime = DAY
    enclosure: tuple[str, str, int] | None = None  # url, type, length
    duration: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


def _channel(title: str, link: str, *, nsmap_root: ET.Element) -> ET.Element:
    channel = ET.SubElement(nsmap_root, "channel")
    ET.SubElement(channel, "title").text = title
    ET.SubElement(channel, "link").text = link
    ET.SubElement(channel, "description").text = f"{title} feed"
    return channel


def arxiv_listing(category: str, papers: list[Paper], *, day: datetime = DAY) -> bytes:
    """An rss.arxiv.org listing for ``category`` holding ``papers``."""
    rss = ET.Element("rss", {"version": "2.0"})
    channel = _channel(
        f"{category} updates on arXiv.org", f"http://rss.arxiv.org/rss/{category}", nsmap_root=rss
    )
    ET.SubElement(channel, "pubDate").text = format_datetime(day)
    skip = ET.SubElement(channel, "skipDays")
    for name in ("Saturday", "Sunday"):
        ET.SubElement(skip, "day").text = name
    for paper in papers:
        item = ET.SubElement(channel, "item")
        ET.SubElement(item, "title").text = paper.title
        ET.SubElement(item, "link").text = f"https://arxiv.org/abs/{paper.arxiv_id}"
        ET.SubElement(item, "description").text = (
            f"arXiv:{paper.arxiv_id}v{paper.version} Announce Type: {paper.announce} \n"
            f"Abstract: {paper.abstract}"
        )
        guid = ET.SubElement(item, "guid", {"isPermaLink": "false"})
        guid.text = f"oai:arXiv.org:{paper.arxiv_id}v{paper.version}"
        for cat in paper.categories:
            ET.SubElement(item, "category").text = cat
        ET.SubElement(item, "pubDate").text = format_datetime(day)
        ET.SubElement(item, f"{{{ARXIV_NS}}}announce_type").text = paper.announce
        ET.SubElement(item, f"{{{DC_NS}}}creator").text = ", ".join(paper.authors)
    document: bytes = ET.tostring(rss, encoding="utf-8", xml_declaration=True)
    return document


def blog(title: str, link: str, posts: list[Post], *, ttl: int | None = None) -> bytes:
    """An RSS 2.0 feed (a podcast feed when posts carry enclosures)."""
    rss = ET.Element("rss", {"version": "2.0"})
    channel = _channel(title, link, nsmap_root=rss)
    if ttl is not None:
        ET.SubElement(channel, "ttl").text = str(ttl)
    for post in posts:
        item = ET.SubElement(channel, "item")
        ET.SubElement(item, "title").text = post.title
        ET.SubElement(item, "link").text = post.link
        ET.SubElement(item, "guid", {"isPermaLink": "false"}).text = post.guid
        ET.SubElement(item, "description").text = post.body
        ET.SubElement(item, "pubDate").text = format_datetime(post.published)
        if post.enclosure is not None:
            url, mime, length = post.enclosure
            ET.SubElement(item, "enclosure", {"url": url, "type": mime, "length": str(length)})
        if post.duration is not None:
            ET.SubElement(item, f"{{{ITUNES_NS}}}duration").text = post.duration
    document: bytes = ET.tostring(rss, encoding="utf-8", xml_declaration=True)
    return document


_WORDS = (
    "reinforcement learning policy gradient language model transformer diffusion image "
    "segmentation graph neural network recommender retrieval speech recognition robot "
    "manipulation benchmark dataset fairness alignment interpretability optimization convex "
    "federated learning time series Bayesian inference protein molecule agent planning"
).split()


def random_papers(n: int, *, seed: int = 7, start: int = 1) -> list[Paper]:
    """``n`` plausible papers with ids 2611.NNNNN (deterministic for a seed)."""
    rng = random.Random(seed)
    cats = ("cs.LG", "cs.CL", "cs.CV", "cs.AI", "stat.ML", "cs.RO", "cs.IR", "eess.AS")
    papers = []
    for i in range(start, start + n):
        words = " ".join(rng.choice(_WORDS) for _ in range(8))
        abstract = " ".join(rng.choice(_WORDS) for _ in range(120)) + "."
        chosen = tuple(dict.fromkeys(rng.sample(cats, k=rng.randint(1, 3))))
        papers.append(
            Paper(
                f"2611.{i:05d}",
                words.title(),
                abstract,
                rng.randint(1, 3),
                chosen,
                rng.choice(("new", "new", "cross", "replace")),
            )
        )
    return papers


def hours_ago(n: float) -> datetime:
    return DAY - timedelta(hours=n)
