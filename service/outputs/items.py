"""Listing and searching stored items, one page at a time, behind an opaque cursor.

    ItemsQuery --(no q)--> storage.views.list_items     newest first, keyset (published_at, id)
               --(q)-----> storage.search.search_items  newest first, or by relevance

The cursor is a signed token (``service.signing``, purpose ``items-cursor``) that names the query it
belongs to (a fingerprint of the filters, ``q`` and the order) and where to resume: the
(published_at, id) of the last item shown, or — by relevance — the ids of the relevance window not
shown yet (ascending, delta-encoded as varints). Nothing is kept on the server, and no page ever
repeats an item of an earlier page, whatever arrives in between. Cursors expire after 24 hours.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from service.arxiv_categories import is_arxiv_category
from service.errors import InvalidInputError, SignatureError
from service.outputs.schemas import ItemHit, item_hit
from service.signing import Payload, sign, verify
from service.storage.models import MAX_ROW_ID, Source
from service.storage.profiles import check_topics
from service.storage.search import RELEVANCE_WINDOW, SearchOrder, SearchPage, search_items
from service.storage.views import Cursor, ItemFilter, list_items

CURSOR_PURPOSE = "items-cursor"
CURSOR_TTL = timedelta(hours=24)
DEFAULT_LIMIT = 20
MAX_LIMIT = 100
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class ItemsQuery:
    """What a caller asked for: filters, optional search text and order, page size, cursor."""

    filter: ItemFilter = field(default_factory=ItemFilter)
    q: str | None = None
    order: SearchOrder | None = None  # default: relevance with q, newest without
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None

    @property
    def effective_order(self) -> SearchOrder:
        return self.order or ("relevance" if self.q else "newest")

    def fingerprint(self) -> str:
        """Identifies the query a cursor belongs to (everything but limit and cursor)."""
        values = {**asdict(self.filter), "q": self.q, "order": self.effective_order}
        canonical = json.dumps(values, sort_keys=True, default=str, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:24]


@dataclass(frozen=True, slots=True)
class ItemsPage:
    items: list[ItemHit]
    next_cursor: str | None
    order: SearchOrder


@dataclass(frozen=True, slots=True)
class _Resume:
    after: Cursor | None = None
    remaining: tuple[int, ...] | None = None


# --------------------------------------------------------------------------- id lists


def encode_ids(ids: Sequence[int]) -> str:
    """Ascending positive ids as base64url of varint deltas (a few bytes per id)."""
    out = bytearray()
    previous = 0
    for item_id in sorted(ids):
        delta = item_id - previous
        previous = item_id
        while True:
            byte, delta = delta & 0x7F, delta >> 7
            out.append(byte | (0x80 if delta else 0))
            if not delta:
                break
    return base64.urlsafe_b64encode(bytes(out)).rstrip(b"=").decode("ascii")


def decode_ids(text: str) -> tuple[int, ...]:
    """The ids ``encode_ids`` wrote; ValueError for anything else."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not base64url") from exc
    ids: list[int] = []
    value = shift = 0
    for byte in raw:
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte & 0x80:
            continue
        item_id = (ids[-1] if ids else 0) + value
        if value == 0 or item_id > MAX_ROW_ID or len(ids) >= RELEVANCE_WINDOW:
            raise ValueError("not an id list")
        ids.append(item_id)
        value = shift = 0
    if shift:
        raise ValueError("truncated")
    return tuple(ids)


# --------------------------------------------------------------------------- cursors


def _micros(when: datetime) -> int:
    return (when - _EPOCH) // _MICROSECOND


def _read_cursor(query: ItemsQuery, secret: bytes, now: datetime) -> _Resume:
    if query.cursor is None:
        return _Resume()
    try:
        payload = verify(secret, CURSOR_PURPOSE, query.cursor, now=now)
    except SignatureError as exc:
        raise InvalidInputError(f"cursor: {exc.reason}; start again without a cursor") from exc
    if payload.get("f") != query.fingerprint():
        raise InvalidInputError(
            "cursor: it belongs to another query (filters, q or order changed); "
            "start again without a cursor"
        )
    return _resume_of(payload)


def _resume_of(payload: Payload) -> _Resume:
    at, last, remaining = payload.get("t"), payload.get("i"), payload.get("r")
    try:
        if isinstance(remaining, str):
            return _Resume(remaining=decode_ids(remaining))
        if isinstance(at, int) and isinstance(last, int):
            return _Resume(after=(_EPOCH + at * _MICROSECOND, last))
    except (ValueError, OverflowError):
        pass
    raise InvalidInputError("cursor: malformed; start again without a cursor")


def _next_cursor(query: ItemsQuery, page: SearchPage, secret: bytes, now: datetime) -> str | None:
    if not page.more or not page.items:
        return None
    payload: Payload = {"f": query.fingerprint()}
    if query.effective_order == "relevance":
        payload["r"] = encode_ids(page.remaining)
    else:
        last = page.items[-1].item
        assert last.id is not None
        payload.update({"t": _micros(last.published_at), "i": last.id})
    return sign(secret, CURSOR_PURPOSE, payload, expires_at=now + CURSOR_TTL)


# --------------------------------------------------------------------------- pages


def _search(session: Session, query: ItemsQuery, resume: _Resume) -> SearchPage:
    if query.q is None:
        if query.order == "relevance":
            raise InvalidInputError("order: relevance needs a search text in q")
        found = list_items(session, query.filter, limit=query.limit + 1, after=resume.after)
        return SearchPage(found[: query.limit], more=len(found) > query.limit)
    return search_items(
        session,
        query.q,
        query.filter,
        order=query.effective_order,
        limit=query.limit,
        after=resume.after,
        remaining=resume.remaining,
    )


def check_filter(session: Session, f: ItemFilter) -> None:
    """Refuse a filter that names what does not exist (a topic, a source, an arXiv category)."""
    if f.topic is not None:
        check_topics(session, "topic", [f.topic])
    if f.source_id is not None and session.get(Source, f.source_id) is None:
        raise InvalidInputError(f"source: no source has id {f.source_id}")
    if f.arxiv_category is not None and not is_arxiv_category(f.arxiv_category):
        raise InvalidInputError(f"arxiv_category: not an arXiv category: {f.arxiv_category!r}")


def list_page(session: Session, query: ItemsQuery, *, secret: bytes, now: datetime) -> ItemsPage:
    """One page of items for ``query``, and the cursor of the next page (None at the end)."""
    check_filter(session, query.filter)
    resume = _read_cursor(query, secret, now)
    page = _search(session, query, resume)
    return ItemsPage(
        items=[item_hit(view, page.snippets.get(view.item.id or 0)) for view in page.items],
        next_cursor=_next_cursor(query, page, secret, now),
        order=query.effective_order,
    )
