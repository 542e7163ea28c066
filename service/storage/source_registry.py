"""Sources as people manage them: list, look up, add, change, deactivate, import in bulk.

Every value is checked here, once, for the API and the CLI alike: each editable field has one
checker in ``_CHECKS`` that returns the value to store or raises ``InvalidInputError`` naming the
field. A source is never deleted: deactivating keeps it and its items (``active`` False).
Catalog sources (``origin`` catalog) follow feeds.yaml again on the next ``sources sync``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlsplit

from sqlmodel import Session, col, func, select

from service.catalog import MAX_POLL_MINUTES, MIN_POLL_MINUTES
from service.clock import utcnow
from service.errors import ConflictError, InvalidInputError, NotFoundError
from service.records import KINDS, LEVELS, Kind, Level
from service.storage.engine import Database
from service.storage.models import ItemSource, Source
from service.storage.profiles import check_topics

MAX_NAME_CHARS = 200
MAX_SOURCE_TOPICS = 20
MAX_WEIGHT = 5.0
SOURCE_STATES = ("new", "ok", "error", "gone")
_NAME_RE = re.compile(r"^[^\x00-\x1f\x7f]+$")


def url_key(url: str) -> str:
    """Two spellings of one feed URL share a key: scheme and host case, a trailing slash."""
    parts = urlsplit(url.strip())
    path = parts.path.rstrip("/")
    query = f"?{parts.query}" if parts.query else ""
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}{path}{query}"


def printable(text: str, max_chars: int) -> str:
    """``text`` without control characters, its spaces collapsed, cut to ``max_chars``."""
    cleaned = "".join(c if c.isprintable() else " " for c in text)
    return " ".join(cleaned.split())[:max_chars].strip()


# --------------------------------------------------------------------------- field checks


def _fail(name: str, message: str, value: object) -> InvalidInputError:
    return InvalidInputError(f"{name}: {message} (got {value!r})")


def check_name(value: object) -> str:
    text = " ".join(value.split()) if isinstance(value, str) else ""
    if not text or len(text) > MAX_NAME_CHARS or not _NAME_RE.match(text):
        raise _fail("name", f"must be 1 to {MAX_NAME_CHARS} printable characters", value)
    return text


def _check_choice(name: str, allowed: Sequence[str]) -> Callable[[Session, object], str]:
    def check(_session: Session, value: object) -> str:
        if value not in allowed:
            raise _fail(name, f"must be one of {', '.join(allowed)}", value)
        return str(value)

    return check


def _check_topics(session: Session, value: object) -> list[str]:
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise _fail("topics", "must be a list of topic slugs", value)
    if len(value) > MAX_SOURCE_TOPICS:
        raise InvalidInputError(f"topics: at most {MAX_SOURCE_TOPICS} (got {len(value)})")
    if not all(isinstance(v, str) for v in value):
        raise _fail("topics", "must be a list of topic slugs", value)
    slugs = list(dict.fromkeys(value))
    check_topics(session, "topics", slugs)
    return slugs


def _check_poll_minutes(_session: Session, value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail("poll_minutes", "must be a whole number or null", value)
    if not MIN_POLL_MINUTES <= value <= MAX_POLL_MINUTES:
        raise _fail("poll_minutes", f"must be from {MIN_POLL_MINUTES} to {MAX_POLL_MINUTES}", value)
    return value


def _check_weight(_session: Session, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _fail("weight", "must be a number", value)
    if not 0 < value <= MAX_WEIGHT:
        raise _fail("weight", f"must be greater than 0 and at most {MAX_WEIGHT:g}", value)
    return float(value)


def _check_active(_session: Session, value: object) -> bool:
    if not isinstance(value, bool):
        raise _fail("active", "must be true or false", value)
    return value


_CHECKS: dict[str, Callable[[Session, object], object]] = {
    "name": lambda _s, v: check_name(v),
    "kind": _check_choice("kind", KINDS),
    "level": _check_choice("level", LEVELS),
    "topics": _check_topics,
    "poll_minutes": _check_poll_minutes,
    "weight": _check_weight,
    "active": _check_active,
}
EDITABLE_FIELDS = frozenset(_CHECKS)


def checked_changes(session: Session, changes: Mapping[str, object]) -> dict[str, Any]:
    """Each change checked and cleaned; unknown fields are refused by name."""
    unknown = sorted(set(changes) - EDITABLE_FIELDS)
    if unknown:
        raise InvalidInputError(f"{unknown[0]}: not a field of a source that can be changed")
    return {name: _CHECKS[name](session, value) for name, value in changes.items()}


# --------------------------------------------------------------------------- reads


def get_source(session: Session, source_id: int) -> Source:
    source = session.get(Source, source_id)
    if source is None:
        raise NotFoundError(f"no source has id {source_id}")
    return source


@dataclass(frozen=True, slots=True)
class SourceFilter:
    kind: str | None = None
    active: bool | None = None
    state: str | None = None


def list_sources(
    session: Session, f: SourceFilter, *, limit: int = 100, after_id: int | None = None
) -> list[Source]:
    """Sources in id order, ``limit`` after ``after_id`` (keyset)."""
    stmt = select(Source)
    if f.kind is not None:
        stmt = stmt.where(Source.kind == f.kind)
    if f.active is not None:
        stmt = stmt.where(Source.active == f.active)
    if f.state is not None:
        stmt = stmt.where(Source.state == f.state)
    if after_id is not None:
        stmt = stmt.where(col(Source.id) > after_id)
    return list(session.exec(stmt.order_by(col(Source.id)).limit(limit)))


def item_counts(session: Session, source_ids: Iterable[int]) -> dict[int, int]:
    """How many items each source has given (seen in it at least once)."""
    ids = list(source_ids)
    if not ids:
        return {}
    stmt = (
        select(ItemSource.source_id, func.count())
        .where(col(ItemSource.source_id).in_(ids))
        .group_by(col(ItemSource.source_id))
    )
    return {source_id: int(count) for source_id, count in session.exec(stmt)}


# --------------------------------------------------------------------------- writes


def _clash(session: Session, *, name: str, url: str, other_than: int | None = None) -> None:
    key = url_key(url)
    for source_id, existing in session.exec(select(Source.id, Source.url)):
        if source_id != other_than and url_key(existing) == key:
            raise ConflictError(f"url: source {source_id} already polls this feed")
    by_name = select(Source).where(func.lower(Source.name) == name.lower())
    for source in session.exec(by_name):
        if source.id != other_than:
            raise ConflictError(f"name: a source is already named {source.name!r}")


@dataclass(frozen=True, slots=True)
class NewSource:
    """A source to add, its URL already vetted; ``changes`` are unchecked field values."""

    name: str
    url: str
    changes: Mapping[str, object] = field(default_factory=dict)
    origin: str = "api"
    site_url: str | None = None
    feed_title: str | None = None
    name_given: bool = True  # False: a default name, made unique rather than refused


def create_source(db: Database, new: NewSource) -> Source:
    """Insert a source (ConflictError when its feed URL, or the name it was given, is taken)."""
    with db.write() as session:
        name = new.name if new.name_given else _free_default(session, new)
        values = checked_changes(session, {"kind": "post", **new.changes, "name": name})
        _clash(session, name=values["name"], url=new.url)
        source = Source(
            url=new.url,
            origin=new.origin,
            site_url=new.site_url,
            feed_title=(new.feed_title or "")[:500] or None,
            **values,
        )
        session.add(source)
        session.flush()
        return source


def _free_default(session: Session, new: NewSource) -> str:
    taken = {name.lower() for name in session.exec(select(Source.name))}
    return _free_name(check_name(new.name), new.url, taken)


def update_source(db: Database, source_id: int, changes: Mapping[str, object]) -> Source:
    """Change the fields given; reactivating schedules a poll at once."""
    with db.write() as session:
        source = get_source(session, source_id)
        values = checked_changes(session, changes)
        if "name" in values:
            _clash(session, name=values["name"], url=source.url, other_than=source_id)
        if values.get("active") and not source.active:
            source.next_poll_at = utcnow()
        for name, value in values.items():
            setattr(source, name, value)
        source.updated_at = utcnow()
        return source


def deactivate_source(db: Database, source_id: int) -> Source:
    """Stop polling a source; it and its items stay (idempotent)."""
    with db.write() as session:
        source = get_source(session, source_id)
        if source.active:
            source.active = False
            source.updated_at = utcnow()
        return source


# --------------------------------------------------------------------------- bulk import

ImportStatus = Literal["added", "duplicate", "invalid"]


@dataclass(frozen=True, slots=True)
class ImportCandidate:
    """One feed of an import, checked for shape already (URL, name, kind, topics)."""

    url: str
    name: str
    kind: Kind
    level: Level
    topics: tuple[str, ...] = ()
    site_url: str | None = None


@dataclass(frozen=True, slots=True)
class ImportOutcome:
    status: ImportStatus
    reason: str = ""
    source_id: int | None = None
    name: str | None = None


def _free_name(name: str, url: str, taken: set[str]) -> str:
    host = urlsplit(url).hostname or "feed"
    options = [name, f"{name} ({host})"] + [f"{name} ({host} {n})" for n in range(2, 100)]
    for option in (o[:MAX_NAME_CHARS] for o in options):
        if option.lower() not in taken:
            return option
    raise InvalidInputError(f"name: no free name near {name!r}")


def import_sources(
    db: Database, candidates: Sequence[ImportCandidate], *, origin: str = "opml"
) -> list[ImportOutcome]:
    """Add each candidate whose feed URL is new, in one transaction; duplicates are reported."""
    now = utcnow()
    with db.write() as session:
        rows = session.exec(select(Source.id, Source.name, Source.url)).all()
        known = {url_key(url): (source_id, name) for source_id, name, url in rows}
        taken = {name.lower() for _, name, _ in rows}
        book = _Book(known, taken, origin, now)
        return [_import_one(session, c, book) for c in candidates]


@dataclass(slots=True)
class _Book:
    """What an import knows while it runs: feed URLs and names taken so far."""

    known: dict[str, tuple[int | None, str]]
    taken: set[str]
    origin: str
    now: datetime


def _import_one(session: Session, candidate: ImportCandidate, book: _Book) -> ImportOutcome:
    key = url_key(candidate.url)
    if key in book.known:
        source_id, name = book.known[key]
        return ImportOutcome("duplicate", f"already a source: {name!r}", source_id, name)
    name = _free_name(candidate.name, candidate.url, book.taken)
    source = Source(
        name=name,
        url=candidate.url,
        kind=candidate.kind,
        level=candidate.level,
        topics=list(candidate.topics),
        site_url=candidate.site_url,
        origin=book.origin,
        next_poll_at=book.now,
    )
    session.add(source)
    session.flush()
    book.known[key] = (source.id, name)
    book.taken.add(name.lower())
    return ImportOutcome("added", "", source.id, name)
