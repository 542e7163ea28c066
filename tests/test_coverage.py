"""Posts and episodes linked to the papers they cover, on the real captures of ../shared/corpus.

The corpus posts link 42 arXiv papers, but its arXiv files (trimmed listings, API answers) hold
none of them: the papers of the Hugging Face daily papers capture, and one BAIR cites, are given
here as the arXiv API would answer for them (id, title and date as the posts give them), in
either order — papers before posts, posts before papers. Every real post -> paper link whose
paper is stored must then be connected, and the feed must show each paper once, covered by its
posts, never the posts beside it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

import feedparser
import pytest
import sqlalchemy as sa
from conftest import CORPUS
from sqlmodel import col
from test_stories import LAUNCH

from service.catalog import load_catalog
from service.ingest.pipeline import Pipeline
from service.ingest.tag import Tagger
from service.outputs.api.schemas_feed import feed_response
from service.outputs.feed import FeedOptions, build_feed
from service.storage.catalog import sync_taxonomy
from service.storage.engine import Database
from service.storage.models import Item, ItemLink
from service.storage.profiles import create_profile
from service.storage.sources import add_source, for_update
from service.storage.views import get_item
from service.vocabulary import title_key

ROOT = Path(__file__).resolve().parent.parent
CATALOG = load_catalog(ROOT / "feeds.yaml")
POSTS = sorted((CORPUS / "blog").glob("*.xml")) + sorted((CORPUS / "podcast").glob("*.xml"))
PAPERS = sorted((CORPUS / "arxiv_listing").glob("*.xml")) + sorted(
    (CORPUS / "arxiv_api").glob("*.xml")
)
HF_DAILY = CORPUS / "blog" / "blog_huggingface_daily_papers_feedgen.xml"
# Cited by BAIR's "Gradient-based Planning for World Models at Longer Horizons".
FETCHED = datetime(2026, 4, 30, tzinfo=UTC)
CITED = ("1312.6199", "Intriguing properties of neural networks", "2013-12-21T00:00:00Z")


def _hf_papers() -> list[tuple[str, str, str]]:
    """(arXiv id, title, date) of every paper the Hugging Face daily papers capture names."""
    parsed = feedparser.parse(HF_DAILY.read_bytes())
    found = []
    for entry in parsed.entries:
        arxiv_id = entry.link.rsplit("/", 1)[-1]
        when = datetime(*entry.published_parsed[:6], tzinfo=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        found.append((arxiv_id, entry.title, when))
    return found


def _api_answer(papers: list[tuple[str, str, str]]) -> bytes:
    """An export.arxiv.org API answer (Atom) for ``papers``."""
    entries = "".join(
        f"""<entry><id>http://arxiv.org/abs/{i}v1</id><title>{escape(t)}</title>
        <updated>{w}</updated><published>{w}</published>
        <link href="https://arxiv.org/abs/{i}v1" rel="alternate" type="text/html"/>
        <summary>{escape(t)}.</summary><category term="cs.CL" scheme="http://arxiv.org/schemas/atom"/>
        <arxiv:primary_category term="cs.CL"/><author><name>A. Author</name></author></entry>"""
        for i, t, w in papers
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><feed xmlns="http://www.w3.org/2005/Atom" '
        'xmlns:arxiv="http://arxiv.org/schemas/atom"><id>https://arxiv.org/api/x</id>'
        f"<title>arXiv Query</title><updated>2026-04-30T00:00:00Z</updated>{entries}</feed>"
    ).encode()


def _ingest(db: Database, pipeline: Pipeline, name: str, kind: str, body: bytes) -> None:
    with db.write() as s:
        row = add_source(
            s,
            name=name,
            url=f"https://corpus.example/{name}",
            kind=kind,
            origin="local",  # type: ignore[arg-type]
        )
        source = for_update(row)
    try:
        pipeline.ingest_bytes(source, body)
    except Exception as exc:  # the corpus holds feeds that are refused with a reason
        assert getattr(exc, "reason", None), (name, exc)


def _ingest_posts(db: Database, pipeline: Pipeline) -> None:
    for path in POSTS:
        _ingest(
            db,
            pipeline,
            path.name,
            "podcast" if "podcast" in path.name else "post",
            path.read_bytes(),
        )


def _ingest_papers(db: Database, pipeline: Pipeline) -> None:
    for path in PAPERS:
        _ingest(db, pipeline, path.name, "paper", path.read_bytes())
    _ingest(db, pipeline, "api-answer", "paper", _api_answer([*_hf_papers(), CITED]))


@pytest.fixture
def pipeline(db: Database) -> Pipeline:
    with db.write() as s:
        sync_taxonomy(s, CATALOG.taxonomy)
    return Pipeline(db=db, tagger=Tagger(CATALOG.taxonomy), clock=lambda: FETCHED)


@pytest.mark.corpus
@pytest.mark.parametrize("papers_first", [True, False], ids=["papers-first", "posts-first"])
def test_every_real_post_to_paper_link_whose_paper_is_stored_is_connected(
    db: Database, pipeline: Pipeline, papers_first: bool
) -> None:
    steps = [_ingest_papers, _ingest_posts] if papers_first else [_ingest_posts, _ingest_papers]
    for step in steps:
        step(db, pipeline)
    with db.session() as s:
        stored = dict(
            s.execute(sa.select(Item.arxiv_id, Item.id).where(col(Item.kind) == "paper")).all()
        )
        links = s.execute(sa.select(ItemLink.item_id, ItemLink.arxiv_id)).all()
        real = sorted((post, arxiv_id) for post, arxiv_id in links if arxiv_id in stored)
        # every paper the HF capture names, and the one BAIR cites
        assert {a for _, a in real} == {i for i, _, _ in _hf_papers()} | {CITED[0]}
        assert len(real) >= 23
        for post, arxiv_id in real:
            view = get_item(s, stored[arxiv_id])
            assert view is not None
            assert post in {ref.id for ref in view.covered_by}, (post, arxiv_id)


@pytest.mark.corpus
def test_the_feed_shows_a_paper_once_covered_by_its_posts(db: Database, pipeline: Pipeline) -> None:
    _ingest(db, pipeline, HF_DAILY.name, "post", HF_DAILY.read_bytes())
    _ingest(db, pipeline, "api-answer", "paper", _api_answer(_hf_papers()))
    profile = create_profile(
        db, name="ada", changes={"interests": {"llm-nlp": 1.0}, "window_days": 30}
    ).profile
    now = FETCHED + timedelta(hours=1)
    page = build_feed(
        db, profile=profile, options=FeedOptions(limit=100), secret=b"x" * 32, now=now
    )
    kinds = [ranked.candidate.kind for ranked in page.items]
    assert kinds and set(kinds) == {"paper"}  # each HF post covers a paper of the feed
    papers = [r.candidate for r in page.items]
    assert len({c.arxiv_id for c in papers}) == len(papers) == len(_hf_papers())
    assert all(page.covering.get(c.arxiv_id or "") for c in papers)
    assert all(c.covered_by == 1 for c in papers)
    # the same posts, without their papers in the feed, are stories of their own
    alone = build_feed(
        db,
        profile=profile,
        options=FeedOptions(limit=100, kinds=("post",)),
        secret=b"x" * 32,
        now=now + timedelta(seconds=1),
    )
    assert len(alone.items) == len(_hf_papers())


QUOTING_POST = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>A blog</title>
<link>https://blog.example/</link><description>d</description>
<item><title>What I read this week</title><link>https://blog.example/week</link>
<description>&lt;p&gt;The paper &lt;em&gt;Seeing isn't believing: uncovering blind spots in
evaluator vision-language models.&lt;/em&gt; asks whether judges see. Also
"a short quote" and &#8220;Some Title That No Paper Has At All&#8221;.&lt;/p&gt;</description>
<pubDate>Wed, 29 Apr 2026 10:00:00 GMT</pubDate></item></channel></rss>"""


@pytest.mark.parametrize("paper_first", [True, False], ids=["paper-first", "post-first"])
def test_a_post_quoting_a_paper_title_without_an_id_covers_it(
    db: Database, pipeline: Pipeline, paper_first: bool
) -> None:
    paper = (
        "2604.21523",
        "Seeing Isn't Believing: Uncovering Blind Spots in Evaluator Vision-Language Models",
        "2026-04-23T00:00:00Z",
    )
    steps = [
        lambda: _ingest(db, pipeline, "api", "paper", _api_answer([paper])),
        lambda: _ingest(db, pipeline, "blog", "post", QUOTING_POST),
    ]
    for step in steps if paper_first else reversed(steps):
        step()
    with db.session() as s:
        links = s.execute(sa.select(ItemLink.item_id, ItemLink.arxiv_id)).all()
        post = s.execute(sa.select(Item.id).where(col(Item.kind) == "post")).scalar_one()
    assert links == [(post, "2604.21523")]


def _one_post_feed(title: str, summary: str, hours: int) -> bytes:
    when = (FETCHED - timedelta(hours=hours)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    slug = title_key(title).replace(" ", "-")
    return f"""<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
    <link>https://x.example/</link><description>d</description><item><title>{escape(title)}</title>
    <link>https://x.example/{slug}</link><description>{escape(summary)}</description>
    <pubDate>{when}</pubDate></item></channel></rss>""".encode()


def test_the_same_announcement_on_three_blogs_is_one_feed_item_with_three_sources(
    db: Database, pipeline: Pipeline
) -> None:
    for n, ((title, summary), hours) in enumerate(zip(LAUNCH, (20, 3, 9), strict=True)):
        _ingest(db, pipeline, f"blog-{n}", "post", _one_post_feed(title, summary, hours))
    profile = create_profile(db, name="ada", changes={"window_days": 7}).profile
    page = build_feed(db, profile=profile, options=FeedOptions(), secret=b"x" * 32, now=FETCHED)
    [item] = feed_response(page).items
    assert item.title == LAUNCH[0][0]  # the earliest write-up
    assert item.sources == ["blog-0", "blog-2", "blog-1"]
    assert [d.title for d in item.same_story] == [LAUNCH[2][0], LAUNCH[1][0]]
