"""Feedback in storage: once per signal, like and dislike exclusive, read back for affinities."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from corpusgen import generate_corpus
from sqlmodel import col, select

from service.errors import InvalidInputError, NotFoundError
from service.storage.engine import Database
from service.storage.feedback import (
    affinity_events,
    record_feedback,
    signals_for,
    withdraw_feedback,
)
from service.storage.models import Feedback, Item, ItemSource, ItemTag, Tag
from service.storage.profiles import create_profile

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
def setup(db: Database) -> tuple[Database, int, list[int]]:
    corpus = generate_corpus(db, items=12)
    profile = create_profile(db, name="ada").profile
    assert profile.id is not None
    with db.session() as session:
        ids = list(session.exec(select(Item.id).order_by(col(Item.id))).all())
    assert corpus.items == len(ids)
    return db, profile.id, [i for i in ids if i is not None]


def test_recording_twice_changes_nothing(setup: tuple[Database, int, list[int]]) -> None:
    db, pid, items = setup
    first = record_feedback(db, profile_id=pid, item_id=items[0], signal="save", now=NOW)
    second = record_feedback(db, profile_id=pid, item_id=items[0], signal="save", now=NOW)
    assert (first.changed, second.changed) == (True, False)
    assert second.signals == ("save",)
    with db.session() as session:
        assert len(session.exec(select(Feedback)).all()) == 1


def test_like_and_dislike_exclude_each_other(setup: tuple[Database, int, list[int]]) -> None:
    db, pid, items = setup
    record_feedback(db, profile_id=pid, item_id=items[0], signal="like", now=NOW)
    record_feedback(db, profile_id=pid, item_id=items[0], signal="save", now=NOW)
    outcome = record_feedback(db, profile_id=pid, item_id=items[0], signal="dislike", now=NOW)
    assert outcome.replaced == "like"
    assert outcome.signals == ("dislike", "save")
    back = record_feedback(db, profile_id=pid, item_id=items[0], signal="like", now=NOW)
    assert (back.replaced, back.signals) == ("dislike", ("like", "save"))


def test_withdrawing(setup: tuple[Database, int, list[int]]) -> None:
    db, pid, items = setup
    record_feedback(db, profile_id=pid, item_id=items[1], signal="hide", now=NOW)
    assert withdraw_feedback(db, profile_id=pid, item_id=items[1], signal="hide").changed
    assert not withdraw_feedback(db, profile_id=pid, item_id=items[1], signal="hide").changed
    with db.session() as session:
        assert signals_for(session, profile_id=pid, item_ids=items) == {}


def test_unknown_items_profiles_and_signals_are_refused(
    setup: tuple[Database, int, list[int]],
) -> None:
    db, pid, items = setup
    with pytest.raises(NotFoundError, match="no item has id 999999"):
        record_feedback(db, profile_id=pid, item_id=999_999, signal="like", now=NOW)
    with pytest.raises(NotFoundError, match="no profile"):
        record_feedback(db, profile_id=pid + 100, item_id=items[0], signal="like", now=NOW)
    with pytest.raises(InvalidInputError, match="signal: must be one of like, dislike"):
        record_feedback(db, profile_id=pid, item_id=items[0], signal="love", now=NOW)


def test_signals_are_per_profile(setup: tuple[Database, int, list[int]]) -> None:
    db, pid, items = setup
    other = create_profile(db, name="bob").profile
    assert other.id is not None
    record_feedback(db, profile_id=pid, item_id=items[0], signal="like", now=NOW)
    record_feedback(db, profile_id=other.id, item_id=items[0], signal="hide", now=NOW)
    record_feedback(db, profile_id=pid, item_id=items[2], signal="read", now=NOW)
    with db.session() as session:
        assert signals_for(session, profile_id=pid, item_ids=items) == {
            items[0]: frozenset({"like"}),
            items[2]: frozenset({"read"}),
        }


def test_affinity_events_carry_topics_sources_and_authors(
    setup: tuple[Database, int, list[int]],
) -> None:
    db, pid, items = setup
    record_feedback(db, profile_id=pid, item_id=items[0], signal="like", now=NOW)
    record_feedback(
        db, profile_id=pid, item_id=items[1], signal="dislike", now=NOW + timedelta(hours=1)
    )
    record_feedback(db, profile_id=pid, item_id=items[2], signal="save", now=NOW)
    record_feedback(
        db, profile_id=pid, item_id=items[3], signal="like", now=NOW - timedelta(days=200)
    )
    with db.session() as session:
        events = affinity_events(session, profile_id=pid, since=NOW - timedelta(days=90))
        tags = session.exec(
            select(Tag.slug, ItemTag.score)
            .join(ItemTag, col(ItemTag.tag_id) == col(Tag.id))
            .where(ItemTag.item_id == items[0])
        ).all()
        sources = session.exec(
            select(ItemSource.source_id).where(ItemSource.item_id == items[0])
        ).all()
        authors = session.exec(select(Item.authors).where(Item.id == items[0])).one()
    assert [(e.item_id, e.signal) for e in events] == [(items[1], "dislike"), (items[0], "like")]
    liked = events[1]
    assert sorted(liked.topics) == sorted((slug, score) for slug, score in tags)
    assert sorted(liked.source_ids) == sorted(sources)
    assert list(liked.authors) == authors
