"""Signed tokens: round trip, and every way a token can be wrong is refused with a typed error."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.errors import ExpiredSignatureError, SignatureError
from service.signing import sign, verify

SECRET = b"k" * 32
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=1)
PAYLOAD: dict[str, str | int] = {"pid": 7, "iid": 1234, "sig": "like"}


def _token(**overrides: object) -> str:
    values: dict[str, object] = {
        "secret": SECRET,
        "purpose": "feedback",
        "payload": PAYLOAD,
        "expires_at": LATER,
    }
    values.update(overrides)
    return sign(
        values["secret"],  # type: ignore[arg-type]
        values["purpose"],  # type: ignore[arg-type]
        values["payload"],  # type: ignore[arg-type]
        expires_at=values["expires_at"],  # type: ignore[arg-type]
    )


def test_a_genuine_token_gives_back_its_payload() -> None:
    assert verify(SECRET, "feedback", _token(), now=NOW) == PAYLOAD


def test_tokens_are_url_safe_and_deterministic() -> None:
    token = _token()
    assert re.fullmatch(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+", token)
    assert token == _token()


@pytest.mark.parametrize(
    ("now", "error"),
    [
        (LATER - timedelta(seconds=1), None),
        (LATER, ExpiredSignatureError),
        (LATER + timedelta(days=30), ExpiredSignatureError),
    ],
)
def test_expiry_is_enforced_to_the_second(now: datetime, error: type[Exception] | None) -> None:
    if error is None:
        assert verify(SECRET, "feedback", _token(), now=now) == PAYLOAD
    else:
        with pytest.raises(error, match="expired"):
            verify(SECRET, "feedback", _token(), now=now)


def test_another_purpose_is_refused() -> None:
    with pytest.raises(SignatureError, match="made for 'feedback', not for 'unsubscribe'"):
        verify(SECRET, "unsubscribe", _token(), now=NOW)


def test_another_secret_is_refused() -> None:
    with pytest.raises(SignatureError, match="signature does not match"):
        verify(b"z" * 32, "feedback", _token(), now=NOW)


def _reencode(token: str, change: dict[str, object]) -> str:
    body, mac = token.split(".")
    document = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    document["d"].update(change)
    raw = json.dumps(document, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode() + "." + mac


@pytest.mark.parametrize("change", [{"iid": 1235}, {"pid": 8}, {"sig": "hide"}])
def test_a_payload_altered_under_the_old_signature_is_refused(change: dict[str, object]) -> None:
    with pytest.raises(SignatureError, match="signature does not match"):
        verify(SECRET, "feedback", _reencode(_token(), change), now=NOW)


def test_an_expiry_pushed_later_is_refused() -> None:
    body, mac = _token().split(".")
    document = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    document["e"] += 10**6
    raw = json.dumps(document, separators=(",", ":"), sort_keys=True).encode()
    forged = base64.urlsafe_b64encode(raw).rstrip(b"=").decode() + "." + mac
    with pytest.raises(SignatureError):
        verify(SECRET, "feedback", forged, now=LATER + timedelta(days=1))


def test_changing_any_character_to_any_other_is_refused() -> None:
    token = _token()
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."
    accepted = []
    for index, original in enumerate(token):
        for replacement in alphabet.replace(original, ""):
            altered = token[:index] + replacement + token[index + 1 :]
            try:
                verify(SECRET, "feedback", altered, now=NOW)
            except SignatureError:
                continue
            accepted.append(altered)
    assert accepted == []


def test_the_spare_bits_of_the_last_character_do_not_make_a_second_valid_token() -> None:
    token = _token()
    body, mac = token.split(".")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    same_bytes = [
        c
        for c in alphabet
        if c != mac[-1]
        and base64.urlsafe_b64decode(mac[:-1] + c + "=") == base64.urlsafe_b64decode(mac + "=")
    ]
    assert same_bytes  # base64 really is malleable here ...
    with pytest.raises(SignatureError):  # ... and verify() does not accept the twin
        verify(SECRET, "feedback", f"{body}.{mac[:-1]}{same_bytes[0]}", now=NOW)


@given(st.text(max_size=300))
def test_arbitrary_text_only_ever_raises_signature_error(text: str) -> None:
    with pytest.raises(SignatureError):
        verify(SECRET, "feedback", text, now=NOW)


@pytest.mark.parametrize(
    "token",
    ["", ".", "abc", "abc.", ".abc", "a.b.c", "é.é", "x" * 5000, "e30." + "A" * 43],
)
def test_malformed_tokens_are_refused(token: str) -> None:
    with pytest.raises(SignatureError):
        verify(SECRET, "feedback", token, now=NOW)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"secret": b"short"}, "at least 16 bytes"),
        ({"purpose": ""}, "purpose"),
        ({"payload": {"x": 1.5}}, "string or an integer"),
        ({"payload": {"x": True}}, "string or an integer"),
        ({"expires_at": datetime(2026, 1, 1)}, "timezone-aware"),
    ],
)
def test_signing_refuses_bad_arguments(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _token(**kwargs)
