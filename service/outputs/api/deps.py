"""Dependencies of the routes, as ``Annotated`` aliases: settings, database, clock, who is asking.

Authentication is ``Authorization: Bearer <token>``:

- ``CurrentProfile``: a profile's API token (its feed token does not work here; the admin token
  is refused with 403: it is no profile's);
- ``AdminAuth``: ``STAYCURRENT_ADMIN_TOKEN``; unset means the admin API is off (403 for everyone).

401 (AuthError) = no credentials or a token that is nobody's; 403 (ForbiddenError) = a valid token
that may not do this (a profile token never grants admin). Tokens are compared in constant time
(hash lookup plus ``hmac.compare_digest``) and never logged or echoed.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from service.config import Settings
from service.errors import AuthError, ForbiddenError
from service.rank.loader import WindowCache
from service.storage.engine import Database
from service.storage.models import Profile
from service.storage.profiles import find_by_token

bearer = HTTPBearer(
    auto_error=False,
    description="A profile's API token, or STAYCURRENT_ADMIN_TOKEN for admin operations.",
)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


# The trivial dependencies are coroutines: FastAPI calls a plain function in its thread pool, a hop
# that costs more than the function itself.
async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


async def get_windows(request: Request) -> WindowCache:
    """The app's window cache: the candidate windows every feed of this process ranks from."""
    windows: WindowCache = request.app.state.windows
    return windows


async def get_now(request: Request) -> datetime:
    """The current instant, from the app's clock (tests give a fixed one)."""
    clock: Callable[[], datetime] = request.app.state.clock
    return clock()


SettingsDep = Annotated[Settings, Depends(get_settings)]
DatabaseDep = Annotated[Database, Depends(get_db)]
NowDep = Annotated[datetime, Depends(get_now)]
WindowsDep = Annotated[WindowCache, Depends(get_windows)]


def get_session(db: DatabaseDep) -> Iterator[Session]:
    with db.session() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def _token(credentials: HTTPAuthorizationCredentials | None) -> str:
    if credentials is None or not credentials.credentials:
        raise AuthError("no credentials: send the header Authorization: Bearer <token>")
    return credentials.credentials


def _same_secret(given: str, expected: str) -> bool:
    digest = hashlib.sha256
    return hmac.compare_digest(digest(given.encode()).digest(), digest(expected.encode()).digest())


def _is_admin(settings: Settings, token: str) -> bool:
    admin = settings.admin_token
    return admin is not None and _same_secret(token, admin.get_secret_value())


def current_profile(settings: SettingsDep, db: DatabaseDep, credentials: Credentials) -> Profile:
    """The profile whose API token was presented; 403 for the admin token, 401 otherwise."""
    token = _token(credentials)
    with db.session() as session:
        profile = find_by_token(session, token, which="api")
    if profile is not None:
        return profile
    if _is_admin(settings, token):
        raise ForbiddenError("the admin token is not a profile's token: use a profile's API token")
    raise AuthError("the token is not valid (it may have been rotated)")


CurrentProfile = Annotated[Profile, Depends(current_profile)]


@dataclass(frozen=True, slots=True)
class Admin:
    """Proof that the admin token was presented."""


def admin_auth(settings: SettingsDep, db: DatabaseDep, credentials: Credentials) -> Admin:
    """Admin access: 403 when the admin API is off or a profile token is used, 401 otherwise."""
    if settings.admin_token is None:
        raise ForbiddenError(
            "the admin API is disabled on this server: set STAYCURRENT_ADMIN_TOKEN to enable it"
        )
    token = _token(credentials)
    if _is_admin(settings, token):
        return Admin()
    with db.session() as session:
        if find_by_token(session, token, which="api") is not None:
            raise ForbiddenError("a profile token cannot do admin operations")
    raise AuthError("the token is not valid")


AdminAuth = Annotated[Admin, Depends(admin_auth)]
