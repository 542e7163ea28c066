"""The trend table on SQLite and PostgreSQL: the worker's refresh, reading it, the API, the CLI."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from apikit import ADMIN, ADMIN_TOKEN, bearer
from clikit import cli_on
from fastapi.testclient import TestClient
from trendgen import Stream, generate_stream, matches, store_stream

from service.config import Settings
from service.errors import InvalidInputError
from service.outputs.api.app import create_app
from service.outputs.digest.run import preview
from service.outputs.trends import STALE_AFTER, refresh_comebacks, refresh_trends, trends_for
from service.storage.engine import Database
from service.storage.migrate import upgrade
from service.storage.models import Feedback, Item, ItemLink, Profile, Trend, TrendRefresh
from service.storage.profiles import create_profile
from service.worker.jobs import trends_job

NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def stream() -> Stream:
    return generate_stream(seed=4, now=NOW, per_day=30)


@pytest.fixture
def stored(db: Database, stream: Stream) -> Database:
    store_stream(db, stream)
    return db


def _burst_labels(stream: Stream, labels: list[tuple[str, list[str]]]) -> int:
    return sum(
        any(matches(b.key, label, tuple(aliases)) for b in stream.bursts)
        for label, aliases in labels
    )


def test_a_refresh_stores_the_rising_themes_and_readers_get_them(
    stored: Database, stream: Stream
) -> None:
    outcomes = refresh_trends(stored, now=NOW)
    assert {o.window_days: o.refreshed for o in outcomes} == {3: True, 7: True, 14: True}
    page = trends_for(stored, window_days=7, limit=10)
    assert page.scope == "field" and page.note == "" and page.computed_at == NOW
    labels = [(v.trend.label, list(v.trend.aliases)) for v in page.themes]
    assert len(labels) == 10
    assert _burst_labels(stream, labels) >= 9
    first = page.themes[0]
    assert first.why.startswith("rising across the field: ")
    assert first.trend.evidence in first.why
    assert [r.id for r in first.representative] == first.trend.representative[:3]
    squeezed = first.trend.label.lower().replace("-", " ")
    assert all(squeezed in r.title.lower().replace("-", " ") for r in first.representative)
    assert first.area_labels  # "Natural language processing", not the slug


def test_the_refresh_is_incremental(stored: Database) -> None:
    refresh_trends(stored, now=NOW)
    later = NOW + timedelta(minutes=10)
    assert not any(o.refreshed for o in refresh_trends(stored, now=later))
    with stored.write() as session:
        session.add(
            Item(
                canonical_key="url:https://example.org/new",
                kind="post",
                title="A new post",
                published_at=later,
            )
        )
    assert all(o.refreshed for o in refresh_trends(stored, now=later))
    with stored.session() as session:
        assert session.get(TrendRefresh, 7).computed_at == later  # type: ignore[union-attr]
    stale = later + STALE_AFTER
    assert all(o.refreshed for o in refresh_trends(stored, now=stale))


def test_a_deep_profile_sees_what_rises_in_its_areas_and_a_broad_one_the_field(
    stored: Database,
) -> None:
    refresh_trends(stored, now=NOW)
    deep = create_profile(stored, name="deep", changes={"interests": {"nlp": 1.0}, "depth": 0.9})
    broad = create_profile(stored, name="broad", changes={"interests": {"nlp": 1.0}, "depth": 0.1})
    mine = trends_for(stored, profile=deep.profile, limit=30)
    field = trends_for(stored, profile=broad.profile, limit=30)
    assert mine.scope == "areas" and field.scope == "field"
    assert mine.themes and all("nlp" in v.trend.areas for v in mine.themes)
    assert all(v.why.startswith("rising in your area Natural language") for v in mine.themes)
    assert len(field.themes) > len(mine.themes)
    assert {v.why.split(":")[0] for v in field.themes} == {
        "rising across the field",
        "rising in your area Natural language processing",
    }


def test_nothing_computed_yet_and_bad_windows_are_explained(db: Database) -> None:
    page = trends_for(db)
    assert page.themes == () and page.computed_at is None
    assert page.note.startswith("trends have not been computed yet")
    with pytest.raises(InvalidInputError, match="window must be one of 3, 7, 14 days, not 5"):
        trends_for(db, window_days=5)
    refresh_trends(db, now=NOW)  # an empty database: a note, no error
    assert trends_for(db).note == "nothing was published in the window"


def test_the_worker_job_refreshes(stored: Database) -> None:
    asyncio.run(trends_job(stored, clock=lambda: NOW).run())
    with stored.session() as session:
        assert session.execute(sa.select(sa.func.count()).select_from(Trend)).scalar() >= 20
        refreshed = session.execute(sa.select(TrendRefresh.window_days, TrendRefresh.computed_at))
        assert sorted(refreshed.all()) == [(3, NOW), (7, NOW), (14, NOW)]


def test_get_trends_for_anyone_and_for_a_profile(
    stored: Database, stream: Stream, make_settings: Callable[..., Settings]
) -> None:
    refresh_trends(stored, now=NOW)
    app = create_app(make_settings(admin_token=ADMIN_TOKEN), db=stored, clock=lambda: NOW)
    client = TestClient(app)
    anyone = client.get("/v1/trends", params={"limit": 5})
    assert anyone.status_code == 200, anyone.text
    body = anyone.json()
    assert body["scope"] == "field" and body["window_days"] == 7 and len(body["trends"]) == 5
    top = body["trends"][0]
    assert top["rank"] == 1 and top["evidence"] in top["why"]
    assert top["representative"][0]["title"] and top["sources"] >= 3
    made = client.post("/v1/profiles", json={"name": "ada", "interests": {"nlp": 1}}, headers=ADMIN)
    token = made.json()["api_token"]
    deep = client.get("/v1/trends", params={"depth": 1}, headers=bearer(token)).json()
    assert deep["scope"] == "areas"
    assert all("nlp" in t["areas"] for t in deep["trends"])
    assert client.get("/v1/trends", headers=bearer("nobody")).status_code == 401
    assert client.get("/v1/trends", params={"window": 5}).status_code == 422
    by_topic = client.get("/v1/trends", params={"topic": "computer-vision", "limit": 30}).json()
    assert all("computer-vision" in t["areas"] for t in by_topic["trends"])


def test_the_cli_lists_the_trends(
    stored: Database, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    refresh_trends(stored, now=NOW)
    with stored.write() as session:
        session.add(
            Profile(
                name="ada",
                token_hash="a" * 64,
                feed_token_hash="b" * 64,
                depth=0.9,
                interests={"nlp": 1.0},
            )
        )
    with cli_on(db_url, tmp_path, monkeypatch) as cli:
        shown = cli("trends", "--limit", "3")
        assert shown.exit_code == 0, shown.output
        assert "Rising in the last 7 days, across the field:" in shown.output
        assert "  1. " in shown.output and "  3. " in shown.output
        as_json = json.loads(cli("trends", "--json", "--profile", "ada").output)
        assert as_json["scope"] == "areas"
        assert all("nlp" in t["areas"] for t in as_json["trends"])
        bad = cli("trends", "--window", "5")
        assert bad.exit_code == 1 and "window must be one of" in bad.output


def test_the_migration_upgrades_a_populated_database(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path}/old.db")
    upgrade(db, "0001")
    with db.engine.begin() as conn:  # the columns of 0001 only: the model has grown since
        conn.execute(
            sa.text(
                "INSERT INTO item (canonical_key, kind, title, summary_text, summary_html,"
                " authors, authors_text, published_at, first_seen_at, changed_at,"
                " content_hash, arxiv_categories) VALUES ('url:x', 'post', 'old', '', '',"
                " '[]', '', :w, :w, :w, '', '[]')"
            ),
            {"w": NOW.replace(tzinfo=None)},
        )
    upgrade(db)
    assert (
        refresh_trends(db, now=NOW)[0].note == "too little history to tell what is rising: "
        "0 items in the 28 days before the window (at least 20 needed)"
    )
    with db.session() as session:
        assert session.execute(sa.select(sa.func.count()).select_from(Item)).scalar() == 1
    db.dispose()


def test_papers_everyone_covers_are_stored_and_shown(db: Database, stream: Stream) -> None:
    ids = store_stream(db, stream)
    posts = [
        i
        for i in stream.items
        if i.kind in ("post", "podcast") and i.published_at > NOW - timedelta(days=6)
    ]
    chosen = {}
    for item in posts:  # one covering item per feed, five feeds
        chosen.setdefault(item.source_ids[0], item)
    covering = list(chosen.values())[:5]
    with db.write() as session:
        paper = Item(
            canonical_key="arxiv:2612.00001",
            kind="paper",
            title="Sparse Experts Again",
            arxiv_id="2612.00001",
            published_at=NOW - timedelta(days=6),
        )
        session.add(paper)
        session.flush()
        paper_id = paper.id
        session.add_all(ItemLink(item_id=ids[c.id], arxiv_id="2612.00001") for c in covering)
    refresh_trends(db, now=NOW)
    page = trends_for(db, window_days=7)
    (top, *_) = page.papers
    assert top.trend.label == "Sparse Experts Again" and top.trend.kind == "paper"
    assert (
        top.trend.evidence.startswith("covered by ")
        and "from 5 sources; none before" in top.trend.evidence
    )
    assert top.representative[0].id == paper_id
    assert {r.kind for r in top.representative[1:]} <= {"post", "podcast"}
    assert all(v.trend.kind != "paper" for v in page.themes)


def test_the_digest_has_a_rising_this_week_section(
    stored: Database, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(smtp_from="Staycurrent <digest@example.org>")
    made = create_profile(
        stored, name="eve", changes={"interests": {"nlp": 1.0}, "email": "eve@example.org"}
    )
    before = preview(stored, settings, made.profile, NOW)
    assert before.digest.rising == () and "RISING THIS WEEK" not in before.letter.text
    refresh_trends(stored, now=NOW)
    page = trends_for(stored, profile=made.profile, limit=3)
    composed = preview(stored, settings, made.profile, NOW)
    assert [r.label for r in composed.digest.rising] == [v.trend.label for v in page.themes]
    assert len(composed.digest.rising) == 3
    assert "RISING THIS WEEK" in composed.letter.text
    assert "Rising this week" in composed.letter.html
    first = composed.digest.rising[0]
    assert first.why in composed.letter.text.replace("\n  ", " ")
    assert first.url is not None and f'href="{first.url}"' in composed.letter.html


def test_trends_rss_is_a_feed_of_the_rising_themes(
    stored: Database, make_settings: Callable[..., Settings]
) -> None:
    import feedparser

    refresh_trends(stored, now=NOW)
    made = create_profile(stored, name="ada", changes={"interests": {"nlp": 1.0}, "depth": 0.1})
    app = create_app(make_settings(), db=stored, clock=lambda: NOW)
    client = TestClient(app)
    url = f"/v1/subscriptions/{made.feed_token}/trends.rss"
    response = client.get(url)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/rss+xml; charset=utf-8"
    feed = feedparser.parse(response.content)
    assert feed.bozo == 0
    page = trends_for(stored, profile=made.profile, limit=30)
    titles = {entry.title for entry in feed.entries}
    assert titles == {f"Rising: {view.trend.label}" for view in page.themes}
    first = page.themes[0].trend
    guid = f"staycurrent:trend:{first.key}:{first.first_seen_at.date().isoformat()}"
    assert guid in {entry.id for entry in feed.entries}
    again = client.get(url, headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304
    assert client.get("/v1/subscriptions/nobody/trends.rss").status_code == 404
    assert client.get(f"/v1/subscriptions/{made.api_token}/trends.rss").status_code == 404


def test_feed_items_carry_their_trend_badges(
    stored: Database, make_settings: Callable[..., Settings]
) -> None:
    refresh_trends(stored, now=NOW)
    made = create_profile(stored, name="ada", changes={"interests": {"nlp": 1.0}, "depth": 0.0})
    client = TestClient(create_app(make_settings(), db=stored, clock=lambda: NOW))
    response = client.get("/v1/feed", params={"limit": 100}, headers=bearer(made.api_token))
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    themes = trends_for(stored, limit=30).themes
    expected = {
        item["id"]: [
            f"part of a rising theme: {v.trend.label}"
            for v in themes
            if item["id"] in v.trend.item_ids
        ]
        for item in items
    }
    assert {item["id"]: item["badges"] for item in items} == expected
    assert any(item["badges"] for item in items)


def test_a_liked_paper_comes_back_once_per_event(
    db: Database, make_settings: Callable[..., Settings]
) -> None:
    made = create_profile(db, name="ada", changes={})
    with db.write() as session:
        paper = Item(
            canonical_key="arxiv:2612.00007",
            kind="paper",
            title="Sparse Experts Again",
            arxiv_id="2612.00007",
            arxiv_version=1,
            published_at=NOW - timedelta(days=20),
        )
        session.add(paper)
        session.flush()
        paper_id = paper.id
        assert paper_id is not None and made.profile.id is not None
        session.add(Feedback(profile_id=made.profile.id, item_id=paper_id, signal="save"))
    assert refresh_comebacks(db, now=NOW) == 0  # the baseline
    with db.write() as session:
        row = session.get(Item, paper_id)
        assert row is not None
        row.arxiv_version, row.comments = 3, "camera-ready, adds ablations"
        post = Item(
            canonical_key="url:https://blog.example.org/sparse",
            kind="post",
            title="Sparse experts are back",
            published_at=NOW,
        )
        session.add(post)
        session.flush()
        assert post.id is not None
        session.add(ItemLink(item_id=post.id, arxiv_id="2612.00007"))
    later = NOW + timedelta(hours=1)
    assert refresh_comebacks(db, now=later) == 2
    assert refresh_comebacks(db, now=later + timedelta(hours=1)) == 0  # once per event
    refresh_trends(db, now=later)
    page = trends_for(db, profile=made.profile)
    assert {c.title for c in page.coming_back} == {"Sparse Experts Again"}
    assert sorted(c.reason for c in page.coming_back) == [
        "new coverage: 'Sparse experts are back'",
        "v3 posted: 'camera-ready, adds ablations'",
    ]
    client = TestClient(create_app(make_settings(), db=db, clock=lambda: later))
    body = client.get("/v1/trends", headers=bearer(made.api_token)).json()
    assert {c["reason"] for c in body["coming_back"]} == {c.reason for c in page.coming_back}
    assert client.get("/v1/trends").json()["coming_back"] == []


def test_two_workers_refreshing_at_once_leave_one_consistent_table(stored: Database) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = [pool.submit(refresh_trends, stored, now=NOW, force=True) for _ in range(2)]
        outcomes = [run.result() for run in runs]  # neither fails
    assert outcomes[0] == outcomes[1]
    with stored.session() as session:
        rows = session.execute(sa.select(Trend.window_days, Trend.kind, Trend.rank)).all()
    assert len(rows) == len(set(rows)) == sum(o.themes for o in outcomes[0])
