"""Lenses: a ranked feed seen through URL parameters, and the per-day throttle (pure).

A lens is ``depth``, ``kinds``, ``topics``, ``limit`` and ``max_per_day`` over a profile's
ranked feed. ``throttle`` walks the ranked order and keeps at most ``max_per_day`` items of each
day (the day an item was first seen, in the profile's time zone), so a reader is not flooded
when a backlog arrives at once; the best-ranked items of each day are the ones kept.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import quote, urlencode

from service.errors import InvalidInputError
from service.records import KINDS

DEFAULT_LIMIT = 30
MAX_LIMIT = 100
MAX_PER_DAY = 100
KIND_NAMES = {"paper": "papers", "podcast": "podcasts", "post": "posts", "video": "videos"}
SUBSCRIPTIONS_PATH = "/v1/subscriptions"

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Lens:
    """How to look at a profile's ranked feed (None = the profile's own setting)."""

    depth: float | None = None
    kinds: tuple[str, ...] | None = None
    topics: tuple[str, ...] | None = None
    limit: int = DEFAULT_LIMIT
    max_per_day: int | None = None

    def check(self) -> None:
        """InvalidInputError naming the first bad parameter (topics are checked in storage)."""
        if self.depth is not None and not 0.0 <= self.depth <= 1.0:
            raise InvalidInputError(f"depth: must be from 0 to 1 (got {self.depth})")
        for kind in self.kinds or ():
            if kind not in KINDS:
                raise InvalidInputError(f"kinds: must be among {', '.join(KINDS)} (got {kind!r})")
        if not 1 <= self.limit <= MAX_LIMIT:
            raise InvalidInputError(f"limit: must be from 1 to {MAX_LIMIT} (got {self.limit})")
        if self.max_per_day is not None and not 1 <= self.max_per_day <= MAX_PER_DAY:
            raise InvalidInputError(
                f"max_per_day: must be from 1 to {MAX_PER_DAY} (got {self.max_per_day})"
            )

    @property
    def podcast_only(self) -> bool:
        return self.kinds == ("podcast",)

    def query(self) -> list[tuple[str, str]]:
        """The URL parameters that make this lens, in a fixed order (defaults left out)."""
        params: list[tuple[str, str]] = []
        if self.depth is not None:
            params.append(("depth", f"{self.depth:g}"))
        if self.kinds:
            params.append(("kinds", ",".join(self.kinds)))
        if self.topics:
            params.append(("topics", ",".join(self.topics)))
        if self.limit != DEFAULT_LIMIT:
            params.append(("limit", str(self.limit)))
        if self.max_per_day is not None:
            params.append(("max_per_day", str(self.max_per_day)))
        return params

    def describe(self) -> str:
        """A short label: ``depth 1 · podcasts · 5 a day``; empty for the profile's own feed."""
        parts = []
        if self.depth is not None:
            parts.append(f"depth {self.depth:g}")
        if self.kinds:
            parts.append(" and ".join(KIND_NAMES.get(kind, kind) for kind in self.kinds))
        if self.topics:
            parts.append(", ".join(self.topics))
        if self.max_per_day is not None:
            parts.append(f"{self.max_per_day} a day")
        return " · ".join(parts)


def lens_of(
    *,
    depth: float | None = None,
    kinds: Sequence[str] | None = None,
    topics: Sequence[str] | None = None,
    limit: int = DEFAULT_LIMIT,
    max_per_day: int | None = None,
) -> Lens:
    """A lens with kinds in canonical order and topics without repeats (one URL per lens)."""
    kinds_set = set(kinds or ())
    ordered = tuple(k for k in KINDS if k in kinds_set) + tuple(sorted(kinds_set - set(KINDS)))
    unique_topics = tuple(dict.fromkeys(topics or ()))
    return Lens(
        depth=depth,
        kinds=ordered or None,
        topics=unique_topics or None,
        limit=limit,
        max_per_day=max_per_day,
    )


def throttle(
    ranked: Sequence[T], *, day_of: Callable[[T], Hashable], max_per_day: int | None, limit: int
) -> list[T]:
    """The first ``limit`` items of ``ranked`` keeping at most ``max_per_day`` per day."""
    kept: list[T] = []
    per_day: Counter[Hashable] = Counter()
    for item in ranked:
        if len(kept) >= limit:
            break
        if max_per_day is not None:
            day = day_of(item)
            if per_day[day] >= max_per_day:
                continue
            per_day[day] += 1
        kept.append(item)
    return kept


def subscription_url(base_url: str, token: str, filename: str, lens: Lens | None = None) -> str:
    """``{base}/v1/subscriptions/{token}/{filename}?{lens parameters}``."""
    url = f"{base_url.rstrip('/')}{SUBSCRIPTIONS_PATH}/{quote(token, safe='')}/{filename}"
    params = lens.query() if lens else []
    return f"{url}?{urlencode(params)}" if params else url
