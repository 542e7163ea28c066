"""HTTP caching for generated documents: ETag, Last-Modified, and 304 on a conditional GET.

The ETag is a strong validator: a hash of the body, so it changes exactly when the bytes do.
``If-None-Match`` wins over ``If-Modified-Since`` (RFC 9110 §13.2.2); either way a 304 carries
the same validators and caching headers as the 200 would, and no body.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime

from fastapi import Request, Response

ETAG_HEX_CHARS = 32


def entity_tag(body: bytes) -> str:
    """A strong ETag for ``body``: ``"<first 32 hex digits of its SHA-256>"``."""
    return f'"{hashlib.sha256(body).hexdigest()[:ETAG_HEX_CHARS]}"'


def http_date(moment: datetime) -> str:
    """``Fri, 20 Nov 2026 12:00:00 GMT`` (whole seconds)."""
    return format_datetime(moment.astimezone(UTC).replace(microsecond=0), usegmt=True)


def _matches(if_none_match: str, etag: str) -> bool:
    """Weak comparison (``W/"x"`` matches ``"x"``), as GET requires; ``*`` matches anything."""
    if if_none_match.strip() == "*":
        return True
    wanted = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == wanted for tag in if_none_match.split(","))


def _not_modified_since(if_modified_since: str, last_modified: datetime) -> bool:
    try:
        since = parsedate_to_datetime(if_modified_since)
    except (TypeError, ValueError, IndexError):
        return False  # an unreadable date is ignored (RFC 9110 §13.1.3)
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return last_modified.astimezone(UTC).replace(microsecond=0) <= since


def is_not_modified(
    *, if_none_match: str | None, if_modified_since: str | None, etag: str, last_modified: datetime
) -> bool:
    """Whether a GET with these request headers may be answered 304 (pure)."""
    if if_none_match is not None:
        return _matches(if_none_match, etag)
    if if_modified_since is not None:
        return _not_modified_since(if_modified_since, last_modified)
    return False


def cached_response(
    request: Request,
    body: bytes,
    *,
    media_type: str,
    last_modified: datetime,
    cache_control: str,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """200 with ``body`` and its validators, or 304 when the client's copy is current."""
    etag = entity_tag(body)
    validators = {
        "ETag": etag,
        "Last-Modified": http_date(last_modified),
        "Cache-Control": cache_control,
        **(headers or {}),
    }
    if is_not_modified(
        if_none_match=request.headers.get("if-none-match"),
        if_modified_since=request.headers.get("if-modified-since"),
        etag=etag,
        last_modified=last_modified,
    ):
        return Response(status_code=304, headers=validators)
    return Response(body, media_type=media_type, headers=validators)
