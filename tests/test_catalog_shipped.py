"""The shipped ``feeds.yaml``: it validates, and it is broad, varied and consistent enough to use.

The minimums come from the project brief (14 areas, 60 sources, 10 arXiv listings, 12 podcasts,
30 posts); everything else is derived from the file itself, so adding a source or a topic never
needs a test edit.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from service.arxiv_categories import is_arxiv_category
from service.catalog import Catalog, SourceSpec, Topic, read_catalog

SHIPPED = Path(__file__).resolve().parent.parent / "feeds.yaml"
ARXIV_LISTING_HOST = "rss.arxiv.org"
ARXIV_LISTING_PATH = re.compile(r"^/rss/(?P<category>[A-Za-z-]+(?:\.[A-Za-z-]+)?)$")
YOUTUBE_CHANNEL_ID = re.compile(r"^channel_id=UC[A-Za-z0-9_-]{22}$")
GENERIC_KEYWORDS = {
    "ai",
    "agent",
    "agents",
    "algorithm",
    "data",
    "learning",
    "model",
    "models",
    "network",
    "networks",
    "neural",
    "system",
    "training",
    "vision",
}
AREA_KEYWORDS = range(8, 26)
SUBTOPIC_KEYWORDS = range(3, 11)
SUBTOPICS_PER_AREA = range(2, 7)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    catalog, problems = read_catalog(SHIPPED)
    assert problems == []
    return catalog


def arxiv_listings(catalog: Catalog) -> list[SourceSpec]:
    return [s for s in catalog.sources if urlsplit(s.url).hostname == ARXIV_LISTING_HOST]


def listing_category(source: SourceSpec) -> str:
    match = ARXIV_LISTING_PATH.match(urlsplit(source.url).path)
    assert match is not None, f"{source.name}: not an rss.arxiv.org/rss/<category> URL"
    return match["category"]


def feed_identity(url: str) -> tuple[str, str, str]:
    """Host, path and query of a feed URL, ignoring scheme, ``www.`` and a trailing slash.

    The query is kept because YouTube channel feeds differ only in ``channel_id``.
    """
    parts = urlsplit(url)
    host = (parts.hostname or "").removeprefix("www.")
    return host, parts.path.rstrip("/").lower(), parts.query


def subtopics_of(catalog: Catalog, area: Topic) -> list[Topic]:
    return [t for t in catalog.taxonomy.topics if t.parent == area.slug]


def test_the_shipped_catalog_reads_without_problems() -> None:
    catalog, problems = read_catalog(SHIPPED)
    assert problems == []
    assert catalog.sources and catalog.taxonomy.topics


def test_the_taxonomy_has_at_least_14_areas_each_with_subtopics(catalog: Catalog) -> None:
    areas = catalog.taxonomy.areas
    assert len(areas) >= 14
    counts = {area.slug: len(subtopics_of(catalog, area)) for area in areas}
    assert {slug: n for slug, n in counts.items() if n not in SUBTOPICS_PER_AREA} == {}


def test_the_catalog_has_enough_sources_of_each_kind(catalog: Catalog) -> None:
    counts = catalog.count_by_kind()
    assert len(catalog.sources) >= 60
    assert len(arxiv_listings(catalog)) >= 10
    assert counts["podcast"] >= 12
    assert counts["post"] >= 30


def test_every_area_is_a_default_topic_of_some_source(catalog: Catalog) -> None:
    covered = {catalog.taxonomy.area_of(slug) for s in catalog.sources for slug in s.topics}
    missing = {area.slug for area in catalog.taxonomy.areas} - covered
    assert missing == set()


def test_no_two_sources_share_a_feed(catalog: Catalog) -> None:
    identities = Counter(feed_identity(s.url) for s in catalog.sources)
    assert [identity for identity, n in identities.items() if n > 1] == []


def test_every_arxiv_listing_category_is_mapped_by_a_topic(catalog: Catalog) -> None:
    mapped = {cat for topic in catalog.taxonomy.topics for cat in topic.arxiv}
    unmapped = [s.name for s in arxiv_listings(catalog) if listing_category(s) not in mapped]
    assert unmapped == []


def test_arxiv_listings_are_research_papers_tagged_with_their_category_topic(
    catalog: Catalog,
) -> None:
    owners: dict[str, set[str]] = defaultdict(set)
    for topic in catalog.taxonomy.topics:
        for cat in topic.arxiv:
            owners[cat] |= {topic.slug, topic.area}
    wrong = [
        s.name
        for s in arxiv_listings(catalog)
        if s.kind != "paper"
        or s.level != "research"
        or not is_arxiv_category(listing_category(s))
        or not owners[listing_category(s)] & set(s.topics)
    ]
    assert wrong == []


def test_every_source_is_served_over_https_with_topics(catalog: Catalog) -> None:
    wrong = [s.name for s in catalog.sources if urlsplit(s.url).scheme != "https" or not s.topics]
    assert wrong == []


def test_video_sources_are_youtube_channel_feeds(catalog: Catalog) -> None:
    videos = [s for s in catalog.sources if s.kind == "video"]
    wrong = [
        s.name
        for s in videos
        if feed_identity(s.url)[:2] != ("youtube.com", "/feeds/videos.xml")
        or not YOUTUBE_CHANNEL_ID.match(urlsplit(s.url).query)
    ]
    assert wrong == []


def test_keyword_rule_counts_fit_the_tagger(catalog: Catalog) -> None:
    def fits(topic: Topic) -> bool:
        allowed = AREA_KEYWORDS if topic.is_area else SUBTOPIC_KEYWORDS
        return len(topic.keywords) in allowed

    assert [t.slug for t in catalog.taxonomy.topics if not fits(t)] == []


def test_keywords_are_specific_and_not_shared_between_topics(catalog: Catalog) -> None:
    owners: dict[str, list[str]] = defaultdict(list)
    for topic in catalog.taxonomy.topics:
        for keyword in topic.keywords:
            owners[keyword.casefold()].append(topic.slug)
    shared = {kw: slugs for kw, slugs in owners.items() if len(slugs) > 1}
    generic = sorted(set(owners) & GENERIC_KEYWORDS)
    assert shared == {}
    assert generic == []
