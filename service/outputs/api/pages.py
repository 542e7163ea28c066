"""The small HTML pages of one-click links (feedback, unsubscribe): markup and headers."""

from __future__ import annotations

import html
from typing import Any

PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
}
HTML_RESPONSE: dict[str, Any] = {
    "content": {"text/html": {"example": "<!doctype html><html>…<form method=post>…</html>"}},
    "description": "A small HTML page.",
}


def html_page(title: str, body: str) -> str:
    """A page with an escaped ``title`` and ``body`` (HTML the caller has escaped)."""
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=robots content="noindex"><meta name=viewport content="width=device-width">'
        f"<title>{html.escape(title)}</title></head>"
        '<body style="font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto">'
        f"<h1>{html.escape(title)}</h1>{body}</body></html>"
    )


def confirm_form(label: str) -> str:
    """A form that POSTs back to the same URL, with one button."""
    return (
        '<form method="post"><button type="submit" style="font-size:1.2rem;padding:.5rem 1rem">'
        f"{html.escape(label)}</button></form>"
    )
