"""What goes into one digest (pure): items chosen to fit the reader's time, in sections.

    ranked items not sent before (rank order) -> minutes and value of each
        -> choose (a greedy knapsack on value per minute) -> sections -> Digest

**Minutes**: a paper is read as its abstract (``ABSTRACT_MINUTES``), a post by its reading time,
a podcast or video by its duration; unknown lengths take a default per kind.

**Value** comes from rank alone: the item at rank r (0-based, among the items not sent before)
is worth ``1 / log2(r + 2)``, the discount of DCG, so better-ranked items are worth more and the
rank order is the value order.

**Choice**: the classic modified greedy for a 0/1 knapsack, with a cap on the item count. Take
items by value per minute, best first, skipping any that no longer fit, until ``max_items``; do
the same in plain rank order; keep whichever carries more value (or the single most valuable
item that fits, if that is worth more still). So the choice never holds less value than filling
in rank order, never exceeds the budget or the item cap, and (when the cap does not bind) is
worth at least half of the best possible choice.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from service.outputs.schemas import cut_at_word
from service.rank.model import Candidate, RankedItem, TopicIndex

ABSTRACT_MINUTES = 2
DEFAULT_MINUTES = {"paper": ABSTRACT_MINUTES, "post": 5, "video": 15, "podcast": 45}
SUMMARY_CHARS = 220  # about two lines of an email
SECTIONS = (
    ("deep", "Deep in your topics"),
    ("wider", "The wider field"),
    ("listen", "To listen"),
)
_SPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


@dataclass(frozen=True, slots=True)
class Link:
    """A labelled link to the item itself (read, abstract, PDF, listen)."""

    label: str
    url: str


@dataclass(frozen=True, slots=True)
class DigestEntry:
    """One item as the digest shows it."""

    item_id: int
    rank: int  # 0-based among the items not sent before
    kind: str
    title: str
    source: str
    minutes: int
    summary: str  # plain text, about two lines
    why: str
    area: str | None  # the label of its area
    published_at: datetime
    links: tuple[Link, ...]
    section: str  # deep | wider | listen


@dataclass(frozen=True, slots=True)
class Section:
    key: str
    title: str
    entries: tuple[DigestEntry, ...]


@dataclass(frozen=True, slots=True)
class RisingTheme:
    """A line of "Rising this week": a theme of the trend radar, why it is shown, a link."""

    label: str
    why: str
    url: str | None


@dataclass(frozen=True, slots=True)
class Digest:
    """The content of one digest: sections of chosen items and the totals of its header line."""

    sections: tuple[Section, ...]  # only those with entries, in SECTIONS order
    budget_minutes: int
    areas_available: int  # areas with items in the period
    reason: str | None = None  # why nothing was chosen, in words (an empty digest only)
    rising: tuple[RisingTheme, ...] = ()  # "Rising this week" (the trend radar), after the items

    @property
    def entries(self) -> tuple[DigestEntry, ...]:
        """Every chosen item, in rank order."""
        return tuple(sorted((e for s in self.sections for e in s.entries), key=lambda e: e.rank))

    @property
    def item_count(self) -> int:
        return sum(len(section.entries) for section in self.sections)

    @property
    def minutes(self) -> int:
        return sum(entry.minutes for section in self.sections for entry in section.entries)

    @property
    def areas_covered(self) -> int:
        return len({e.area for s in self.sections for e in s.entries if e.area is not None})

    @property
    def empty(self) -> bool:
        return self.item_count == 0

    @property
    def header(self) -> str:
        """``12 items · 38 min · 9 of 14 areas``."""
        count = self.item_count
        parts = [f"{count} item{'' if count == 1 else 's'}", f"{self.minutes} min"]
        if self.areas_available:
            parts.append(f"{self.areas_covered} of {self.areas_available} areas")
        return " · ".join(parts)


# --------------------------------------------------------------------------- minutes and value


def minutes_of(candidate: Candidate) -> int:
    """Minutes the item asks of the reader: an abstract, a reading time, or a duration."""
    if candidate.kind == "paper":
        return ABSTRACT_MINUTES
    if candidate.kind in ("podcast", "video") and candidate.duration_seconds:
        return max(1, math.ceil(candidate.duration_seconds / 60))
    if candidate.reading_minutes:
        return max(1, candidate.reading_minutes)
    return DEFAULT_MINUTES.get(candidate.kind, DEFAULT_MINUTES["post"])


def rank_value(rank: int) -> float:
    """The worth of the item at 0-based ``rank``: 1, 0.63, 0.5, 0.43, ... (DCG's discount)."""
    return 1.0 / math.log2(rank + 2)


# --------------------------------------------------------------------------- the knapsack


def fill(order: Sequence[int], minutes: Sequence[int], *, budget: int, max_items: int) -> list[int]:
    """Indexes in ``order`` that fit the budget (the rest skipped), up to ``max_items``."""
    taken: list[int] = []
    used = 0
    for index in order:
        if len(taken) >= max_items:
            break
        if used + minutes[index] <= budget:
            taken.append(index)
            used += minutes[index]
    return taken


def choose(
    values: Sequence[float], minutes: Sequence[int], *, budget: int, max_items: int
) -> tuple[int, ...]:
    """The indexes to send, ascending: the best of the value-per-minute and rank-order fills."""
    if len(values) != len(minutes):
        raise ValueError("values and minutes must have the same length")
    if any(m <= 0 for m in minutes):
        raise ValueError("every item must take at least one minute")
    by_density = sorted(range(len(values)), key=lambda i: (-values[i] / minutes[i], i))
    by_value = sorted(range(len(values)), key=lambda i: (-values[i], i))
    candidates = [
        fill(by_density, minutes, budget=budget, max_items=max_items),
        fill(range(len(values)), minutes, budget=budget, max_items=max_items),
        fill(by_value, minutes, budget=budget, max_items=min(1, max_items)),
    ]
    best = max(candidates, key=lambda picked: sum(values[i] for i in picked))
    return tuple(sorted(best))


# --------------------------------------------------------------------------- entries


def clean_text(text: str) -> str:
    """One line of plain text: control and bidi-override characters out, spaces collapsed."""
    return " ".join(_CONTROL.sub(" ", text).split())


def two_lines(text: str, limit: int = SUMMARY_CHARS) -> str:
    """``text`` cut to about two lines, at a word boundary, with an ellipsis if cut."""
    return cut_at_word(clean_text(text), limit)


def web_url(url: str | None) -> str | None:
    """``url`` if it is an absolute http(s) URL without spaces or controls; None otherwise."""
    if not url or len(url) > 2048 or _SPACE_OR_CONTROL.search(url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return url


def links_of(candidate: Candidate) -> tuple[Link, ...]:
    """Abstract and PDF for papers, listen and episode page for podcasts, read or watch else."""
    found: list[tuple[str, str | None]] = []
    if candidate.kind == "paper" and candidate.arxiv_id:
        found += [("Abstract", f"https://arxiv.org/abs/{candidate.arxiv_id}")]
        found += [("PDF", candidate.pdf_url)]
    elif candidate.kind == "podcast":
        found += [("Listen", candidate.enclosure_url), ("Episode page", candidate.url)]
    else:
        found += [("Watch" if candidate.kind == "video" else "Read", candidate.url)]
    links = [Link(label, safe) for label, url in found if (safe := web_url(url)) is not None]
    return tuple(dict.fromkeys(links))


def section_of(item: RankedItem) -> str:
    """listen for podcasts; deep when it matched an interest, keyword or author; wider else."""
    if item.candidate.kind == "podcast":
        return "listen"
    why = item.why
    return "deep" if why.interests or why.keywords or why.authors else "wider"


def entry_of(item: RankedItem, rank: int, topics: TopicIndex) -> DigestEntry:
    c = item.candidate
    return DigestEntry(
        item_id=c.id,
        rank=rank,
        kind=c.kind,
        title=clean_text(c.title) or "(untitled)",
        source=clean_text(c.sources[0].name) if c.sources else "",
        minutes=minutes_of(c),
        summary=two_lines(c.summary),
        why=clean_text(item.why.summary),
        area=topics.label(c.area) if c.area else None,
        published_at=c.published_at,
        links=links_of(c),
        section=section_of(item),
    )


def _sections(entries: Sequence[DigestEntry]) -> tuple[Section, ...]:
    sections = []
    for key, title in SECTIONS:
        chosen = tuple(e for e in entries if e.section == key)
        if chosen:
            sections.append(Section(key, title, chosen))
    return tuple(sections)


def compose_digest(
    ranked: Sequence[RankedItem],
    *,
    topics: TopicIndex,
    budget_minutes: int,
    max_items: int,
    areas_available: int,
) -> Digest:
    """The digest of ``ranked`` (rank order, none sent before) within the budget and item cap."""
    entries = [entry_of(item, rank, topics) for rank, item in enumerate(ranked)]
    values = [rank_value(entry.rank) for entry in entries]
    minutes = [entry.minutes for entry in entries]
    picked = choose(values, minutes, budget=budget_minutes, max_items=max_items)
    return Digest(_sections([entries[i] for i in picked]), budget_minutes, areas_available)
