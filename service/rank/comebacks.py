"""Papers coming back: what happened to a paper a profile liked or saved since then (pure).

Each thing that can happen is an *event* with a stable name, so it is told once:

    v3                a new version ("v3 posted: 'camera-ready, adds ablations'")
    doi               a DOI was assigned
    journal           a journal reference appeared
    coverage:<id>     a post or episode now links the paper

``comebacks`` compares a paper's current state with the events already recorded for the profile.
The first time a paper is watched its current state is the baseline (recorded, never shown):
only what happens afterwards comes back.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from service.records import WatchedPaper

COMMENT_CHARS = 120


@dataclass(frozen=True, slots=True)
class ComebackEvent:
    item_id: int
    event: str
    reason: str
    baseline: bool  # the state when watching began: recorded, not shown


def events_of(paper: WatchedPaper) -> list[tuple[str, str]]:
    """Every (event, reason) the paper's current state holds."""
    found: list[tuple[str, str]] = []
    if paper.version and paper.version > 1:
        note = _short(paper.comments)
        said = f": '{note}'" if note else ""
        found.append((f"v{paper.version}", f"v{paper.version} posted{said}"))
    if paper.doi:
        found.append(("doi", f"DOI assigned: {paper.doi}"))
    if paper.journal_ref:
        found.append(("journal", f"journal reference: {_short(paper.journal_ref)}"))
    for item_id, title in paper.covering:
        found.append((f"coverage:{item_id}", f"new coverage: '{_short(title)}'"))
    return found


def comebacks(paper: WatchedPaper, recorded: Collection[str]) -> tuple[ComebackEvent, ...]:
    """The events of ``paper`` not in ``recorded``; all baseline when nothing was recorded."""
    first_look = not recorded
    return tuple(
        ComebackEvent(paper.item_id, event, reason, baseline=first_look)
        for event, reason in events_of(paper)
        if event not in recorded
    ) or (
        (ComebackEvent(paper.item_id, "watched", "watching began", baseline=True),)
        if first_look
        else ()
    )


def _short(text: str | None) -> str:
    clean = " ".join((text or "").split())
    return clean if len(clean) <= COMMENT_CHARS else clean[: COMMENT_CHARS - 1].rstrip() + "…"
