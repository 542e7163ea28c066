"""Shared shapes of request values: ids that fit the database, instants in UTC, slugs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Path
from pydantic import AfterValidator

from service.storage.models import MAX_ROW_ID

SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
ARXIV_CATEGORY_PATTERN = r"^[a-z][a-z-]*(?:\.[A-Za-z-]+)?$"


def as_utc(value: datetime) -> datetime:
    """An instant in UTC; a value without an offset is taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is out of range once converted to UTC") from None


UTCDateTime = Annotated[datetime, AfterValidator(as_utc)]
ItemId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="The item's id.", examples=[5123])]
SourceId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="The source's id.", examples=[12])]
