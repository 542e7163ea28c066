"""Signed-in browsers of the reading page and one-time sign-in links (``WebSession`` rows).

A secret is made here, handed to the caller once, and stored only as its SHA-256 digest:

- ``open_session``: a browser signed in (with its forms' CSRF token) until ``expires_at``;
  ``close_session`` (signing out) deletes it, so a copied cookie stops working at once;
- ``issue_link`` / ``redeem_link``: a sign-in link for email, good once: redeeming deletes it.

Expired rows are swept whenever a new one is written.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, delete, func, select

from service.storage.engine import Database
from service.storage.models import Feedback, Item, Profile, WebSession
from service.storage.profiles import token_digest

SESSION = "session"
LINK = "link"
MAX_SECRET_CHARS = 200


@dataclass(frozen=True, slots=True)
class SignedIn:
    """Who a session cookie belongs to, and the token its forms must carry."""

    profile: Profile
    csrf: str
    expires_at: datetime


def _sweep(session: Session, now: datetime) -> None:
    session.exec(delete(WebSession).where(col(WebSession.expires_at) <= now))


def _open(db: Database, profile_id: int, purpose: str, now: datetime, ttl: timedelta) -> str:
    secret = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32) if purpose == SESSION else ""
    row = WebSession(
        token_hash=token_digest(secret),
        profile_id=profile_id,
        purpose=purpose,
        csrf=csrf,
        created_at=now,
        expires_at=now + ttl,
    )
    with db.session() as session:
        _sweep(session, now)
        session.add(row)
        session.commit()
    return secret


def open_session(db: Database, *, profile_id: int, now: datetime, ttl: timedelta) -> str:
    """A new signed-in session of the profile; returns its secret (for the cookie)."""
    return _open(db, profile_id, SESSION, now, ttl)


def _live(session: Session, secret: str, purpose: str, now: datetime) -> WebSession | None:
    if not secret or len(secret) > MAX_SECRET_CHARS:
        return None
    row = session.get(WebSession, token_digest(secret))
    if row is None or row.purpose != purpose or row.expires_at <= now:
        return None
    return row


def find_session(db: Database, secret: str, *, now: datetime) -> SignedIn | None:
    """The profile signed in with this secret, or None (unknown, signed out or expired)."""
    with db.session() as session:
        row = _live(session, secret, SESSION, now)
        profile = session.get(Profile, row.profile_id) if row else None
        if row is None or profile is None:
            return None
        return SignedIn(profile=profile, csrf=row.csrf, expires_at=row.expires_at)


def close_session(db: Database, secret: str) -> None:
    """Sign out: the session's row is deleted (nothing happens for an unknown secret)."""
    if not secret or len(secret) > MAX_SECRET_CHARS:
        return
    with db.session() as session:
        row = session.get(WebSession, token_digest(secret))
        if row is not None and row.purpose == SESSION:
            session.delete(row)
            session.commit()


def issue_link(db: Database, *, profile_id: int, now: datetime, ttl: timedelta) -> str:
    """A one-time sign-in link's secret for the profile."""
    return _open(db, profile_id, LINK, now, ttl)


def redeem_link(db: Database, secret: str, *, now: datetime) -> int | None:
    """The profile id of a live link, which is used up by this call; None otherwise."""
    with db.session() as session:
        row = _live(session, secret, LINK, now)
        if row is None:
            return None
        deleted = session.exec(
            delete(WebSession).where(col(WebSession.token_hash) == row.token_hash)
        )
        session.commit()
        # Two browsers redeeming at once: only the one whose delete removed the row signs in.
        return row.profile_id if deleted.rowcount == 1 else None


def profile_by_email(db: Database, address: str) -> Profile | None:
    """The profile with this email address (compared without case), else None."""
    wanted = address.strip().lower()
    if not wanted or len(wanted) > 320:
        return None
    with db.session() as session:
        query = select(Profile).where(func.lower(Profile.email) == wanted).order_by(col(Profile.id))
        return session.exec(query).first()


def saved_items(db: Database, *, profile_id: int, limit: int) -> list[Item]:
    """The items the profile saved, the most recently saved first."""
    with db.session() as session:
        query = (
            select(Item)
            .join(Feedback, sa.and_(col(Feedback.item_id) == col(Item.id)))
            .where(Feedback.profile_id == profile_id, Feedback.signal == "save")
            .order_by(col(Feedback.created_at).desc(), col(Item.id).desc())
            .limit(limit)
        )
        return list(session.exec(query).all())
