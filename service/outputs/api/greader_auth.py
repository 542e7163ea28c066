"""Signing in to the Google Reader API: ``ClientLogin`` with an app password, then
``Authorization: GoogleLogin auth=<token>`` on every call, and the edit token ``T``.

The ``Auth`` token is ``<app password id>/<HMAC-SHA256(secret key, id and stored hash)>``: no
session is stored, and revoking the app password (its row deleted) signs the app out at once.
The edit token is another HMAC of the same; an edit that sends a wrong one is refused (401 and
``X-Reader-Google-Bad-Token: true``, as clients expect), one that sends none is taken (the
header already proves who asks; no cookie is involved). Failed sign-ins spend the client's
``STAYCURRENT_API_AUTH_FAILURES_PER_MINUTE`` budget (``TokenBuckets``), like bad API tokens.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass

from service.storage.app_passwords import find_app_password
from service.storage.engine import Database
from service.storage.models import AppPassword, Profile

_AUTH_HEADER = re.compile(r"^GoogleLogin\s+auth=([0-9]{1,19})/([0-9a-f]{64})$", re.IGNORECASE)
EDIT_TOKEN_CHARS = 57  # the length of Google Reader's own edit tokens


@dataclass(frozen=True, slots=True)
class ReaderUser:
    """Who is calling: the profile and the app password it signed in with."""

    profile: Profile
    app_password_id: int
    edit_token: str


def _mac(secret: bytes, purpose: str, row: AppPassword) -> str:
    message = f"greader:{purpose}:{row.id}:{row.password_hash}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def auth_token(secret: bytes, row: AppPassword) -> str:
    return f"{row.id}/{_mac(secret, 'auth', row)}"


def edit_token(secret: bytes, row: AppPassword) -> str:
    return _mac(secret, "edit", row)[:EDIT_TOKEN_CHARS]


def reader_user(db: Database, secret: bytes, header: str | None) -> ReaderUser | None:
    """The caller of an ``Authorization: GoogleLogin auth=…`` header; None when it is not valid."""
    found = _AUTH_HEADER.match((header or "").strip())
    if found is None:
        return None
    with db.session() as session:
        pair = find_app_password(session, int(found.group(1)))
    if pair is None:
        return None
    row, profile = pair
    if row.id is None:
        return None
    if not hmac.compare_digest(_mac(secret, "auth", row), found.group(2).lower()):
        return None
    return ReaderUser(profile, row.id, edit_token(secret, row))


def edit_token_ok(user: ReaderUser, given: str | None) -> bool:
    """An absent token is accepted; a present one must be this sign-in's."""
    return given is None or hmac.compare_digest(given.strip(), user.edit_token)
