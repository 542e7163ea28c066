"""``GET /metrics`` in the Prometheus text format (version 0.0.4).

Two kinds of figures:
- read from the database at scrape time, so every API process reports the same totals: sources
  by state, polls and errors of the last 24 hours by outcome and reason, items by kind, digests
  by status;
- measured in this process: request latency by method, route template and status class (with
  several uvicorn workers, each scrape reaches one of them — label by instance in Prometheus or
  scrape each worker on its own port if you need every request counted).
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from sqlmodel import Session, col, func, select

from service.clock import utcnow
from service.storage.models import Delivery, Item, PollLog, Source

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
router = APIRouter(tags=["health"])


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(pairs: Iterable[tuple[str, str]]) -> str:
    inner = ",".join(f'{name}="{_escape(value)}"' for name, value in pairs)
    return f"{{{inner}}}" if inner else ""


@dataclass
class _Histogram:
    counts: list[int] = field(default_factory=lambda: [0] * (len(BUCKETS) + 1))
    total: float = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect.bisect_left(BUCKETS, seconds)] += 1
        self.total += seconds


class RequestLatency:
    """Request durations in this process, by (method, route template, status class)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._series: dict[tuple[str, str, str], _Histogram] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, f"{status // 100}xx")
        with self._lock:
            self._series.setdefault(key, _Histogram()).observe(seconds)

    def lines(self) -> list[str]:
        name = "staycurrent_http_request_duration_seconds"
        out = [f"# HELP {name} Time to answer a request.", f"# TYPE {name} histogram"]
        with self._lock:
            series = sorted(self._series.items())
            for (method, route, status), hist in series:
                base = [("method", method), ("route", route), ("status", status)]
                running = 0
                for bound, count in zip((*BUCKETS, float("inf")), hist.counts, strict=True):
                    running += count
                    le = "+Inf" if bound == float("inf") else repr(bound)
                    out.append(f"{name}_bucket{_labels([*base, ('le', le)])} {running}")
                out.append(f"{name}_sum{_labels(base)} {hist.total:.6f}")
                out.append(f"{name}_count{_labels(base)} {running}")
        return out


Labels = tuple[tuple[str, str], ...]


def _gauge(name: str, help_text: str, rows: Iterable[tuple[Labels, int]]) -> list[str]:
    out = [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
    out += [f"{name}{_labels(labels)} {value}" for labels, value in rows]
    return out


def _by(session: Session, label: str, column: Any, *where: Any) -> list[tuple[Labels, int]]:
    """Counts of rows grouped by ``column``, as (labels, count) pairs."""
    stmt = select(column, func.count()).where(*where).group_by(column)
    return [(((label, str(value)),), count) for value, count in session.exec(stmt)]


def database_lines(session: Session) -> list[str]:
    """The figures every process reads alike from the database."""
    since = col(PollLog.started_at) >= utcnow() - timedelta(hours=24)
    state_rows = session.exec(
        select(Source.state, Source.active, func.count()).group_by(
            col(Source.state), col(Source.active)
        )
    )
    sources = [((("state", s), ("active", str(a).lower())), n) for s, a, n in state_rows]
    # Counted on the items themselves: polls, `staycurrent ingest` and every other path that stores.
    day_ago = utcnow() - timedelta(hours=24)
    new_items = session.exec(
        select(func.count()).select_from(Item).where(col(Item.first_seen_at) >= day_ago)
    )
    failed = col(PollLog.error_kind).is_not(None)
    return [
        *_gauge("staycurrent_sources", "Sources by state.", sources),
        *_gauge(
            "staycurrent_polls_24h",
            "Poll attempts in the last 24 hours, by outcome.",
            _by(session, "outcome", col(PollLog.outcome), since),
        ),
        *_gauge(
            "staycurrent_poll_errors_24h",
            "Failed polls in the last 24 hours, by reason.",
            _by(session, "reason", col(PollLog.error_kind), since, failed),
        ),
        *_gauge(
            "staycurrent_items_ingested_24h",
            "New items stored in the last 24 hours.",
            [((), int(new_items.one()))],
        ),
        *_gauge("staycurrent_items", "Stored items by kind.", _by(session, "kind", col(Item.kind))),
        *_gauge(
            "staycurrent_digests",
            "Digest deliveries by status.",
            _by(session, "status", col(Delivery.status)),
        ),
    ]


def install_metrics(app: FastAPI) -> RequestLatency:
    """Mount /metrics; the returned ``RequestLatency`` is fed by ``RequestLog`` (the one plain ASGI
    middleware that times every request, by route template so ids don't multiply series)."""
    latency = RequestLatency()
    app.state.latency = latency
    app.include_router(router)
    return latency


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={
        200: {"content": {CONTENT_TYPE: {"example": 'staycurrent_items{kind="paper"} 1200'}}}
    },
)
def metrics(request: Request) -> Response:
    """Sources by state, polls and errors by reason, items, digests, and request latency."""
    with request.app.state.db.session() as session:
        lines = database_lines(session)
    lines += request.app.state.latency.lines()
    return Response("\n".join(lines) + "\n", media_type=CONTENT_TYPE)
