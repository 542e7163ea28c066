"""A source's items of the last week (``items_last_7_days``): exact at the window's edges, and kept
exact by the triggers of migration 0010 when an item's date moves, a sighting is written by another
path than the poll, or an item goes — on SQLite and PostgreSQL; and the migration fills the dates
of the sightings stored before it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import col, select

from service.records import ItemWithTags, NormalizedItem
from service.storage.engine import Database
from service.storage.items import store_items
from service.storage.migrate import upgrade
from service.storage.models import Item, ItemSource, Source
from service.storage.sources import items_dated_since, items_per_week, source_facts

NOW = datetime(2026, 12, 7, 12, 0, 0, 500_000, tzinfo=UTC)
WEEK = timedelta(days=7)
TICK = timedelta(microseconds=1)


def post(key: str, published_at: datetime) -> ItemWithTags:
    return ItemWithTags(
        NormalizedItem(
            canonical_key=f"url:https://blog.example/{key}",
            kind="post",
            title=f"Post {key}",
            url=f"https://blog.example/{key}",
            summary_text="text",
            summary_html="<p>text</p>",
            published_at=published_at,
            guid=key,
            content_hash=key,
        )
    )


def add_sources(db: Database, *names: str) -> list[int]:
    with db.write() as s:
        rows = [Source(name=n, url=f"https://{n}.example/feed", kind="post") for n in names]
        s.add_all(rows)
        s.flush()
        return [row.id for row in rows if row.id is not None]


def store(db: Database, source_id: int, *items: ItemWithTags) -> None:
    with db.write() as s:
        store_items(s, source_id=source_id, items=list(items), now=NOW)


def last_week(db: Database, ids: list[int] | None = None) -> dict[int, int]:
    with db.session() as s:
        return {f.id: f.items_last_7_days for f in source_facts(s, NOW, ids)}


def joined_count(db: Database, source_id: int) -> int:
    """The count the slow way, by the item's own date (what the copy must agree with)."""
    with db.session() as s:
        rows = s.exec(
            select(Item.published_at)
            .join(ItemSource, col(ItemSource.item_id) == col(Item.id))
            .where(col(ItemSource.source_id) == source_id)
        ).all()
    return sum(NOW - WEEK <= when <= NOW for when in rows)


def test_the_week_counts_exactly_at_its_edges(db: Database) -> None:
    a, b, quiet = add_sources(db, "a", "b", "quiet")
    edges = {
        "oldest-in": NOW - WEEK,
        "just-too-old": NOW - WEEK - TICK,
        "newest-in": NOW,
        "just-future": NOW + TICK,
        "middle": NOW - timedelta(days=3),
        "long-ago": NOW - timedelta(days=60),
    }
    store(db, a, *(post(k, when) for k, when in edges.items()))
    store(db, b, post("middle", edges["middle"]), post("b-only", NOW - timedelta(hours=1)))
    assert last_week(db) == {a: 3, b: 2, quiet: 0}
    assert last_week(db, [b]) == {b: 2}
    assert last_week(db) == {i: joined_count(db, i) for i in (a, b, quiet)}
    with db.session() as s:
        # the four-week rate counts the same dates: long-ago stays out, just-too-old is in
        assert items_per_week(s, [a, b, quiet], NOW) == {a: 4 / 4.0, b: 2 / 4.0}
        assert items_dated_since(s, None, NOW - WEEK - TICK, NOW + TICK) == {a: 5, b: 2}


def test_a_moved_date_moves_the_count(db: Database) -> None:
    (a, b) = add_sources(db, "a", "b")
    store(db, a, post("x", NOW - timedelta(days=2)))
    store(db, b, post("x", NOW - timedelta(days=2)))
    assert last_week(db) == {a: 1, b: 1}
    # the post is found to be older than the window: its date moves on both sightings
    with db.write() as s:
        s.exec(select(Item)).one().published_at = NOW - WEEK - TICK
    assert last_week(db) == {a: 0, b: 0}
    assert (joined_count(db, a), joined_count(db, b)) == (0, 0)


def test_sightings_written_elsewhere_and_items_removed_keep_the_count(db: Database) -> None:
    (a, b) = add_sources(db, "a", "b")
    store(db, a, post("x", NOW - timedelta(days=1)), post("y", NOW - timedelta(days=6)))
    with db.write() as s:
        # a sighting written by the ORM (as an import does), without the item's date
        x = s.exec(select(Item).where(Item.title == "Post x")).one()
        assert x.id is not None
        s.add(ItemSource(item_id=x.id, source_id=b, first_seen_at=NOW, last_seen_at=NOW))
    assert last_week(db) == {a: 2, b: 1}
    with db.write() as s:
        s.delete(s.exec(select(Item).where(Item.title == "Post x")).one())
    assert last_week(db) == {a: 1, b: 0}
    assert last_week(db) == {a: joined_count(db, a), b: joined_count(db, b)}


def test_migration_0010_fills_the_dates_of_stored_sightings(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path}/old.db")
    upgrade(db, "0009")
    when = {"in": NOW - timedelta(days=1), "out": NOW - WEEK - TICK}
    with db.engine.begin() as conn:  # rows as 0009 knows them: no item_published_at
        conn.execute(
            sa.text(
                "INSERT INTO source (name, url, kind, level, topics, weight, origin, active, state,"
                " next_poll_at, consecutive_errors, redirect_count, created_at, updated_at)"
                " VALUES ('a', 'https://a.example/feed', 'post', 'practitioner', '[]', 1, 'api',"
                " 1, 'active', :now, 0, 0, :now, :now)"
            ),
            {"now": NOW},
        )
        for key, published in when.items():
            conn.execute(
                sa.text(
                    "INSERT INTO item (canonical_key, kind, title, summary_text, summary_html,"
                    " authors, authors_text, published_at, first_seen_at, changed_at,"
                    " content_hash, arxiv_categories) VALUES (:key, 'post', 'old', '', '',"
                    " '[]', '', :w, :now, :now, '', '[]')"
                ),
                {"key": f"url:{key}", "w": published, "now": NOW},
            )
        conn.execute(
            sa.text(
                "INSERT INTO item_source (item_id, source_id, first_seen_at, last_seen_at)"
                " SELECT id, 1, :now, :now FROM item"
            ),
            {"now": NOW},
        )
    upgrade(db)
    with db.session() as s:
        dates = s.exec(select(ItemSource.item_published_at).order_by(col(ItemSource.item_id)))
        assert list(dates) == [when["in"], when["out"]]
    assert last_week(db) == {1: 1}
    db.dispose()
