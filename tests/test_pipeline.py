"""The ingest pipeline end to end: a real local HTTP server, real fetcher, parser and database."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path

import pytest
from feedgen import DAY, Paper, Post, arxiv_listing, blog
from feedserver import FeedServer, Route
from sqlmodel import col, select

from service.catalog import load_catalog
from service.ingest.fetch import Fetcher, FetchLimits
from service.ingest.pipeline import Pipeline
from service.ingest.tag import Tagger
from service.records import NormalizedItem, PollResult, TagAssignment
from service.storage.engine import Database
from service.storage.models import Item, ItemLink, ItemSource, PollLog, Source
from service.storage.sources import add_source, load_for_update
from service.storage.views import get_item

ROOT = Path(__file__).resolve().parent.parent
TAXONOMY = load_catalog(ROOT / "feeds.yaml").taxonomy
LIMITS = FetchLimits(timeout=5, deadline=5, allow_private_networks=True)

PAPERS = [
    Paper(
        "2611.00001",
        "Policy Gradient Methods for Reinforcement Learning at Scale",
        categories=("cs.LG", "cs.AI"),
    ),
    Paper(
        "2611.00002",
        "A Large Language Model for Proofs",
        categories=("cs.CL", "cs.LG"),
        announce="cross",
    ),
]
CL_PAPERS = [
    Paper("2611.00002", "A Large Language Model for Proofs", categories=("cs.CL", "cs.LG")),
    Paper("2611.00003", "Tokenization Matters", categories=("cs.CL",)),
]
POSTS = [
    Post(
        "p1",
        "What we learned from 2611.00002",
        "https://blog.example/p1?utm_source=rss",
        body='<p>See <a href="https://arxiv.org/abs/2611.00002v1">the paper</a>.</p>',
    ),
    Post("p2", "Second post", "https://blog.example/p2", published=DAY - timedelta(days=1)),
]


@pytest.fixture(scope="module")
def server() -> Iterator[FeedServer]:
    with FeedServer.running(hosts=("127.0.0.1", "127.0.0.2")) as running:
        yield running


def _sources(db: Database, urls: dict[str, str], kind: str = "post") -> dict[str, int]:
    with db.write() as s:
        made = {
            name: add_source(s, name=name, url=url, kind=kind, origin="catalog")  # type: ignore[arg-type]
            for name, url in urls.items()
        }
        return {name: row.id or 0 for name, row in made.items()}


def run(
    db: Database, ids: list[int], tagger: Tagger | None = None, per_host: int = 2
) -> dict[str, PollResult]:
    async def go() -> list[PollResult]:
        async with Fetcher(LIMITS) as fetcher:
            pipeline = Pipeline(
                db=db, tagger=tagger or Tagger(TAXONOMY), fetcher=fetcher, per_host=per_host
            )
            with db.session() as s:
                sources = load_for_update(s, ids, DAY)
            return await pipeline.poll(sources)

    return {r.name: r for r in asyncio.run(go())}


def source_row(db: Database, source_id: int) -> Source:
    with db.session() as s:
        row = s.get(Source, source_id)
        assert row is not None
        return row


def test_a_mixed_batch_stores_the_good_and_explains_the_bad(
    db: Database, server: FeedServer
) -> None:
    urls = {
        "arXiv cs.LG": server.route(
            "/mix/lg", Route.feed(arxiv_listing("cs.LG", PAPERS), etag='"lg1"')
        ),
        "blog": server.route(
            "/mix/blog", Route.compressed(blog("Blog", "https://blog.example", POSTS))
        ),
        "missing": server.route("/mix/404", Route(status=404, body=b"nope")),
        "html": server.route(
            "/mix/html",
            Route.feed(b"<!doctype html><html><body>hi</body></html>", content_type="text/html"),
        ),
        "gone": server.route("/mix/gone", Route(status=410)),
        "busy": server.route("/mix/429", Route(status=429, headers=(("Retry-After", "7200"),))),
    }
    ids = _sources(db, urls)
    results = run(db, list(ids.values()))
    assert results["arXiv cs.LG"].outcome == "updated"
    assert results["arXiv cs.LG"].items_new == 2
    assert results["blog"].items_new == 2
    assert (results["missing"].outcome, results["missing"].reason) == (
        "error",
        "the server answered 404 Not Found",
    )
    assert results["html"].outcome == "error"
    assert results["html"].reason == "not a feed: the document is an HTML page"
    assert results["gone"].outcome == "gone"
    assert results["busy"].error_kind == "rate_limited"
    busy = source_row(db, ids["busy"])
    assert busy.retry_after_until is not None
    assert busy.next_poll_at >= busy.retry_after_until
    assert busy.last_error is not None
    assert "rate limited (429)" in busy.last_error
    assert busy.consecutive_errors == 1
    assert source_row(db, ids["gone"]).state == "gone"
    good = source_row(db, ids["arXiv cs.LG"])
    assert (good.state, good.etag, good.consecutive_errors, good.last_status) == (
        "ok",
        '"lg1"',
        0,
        200,
    )
    assert good.last_success_at is not None
    with db.session() as s:
        assert len(s.exec(select(PollLog)).all()) == 6
        titles = set(s.exec(select(Item.title)))
        post = s.exec(select(Item).where(Item.title == "What we learned from 2611.00002")).one()
    assert "Second post" in titles
    assert post.url == "https://blog.example/p1"  # tracking parameters removed


def test_second_round_is_conditional_and_costs_no_parsing(db: Database, server: FeedServer) -> None:
    body = arxiv_listing("cs.LG", PAPERS)
    ids = _sources(
        db,
        {
            "etag": server.route("/second/etag", Route.feed(body, etag='"e1"')),
            "plain": server.route("/second/plain", Route.feed(body)),
        },
    )
    first = run(db, list(ids.values()))
    # the same papers: whichever document is stored second finds them stored already
    assert sorted(result.items_new for result in first.values()) == [0, 2]
    second = run(db, list(ids.values()))
    assert second["etag"].outcome == "not_modified"
    assert second["plain"].outcome == "unchanged"  # same bytes: skipped by the content hash
    conditional = server.seen("/second/etag")[-1]
    assert conditional.headers.get("if-none-match") == '"e1"'


def test_a_paper_in_two_listings_is_one_item_with_merged_categories(
    db: Database, server: FeedServer
) -> None:
    ids = _sources(
        db,
        {
            "arXiv cs.LG": server.route("/merge/lg", Route.feed(arxiv_listing("cs.LG", PAPERS))),
            "arXiv cs.CL": server.route("/merge/cl", Route.feed(arxiv_listing("cs.CL", CL_PAPERS))),
        },
        kind="paper",
    )
    run(db, list(ids.values()))
    with db.session() as s:
        papers = s.exec(select(Item).where(col(Item.arxiv_id).is_not(None))).all()
        assert sorted(p.arxiv_id or "" for p in papers) == [
            "2611.00001",
            "2611.00002",
            "2611.00003",
        ]
        shared = next(p for p in papers if p.arxiv_id == "2611.00002")
        assert shared.announce_type == "new"
        assert set(shared.arxiv_categories) == {"cs.CL", "cs.LG"}
        sightings = s.exec(select(ItemSource).where(ItemSource.item_id == shared.id)).all()
        assert len(sightings) == 2


def test_a_blog_post_covers_a_paper_that_arrives_later(db: Database, server: FeedServer) -> None:
    ids = _sources(
        db,
        {
            "blog": server.route(
                "/cover/blog", Route.feed(blog("Blog", "https://blog.example", POSTS))
            ),
            "arXiv cs.CL": server.route("/cover/cl", Route.feed(arxiv_listing("cs.CL", CL_PAPERS))),
        },
    )
    run(db, [ids["blog"]])
    run(db, [ids["arXiv cs.CL"]])
    with db.session() as s:
        assert s.exec(select(ItemLink.arxiv_id)).all() == ["2611.00002"]
        paper = s.exec(select(Item).where(Item.arxiv_id == "2611.00002")).one()
        view = get_item(s, paper.id or 0)
    assert view is not None
    assert [ref.title for ref in view.covered_by] == ["What we learned from 2611.00002"]


def test_a_permanent_move_is_adopted_after_three_polls(db: Database, server: FeedServer) -> None:
    new_url = server.route("/moved/new", Route.feed(blog("Blog", "https://blog.example", POSTS)))
    ids = _sources(db, {"mover": server.route("/moved/old", Route.redirect(new_url, 301))})
    for expected in (1, 2):
        run(db, [ids["mover"]])
        row = source_row(db, ids["mover"])
        assert (row.redirect_url, row.redirect_count) == (new_url, expected)
        assert row.url.endswith("/moved/old")
    run(db, [ids["mover"]])
    assert source_row(db, ids["mover"]).url == new_url


def test_per_host_limit_holds_while_other_hosts_proceed(db: Database, server: FeedServer) -> None:
    body = blog("Blog", "https://blog.example", POSTS)
    urls = {f"slow {i}": server.route(f"/host/{i}", Route.feed(body, delay=0.2)) for i in range(6)}
    urls["other host"] = server.route("/host/other", Route.feed(body), host="127.0.0.2")
    ids = _sources(db, urls)
    results = run(db, list(ids.values()), per_host=2)
    assert all(r.outcome in ("updated", "unchanged") for r in results.values())
    assert server.max_concurrent("127.0.0.1") <= 2


class ExplodingTagger(Tagger):
    """A tagger with a bug for one title: the batch must record it and carry on."""

    def tag_all(
        self, items: Sequence[NormalizedItem], *, source_topics: tuple[str, ...] = ()
    ) -> list[tuple[TagAssignment, ...]]:
        if any("Tokenization" in item.title for item in items):
            raise RuntimeError("bug in the tagger")
        return super().tag_all(items, source_topics=source_topics)


def test_an_unexpected_bug_is_recorded_and_the_batch_goes_on(
    db: Database, server: FeedServer
) -> None:
    ids = _sources(
        db,
        {
            "buggy": server.route("/bug/cl", Route.feed(arxiv_listing("cs.CL", CL_PAPERS))),
            "fine": server.route("/bug/lg", Route.feed(arxiv_listing("cs.LG", PAPERS))),
        },
    )
    results = run(db, list(ids.values()), tagger=ExplodingTagger(TAXONOMY))
    assert results["fine"].items_new == 2
    assert results["buggy"].outcome == "error"
    assert results["buggy"].reason is not None
    assert "bug in the tagger" in results["buggy"].reason
    row = source_row(db, ids["buggy"])
    assert row.consecutive_errors == 1
    assert row.lease_owner is None


def test_an_entered_pipeline_keeps_one_document_pool_across_polls(
    db: Database, server: FeedServer
) -> None:
    first, second = arxiv_listing("cs.LG", PAPERS[:1]), arxiv_listing("cs.LG", PAPERS)
    ids = _sources(db, {"held": server.route("/held/feed", Route.feed(first), Route.feed(second))})

    async def go() -> list[tuple[int, object]]:
        seen: list[tuple[int, object]] = []
        async with Fetcher(LIMITS) as fetcher:
            with Pipeline(db=db, tagger=Tagger(TAXONOMY), fetcher=fetcher) as pipeline:
                for retagged in (False, False, True):
                    if retagged:  # a retrained model: the pool's processes have the old tagger
                        pipeline.tagger = Tagger(TAXONOMY)
                    with db.session() as s:
                        sources = load_for_update(s, list(ids.values()), DAY)
                    [result] = await pipeline.poll(sources)
                    seen.append((result.items_new, pipeline._pool))
            seen.append((0, pipeline._pool))
        return seen

    (new_1, pool_1), (new_2, pool_2), (_, pool_3), (_, after) = asyncio.run(go())
    assert (new_1, new_2) == (1, 1)  # both documents were read, by the same processes
    assert pool_1 is not None and pool_2 is pool_1
    assert pool_3 is not None and pool_3 is not pool_1
    assert after is None
