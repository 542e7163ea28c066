"""Sessions and one-time sign-in links of the reading page, on SQLite and PostgreSQL: only hashes
are stored, a link works once, signing out and expiry end a session, a profile's deletion too."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import select

from service.storage.engine import Database
from service.storage.models import WebSession
from service.storage.profiles import create_profile, delete_profile
from service.storage.web_sessions import (
    close_session,
    find_session,
    issue_link,
    open_session,
    profile_by_email,
    redeem_link,
)

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def test_a_session_lives_until_signed_out_or_expired(db: Database) -> None:
    ada = create_profile(db, name="ada", changes={}).profile
    assert ada.id is not None
    secret = open_session(db, profile_id=ada.id, now=NOW, ttl=HOUR)
    found = find_session(db, secret, now=NOW + timedelta(minutes=59))
    assert found is not None and found.profile.name == "ada" and len(found.csrf) >= 40
    with db.session() as s:
        stored = s.exec(select(WebSession)).one()
    assert secret not in (stored.token_hash, stored.csrf)  # only a hash of the secret is stored
    assert find_session(db, secret, now=NOW + HOUR) is None  # expired
    assert find_session(db, secret + "x", now=NOW) is None
    close_session(db, secret)
    assert find_session(db, secret, now=NOW) is None


def test_a_link_signs_in_once_and_is_no_session(db: Database) -> None:
    ada = create_profile(db, name="ada", changes={"email": "Ada@Example.org"}).profile
    assert ada.id is not None
    link = issue_link(db, profile_id=ada.id, now=NOW, ttl=HOUR)
    assert find_session(db, link, now=NOW) is None  # a link is not a session cookie
    assert redeem_link(db, link, now=NOW + 2 * HOUR) is None  # expired links do nothing
    fresh = issue_link(db, profile_id=ada.id, now=NOW, ttl=HOUR)
    assert redeem_link(db, fresh, now=NOW) == ada.id
    assert redeem_link(db, fresh, now=NOW) is None  # used up
    found = profile_by_email(db, " ada@example.ORG ")
    assert found is not None and found.id == ada.id
    assert profile_by_email(db, "bob@example.org") is None


def test_deleting_a_profile_ends_its_sessions(db: Database) -> None:
    ada = create_profile(db, name="ada", changes={}).profile
    assert ada.id is not None
    secret = open_session(db, profile_id=ada.id, now=NOW, ttl=HOUR)
    delete_profile(db, profile_id=ada.id)
    assert find_session(db, secret, now=NOW) is None
    with db.session() as s:
        assert s.exec(select(WebSession)).all() == []
