"""Request and response models of the source endpoints.

Shapes are checked here (types, lengths); meanings (known topics, free names, usable URLs) are
checked once, in ``service.storage.source_registry`` and ``service.ingest.probe``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from service.catalog import MAX_POLL_MINUTES, MIN_POLL_MINUTES
from service.ingest.probe import ProbeReport
from service.records import Kind, Level
from service.storage.models import Source
from service.storage.source_registry import MAX_NAME_CHARS, MAX_SOURCE_TOPICS, MAX_WEIGHT

State = Literal["new", "ok", "error", "gone"]
Topics = list[str]

_HEALTH_EXAMPLE: dict[str, Any] = {
    "state": "error",
    "last_outcome": "error",
    "last_error": "the server answered 503 Service Unavailable; retrying after 10:30 UTC",
    "last_status": 503,
    "consecutive_errors": 2,
    "last_attempt_at": "2026-11-25T10:00:00Z",
    "last_success_at": "2026-11-24T22:00:00Z",
    "next_poll_at": "2026-11-25T10:30:00Z",
}
SOURCE_EXAMPLE: dict[str, Any] = {
    "id": 12,
    "name": "Interconnects",
    "url": "https://www.interconnects.ai/feed",
    "kind": "post",
    "level": "practitioner",
    "topics": ["llm-nlp", "post-training"],
    "poll_minutes": None,
    "weight": 1.0,
    "site_url": "https://www.interconnects.ai",
    "origin": "api",
    "active": True,
    "feed_title": "Interconnects",
    "items": 214,
    "created_at": "2026-11-01T09:00:00Z",
    "updated_at": "2026-11-25T10:00:00Z",
    "health": _HEALTH_EXAMPLE,
}


class SourceHealth(BaseModel):
    """How polling goes, from the stored poll state."""

    state: str = Field(description="new (never polled), ok, error, or gone (410: removed).")
    last_outcome: str | None = Field(
        description="updated | not_modified | unchanged | empty | error | gone"
    )
    last_error: str | None = Field(description="The last failure, in words.")
    last_status: int | None = Field(description="HTTP status of the last attempt.")
    consecutive_errors: int
    last_attempt_at: datetime | None
    last_success_at: datetime | None
    next_poll_at: datetime | None
    sentence: str = Field(
        "",
        description='All of it in one sentence, e.g. "backing off after 5 errors: timed out '
        'after 30 s; next try 14:05 UTC" (the same as /v1/sources/{id}/health).',
    )


class SourceOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [SOURCE_EXAMPLE]})

    id: int
    name: str
    url: str
    kind: str
    level: str
    topics: list[str]
    poll_minutes: int | None = Field(description="Fixed poll interval; null = adaptive.")
    weight: float = Field(description="Trust in the ranking, (0, 5].")
    site_url: str | None
    origin: str = Field(description="catalog (feeds.yaml) | api | opml | local")
    active: bool = Field(description="false: deactivated, no longer polled; its items stay.")
    feed_title: str | None = Field(description="The title the feed gives itself.")
    items: int = Field(description="Items seen in this source.")
    created_at: datetime
    updated_at: datetime
    health: SourceHealth

    @classmethod
    def of(cls, source: Source, items: int, sentence: str = "") -> SourceOut:
        assert source.id is not None
        health = source.model_dump(include=_HEALTH_FIELDS)
        return cls(
            **source.model_dump(include=_PLAIN_FIELDS),
            items=items,
            health=SourceHealth(**health, sentence=sentence),
        )


_PLAIN_FIELDS = set(SourceOut.model_fields) - {"items", "health"}
_HEALTH_FIELDS = set(SourceHealth.model_fields) - {"sentence"}


class SourcesResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"sources": [SOURCE_EXAMPLE], "next_cursor": None}]}
    )

    sources: list[SourceOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null at end.")


class SourceFields(BaseModel):
    """The editable fields of a source; absent = unchanged (or the default)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=MAX_NAME_CHARS)
    kind: Kind | None = None
    level: Level | None = None
    topics: Topics | None = Field(
        None,
        max_length=MAX_SOURCE_TOPICS,
        description="Taxonomy slugs its items are about (see GET /v1/topics).",
    )
    poll_minutes: int | None = Field(
        None,
        ge=MIN_POLL_MINUTES,
        le=MAX_POLL_MINUTES,
        description="A fixed poll interval in minutes; null = adaptive.",
    )
    weight: float | None = Field(None, gt=0, le=MAX_WEIGHT, description="Trust, (0, 5].")


class SourceCreate(SourceFields):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "url": "https://www.interconnects.ai/feed",
                    "kind": "post",
                    "topics": ["llm-nlp"],
                    "probe": True,
                }
            ]
        },
    )

    url: str = Field(min_length=1, max_length=2048, description="The feed's http(s) URL.")
    probe: bool = Field(
        False,
        description="Fetch and parse the feed once and report what is there (nothing is stored "
        "from it but its title). name and kind default to what the probe found.",
    )

    def changes(self) -> dict[str, Any]:
        values = self.model_dump(exclude_unset=True, exclude={"url", "probe", "name"})
        return {k: v for k, v in values.items() if v is not None or k == "poll_minutes"}


class SourcePatch(SourceFields):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"weight": 1.5, "topics": ["post-training"], "active": True}]
        },
    )

    active: bool | None = Field(None, description="false deactivates (same as DELETE).")

    def changes(self) -> dict[str, Any]:
        values = self.model_dump(exclude_unset=True)
        return {k: v for k, v in values.items() if v is not None or k == "poll_minutes"}


class ProbeOut(BaseModel):
    """What one fetch of the feed found, or why it failed."""

    ok: bool
    final_url: str | None = Field(description="Where the feed was found after redirects.")
    title: str | None
    site_url: str | None
    format: str | None = Field(description="rss20, atom10, rss10, json1 …")
    entries: int
    kind_guess: str | None
    warning: str | None = Field(description="A problem the feed has but survived.")
    error: str | None = Field(description="Why the feed could not be read, in words.")

    @classmethod
    def of(cls, report: ProbeReport) -> ProbeOut:
        return cls(
            ok=report.ok,
            final_url=report.final_url,
            title=report.title,
            site_url=report.site_url,
            format=report.format,
            entries=report.entries,
            kind_guess=report.kind_guess,
            warning=report.warning,
            error=report.error,
        )


class SourceCreated(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "source": {**SOURCE_EXAMPLE, "health": {**_HEALTH_EXAMPLE, "state": "new"}},
                    "probe": {
                        "ok": True,
                        "final_url": "https://www.interconnects.ai/feed",
                        "title": "Interconnects",
                        "site_url": "https://www.interconnects.ai",
                        "format": "rss20",
                        "entries": 20,
                        "kind_guess": "post",
                        "warning": None,
                        "error": None,
                    },
                }
            ]
        }
    )

    source: SourceOut
    probe: ProbeOut | None = Field(description="Present when the request asked for a probe.")
