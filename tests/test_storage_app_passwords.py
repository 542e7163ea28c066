"""App passwords in storage: hashed with scrypt, signed in by name or email, listed, revoked."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import select

from service.errors import ConflictError, InvalidInputError, NotFoundError
from service.storage.app_passwords import (
    MAX_APP_PASSWORDS,
    create_app_password,
    hash_password,
    list_app_passwords,
    password_matches,
    revoke_app_password,
    sign_in,
)
from service.storage.engine import Database
from service.storage.migrate import upgrade
from service.storage.models import AppPassword
from service.storage.profiles import create_profile

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def test_hashes_are_salted_scrypt_and_checked() -> None:
    one, two = hash_password("secret"), hash_password("secret")
    assert one != two and one.startswith("scrypt$16384$8$1$") and "secret" not in one
    assert password_matches("secret", one) and password_matches("secret", two)
    assert not password_matches("Secret", one)
    for stored in ("", "sha256$abc", "scrypt$x$8$1$00$00", "scrypt$16384$8$1$zz$00"):
        assert not password_matches("secret", stored)


def test_create_sign_in_list_revoke(db: Database) -> None:
    upgrade(db)
    ada = create_profile(db, name="ada", changes={"email": "Ada@Example.org"}).profile
    bo = create_profile(db, name="bo").profile
    assert ada.id is not None and bo.id is not None
    made = create_app_password(db, profile_id=ada.id, label="  Net  News Wire ", now=NOW)
    assert made.app_password.label == "Net News Wire"
    with db.session() as session:
        stored = session.exec(select(AppPassword.password_hash)).one()
    assert made.password not in stored
    signed = sign_in(db, login="ada", password=made.password, now=NOW)
    assert signed is not None and signed.id == made.app_password.id
    assert sign_in(db, login="ada@example.org", password=made.password, now=NOW) is not None
    assert sign_in(db, login="bo", password=made.password, now=NOW) is None
    assert sign_in(db, login="ada", password=made.password + "x", now=NOW) is None
    assert sign_in(db, login="nobody", password=made.password, now=NOW) is None
    with db.session() as session:
        [listed] = list_app_passwords(session, profile_id=ada.id)
        assert list_app_passwords(session, profile_id=bo.id) == []
    assert listed.last_used_at == NOW
    with pytest.raises(NotFoundError):
        revoke_app_password(db, profile_id=bo.id, app_password_id=made.app_password.id or 0)
    revoke_app_password(db, profile_id=ada.id, app_password_id=made.app_password.id or 0)
    assert sign_in(db, login="ada", password=made.password, now=NOW) is None


def test_labels_and_the_limit_are_checked(db: Database) -> None:
    upgrade(db)
    ada = create_profile(db, name="ada").profile
    assert ada.id is not None
    for label in ("", "   ", "x" * 101, "tab\tbell\x07"):
        with pytest.raises(InvalidInputError):
            create_app_password(db, profile_id=ada.id, label=label, now=NOW)
    for n in range(MAX_APP_PASSWORDS):
        create_app_password(db, profile_id=ada.id, label=f"app {n}", now=NOW)
    with pytest.raises(ConflictError):
        create_app_password(db, profile_id=ada.id, label="one more", now=NOW)
