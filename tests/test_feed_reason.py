"""Every empty or short feed says why, in words: the API, the CLI, subscription feeds, digests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import feedparser
import pytest
import sqlalchemy as sa
from apikit import Api, bearer, make_api
from sqlmodel import col

from service.config import Settings
from service.outputs.digest.render import EMPTY_NOTE
from service.outputs.digest.run import preview
from service.outputs.feed_reason import NewestItem, WindowFacts, feed_reason, load_window_facts
from service.rank.loader import CandidateQuery
from service.records import KINDS
from service.storage.engine import Database
from service.storage.models import Item, ItemSource, Source
from service.storage.profiles import get_profile_by_name

AT = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
AUG = NewestItem(datetime(2026, 8, 4, 9, 30, tzinfo=UTC), "arXiv cs.LG")


@pytest.mark.parametrize(
    ("facts", "shown", "kinds", "expected"),
    [
        (
            WindowFacts(stored=True, in_window=0, seen_later=0, newest_before=AUG),
            0,
            KINDS,
            "no items in the last 7 days; the newest is from 2026-08-04 (arXiv cs.LG); "
            "widen with window_days (up to 365 days)",
        ),
        (
            WindowFacts(stored=False, in_window=0, seen_later=0, newest_before=None),
            0,
            ("podcast",),
            "no podcast items stored yet: ingest files (staycurrent ingest) or let the poller "
            "fetch the sources",
        ),
        (
            WindowFacts(stored=True, in_window=3, seen_later=0, newest_before=AUG),
            3,
            ("paper", "post"),
            "only 3 paper or post items in the last 7 days; the newest before them is from "
            "2026-08-04 (arXiv cs.LG); widen with window_days (up to 365 days)",
        ),
        (
            WindowFacts(stored=True, in_window=5, seen_later=40, newest_before=None),
            2,
            KINDS,
            "only 2 items in the last 7 days; 3 more left out (hidden, read or from muted "
            "sources); 40 more first seen after 2026-11-20 12:00 UTC, the moment it is ranked "
            "as of",
        ),
        (
            WindowFacts(stored=True, in_window=4, seen_later=0, newest_before=None),
            0,
            KINDS,
            "all 4 items of the last 7 days are left out (hidden, read or from muted sources)",
        ),
    ],
)
def test_feed_reason_in_words(
    facts: WindowFacts, shown: int, kinds: tuple[str, ...], expected: str
) -> None:
    said = feed_reason(facts, shown=shown, window_days=7, at=AT, kinds=kinds, widen="window_days")
    assert said == expected


def test_the_widest_window_does_not_suggest_widening() -> None:
    facts = WindowFacts(stored=True, in_window=0, seen_later=0, newest_before=AUG)
    said = feed_reason(facts, shown=0, window_days=365, at=AT, kinds=KINDS, widen="window_days")
    assert said == "no items in the last 365 days; the newest is from 2026-08-04 (arXiv cs.LG)"


# --------------------------------------------------------------------------- against storage


@pytest.fixture
def api(db: Database, make_settings: Callable[..., Settings]) -> Api:
    return make_api(db, make_settings, items=120, base_url="http://testserver")


def _newest(api: Api) -> tuple[datetime, set[str]]:
    """The newest item's publication time and the names of its sources, read from storage."""
    with api.db.session() as session:
        newest = session.execute(
            sa.select(Item.id, Item.published_at).order_by(col(Item.published_at).desc()).limit(1)
        ).one()
        names = session.execute(
            sa.select(Source.name)
            .join(ItemSource, col(ItemSource.source_id) == col(Source.id))
            .where(col(ItemSource.item_id) == newest.id)
        ).scalars()
        return newest.published_at, set(names)


def test_facts_are_counted_from_storage(api: Api) -> None:
    published, _ = _newest(api)
    later = api.now + timedelta(days=30)
    query = CandidateQuery(at=later, window_days=7, kinds=KINDS)
    with api.db.session() as session:
        facts = load_window_facts(session, query)
        assert facts.stored and facts.in_window == 0 and facts.seen_later == 0
        assert facts.newest_before is not None
        assert facts.newest_before.published == published.replace(tzinfo=UTC)
        past = CandidateQuery(at=api.now - timedelta(days=3), window_days=7, kinds=KINDS)
        before = load_window_facts(session, past)
        since = past.at - timedelta(days=7)
        counted = session.execute(
            sa.select(sa.func.count())
            .select_from(Item)
            .where(col(Item.published_at) >= since, col(Item.first_seen_at) > past.at)
        ).scalar_one()
        assert before.seen_later == counted


def test_an_empty_api_feed_says_why_and_a_year_window_fills_it(api: Api) -> None:
    _, token, _ = api.profile("ada")
    published, sources = _newest(api)
    api.advance(timedelta(days=30))
    feed = api.client.get("/v1/feed", headers=bearer(token)).json()
    assert feed["items"] == []
    reason: str = feed["reason"]
    assert reason.startswith("no items in the last 7 days; the newest is from ")
    assert f"{published:%Y-%m-%d}" in reason and any(f"({name})" in reason for name in sources)
    assert reason.endswith("widen with window_days (up to 365 days)")
    wide = api.client.get("/v1/feed", params={"window_days": 365}, headers=bearer(token)).json()
    assert len(wide["items"]) == 20 and wide["reason"] is None
    too_wide = api.client.get("/v1/feed", params={"window_days": 366}, headers=bearer(token))
    assert too_wide.status_code == 422 and "365" in too_wide.json()["detail"]
    patched = api.client.patch("/v1/profiles/me", json={"window_days": 365}, headers=bearer(token))
    assert patched.status_code == 200, patched.text


def test_an_empty_subscription_feed_says_why_in_its_description(api: Api) -> None:
    _, _, feed_token = api.profile("ada")
    api.advance(timedelta(days=30))
    body = api.client.get(f"/v1/subscriptions/{feed_token}/feed.rss").content
    parsed: Any = feedparser.parse(body)
    assert parsed.entries == []
    assert "Why so few: no items in the last 7 days; the newest is from" in parsed.feed.description


def test_an_empty_digest_says_why(api: Api) -> None:
    api.profile("ada", email="ada@example.org")
    with api.db.session() as session:
        profile = get_profile_by_name(session, "ada")
    composed = preview(api.db, api.settings, profile, api.now + timedelta(days=30))
    assert composed.digest.empty
    reason = composed.digest.reason
    assert reason is not None and reason.startswith("no items in the last ")
    assert "widen" not in reason  # a digest's window is the time since the last one
    assert f"{EMPTY_NOTE} Why: {reason}." in " ".join(composed.letter.text.split())


def test_an_item_first_seen_within_the_current_second_is_in_the_feed(api: Api) -> None:
    _, token, _ = api.profile("ada")
    seen = api.now + timedelta(seconds=5, microseconds=300_000)
    with api.db.write() as session:
        item = Item(
            canonical_key="url:https://blog.example/just-in",
            kind="post",
            title="Just ingested: language models",
            url="https://blog.example/just-in",
            published_at=seen,
            first_seen_at=seen,
            changed_at=seen,
        )
        session.add(item)
        session.flush()
        source_id = api.corpus.source_ids["arXiv cs.CL"]
        session.add(ItemSource(item_id=item.id, source_id=source_id, first_seen_at=seen))
        new_id = item.id
    api.moments.append(seen + timedelta(microseconds=200_000))  # the same second, later
    feed = api.client.get(
        "/v1/feed", params={"depth": 0, "limit": 100}, headers=bearer(token)
    ).json()
    assert new_id in {entry["id"] for entry in feed["items"]}, feed.get("reason")
