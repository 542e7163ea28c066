"""The one clock: aware UTC now. Deciders take ``now`` as data; the orchestrators read it here."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)
