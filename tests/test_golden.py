"""Golden files: what every document of ``../shared/corpus`` parses and normalizes into.

For each document, ``tests/golden/<folder>/<document name>.json`` holds the feed-level fields of
the ``ParsedFeed`` and the normalized records (``NormalizedItem``, every field) with the reasons
of skipped entries, or the ``ParseError`` reason of a refused document. The test reads the corpus
in place and compares with the checked-in JSON, field by field.

A change of the parser or of normalize that changes any record shows here; after reviewing each
difference, write the files again with ``python tests/test_golden.py --write``.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import CORPUS, corpus_files

from service.errors import ParseError
from service.ingest.normalize import normalize_feed
from service.ingest.parse import parse_feed
from service.records import Kind, ParsedFeed, SourceContext

GOLDEN = Path(__file__).parent / "golden"
FETCHED_AT = datetime(2026, 5, 1, tzinfo=UTC)
KIND_BY_FOLDER: dict[str, Kind] = {
    "arxiv_api": "paper",
    "arxiv_listing": "paper",
    "podcast": "podcast",
}
FILES = corpus_files()
FEED_FIELDS = (
    "title",
    "link",
    "format",
    "ttl_minutes",
    "skip_days",
    "language",
    "image",
    "updated",
    "is_podcast",
    "warning",
)


def golden_path(document: Path) -> Path:
    return GOLDEN / document.parent.name / f"{document.name}.json"


def _plain(value: Any) -> Any:
    """A JSON value: dataclasses as objects, tuples as lists, datetimes in ISO 8601."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = dataclasses.fields(value)
        return {field.name: _plain(getattr(value, field.name)) for field in fields}
    if isinstance(value, tuple | list):
        return [_plain(element) for element in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _feed_fields(feed: ParsedFeed) -> dict[str, Any]:
    fields = {name: _plain(getattr(feed, name)) for name in FEED_FIELDS}
    fields["entries"] = len(feed.entries)
    return fields


def records_of(document: Path) -> dict[str, Any]:
    """The parsed and normalized records of one corpus document, as JSON values."""
    ctx = SourceContext(
        feed_url=f"https://corpus.example/{document.name}",
        kind=KIND_BY_FOLDER.get(document.parent.name, "post"),
        fetched_at=FETCHED_AT,
    )
    try:
        feed = parse_feed(document.read_bytes(), url=ctx.feed_url)
    except ParseError as exc:
        return {"refused": exc.reason}
    normalized = normalize_feed(feed, ctx)
    return {
        "feed": _feed_fields(feed),
        "items": _plain(normalized.items),
        "skipped": list(normalized.skipped),
    }


def _differences(expected: Any, actual: Any, where: str = "") -> list[str]:
    if isinstance(expected, dict) and isinstance(actual, dict):
        found: list[str] = []
        for key in sorted(set(expected) | set(actual)):
            found += _differences(expected.get(key), actual.get(key), f"{where}.{key}")
        return found
    if isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        found = []
        for number, (one, other) in enumerate(zip(expected, actual, strict=True)):
            found += _differences(one, other, f"{where}[{number}]")
        return found
    if expected == actual:
        return []
    return [f"{where}: expected {str(expected)[:200]!r}, got {str(actual)[:200]!r}"]


def test_every_corpus_document_has_a_golden_file(corpus: Path) -> None:
    missing = [path.name for path in FILES if not golden_path(path).is_file()]
    assert FILES and not missing


@pytest.mark.corpus
@pytest.mark.parametrize("document", FILES, ids=[path.name for path in FILES])
def test_document_gives_its_golden_records(corpus: Path, document: Path) -> None:
    expected = json.loads(golden_path(document).read_text(encoding="utf-8"))
    actual = json.loads(json.dumps(records_of(document)))
    differences = _differences(expected, actual)
    assert not differences, "\n".join(differences[:30])


def write_golden_files() -> None:
    for document in corpus_files():
        target = golden_path(document)
        target.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(records_of(document), indent=1, ensure_ascii=False, sort_keys=True)
        target.write_text(text + "\n", encoding="utf-8")
    print(f"wrote {len(corpus_files())} golden files from {CORPUS} to {GOLDEN}")


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    write_golden_files()
