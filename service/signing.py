"""Signed, expiring, tamper-proof tokens for links that act without a login.

A token is ``<body>.<mac>``, both base64url without padding (so it fits in a URL path segment):

- ``body`` is compact JSON ``{"p": purpose, "e": expiry (unix seconds), "d": payload}``;
- ``mac`` is HMAC-SHA256 over the body, keyed with the secret.

``verify`` checks the MAC first (in constant time), then the purpose, then the expiry, and raises:

- ``SignatureError``: malformed, altered, signed with another key, or made for another purpose;
- ``ExpiredSignatureError`` (a ``SignatureError``): genuine but past its expiry.

The payload is a flat map of short strings and integers (ids, a signal name), never secrets: the
body is signed, not encrypted. Pure: the caller passes ``now``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from datetime import UTC, datetime

from service.errors import ExpiredSignatureError, SignatureError

Payload = dict[str, str | int]

MAX_TOKEN_LENGTH = 2048  # refuse anything longer before doing any work
MIN_SECRET_BYTES = 16


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise SignatureError("the link is malformed (not base64url)") from exc


def _mac(secret: bytes, body: str) -> bytes:
    return hmac.new(secret, body.encode("ascii"), hashlib.sha256).digest()


def _check_secret(secret: bytes) -> None:
    if len(secret) < MIN_SECRET_BYTES:
        raise ValueError(f"the signing secret must be at least {MIN_SECRET_BYTES} bytes")


def _check_payload(payload: Payload) -> None:
    for key, value in payload.items():
        if not isinstance(key, str) or not key:
            raise ValueError(f"payload keys must be non-empty strings (got {key!r})")
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise ValueError(f"payload[{key!r}] must be a string or an integer (got {value!r})")


def sign(secret: bytes, purpose: str, payload: Payload, *, expires_at: datetime) -> str:
    """A URL-safe token carrying ``payload`` for ``purpose`` until ``expires_at`` (aware)."""
    _check_secret(secret)
    _check_payload(payload)
    if not purpose:
        raise ValueError("purpose must be a non-empty string")
    if expires_at.tzinfo is None:
        raise ValueError("expires_at must be timezone-aware")
    document = {"p": purpose, "e": int(expires_at.timestamp()), "d": payload}
    body = _b64encode(json.dumps(document, separators=(",", ":"), sort_keys=True).encode())
    return f"{body}.{_b64encode(_mac(secret, body))}"


def _authentic_body(secret: bytes, token: str) -> bytes:
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        raise SignatureError("the link is malformed")
    body, dot, mac_text = token.partition(".")
    if not dot or not body.isascii() or not mac_text.isascii():
        raise SignatureError("the link is malformed")
    # Compare the canonical text of the MAC, not decoded bytes: base64 decoding ignores the spare
    # bits of the last character, so two strings could decode to one MAC (malleable tokens).
    expected = _b64encode(_mac(secret, body))
    if not hmac.compare_digest(expected.encode("ascii"), mac_text.encode("ascii")):
        raise SignatureError("the link's signature does not match: it was altered or is not ours")
    return _b64decode(body)


def _parse_document(raw: bytes) -> tuple[str, int, Payload]:
    try:
        document = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SignatureError("the link is malformed") from exc
    if not isinstance(document, dict):
        raise SignatureError("the link is malformed")
    purpose, expiry, payload = document.get("p"), document.get("e"), document.get("d")
    if not isinstance(purpose, str) or not isinstance(expiry, int) or not isinstance(payload, dict):
        raise SignatureError("the link is malformed")
    return purpose, expiry, payload


def verify(secret: bytes, purpose: str, token: str, *, now: datetime) -> Payload:
    """The payload of a genuine, unexpired ``token`` made for ``purpose``; else SignatureError."""
    _check_secret(secret)
    found_purpose, expiry, payload = _parse_document(_authentic_body(secret, token))
    if not hmac.compare_digest(found_purpose.encode(), purpose.encode()):
        raise SignatureError(f"the link was made for {found_purpose!r}, not for {purpose!r}")
    if now.timestamp() >= expiry:
        expired = datetime.fromtimestamp(expiry, UTC).strftime("%Y-%m-%d %H:%M UTC")
        raise ExpiredSignatureError(f"the link expired on {expired}")
    return payload
