"""``staycurrent db``: migrations, and export/import to move between databases."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from service.cli.common import console, database, err_console, fail
from service.errors import StaycurrentError
from service.storage.migrate import current_revision, head_revision, upgrade
from service.storage.transfer import export_jsonl, import_jsonl

app = typer.Typer(help="The database: migrations, export and import.", no_args_is_help=True)


@app.command("upgrade")
def upgrade_cmd() -> None:
    """Apply every pending migration (also done at start by serve, api and worker)."""
    db = database()
    before = current_revision(db)
    upgrade(db)
    after = current_revision(db)
    if before == after:
        console.print(f"database is current (revision {after})")
    else:
        console.print(f"migrated {before or 'empty database'} -> {after}")


@app.command("current")
def current_cmd() -> None:
    """Show the database's migration revision and whether it is the newest."""
    revision = current_revision(database())
    head = head_revision()
    state = "current" if revision == head else f"behind (newest is {head})"
    console.print(f"revision {revision or 'none'}: {state}")
    if revision != head:
        raise typer.Exit(1)


@app.command("export")
def export_cmd(
    output: Annotated[
        Path | None, typer.Argument(help="Write here (JSON Lines); default standard output.")
    ] = None,
) -> None:
    """Export sources, items, profiles, feedback and deliveries as JSON Lines (to move)."""
    db = database()
    if output is None:
        counts = export_jsonl(db, sys.stdout)
        err_console.print(f"exported {counts.describe()}")
        return
    with output.open("w", encoding="utf-8") as out:
        counts = export_jsonl(db, out)
    console.print(f"{output}: exported {counts.describe()}")


@app.command("import")
def import_cmd(
    source: Annotated[Path, typer.Argument(help="A file written by `staycurrent db export`.")],
) -> None:
    """Merge an export into this database (migrating it first); rows match by name and key."""
    db = database()
    upgrade(db)
    try:
        with source.open(encoding="utf-8") as lines:
            counts = import_jsonl(db, lines)
    except OSError as exc:
        fail(f"{source}: cannot read ({exc.strerror or exc})")
    except StaycurrentError as exc:
        fail(f"{source}: {exc.reason}")
    console.print(f"{source}: imported {counts.describe()}")
