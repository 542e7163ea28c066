"""A digest as a letter (pure): subject, HTML and plain text from Jinja2 templates.

The templates live in ``templates/``: ``digest.html.j2`` (autoescaped, inline CSS, a table
layout that survives email clients, no scripts, no images) and ``digest.txt.j2``. Everything an
item brings from a feed reaches them as plain text (titles and summaries were stripped of markup
at ingest, and are escaped again here) and every link is an absolute http(s) URL
(``compose.web_url``) or one of our signed links; nothing else becomes an ``href``.

Signed links are made by callables the caller passes in (``Letterhead``), so rendering needs no
secret and no clock of its own.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from service.outputs.digest.compose import Digest, DigestEntry, Link

FEEDBACK_LABELS = (("like", "More like this"), ("dislike", "Less like this"), ("save", "Save"))
KIND_LABELS = {"paper": "Paper", "post": "Post", "podcast": "Podcast", "video": "Video"}
WEEKDAYS = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split()
MONTHS = (
    "January February March April May June July August September October November December".split()
)
RISING_TITLE = "Rising this week"
EMPTY_NOTE = (
    "Nothing new matched your digest this time. This note comes because you asked for one "
    "on quiet days; turn it off with digest_empty_note = false."
)


@dataclass(frozen=True, slots=True)
class Letterhead:
    """Who the letter is for and how to make its signed links."""

    profile_name: str
    local_date: date
    cadence: str  # daily | weekdays | weekly
    unsubscribe_url: str
    feedback_url: Callable[[int, str], str]  # (item id, signal) -> a signed one-click URL


@dataclass(frozen=True, slots=True)
class Letter:
    """A rendered digest, ready to become a message."""

    subject: str
    html: str
    text: str


@functools.cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("service.outputs.digest", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def date_label(day: date) -> str:
    """``Tuesday 24 November 2026`` (English, whatever the server's locale)."""
    return f"{WEEKDAYS[day.weekday()]} {day.day} {MONTHS[day.month - 1]} {day.year}"


def short_date(day: date) -> str:
    """``Tue 24 Nov``."""
    return f"{WEEKDAYS[day.weekday()][:3]} {day.day} {MONTHS[day.month - 1][:3]}"


def heading_of(cadence: str) -> str:
    return "Your weekly digest" if cadence == "weekly" else "Your daily digest"


def subject_of(digest: Digest, head: Letterhead) -> str:
    """``Staycurrent, Tue 24 Nov: 12 items · 38 min · 9 of 14 areas``."""
    when = short_date(head.local_date)
    if head.cadence == "weekly":
        when = f"week of {when}"
    return f"Staycurrent, {when}: {'nothing new' if digest.empty else digest.header}"


def _meta(entry: DigestEntry) -> str:
    parts = [KIND_LABELS.get(entry.kind, entry.kind.title())]
    if entry.source:
        parts.append(entry.source)
    parts.append(f"{entry.minutes} min")
    if entry.area:
        parts.append(entry.area)
    return " · ".join(parts)


def _entry(entry: DigestEntry, number: int, head: Letterhead) -> dict[str, Any]:
    feedback = [
        Link(label, head.feedback_url(entry.item_id, sig)) for sig, label in FEEDBACK_LABELS
    ]
    return {
        "number": number,
        "title": entry.title,
        "meta": _meta(entry),
        "summary": entry.summary,
        "why": entry.why,
        "primary_url": entry.links[0].url if entry.links else None,
        "links": entry.links,
        "feedback": feedback,
    }


def _context(digest: Digest, head: Letterhead) -> dict[str, Any]:
    numbers = {entry.item_id: n for n, entry in enumerate(digest.entries, start=1)}
    sections = [
        {
            "title": section.title,
            "entries": [_entry(e, numbers[e.item_id], head) for e in section.entries],
        }
        for section in digest.sections
    ]
    footer = (
        f"Sent to {head.profile_name} by Staycurrent. Chosen to fit {digest.budget_minutes} "
        "minutes; your likes and dislikes steer what comes next."
    )
    return {
        "subject": subject_of(digest, head),
        "heading": heading_of(head.cadence),
        "date_label": date_label(head.local_date),
        "header": "Nothing new this time" if digest.empty else digest.header,
        "preheader": digest.header,
        "empty": digest.empty,
        "empty_note": f"{EMPTY_NOTE} Why: {digest.reason}." if digest.reason else EMPTY_NOTE,
        "sections": sections,
        "rising": [{"label": r.label, "why": r.why, "url": r.url} for r in digest.rising],
        "rising_title": RISING_TITLE,
        "footer": footer,
        "unsubscribe_url": head.unsubscribe_url,
    }


def render_letter(digest: Digest, head: Letterhead) -> Letter:
    """The digest as subject, HTML and plain text."""
    context = _context(digest, head)
    environment = _environment()
    html = environment.get_template("digest.html.j2").render(context)
    text = environment.get_template("digest.txt.j2").render(context)
    return Letter(subject=context["subject"], html=html, text=text)
