"""Rendering the reading page: one Jinja2 environment (autoescaped), its filters, the headers.

Every string from a feed reaches the page through autoescaping; links to the outside are kept
only when they are http(s) (``outside_link``), so a ``javascript:`` URL in a hostile feed is
shown as text, never as a link. The Content-Security-Policy allows our own script and style only.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
}


def outside_link(url: str | None) -> str | None:
    """``url`` when it is an absolute http(s) address, else None (shown as text, not linked)."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    return url.strip() if parts.scheme in ("http", "https") and parts.netloc else None


def short_time(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def day(moment: datetime | None) -> str:
    return "" if moment is None else moment.astimezone(UTC).strftime("%d %b %Y")


def duration(minutes: int | None, kind: str) -> str:
    """ "12 min read" / "45 min listen"; empty when unknown."""
    if not minutes:
        return ""
    verb = "listen" if kind in ("podcast", "video") else "read"
    return f"{minutes} min {verb}"


def percent(value: float) -> str:
    return f"{round(value * 100)}%"


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("service.outputs.web", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        outside_link=outside_link,
        short_time=short_time,
        day=day,
        duration=duration,
        percent=percent,
    )
    return env


def page(
    request: Request, template: str, context: dict[str, Any], *, status_code: int = 200
) -> HTMLResponse:
    """The template rendered with the page's base path, as an HTML response with our headers."""
    base = str(request.scope.get("root_path") or "")
    html = environment().get_template(template).render(base=base, **context)
    return HTMLResponse(html, status_code=status_code, headers=PAGE_HEADERS)
