"""``staycurrent db``: migrations (and, later, export/import)."""

from __future__ import annotations

import typer

from service.cli.common import console, database
from service.storage.migrate import current_revision, head_revision, upgrade

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
