"""``GET /v1/sources/{id}/health``: how a source's polling goes, in words (read-only, public)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from service.errors import NotFoundError
from service.ingest.health import SourceHealth, describe
from service.outputs.api.deps import NowDep, SessionDep
from service.outputs.api.params import SourceId
from service.outputs.api.problems import problem_responses
from service.storage.sources import source_facts

router = APIRouter(tags=["sources"])


class SourceHealthOut(BaseModel):
    """A source's health: what happened last, what happens next, and why, in one sentence."""

    id: int
    name: str = Field(examples=["arXiv cs.CL"])
    url: str = Field(examples=["https://rss.arxiv.org/rss/cs.CL"])
    status: str = Field(
        description="new | ok | quiet | backing_off | gone | inactive", examples=["ok"]
    )
    sentence: str = Field(examples=["not modified (304); next poll 14:05 UTC"])
    reason: str = Field(description="What the last attempt said", examples=["not modified (304)"])
    polling_now: bool
    last_attempt: datetime | None
    last_success: datetime | None
    last_status: int | None = Field(description="HTTP status of the last attempt", examples=[304])
    consecutive_errors: int = Field(ge=0)
    next_poll: datetime | None = Field(description="None for an inactive source")
    items_last_7_days: int = Field(ge=0, description="Items dated within the last 7 days")

    @classmethod
    def from_health(cls, health: SourceHealth) -> SourceHealthOut:
        return cls(
            id=health.id,
            name=health.name,
            url=health.url,
            status=health.status,
            sentence=health.sentence,
            reason=health.reason,
            polling_now=health.polling_now,
            last_attempt=health.last_attempt_at,
            last_success=health.last_success_at,
            last_status=health.last_status,
            consecutive_errors=health.consecutive_errors,
            next_poll=health.next_poll_at,
            items_last_7_days=health.items_last_7_days,
        )


@router.get(
    "/v1/sources/{source_id}/health",
    summary="A source's polling health, in words",
    description="Last attempt and success, HTTP status, errors in a row, the reason as a "
    "sentence, the next poll and the items of the last 7 days. Open to read.",
    response_model=SourceHealthOut,
    responses=problem_responses(404, 422),
)
def source_health(source_id: SourceId, session: SessionDep, now: NowDep) -> SourceHealthOut:
    """Last attempt and success, HTTP status, errors in a row, the reason, the next poll."""
    facts = source_facts(session, now, [source_id])
    if not facts:
        raise NotFoundError(f"no source with id {source_id}")
    return SourceHealthOut.from_health(describe(facts[0], now))
