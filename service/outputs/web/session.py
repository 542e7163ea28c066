"""Who is reading: the session cookie, its CSRF token, and the dependency pages require.

The cookie (``COOKIE``) is HttpOnly, SameSite=Lax, scoped to the reading page's path, Secure when
``STAYCURRENT_BASE_URL`` is https, and signed (``service.signing``, purpose ``web-session``). It
carries a random secret whose hash names a ``web_session`` row: signing out deletes the row, so
the cookie is worth nothing afterwards even if it was copied. Every form that changes something
carries the session's CSRF token (compared in constant time); the sign-in form, before any
session exists, carries one that must match a short-lived cookie of its own (double submit).
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import Depends, Request, Response

from service.config import Settings
from service.errors import AuthError, ForbiddenError, SignatureError
from service.outputs.api.deps import DatabaseDep, NowDep, SettingsDep
from service.signing import sign, verify
from service.storage.engine import Database
from service.storage.models import Profile
from service.storage.web_sessions import find_session

COOKIE = "staycurrent_session"
LOGIN_COOKIE = "staycurrent_login"
PURPOSE = "web-session"
SESSION_TTL = timedelta(days=30)
LOGIN_TTL = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Reader:
    """The signed-in profile of a request, the CSRF token its forms carry, its cookie secret."""

    profile: Profile
    csrf: str
    secret: str

    @property
    def profile_id(self) -> int:
        assert self.profile.id is not None
        return self.profile.id


def _secure(settings: Settings) -> bool:
    return settings.base_url.lower().startswith("https://")


def cookie_path(request: Request) -> str:
    return str(request.scope.get("root_path") or "") or "/"


def set_session_cookie(
    response: Response, request: Request, settings: Settings, secret: str, now: datetime
) -> None:
    expires = now + SESSION_TTL
    value = sign(settings.secret_key_bytes(), PURPOSE, {"s": secret}, expires_at=expires)
    response.set_cookie(
        COOKIE,
        value,
        max_age=int(SESSION_TTL.total_seconds()),
        path=cookie_path(request),
        secure=_secure(settings),
        httponly=True,
        samesite="lax",
    )


def clear_session_cookie(response: Response, request: Request, settings: Settings) -> None:
    response.delete_cookie(
        COOKIE, path=cookie_path(request), secure=_secure(settings), httponly=True, samesite="lax"
    )


def cookie_secret(request: Request, settings: Settings, now: datetime) -> str | None:
    """The session secret the cookie carries, if the cookie is genuine and unexpired."""
    value = request.cookies.get(COOKIE)
    if not value:
        return None
    try:
        payload = verify(settings.secret_key_bytes(), PURPOSE, value, now=now)
    except SignatureError:
        return None
    secret = payload.get("s")
    return secret if isinstance(secret, str) else None


def signed_in(request: Request, settings: Settings, db: Database, now: datetime) -> Reader | None:
    secret = cookie_secret(request, settings, now)
    found = find_session(db, secret, now=now) if secret else None
    if found is None or secret is None:
        return None
    return Reader(profile=found.profile, csrf=found.csrf, secret=secret)


def current_reader(request: Request, settings: SettingsDep, db: DatabaseDep, now: NowDep) -> Reader:
    """The signed-in reader; AuthError (the pages answer it with the sign-in page) otherwise."""
    reader = signed_in(request, settings, db, now)
    if reader is None:
        raise AuthError("sign in to read this page")
    return reader


ReaderDep = Annotated[Reader, Depends(current_reader)]


def same_token(given: str, expected: str) -> bool:
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


def check_csrf(reader: Reader, given: str) -> None:
    """A form of this session, or ForbiddenError (a page elsewhere cannot post as the reader)."""
    if not same_token(given, reader.csrf):
        raise ForbiddenError("the form is stale or was not sent from this page: reload and retry")


def login_nonce(request: Request) -> str:
    """The sign-in form's token: the one already in the login cookie, or a new one."""
    current = request.cookies.get(LOGIN_COOKIE, "")
    return current if 20 <= len(current) <= 100 else secrets.token_urlsafe(24)


def set_login_cookie(response: Response, request: Request, settings: Settings, nonce: str) -> None:
    response.set_cookie(
        LOGIN_COOKIE,
        nonce,
        max_age=int(LOGIN_TTL.total_seconds()),
        path=cookie_path(request),
        secure=_secure(settings),
        httponly=True,
        samesite="strict",
    )


def check_login_csrf(request: Request, given: str) -> None:
    if not same_token(given, request.cookies.get(LOGIN_COOKIE, "")):
        raise ForbiddenError("the sign-in form is stale: reload the page and sign in again")
