"""Feedback visibly moves later rankings: likes lift similar items, dislikes sink them, hidden
items vanish, read items leave unless asked for (through storage, the loader and selection)."""

from __future__ import annotations

from statistics import mean

import pytest
from corpusgen import generate_corpus

from service.outputs.feed import FeedOptions, build_feed
from service.rank.loader import WindowCache
from service.rank.model import RankedItem
from service.storage.engine import Database
from service.storage.feedback import record_feedback
from service.storage.models import Profile
from service.storage.profiles import create_profile, get_profile_by_name

SECRET = b"s" * 32


def _feed(db: Database, profile: Profile, now: object, **options: object) -> list[RankedItem]:
    page = build_feed(
        db,
        profile=profile,
        options=FeedOptions(limit=100, **options),  # type: ignore[arg-type]
        secret=SECRET,
        now=now,  # type: ignore[arg-type]
    )
    items = list(page.items)
    while page.next_cursor:
        page = build_feed(
            db,
            profile=profile,
            options=FeedOptions(limit=100, cursor=page.next_cursor, **options),  # type: ignore[arg-type]
            secret=SECRET,
            now=now,  # type: ignore[arg-type]
        )
        items += page.items
    return items


def _subtopic(item: RankedItem) -> str | None:
    """The item's strongest subtopic (a tag that is not its area)."""
    subtopics = [t.slug for t in item.candidate.tags if t.slug != t.area]
    return subtopics[0] if subtopics else None


def _mean_position(items: list[RankedItem], similar: str, leave_out: set[int]) -> float:
    return mean(
        i.position
        for i in items
        if _subtopic(i) == similar or i.candidate.area == similar
        if i.candidate.id not in leave_out
    )


@pytest.fixture
def world(db: Database) -> tuple[Database, Profile, object]:
    corpus = generate_corpus(db, items=500, seed=3)
    create_profile(db, name="ada", changes={"interests": {"nlp": 1.0}, "depth": 0.5})
    with db.session() as session:
        profile = get_profile_by_name(session, "ada")
    return db, profile, corpus.now


def _similar(items: list[RankedItem], signal: str) -> str:
    """What to like (a busy area outside the interests) or dislike (a subtopic of them)."""
    if signal == "like":
        return "computer-vision"
    nlp = [i for i in items if i.candidate.area == "nlp" and _subtopic(i)]
    return str(_subtopic(nlp[0]))


@pytest.mark.parametrize("signal", ["like", "dislike"])
def test_likes_lift_and_dislikes_sink_similar_items(
    world: tuple[Database, Profile, object], signal: str
) -> None:
    db, profile, now = world
    assert profile.id is not None
    before = _feed(db, profile, now)
    similar = _similar(before, signal)
    chosen = [
        i.candidate.id for i in before if _subtopic(i) == similar or i.candidate.area == similar
    ][:3]
    assert len(chosen) == 3
    for item_id in chosen:
        record_feedback(db, profile_id=profile.id, item_id=item_id, signal=signal, now=now)  # type: ignore[arg-type]
    after = _feed(db, profile, now)
    moved = _mean_position(after, similar, set(chosen)) - _mean_position(
        before, similar, set(chosen)
    )
    if signal == "like":
        assert moved < -5, f"items like the liked ones moved by {moved:+.1f} positions"
    else:
        assert moved > 5, f"items like the disliked ones moved by {moved:+.1f} positions"
    note = "similar to items you liked" if signal == "like" else "similar to items you disliked"
    assert any(note in i.why.summary.lower() for i in after if i.candidate.id not in chosen)


def test_hidden_items_never_return_and_read_items_only_when_asked(
    world: tuple[Database, Profile, object],
) -> None:
    db, profile, now = world
    assert profile.id is not None
    first = _feed(db, profile, now)
    hidden, read = first[0].candidate.id, first[1].candidate.id
    record_feedback(db, profile_id=profile.id, item_id=hidden, signal="hide", now=now)  # type: ignore[arg-type]
    record_feedback(db, profile_id=profile.id, item_id=read, signal="read", now=now)  # type: ignore[arg-type]
    ids = [i.candidate.id for i in _feed(db, profile, now)]
    assert hidden not in ids and read not in ids
    assert len(ids) == len(first) - 2
    with_read = [i.candidate.id for i in _feed(db, profile, now, include_read=True)]
    assert read in with_read and hidden not in with_read


def test_one_profiles_feedback_never_changes_anothers_feed(
    world: tuple[Database, Profile, object],
) -> None:
    """Two profiles ranked from one shared window cache: ada's likes, dislikes, hides and reads
    leave bob's feed as it was, item for item and score for score."""
    db, ada, now = world
    assert ada.id is not None
    create_profile(db, name="bob", changes={"interests": {"nlp": 1.0}, "depth": 0.5})
    with db.session() as session:
        bob = get_profile_by_name(session, "bob")
    windows = WindowCache()

    def bobs() -> list[tuple[int, float, str]]:
        page = build_feed(
            db,
            profile=bob,
            options=FeedOptions(limit=100),
            secret=SECRET,
            now=now,  # type: ignore[arg-type]
            windows=windows,
        )
        return [(i.candidate.id, i.score, i.why.summary) for i in page.items]

    before = bobs()
    adas = [i.candidate.id for i in _feed(db, ada, now)]
    for n, (item_id, _, _) in enumerate(before[:12]):
        signal = ("like", "dislike", "hide", "read", "save")[n % 5]
        record_feedback(db, profile_id=ada.id, item_id=item_id, signal=signal, now=now)  # type: ignore[arg-type]
    assert [i.candidate.id for i in _feed(db, ada, now)] != adas  # ada's own feed did change
    assert bobs() == before
