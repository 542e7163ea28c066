"""Migrations from empty on SQLite and PostgreSQL, and round trips of every model."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel, select

from service.storage.engine import Database
from service.storage.migrate import (
    current_revision,
    head_revision,
    include_object,
    is_current,
    upgrade,
)
from service.storage.models import (
    Delivery,
    DeliveryItem,
    Feedback,
    HostLease,
    Item,
    ItemLink,
    ItemSource,
    ItemTag,
    PollLog,
    Profile,
    Source,
    Tag,
)


def test_migrations_from_empty_reach_head_and_match_the_models(db: Database) -> None:
    assert current_revision(db) == head_revision()
    upgrade(db)  # a second run is a no-op
    assert is_current(db)
    with db.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_object": include_object}
        )
        assert compare_metadata(context, SQLModel.metadata) == []


def test_a_brand_new_file_database_migrates(tmp_path: pytest.TempPathFactory) -> None:
    db = Database(f"sqlite:///{tmp_path}/sub/dir/new.db")
    assert current_revision(db) is None
    upgrade(db)
    assert is_current(db)
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
    db.dispose()


def _paper(now: datetime) -> Item:
    return Item(
        canonical_key="arxiv:2401.12345",
        kind="paper",
        title="Attention Is Still All You Need",
        url="https://arxiv.org/abs/2401.12345",
        summary_text="We revisit attention.",
        summary_html="<p>We revisit attention.</p>",
        authors=["Ada Lovelace", "Alan Turing"],
        authors_text="Ada Lovelace, Alan Turing",
        published_at=now,
        arxiv_id="2401.12345",
        arxiv_version=2,
        arxiv_categories=["cs.LG", "cs.CL"],
        arxiv_primary="cs.LG",
        announce_type="replace",
        pdf_url="https://arxiv.org/pdf/2401.12345v2",
    )


def test_every_model_round_trips_with_aware_utc_datetimes(db: Database) -> None:
    plus_two = timezone(timedelta(hours=2))
    local = datetime(2026, 3, 29, 3, 30, tzinfo=plus_two)
    with db.write() as s:
        source = Source(
            name="arXiv cs.LG",
            url="https://rss.arxiv.org/rss/cs.LG",
            kind="paper",
            level="research",
            topics=["theory"],
            next_poll_at=local,
        )
        tag = Tag(slug="llm", area="nlp", label="Large language models", parent="nlp")
        profile = Profile(
            name="ada",
            token_hash="a" * 64,
            feed_token_hash="b" * 64,
            interests={"nlp": 1.0},
            keywords=["-robotics"],
            depth=0.85,
        )
        item = _paper(local)
        s.add_all([source, tag, profile, item, HostLease(host="arxiv.org", last_request_at=local)])
        s.flush()
        assert source.id and tag.id and profile.id and item.id
        delivery = Delivery(profile_id=profile.id, period="2026-03-29")
        s.add_all(
            [
                ItemSource(item_id=item.id, source_id=source.id, guid="oai:arXiv.org:2401.12345"),
                ItemTag(item_id=item.id, tag_id=tag.id, score=0.9, origin="category"),
                ItemLink(item_id=item.id, arxiv_id="2312.00001"),
                Feedback(profile_id=profile.id, item_id=item.id, signal="like"),
                PollLog(source_id=source.id, outcome="updated", items_new=1),
                delivery,
            ]
        )
        s.flush()
        assert delivery.id
        s.add(DeliveryItem(delivery_id=delivery.id, item_id=item.id, profile_id=profile.id))
    with db.session() as s:
        got = s.exec(select(Item)).one()
        assert got.published_at == local and got.published_at.tzinfo == UTC
        assert got.authors == ["Ada Lovelace", "Alan Turing"]
        assert got.arxiv_categories == ["cs.LG", "cs.CL"]
        src = s.exec(select(Source)).one()
        assert src.next_poll_at == local and src.topics == ["theory"]
        assert s.exec(select(Profile)).one().interests == {"nlp": 1.0}
        assert s.exec(select(HostLease)).one().last_request_at == local
        for model in (ItemSource, ItemTag, ItemLink, Feedback, PollLog, Delivery, DeliveryItem):
            assert len(s.exec(select(model)).all()) == 1, model.__name__


def test_naive_datetimes_are_refused(db: Database) -> None:
    with pytest.raises(sa.exc.StatementError, match="naive datetime"), db.write() as s:
        s.add(
            Source(
                name="x",
                url="https://x.example/feed",
                kind="post",
                next_poll_at=datetime(2026, 1, 1),
            )
        )


def test_deleting_an_item_cascades_to_its_links(db: Database) -> None:
    now = datetime.now(UTC)
    with db.write() as s:
        item = _paper(now)
        source = Source(name="s", url="https://s.example/feed", kind="paper")
        s.add_all([item, source])
        s.flush()
        assert item.id and source.id
        s.add(ItemSource(item_id=item.id, source_id=source.id))
    with db.write() as s:
        s.delete(s.exec(select(Item)).one())
    with db.session() as s:
        assert s.exec(select(ItemSource)).all() == []
