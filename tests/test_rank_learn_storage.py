"""The preference model through storage, the loader and selection: stored with the profile under a
feedback stamp, retrained when feedback changes, reordering items within the interests, and never
touching another profile's feed."""

from __future__ import annotations

import numpy as np
import pytest
import sqlalchemy as sa
from corpusgen import generate_corpus
from sqlmodel import Session, col

from service.ingest.embed import DIMENSIONS, MODEL_NAME, to_blob
from service.outputs.feed import FeedOptions, build_feed
from service.rank.model import RankedItem
from service.rank.preference import profile_model
from service.storage.engine import Database
from service.storage.feedback import record_feedback
from service.storage.models import Item, ItemTag, Profile, Tag
from service.storage.preferences import feedback_stamp, stored_preference
from service.storage.profiles import create_profile, get_profile_by_name
from service.storage.vectors import store_vectors

SECRET = b"s" * 32


def _subtopics(session: Session) -> dict[int, str]:
    """Each item's strongest subtopic (a tag whose slug is not its area)."""
    rows = session.execute(
        sa.select(col(ItemTag.item_id), col(Tag.slug), col(ItemTag.score))
        .join(Tag, col(Tag.id) == col(ItemTag.tag_id))
        .where(col(Tag.parent).is_not(None))
        .order_by(col(ItemTag.item_id), col(ItemTag.score).desc(), col(Tag.slug))
    )
    found: dict[int, str] = {}
    for item_id, slug, _score in rows:
        found.setdefault(item_id, slug)
    return found


def _vectors(db: Database) -> dict[int, str]:
    """Give every item a vector near an axis of its subtopic (a theme); return the subtopics.
    Two items of one theme are about as close as real item vectors of one theme (cosine ~0.6;
    noise of 0.05 per dimension, 256 dimensions)."""
    with db.session() as session:
        subtopics = _subtopics(session)
        ids = session.execute(sa.select(col(Item.id)).order_by(col(Item.id))).scalars().all()
    axes = {slug: n for n, slug in enumerate(sorted(set(subtopics.values())))}
    rng = np.random.default_rng(5)
    blobs: dict[int, bytes] = {}
    for item_id in ids:
        row = rng.normal(0, 0.05, DIMENSIONS)
        slug = subtopics.get(item_id)
        row[axes[slug] if slug else DIMENSIONS - 1] += 1.0
        blobs[item_id] = to_blob((row / np.linalg.norm(row)).astype(np.float32))
    with db.write() as session:
        store_vectors(session, blobs, MODEL_NAME)
    return subtopics


def _feed(db: Database, profile: Profile, now: object) -> list[RankedItem]:
    page = build_feed(
        db,
        profile=profile,
        options=FeedOptions(limit=20),
        secret=SECRET,
        now=now,  # type: ignore[arg-type]
    )
    return list(page.items)


@pytest.fixture
def world(db: Database) -> tuple[Database, object, dict[int, str]]:
    corpus = generate_corpus(db, items=400, seed=3)
    subtopics = _vectors(db)
    for name in ("ada", "bob"):
        create_profile(db, name=name, changes={"interests": {"nlp": 1.0}, "depth": 1.0})
    return db, corpus.now, subtopics


def _profile(db: Database, name: str) -> Profile:
    with db.session() as session:
        return get_profile_by_name(session, name)


def test_likes_of_a_theme_fill_the_top_within_the_interests(
    world: tuple[Database, object, dict[int, str]],
) -> None:
    db, now, subtopics = world
    ada, bob = _profile(db, "ada"), _profile(db, "bob")
    assert ada.id is not None
    before = _feed(db, ada, now)
    bob_before = [i.candidate.id for i in _feed(db, bob, now)]
    theme = "machine-translation"  # a subtopic of the interest nlp
    liked = sorted(i for i, slug in subtopics.items() if slug == theme)[:6]
    assert len(liked) == 6

    def shown(feed: list[RankedItem]) -> int:
        """The theme's other items (not the liked ones) in the top 10: the same set both times."""
        return sum(
            subtopics.get(i.candidate.id) == theme and i.candidate.id not in liked
            for i in feed[:10]
        )

    shown_before = shown(before)
    for item_id in liked:
        record_feedback(db, profile_id=ada.id, item_id=item_id, signal="like", now=now)  # type: ignore[arg-type]
    after = _feed(db, ada, now)
    assert shown(after) > shown_before
    reasons = [  # said of the theme's other items: a liked item is not its own reason
        i.why.summary
        for i in after[:10]
        if subtopics.get(i.candidate.id) == theme and i.candidate.id not in liked
    ]
    assert any("because you liked '" in r for r in reasons)
    assert [i.candidate.id for i in _feed(db, bob, now)] == bob_before  # bob's feed is his own


def test_the_model_is_stored_under_the_feedback_stamp_and_retrained_when_it_changes(
    world: tuple[Database, object, dict[int, str]],
) -> None:
    db, now, subtopics = world
    ada = _profile(db, "ada")
    assert ada.id is not None
    first, second = sorted(subtopics)[:2]
    record_feedback(db, profile_id=ada.id, item_id=first, signal="like", now=now)  # type: ignore[arg-type]
    _feed(db, ada, now)
    with db.session() as session:
        stored = stored_preference(session, ada.id)
        assert stored is not None and stored.stamp == feedback_stamp(session, ada.id)
        assert stored.events == 1
    record_feedback(db, profile_id=ada.id, item_id=second, signal="dislike", now=now)  # type: ignore[arg-type]
    with db.session() as session:
        assert stored_preference(session, ada.id) == stored  # nothing trained on write
        model = profile_model(session, ada.id, now)  # type: ignore[arg-type]
        assert model is not None and model.events == 2
    with db.session() as session:  # a later request
        again = stored_preference(session, ada.id)
        assert again is not None and again.stamp != stored.stamp and again.events == 2
        assert profile_model(session, ada.id, now) is not None  # type: ignore[arg-type]
    with db.session() as session:
        assert stored_preference(session, ada.id) == again  # read, not retrained
