"""Profiles: create, change, find by token, rotate tokens. Every value is checked here, once.

Each profile has two secrets, both ``secrets.token_urlsafe(32)``, shown once when made and stored
only as SHA-256 hex: the **API token** (``Authorization: Bearer`` for the REST API) and the **feed
token** (private RSS/Atom subscription URLs). A token is found by its hash (an indexed lookup) and
the stored hash is compared again with ``hmac.compare_digest``.

Changes arrive as a mapping of field name to value (from the API, the CLI or the digest); each
field has one checker in ``_CHECKS`` that returns the value to store or raises InvalidInputError
naming the field and the bad value.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import secrets
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from service.catalog import SLUG_RE
from service.clock import utcnow
from service.errors import ConflictError, InvalidInputError, NotFoundError
from service.storage.engine import Database
from service.storage.models import MAX_ROW_ID, Profile, Source, Tag
from service.vocabulary import KINDS

TokenKind = Literal["api", "feed"]
TOKEN_KINDS: tuple[TokenKind, ...] = ("api", "feed")
PRESETS: Mapping[str, float] = {"researcher": 0.85, "engineer": 0.5, "educator": 0.15}
DEFAULT_WINDOW_DAYS = 7
MAX_WINDOW_DAYS = 365
MAX_INTERESTS = 50
MAX_KEYWORDS = 50
MAX_AUTHORS = 100
MAX_WEIGHT = 5.0
MAX_KIND_WEIGHT = 2.0
MAX_TOKEN_CHARS = 256
MAX_SLUG_CHARS = 64
DIGEST_CADENCES = ("daily", "weekdays", "weekly")
_NAME_RE = re.compile(r"^[^\x00-\x1f\x7f]{1,100}$")
_INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
# A clash names no one: any token holder may rename their profile, so the answer must not tell
# them which names others use beyond the one they asked for.
NAME_TAKEN = "name: that name is taken; choose another"
_TIME_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


@dataclass(frozen=True, slots=True)
class CreatedProfile:
    """A new profile and its two tokens, in clear text this one time only."""

    profile: Profile
    api_token: str
    feed_token: str


def token_digest(token: str) -> str:
    """The SHA-256 hex digest under which a token is stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


# --------------------------------------------------------------------------- field checks


def _fail(field: str, message: str, value: object) -> InvalidInputError:
    return InvalidInputError(f"{field}: {message} (got {value!r})")


def _number(field: str, value: object, low: float, high: float, *, open_low: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _fail(field, "must be a number", value)
    if value < low or value > high or (open_low and value == low):
        bound = f"greater than {low:g}" if open_low else f"from {low:g}"
        raise _fail(field, f"must be {bound} to {high:g}", value)
    return float(value)


def _whole(field: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(field, "must be a whole number", value)
    if not low <= value <= high:
        raise _fail(field, f"must be from {low} to {high}", value)
    return value


def _text_list(field: str, value: object, limit: int, max_chars: int) -> list[str]:
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise _fail(field, "must be a list of strings", value)
    if len(value) > limit:
        raise InvalidInputError(f"{field}: at most {limit} entries (got {len(value)})")
    out: list[str] = []
    seen: set[str] = set()
    for i, entry in enumerate(value):
        if not isinstance(entry, str) or not entry.strip() or len(entry.strip()) > max_chars:
            raise _fail(f"{field}[{i}]", f"must be a non-empty string of <= {max_chars}", entry)
        text = " ".join(entry.split())
        if text.casefold() not in seen:
            seen.add(text.casefold())
            out.append(text)
    return out


def _check_name(_session: Session, value: object) -> str:
    """The name in Unicode NFKC form, its spaces collapsed; no control or invisible characters
    (``"bob\u200b"`` would show as a second "bob")."""
    text = " ".join(unicodedata.normalize("NFKC", value).split()) if isinstance(value, str) else ""
    if not text or not _NAME_RE.match(text) or any(_invisible(c) for c in text):
        raise _fail(
            "name",
            "must be 1 to 100 visible characters (no control or invisible characters)",
            value,
        )
    return text


def _invisible(char: str) -> bool:
    """Control, format (zero-width, bidi), surrogate, private-use or unassigned; odd spaces."""
    return unicodedata.category(char) in _INVISIBLE or (char.isspace() and char != " ")


def _known_areas(session: Session) -> str:
    areas = session.exec(select(Tag.slug).where(col(Tag.parent).is_(None)).order_by(Tag.slug))
    names = list(areas.all())
    return ", ".join(names) if names else "none: load the taxonomy with `staycurrent sources sync`"


def check_topics(session: Session, field: str, slugs: Iterable[str]) -> None:
    """Raise InvalidInputError naming the first slug that is not a topic of the taxonomy."""
    wanted = list(dict.fromkeys(slugs))
    if not wanted:
        return
    for slug in wanted:
        if not isinstance(slug, str) or not SLUG_RE.match(slug) or len(slug) > MAX_SLUG_CHARS:
            raise InvalidInputError(f"{field}: {slug!r} is not a topic slug (a-z, 0-9 and dashes)")
    found = set(session.exec(select(Tag.slug).where(col(Tag.slug).in_(wanted))).all())
    for slug in wanted:
        if slug not in found:
            raise InvalidInputError(
                f"{field}: unknown topic {slug!r} (areas: {_known_areas(session)})"
            )


def _check_interests(session: Session, value: object) -> dict[str, float]:
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        value = dict.fromkeys(value, 1.0)
    if not isinstance(value, Mapping):
        raise _fail("interests", "must map topic slugs to weights", value)
    if len(value) > MAX_INTERESTS:
        raise InvalidInputError(f"interests: at most {MAX_INTERESTS} topics (got {len(value)})")
    out: dict[str, float] = {}
    for slug, weight in value.items():
        if not isinstance(slug, str):
            raise _fail("interests", "topic slugs must be strings", slug)
        out[slug] = _number(f"interests.{slug}", weight, 0.0, MAX_WEIGHT, open_low=True)
    check_topics(session, "interests", out)
    return out


def _check_keywords(_session: Session, value: object) -> list[str]:
    keywords = _text_list("keywords", value, MAX_KEYWORDS, 100)
    for i, keyword in enumerate(keywords):
        if not keyword.lstrip("-").strip():
            raise _fail(f"keywords[{i}]", "a negative needs a word after '-'", keyword)
    return keywords


def _check_authors(_session: Session, value: object) -> list[str]:
    return _text_list("authors", value, MAX_AUTHORS, 200)


def _check_kind_weights(_session: Session, value: object) -> dict[str, float]:
    if not isinstance(value, Mapping):
        raise _fail("kind_weights", "must map kinds to weights", value)
    out: dict[str, float] = {}
    for kind, weight in value.items():
        if kind not in KINDS:
            raise _fail("kind_weights", f"kinds are {', '.join(KINDS)}", kind)
        out[kind] = _number(f"kind_weights.{kind}", weight, 0.0, MAX_KIND_WEIGHT)
    return out


def _check_depth(_session: Session, value: object) -> float:
    return _number("depth", value, 0.0, 1.0)


def _check_window(_session: Session, value: object) -> int:
    return _whole("window_days", value, 1, MAX_WINDOW_DAYS)


def _check_muted(session: Session, value: object) -> list[int]:
    if not isinstance(value, list | tuple) or any(
        isinstance(v, bool) or not isinstance(v, int) for v in value
    ):
        raise _fail("muted_sources", "must be a list of source ids", value)
    ids = list(dict.fromkeys(value))
    for source_id in ids:
        if not 1 <= source_id <= MAX_ROW_ID:
            raise InvalidInputError(f"muted_sources: no source has id {source_id}")
    found = set(session.exec(select(Source.id).where(col(Source.id).in_(ids))).all())
    for source_id in ids:
        if source_id not in found:
            raise InvalidInputError(f"muted_sources: no source has id {source_id}")
    return ids


def _check_email(_session: Session, value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise _fail("email", "must be an email address", value)
    # here, not at import: its tables cost a CLI call that sets no email ~40 ms of start-up
    from email_validator import EmailNotValidError, validate_email

    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise InvalidInputError(f"email: {exc} (got {value!r})") from None


def _check_bool(field: str) -> Callable[[Session, object], bool]:
    def check(_session: Session, value: object) -> bool:
        if not isinstance(value, bool):
            raise _fail(field, "must be true or false", value)
        return value

    return check


def _check_time(_session: Session, value: object) -> str:
    if not isinstance(value, str) or not _TIME_RE.match(value):
        raise _fail("digest_time", "must be HH:MM from 00:00 to 23:59", value)
    return value


def _check_timezone(_session: Session, value: object) -> str:
    if not isinstance(value, str) or not value or len(value) > 64:
        raise _fail("timezone", "must be an IANA time zone such as Europe/Paris", value)
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise _fail("timezone", "unknown IANA time zone", value) from None
    return value


def _check_cadence(_session: Session, value: object) -> str:
    if value not in DIGEST_CADENCES:
        raise _fail("digest_cadence", f"must be one of {', '.join(DIGEST_CADENCES)}", value)
    return str(value)


def _check_digest_depth(_session: Session, value: object) -> float | None:
    return None if value is None else _number("digest_depth", value, 0.0, 1.0)


_CHECKS: dict[str, Callable[[Session, object], object]] = {
    "name": _check_name,
    "interests": _check_interests,
    "keywords": _check_keywords,
    "authors": _check_authors,
    "kind_weights": _check_kind_weights,
    "depth": _check_depth,
    "window_days": _check_window,
    "muted_sources": _check_muted,
    "email": _check_email,
    "digest_enabled": _check_bool("digest_enabled"),
    "digest_time": _check_time,
    "timezone": _check_timezone,
    "digest_cadence": _check_cadence,
    "digest_weekday": lambda _s, v: _whole("digest_weekday", v, 0, 6),
    "digest_max_items": lambda _s, v: _whole("digest_max_items", v, 1, 100),
    "digest_budget_minutes": lambda _s, v: _whole("digest_budget_minutes", v, 5, 600),
    "digest_depth": _check_digest_depth,
    "digest_empty_note": _check_bool("digest_empty_note"),
}
EDITABLE_FIELDS: frozenset[str] = frozenset(_CHECKS) | {"preset"}


def _checked(session: Session, changes: Mapping[str, object]) -> dict[str, object]:
    """Every change checked; ``preset`` becomes a depth unless a depth is given too."""
    unknown = sorted(set(changes) - EDITABLE_FIELDS)
    if unknown:
        raise InvalidInputError(f"{unknown[0]}: not a field of a profile")
    values = {field: _CHECKS[field](session, v) for field, v in changes.items() if field in _CHECKS}
    preset = changes.get("preset")
    if preset is not None:
        if preset not in PRESETS:
            raise _fail("preset", f"must be one of {', '.join(PRESETS)}", preset)
        values.setdefault("depth", PRESETS[str(preset)])
    return values


# --------------------------------------------------------------------------- writes


def _flush_unique(session: Session) -> None:
    try:
        session.flush()
    except IntegrityError as exc:
        raise ConflictError(NAME_TAKEN) from exc


def _taken(session: Session, name: str, *, other_than: int | None = None) -> bool:
    query = select(Profile.id).where(Profile.name == name)
    if other_than is not None:
        query = query.where(Profile.id != other_than)
    return session.exec(query).first() is not None


def create_profile(
    db: Database, *, name: str, changes: Mapping[str, object] | None = None
) -> CreatedProfile:
    """Make a profile named ``name`` with ``changes`` (any editable field, or ``preset``)."""
    api_token, feed_token = new_token(), new_token()
    with db.write() as session:
        values = _checked(session, {"name": name, **(changes or {})})
        if _taken(session, str(values["name"])):
            raise ConflictError(NAME_TAKEN)
        profile = Profile(
            token_hash=token_digest(api_token),
            feed_token_hash=token_digest(feed_token),
            **values,  # type: ignore[arg-type]
        )
        session.add(profile)
        _flush_unique(session)
    return CreatedProfile(profile=profile, api_token=api_token, feed_token=feed_token)


def _load(session: Session, profile_id: int) -> Profile:
    profile = session.get(Profile, profile_id)
    if profile is None:
        raise NotFoundError(f"no profile has id {profile_id}")
    return profile


def update_profile(db: Database, *, profile_id: int, changes: Mapping[str, object]) -> Profile:
    """Apply checked ``changes`` to a profile and return it as stored."""
    with db.write() as session:
        profile = _load(session, profile_id)
        values = _checked(session, changes)
        new_name = values.get("name")
        if new_name is not None and _taken(session, str(new_name), other_than=profile_id):
            raise ConflictError(NAME_TAKEN)
        for field, value in values.items():
            setattr(profile, field, value)
        profile.updated_at = utcnow()
        session.add(profile)
        _flush_unique(session)
    return profile


def rotate_token(db: Database, *, profile_id: int, which: TokenKind) -> str:
    """Replace the API or feed token of a profile; the old one stops working now."""
    if which not in TOKEN_KINDS:
        raise _fail("token", f"must be one of {', '.join(TOKEN_KINDS)}", which)
    token = new_token()
    with db.write() as session:
        profile = _load(session, profile_id)
        if which == "api":
            profile.token_hash = token_digest(token)
        else:
            profile.feed_token_hash = token_digest(token)
        profile.updated_at = utcnow()
        session.add(profile)
    return token


def delete_profile(db: Database, *, profile_id: int) -> None:
    """Remove a profile with its feedback and deliveries."""
    with db.write() as session:
        session.delete(_load(session, profile_id))


# --------------------------------------------------------------------------- reads


def find_by_token(session: Session, token: str, *, which: TokenKind = "api") -> Profile | None:
    """The profile whose API (or feed) token this is, else None."""
    if not token or len(token) > MAX_TOKEN_CHARS:
        return None
    digest = token_digest(token)
    column = Profile.token_hash if which == "api" else Profile.feed_token_hash
    profile = session.exec(select(Profile).where(column == digest)).first()
    if profile is None:
        return None
    stored = profile.token_hash if which == "api" else profile.feed_token_hash
    return profile if hmac.compare_digest(stored, digest) else None


def get_profile(session: Session, profile_id: int) -> Profile:
    return _load(session, profile_id)


def get_profile_by_name(session: Session, name: str) -> Profile:
    profile = session.exec(select(Profile).where(Profile.name == name)).first()
    if profile is None:
        raise NotFoundError(f"no profile is named {name!r}")
    return profile


def list_profiles(session: Session) -> list[Profile]:
    return list(session.exec(select(Profile).order_by(Profile.name)).all())
