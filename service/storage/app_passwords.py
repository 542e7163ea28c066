"""App passwords: the secrets feed-reader apps sign in with (Google Reader API ``ClientLogin``).

A profile has at most ``MAX_APP_PASSWORDS`` of them, one per app, each with a label. A password is
``secrets.token_urlsafe(24)``, shown once when made and stored only as an scrypt hash (salted,
``N=2**14, r=8, p=1``; ``hashlib.scrypt`` from the standard library). Signing in names the
profile (its name or its email address) and gives one of its app passwords; a wrong name costs
the same hashing as a wrong password. An app password opens the reader API only: it is no API
token and no feed token (``find_by_token`` never sees it).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from service.errors import ConflictError, InvalidInputError, NotFoundError
from service.storage.engine import Database
from service.storage.models import MAX_ROW_ID, AppPassword, Profile

MAX_APP_PASSWORDS = 10
MAX_LABEL_CHARS = 100
MAX_PASSWORD_CHARS = 256
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
_DUMMY_SALT = b"staycurrent-dummy-salt"


@dataclass(frozen=True, slots=True)
class CreatedAppPassword:
    """A new app password: the row, and the password itself (shown only this once)."""

    app_password: AppPassword
    password: str


def _scrypt(password: str, salt: bytes) -> bytes:
    return hashlib.scrypt(
        password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32
    )


def hash_password(password: str) -> str:
    """``scrypt$N$r$p$<salt hex>$<hash hex>``, with a fresh 16-byte salt."""
    salt = secrets.token_bytes(16)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${_scrypt(password, salt).hex()}"


def password_matches(password: str, stored: str) -> bool:
    """Whether ``password`` hashes to ``stored`` (compared in constant time)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        given = hashlib.scrypt(
            password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), dklen=32
        )
    except ValueError:
        return False
    return hmac.compare_digest(given.hex(), digest)


def _check_label(label: str) -> str:
    cleaned = " ".join(label.split())
    if not 1 <= len(cleaned) <= MAX_LABEL_CHARS or not cleaned.isprintable():
        raise InvalidInputError(
            f"label: 1 to {MAX_LABEL_CHARS} printable characters, e.g. the app's name"
        )
    return cleaned


def _listed(session: Session, profile_id: int) -> list[AppPassword]:
    statement = (
        select(AppPassword)
        .where(AppPassword.profile_id == profile_id)
        .order_by(col(AppPassword.id))
    )
    return list(session.exec(statement).all())


def create_app_password(
    db: Database, *, profile_id: int, label: str, now: datetime
) -> CreatedAppPassword:
    """A new app password for ``profile_id``; ConflictError past ``MAX_APP_PASSWORDS``."""
    label = _check_label(label)
    password = secrets.token_urlsafe(24)
    hashed = hash_password(password)  # slow on purpose: outside the write transaction
    with db.write() as session:
        if session.get(Profile, profile_id) is None:
            raise NotFoundError(f"no profile has id {profile_id}")
        if len(_listed(session, profile_id)) >= MAX_APP_PASSWORDS:
            raise ConflictError(
                f"a profile has at most {MAX_APP_PASSWORDS} app passwords: revoke one first"
            )
        row = AppPassword(profile_id=profile_id, label=label, password_hash=hashed, created_at=now)
        session.add(row)
        session.flush()
    return CreatedAppPassword(row, password)


def list_app_passwords(session: Session, *, profile_id: int) -> list[AppPassword]:
    """The profile's app passwords (their hashes stay here), oldest first."""
    return _listed(session, profile_id)


def revoke_app_password(db: Database, *, profile_id: int, app_password_id: int) -> None:
    """Delete one of the profile's app passwords: apps signed in with it are signed out now.
    Another profile's id is answered as an unknown one."""
    with db.write() as session:
        row = session.get(AppPassword, app_password_id)
        if row is None or row.profile_id != profile_id:
            raise NotFoundError(f"this profile has no app password with id {app_password_id}")
        session.delete(row)


def _profile_for_login(session: Session, login: str) -> Profile | None:
    wanted = login.strip()
    statement = select(Profile).where(
        or_(col(Profile.name) == wanted, func.lower(col(Profile.email)) == wanted.lower())
    )
    found = list(session.exec(statement.limit(2)).all())
    return found[0] if len(found) == 1 else None


def sign_in(db: Database, *, login: str, password: str, now: datetime) -> AppPassword | None:
    """The app password that ``login`` (profile name or email) and ``password`` name, its
    ``last_used_at`` set to ``now``; None when either is wrong."""
    if not login or not password or len(password) > MAX_PASSWORD_CHARS or len(login) > 320:
        return None
    if "\x00" in login:  # no name holds one (and PostgreSQL refuses it in a query)
        _scrypt(password, _DUMMY_SALT)
        return None
    with db.session() as session:
        profile = _profile_for_login(session, login)
        rows = _listed(session, profile.id) if profile and profile.id is not None else []
    if not rows:
        _scrypt(password, _DUMMY_SALT)  # the same work as a wrong password: no name oracle
        return None
    matched = next((row for row in rows if password_matches(password, row.password_hash)), None)
    if matched is not None:
        with db.write() as session:
            stored = session.get(AppPassword, matched.id)
            if stored is not None:
                stored.last_used_at = now
                session.add(stored)
    return matched


def find_app_password(session: Session, app_password_id: int) -> tuple[AppPassword, Profile] | None:
    """The app password with this id and its profile (one query), if it exists."""
    if not 1 <= app_password_id <= MAX_ROW_ID:
        return None
    statement = (
        select(AppPassword, Profile)
        .join(Profile, col(Profile.id) == col(AppPassword.profile_id))
        .where(AppPassword.id == app_password_id)
    )
    found = session.exec(statement).first()
    return (found[0], found[1]) if found is not None else None
