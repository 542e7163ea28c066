"""Shared shapes of request values: ids that fit the database, instants in UTC, slugs."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Path
from pydantic import AfterValidator, BeforeValidator

from service.storage.models import MAX_ROW_ID

SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
ARXIV_CATEGORY_PATTERN = r"^[a-z][a-z-]*(?:\.[A-Za-z-]+)?$"
_NUMBER = re.compile(r"^\s*[-+]?[0-9._eE]+\s*$")


def as_utc(value: datetime) -> datetime:
    """An instant in UTC; a value without an offset is taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is out of range once converted to UTC") from None


def no_timestamp(value: object) -> object:
    """Refuse bare numbers: an instant is written as ISO 8601 (2026-11-01T00:00:00Z)."""
    if isinstance(value, int | float) or (isinstance(value, str) and _NUMBER.match(value)):
        raise ValueError("write an ISO 8601 date-time such as 2026-11-01T00:00:00Z")
    return value


UTCDateTime = Annotated[datetime, BeforeValidator(no_timestamp), AfterValidator(as_utc)]
ItemId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="The item's id.", examples=[5123])]
SourceId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="The source's id.", examples=[12])]
