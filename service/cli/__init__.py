"""The composition root: ``staycurrent`` and its command groups.

serve | api | worker | poll | ingest | items | feed | profile | digest | export | sources | db
Settings are loaded here (once, validated) and passed down; nothing below reads the environment.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from sqlalchemy.exc import OperationalError

from service import __version__
from service.cli import (
    db,
    digest,
    export,
    feed,
    ingest,
    items,
    profile,
    settings_cmd,
    sources,
    trends,
    worker_cmd,
)
from service.cli.common import settings
from service.errors import StorageError
from service.logs import redact

app = typer.Typer(
    name="staycurrent",
    help="Staycurrent: an ML trends feed aggregator with a depth↔breadth dial.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(db.app, name="db")
app.add_typer(sources.app, name="sources")
app.add_typer(items.app, name="items")
app.add_typer(settings_cmd.app, name="settings")
app.add_typer(profile.app, name="profile")
app.add_typer(export.app, name="export")
app.add_typer(digest.app, name="digest")
app.command()(ingest.poll)
app.command()(ingest.ingest)
app.command("feed")(feed.feed_cmd)
app.command("trends")(trends.trends_cmd)
app.command()(worker_cmd.worker)


def _version(value: bool) -> None:
    if value:
        print(f"staycurrent {__version__}")
        raise typer.Exit


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Staycurrent: an ML trends feed aggregator with a depth↔breadth dial."""


@app.command()
def serve() -> None:
    """API and poller in one process on one uvicorn worker (the embedded default; make run)."""
    from service.cli.serve import run_api

    run_api(workers=1, with_poller=True)


@app.command()
def api(
    workers: Annotated[
        int | None, typer.Option(help="uvicorn workers; default STAYCURRENT_API_WORKERS.")
    ] = None,
) -> None:
    """API only, for scale-out beside separate `staycurrent worker` processes."""
    from service.cli.serve import run_api

    run_api(workers=workers or settings().api_workers)


def main() -> None:
    """Run the CLI; a database that cannot be reached ends in one line, not a traceback."""
    try:
        app()
    except (OperationalError, StorageError) as exc:
        reason = exc.reason if isinstance(exc, StorageError) else str(exc.orig).strip()
        sys.stderr.write(f"database unreachable or refused the request: {redact(reason)}\n")
        raise SystemExit(1) from None
