"""Pages of sources in id order, behind a signed cursor (purpose ``sources-cursor``) that names
its filters and the last id shown."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from service.errors import InvalidInputError, SignatureError
from service.signing import sign, verify
from service.storage.models import Source
from service.storage.source_registry import SourceFilter, list_sources

CURSOR_PURPOSE = "sources-cursor"
CURSOR_TTL = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class SourcesQuery:
    kind: str | None = None
    active: bool | None = None
    state: str | None = None
    limit: int = 100
    cursor: str | None = None

    def fingerprint(self) -> str:
        text = f"{self.kind}|{self.active}|{self.state}"
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class SourcesPage:
    sources: list[Source]
    next_cursor: str | None


def _after(query: SourcesQuery, secret: bytes, now: datetime) -> int | None:
    if query.cursor is None:
        return None
    try:
        payload = verify(secret, CURSOR_PURPOSE, query.cursor, now=now)
    except SignatureError as exc:
        raise InvalidInputError(f"cursor: {exc.reason}; start again without a cursor") from exc
    last = payload.get("i")
    if payload.get("f") != query.fingerprint() or not isinstance(last, int):
        raise InvalidInputError("cursor: it belongs to other filters; start again without one")
    return last


def sources_page(
    session: Session, query: SourcesQuery, *, secret: bytes, now: datetime
) -> SourcesPage:
    """One page of sources and the cursor of the next (None at the end)."""
    f = SourceFilter(kind=query.kind, active=query.active, state=query.state)
    found = list_sources(session, f, limit=query.limit + 1, after_id=_after(query, secret, now))
    page = found[: query.limit]
    cursor = None
    if len(found) > query.limit and page and page[-1].id is not None:
        payload: dict[str, str | int] = {"f": query.fingerprint(), "i": page[-1].id}
        cursor = sign(secret, CURSOR_PURPOSE, payload, expires_at=now + CURSOR_TTL)
    return SourcesPage(page, cursor)
