"""Liveness and readiness."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from service.storage.engine import Database

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    status: Literal["ready", "not ready"]
    database: str
    migration: str | None
    expected_migration: str
    detail: str = ""
    tagging: str = ""  # "model <version>", or "keyword rules only: <why>"


@router.get("/healthz", summary="Process is alive", response_model=Health)
async def healthz() -> Health:
    """Answers as long as the process serves requests; touches nothing else (a coroutine: no
    thread-pool hop for a constant)."""
    return Health()


@router.get(
    "/readyz",
    summary="Ready to serve",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "Database unreachable or not migrated"}},
)
def readyz(request: Request) -> Readiness | JSONResponse:
    """Ready when the database answers and its schema is at the newest migration."""
    # Alembic (migrations) and numpy (the topic model) load with the first probe, not at start.
    from service.storage.migrate import current_revision, head_revision

    db: Database = request.app.state.db
    head = head_revision()
    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        revision = current_revision(db)
    except SQLAlchemyError as exc:
        body = Readiness(
            status="not ready",
            database="unreachable",
            migration=None,
            expected_migration=head,
            detail=f"database unreachable: {type(exc).__name__}",
        )
        return JSONResponse(body.model_dump(), status_code=503)
    if revision != head:
        body = Readiness(
            status="not ready",
            database="ok",
            migration=revision,
            expected_migration=head,
            detail="run `staycurrent db upgrade`",
        )
        return JSONResponse(body.model_dump(), status_code=503)
    return Readiness(
        status="ready",
        database="ok",
        migration=revision,
        expected_migration=head,
        tagging=_tagging(request, db),
    )


def _tagging(request: Request, db: Database) -> str:
    """How items are tagged: with the topic model (which), or by keyword rules alone (why).

    Read once per process (the model loads in a fraction of a second, too slow for every probe).
    """
    status = getattr(request.app.state, "tagging", None)
    if status is None:
        from service.ingest.topiclearn import load_topic_model

        status = request.app.state.tagging = load_topic_model(db).status
    return str(status)
