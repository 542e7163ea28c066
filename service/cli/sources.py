"""``staycurrent sources``: check and sync the curated catalog."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from service.cli.common import console, database, fail, settings
from service.config import load_catalog, read_catalog
from service.errors import ConfigError
from service.storage.catalog import sync_catalog
from service.storage.migrate import upgrade

app = typer.Typer(
    help="Sources: check and sync feeds.yaml, status, OPML import.", no_args_is_help=True
)

FileArg = Annotated[
    Path | None, typer.Argument(help="A catalog file; default STAYCURRENT_FEEDS_FILE.")
]


@app.command("check")
def check_cmd(file: FileArg = None) -> None:
    """Validate feeds.yaml: every problem on its own line with its path; exit 1 on any."""
    path = file or settings().feeds_file
    catalog, problems = read_catalog(path)
    if problems:
        fail("\n".join(problems) + f"\n{path}: {len(problems)} problem(s)", code=1)
    counts = catalog.count_by_kind()
    by_kind = ", ".join(f"{n} {kind}" for kind, n in counts.items() if n)
    areas = len(catalog.taxonomy.areas)
    subtopics = len(catalog.taxonomy.topics) - areas
    console.print(
        f"{path}: ok — {len(catalog.sources)} sources ({by_kind}); "
        f"{areas} areas, {subtopics} subtopics"
    )


@app.command("sync")
def sync_cmd(file: FileArg = None) -> None:
    """Load feeds.yaml into the database: add, update, deactivate removed (items are kept)."""
    path = file or settings().feeds_file
    try:
        catalog = load_catalog(path)
    except ConfigError as exc:
        fail(exc.reason + f"\n{path}: fix the problems above, then sync again", code=1)
    db = database()
    upgrade(db)
    report = sync_catalog(db, catalog)
    console.print(
        f"sources: {len(report.added)} added, {len(report.updated)} updated, "
        f"{len(report.deactivated)} deactivated, {report.unchanged} unchanged; "
        f"topics: {report.tags_added} added, {report.tags_updated} updated"
    )
    for name in report.deactivated:
        console.print(f"  deactivated (no longer in {path}): {name}", markup=False)
