"""Both readers on the same bytes: the fast lxml reader and feedparser, through parse's own glue.

``both_readers`` returns what the fast reader made of a document (None when it declined) and what
feedparser made of it, each as a ``ParsedFeed`` or the reason of the ``ParseError`` it raised.
Tests compare the two; nothing here decides what the right answer is.
"""

from __future__ import annotations

from dataclasses import dataclass

from service.errors import ParseError
from service.ingest import parse
from service.ingest.fastparse import Unsupported, read_feed
from service.ingest.looseparse import read_refused_feed
from service.ingest.prolog import clean_prolog
from service.records import ParsedFeed

Outcome = ParsedFeed | str  # a feed, or the reason it was refused


@dataclass(frozen=True)
class Readings:
    fast: Outcome | None  # None: the fast reader declined the document
    reference: Outcome  # feedparser's
    declined_because: str | None = None


def _outcome(result: object, body: bytes) -> Outcome:
    try:
        return parse._feed_from(result, clean_prolog(body))
    except ParseError as exc:
        return exc.reason


def both_readers(body: bytes, *, url: str = "", content_type: str | None = None) -> Readings:
    """The fast reader's and feedparser's reading of ``body`` (an XML document)."""
    data = clean_prolog(body).data
    headers = parse._response_headers(data, content_type, url)
    reference = _outcome(parse._run_feedparser(data, headers), body)
    try:
        fast_result = read_feed(data, headers)
    except Unsupported as exc:
        return Readings(None, reference, str(exc))
    return Readings(_outcome(fast_result, body), reference)


def loose_readers(
    body: bytes, *, url: str = "", content_type: str | None = None
) -> tuple[Outcome | None, Outcome]:
    """The shortcut's reading of a document expat refuses (None when expat accepts it), and
    feedparser's own reading."""
    data = clean_prolog(body).data
    headers = parse._response_headers(data, content_type, url)
    reference = _outcome(parse._run_feedparser(data, headers), body)
    refused = read_refused_feed(data, headers)
    return (None if refused is None else _outcome(refused, body)), reference


def field_differences(fast: Outcome, reference: Outcome) -> list[str]:
    """Where two readings differ, field by field (for a readable assertion message)."""
    if isinstance(fast, str) or isinstance(reference, str):
        return [] if fast == reference else [f"fast={fast!r} reference={reference!r}"]
    differences = [
        f"feed.{name}: fast={getattr(fast, name)!r} reference={getattr(reference, name)!r}"
        for name in ParsedFeed.__dataclass_fields__
        if name != "entries" and getattr(fast, name) != getattr(reference, name)
    ]
    if len(fast.entries) != len(reference.entries):
        return [*differences, f"{len(fast.entries)} entries, feedparser {len(reference.entries)}"]
    for number, (mine, theirs) in enumerate(zip(fast.entries, reference.entries, strict=True)):
        differences += [
            f"entry {number}.{name}: fast={getattr(mine, name)!r} "
            f"reference={getattr(theirs, name)!r}"
            for name in mine.__dataclass_fields__
            if getattr(mine, name) != getattr(theirs, name)
        ]
    return differences
