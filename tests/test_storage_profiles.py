"""Profiles in storage: tokens hashed and found by hash, rotation, presets, checked changes."""

from __future__ import annotations

import hashlib

import pytest
from corpusgen import TAXONOMY, generate_corpus
from sqlmodel import select

from service.errors import ConflictError, InvalidInputError, NotFoundError
from service.storage.catalog import sync_taxonomy
from service.storage.engine import Database
from service.storage.models import Profile, Source
from service.storage.profiles import (
    create_profile,
    find_by_token,
    get_profile_by_name,
    list_profiles,
    rotate_token,
    update_profile,
)


@pytest.fixture
def topics_db(db: Database) -> Database:
    with db.write() as session:
        sync_taxonomy(session, TAXONOMY)
    return db


def test_a_new_profile_stores_only_hashes_of_its_two_tokens(topics_db: Database) -> None:
    created = create_profile(topics_db, name="ada", changes={"interests": {"nlp": 1.0}})
    assert created.api_token != created.feed_token
    assert len(created.api_token) >= 43  # token_urlsafe(32)
    with topics_db.session() as session:
        stored = session.exec(select(Profile)).one()
    assert stored.token_hash == hashlib.sha256(created.api_token.encode()).hexdigest()
    assert stored.feed_token_hash == hashlib.sha256(created.feed_token.encode()).hexdigest()
    assert created.api_token not in stored.model_dump_json()


def test_tokens_find_their_profile_and_nothing_else(topics_db: Database) -> None:
    ada = create_profile(topics_db, name="ada")
    bob = create_profile(topics_db, name="bob")
    with topics_db.session() as session:
        assert find_by_token(session, ada.api_token).name == "ada"  # type: ignore[union-attr]
        assert find_by_token(session, bob.feed_token, which="feed").name == "bob"  # type: ignore[union-attr]
        assert find_by_token(session, ada.feed_token, which="api") is None
        assert find_by_token(session, ada.api_token, which="feed") is None
        assert find_by_token(session, "") is None
        assert find_by_token(session, "x" * 10_000) is None
        assert find_by_token(session, ada.api_token[:-1]) is None


@pytest.mark.parametrize("which", ["api", "feed"])
def test_rotating_a_token_retires_the_old_one_only(topics_db: Database, which: str) -> None:
    created = create_profile(topics_db, name="ada")
    assert created.profile.id is not None
    old = created.api_token if which == "api" else created.feed_token
    other = created.feed_token if which == "api" else created.api_token
    new = rotate_token(topics_db, profile_id=created.profile.id, which=which)  # type: ignore[arg-type]
    other_kind = "feed" if which == "api" else "api"
    with topics_db.session() as session:
        assert find_by_token(session, old, which=which) is None  # type: ignore[arg-type]
        assert find_by_token(session, new, which=which) is not None  # type: ignore[arg-type]
        assert find_by_token(session, other, which=other_kind) is not None  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "depth"),
    [
        ({"preset": "researcher"}, 0.85),
        ({"preset": "engineer"}, 0.5),
        ({"preset": "educator"}, 0.15),
        ({"preset": "educator", "depth": 0.9}, 0.9),  # an explicit depth wins
        ({}, 0.5),
    ],
)
def test_presets_set_the_depth(topics_db: Database, changes: dict, depth: float) -> None:
    assert create_profile(topics_db, name="ada", changes=changes).profile.depth == depth


def test_names_are_unique(topics_db: Database) -> None:
    create_profile(topics_db, name="ada")
    with pytest.raises(ConflictError, match="that name is taken"):
        create_profile(topics_db, name="ada")
    bob = create_profile(topics_db, name="bob").profile
    assert bob.id is not None
    with pytest.raises(ConflictError):
        update_profile(topics_db, profile_id=bob.id, changes={"name": "ada"})


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"interests": {"nlp": 1.0, "quantum-gravity": 1.0}},
            "interests: unknown topic 'quantum-gravity'",
        ),
        ({"interests": {"nlp": 0}}, "interests.nlp: must be greater than 0"),
        ({"interests": {"nlp": "high"}}, "interests.nlp: must be a number"),
        ({"depth": 1.5}, "depth: must be from 0 to 1"),
        ({"depth": True}, "depth: must be a number"),
        ({"window_days": 0}, "window_days: must be from 1 to 365"),
        ({"keywords": ["ok", "-"]}, "keywords[1]"),
        ({"keywords": "agents"}, "keywords: must be a list"),
        ({"kind_weights": {"tweet": 1.0}}, "kind_weights: kinds are"),
        ({"kind_weights": {"paper": 3}}, "kind_weights.paper: must be from 0 to 2"),
        ({"muted_sources": [999_999]}, "muted_sources: no source has id 999999"),
        ({"preset": "wizard"}, "preset: must be one of researcher, engineer, educator"),
        ({"timezone": "Mars/Olympus"}, "timezone: unknown IANA time zone"),
        ({"digest_time": "25:00"}, "digest_time: must be HH:MM"),
        ({"email": "not an address"}, "email:"),
        ({"token_hash": "0" * 64}, "token_hash: not a field of a profile"),
    ],
)
def test_bad_changes_are_refused_naming_the_field(
    topics_db: Database, changes: dict, message: str
) -> None:
    with pytest.raises(InvalidInputError) as caught:
        create_profile(topics_db, name="ada", changes=changes)
    assert message in caught.value.reason
    with topics_db.session() as session:
        assert list_profiles(session) == []


def test_unknown_topics_list_the_areas(topics_db: Database) -> None:
    with pytest.raises(InvalidInputError, match=r"areas: ai-for-science, causal-inference"):
        create_profile(topics_db, name="ada", changes={"interests": ["nope"]})


def test_changes_are_checked_and_stored(db: Database) -> None:
    generate_corpus(db, items=5)
    with db.session() as session:
        source_id = session.exec(select(Source.id)).first()
    profile = create_profile(db, name="ada").profile
    assert profile.id is not None
    changed = update_profile(
        db,
        profile_id=profile.id,
        changes={
            "interests": ["nlp", "robotics"],
            "keywords": ["  mixture   of experts ", "-crypto", "Mixture of Experts"],
            "kind_weights": {"podcast": 0.5},
            "muted_sources": [source_id],
            "email": "Ada@Example.org",
            "timezone": "Europe/Paris",
        },
    )
    assert changed.interests == {"nlp": 1.0, "robotics": 1.0}
    assert changed.keywords == ["mixture of experts", "-crypto"]  # tidied, deduplicated
    assert changed.muted_sources == [source_id]
    assert changed.email == "Ada@example.org"
    with db.session() as session:
        assert get_profile_by_name(session, "ada").timezone == "Europe/Paris"


def test_missing_profiles_are_not_found(topics_db: Database) -> None:
    with pytest.raises(NotFoundError):
        update_profile(topics_db, profile_id=12345, changes={"depth": 0.1})
    with pytest.raises(NotFoundError), topics_db.session() as session:
        get_profile_by_name(session, "nobody")
