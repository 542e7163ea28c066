"""Signed one-click links: act without logging in (feedback on an item, leaving the digest).

A feedback link carries the profile id, the item id, the signal and the generation of the
profile's feed token (``link_generation``: a prefix of the stored token's digest), signed with the
secret key (``service.signing``, purpose ``feedback``) and valid for ``FEEDBACK_LINK_TTL``. Changing
any of them breaks the signature, so a link can never be bent to another item, profile or signal;
rotating the feed token changes the generation, so every link handed out before stops working.

An unsubscribe link (purpose ``unsubscribe``) carries only the profile id and is valid for
``UNSUBSCRIBE_LINK_TTL``; it turns that profile's digest off (RFC 8058 one-click).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from service.errors import ExpiredSignatureError, SignatureError
from service.signing import sign, verify
from service.storage.feedback import SIGNALS

FEEDBACK_PURPOSE = "feedback"
FEEDBACK_LINK_TTL = timedelta(days=30)
UNSUBSCRIBE_PURPOSE = "unsubscribe"
UNSUBSCRIBE_LINK_TTL = timedelta(days=365)


GENERATION_CHARS = 12


def link_generation(feed_token_hash: str) -> str:
    """The generation of a profile's feed token that its feedback links are bound to."""
    return feed_token_hash[:GENERATION_CHARS]


@dataclass(frozen=True, slots=True)
class FeedbackClaim:
    """What a genuine feedback link asks to record."""

    profile_id: int
    item_id: int
    signal: str
    generation: str

    def check_generation(self, feed_token_hash: str) -> None:
        """ExpiredSignatureError when the feed token was rotated after the link was made."""
        if self.generation != link_generation(feed_token_hash):
            raise ExpiredSignatureError(
                "this link was revoked: the feed token was rotated after it was sent"
            )


def feedback_token(
    secret: bytes,
    *,
    profile_id: int,
    item_id: int,
    signal: str,
    generation: str,
    expires_at: datetime,
) -> str:
    if signal not in SIGNALS:
        raise ValueError(f"signal must be one of {', '.join(SIGNALS)}")
    payload: dict[str, str | int] = {
        "pid": profile_id,
        "iid": item_id,
        "sig": signal,
        "gen": generation,
    }
    return sign(secret, FEEDBACK_PURPOSE, payload, expires_at=expires_at)


def feedback_url(
    base_url: str,
    secret: bytes,
    *,
    profile_id: int,
    item_id: int,
    signal: str,
    generation: str,
    now: datetime,
    ttl: timedelta = FEEDBACK_LINK_TTL,
) -> str:
    """The one-click URL (for emails and RSS items) that asks to record ``signal``."""
    token = feedback_token(
        secret,
        profile_id=profile_id,
        item_id=item_id,
        signal=signal,
        generation=generation,
        expires_at=now + ttl,
    )
    return f"{base_url.rstrip('/')}/v1/feedback/{token}"


def read_feedback_token(secret: bytes, token: str, *, now: datetime) -> FeedbackClaim:
    """The claim of a genuine, unexpired feedback link; SignatureError otherwise."""
    payload = verify(secret, FEEDBACK_PURPOSE, token, now=now)
    profile_id, item_id, signal = payload.get("pid"), payload.get("iid"), payload.get("sig")
    generation = payload.get("gen")
    if not isinstance(profile_id, int) or not isinstance(item_id, int) or signal not in SIGNALS:
        raise SignatureError("the link is malformed")
    if not isinstance(generation, str):
        raise SignatureError("the link is malformed")
    return FeedbackClaim(profile_id, item_id, str(signal), generation)


def unsubscribe_url(
    base_url: str,
    secret: bytes,
    *,
    profile_id: int,
    now: datetime,
    ttl: timedelta = UNSUBSCRIBE_LINK_TTL,
) -> str:
    """The one-click URL that turns a profile's digest off (``List-Unsubscribe``)."""
    token = sign(secret, UNSUBSCRIBE_PURPOSE, {"pid": profile_id}, expires_at=now + ttl)
    return f"{base_url.rstrip('/')}/v1/unsubscribe/{token}"


def read_unsubscribe_token(secret: bytes, token: str, *, now: datetime) -> int:
    """The profile id of a genuine, unexpired unsubscribe link; SignatureError otherwise."""
    profile_id = verify(secret, UNSUBSCRIBE_PURPOSE, token, now=now).get("pid")
    if not isinstance(profile_id, int):
        raise SignatureError("the link is malformed")
    return profile_id
