"""Pure parsers for the HTTP headers that tell a poller when to come back.

``Retry-After`` (seconds or an HTTP date), ``Cache-Control`` (max-age / s-maxage) and ``Expires``.
Each takes the raw header value (or None) and returns a typed value or None; none of them raises,
whatever a server sends. Datetimes are timezone-aware UTC.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from http import HTTPStatus

MAX_RETRY_AFTER = timedelta(days=366)
"""A longer Retry-After is clamped to this (the scheduler clamps further; this avoids overflow)."""
MAX_AGE_CEILING = 2**31
"""RFC 9111 §1.2.2: a delta-seconds larger than this is taken as this."""

_DIGITS = re.compile(r"[0-9]+")
_DIRECTIVE = re.compile(r'\s*([^\s=,]+)\s*(?:=\s*("[^"]*"|[^,]*))?\s*(?:,|$)')


def parse_http_date(value: str | None) -> datetime | None:
    """An HTTP date (IMF-fixdate, RFC 850 or asctime form) as aware UTC, or None if unreadable."""
    if not value or not value.strip():
        return None
    try:
        parsed = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed.tzinfo is None:  # asctime form and "-0000": HTTP dates are always GMT
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _delta_seconds(value: str) -> int | None:
    value = value.strip().strip('"').strip()
    if not _DIGITS.fullmatch(value):
        return None
    return min(int(value), MAX_AGE_CEILING)


def parse_retry_after(value: str | None, now: datetime) -> datetime | None:
    """When the server asks us to come back: ``now`` plus seconds, or the HTTP date it gave."""
    if value is None:
        return None
    seconds = _delta_seconds(value)
    if seconds is not None:
        return now.astimezone(UTC) + min(timedelta(seconds=seconds), MAX_RETRY_AFTER)
    when = parse_http_date(value)
    if when is None:
        return None
    return min(when, now.astimezone(UTC) + MAX_RETRY_AFTER)


def cache_directives(value: str | None) -> dict[str, str | None]:
    """Cache-Control directives, lower-cased names; the first occurrence of each wins."""
    directives: dict[str, str | None] = {}
    for match in _DIRECTIVE.finditer(value or ""):
        name = match.group(1).lower()
        if name not in directives:
            argument = match.group(2)
            directives[name] = None if argument is None else argument.strip().strip('"')
    return directives


def parse_max_age(cache_control: str | None) -> int | None:
    """Seconds the response stays fresh: max-age, else s-maxage; None if neither is valid.

    ``no-cache`` and ``no-store`` are ignored on purpose: they say the bytes must be revalidated
    or not kept, not that a feed should be polled more often; the scheduler's minimum interval
    and conditional GET already cover that.
    """
    directives = cache_directives(cache_control)
    for name in ("max-age", "s-maxage"):
        argument = directives.get(name)
        seconds = None if argument is None else _delta_seconds(argument)
        if seconds is not None:
            return seconds
    return None


def parse_expires(value: str | None) -> datetime | None:
    """The Expires date as aware UTC; None when absent or invalid (``0``, ``-1``: "stale now")."""
    return parse_http_date(value)


def describe_status(status: int) -> str:
    """``404 Not Found`` for a known status, the bare number for an unknown one."""
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)
