"""The composition root: ``staycurrent`` and its command groups.

serve | api | worker | poll | ingest | items | topics | feed | profile | digest | export | sources |
db | settings. Each command's module is imported when it runs (``LAZY_COMMANDS``: add new ones
there). Settings are loaded once, validated, and passed down; nothing below reads the environment.
"""

from __future__ import annotations

import gc
import importlib
import sys
from typing import Annotated, Any

import typer
from typer.core import TyperCommand, TyperGroup

from service import __version__

# The commands, imported only when one runs: ``--version`` and ``--help`` import none of them (a
# call then costs a few hundredths of a second, not a second of SQLAlchemy, Alembic and FastAPI).
# name -> (module, attribute, one-line help as ``--help`` lists it; a test checks it is the real
# help). An attribute that is a typer.Typer is a group; a function is a single command.
LAZY_COMMANDS: dict[str, tuple[str, str, str]] = {
    "poll": (
        "service.cli.ingest",
        "poll",
        "Poll sources now (every active one, or --source), whatever their schedule says.",
    ),
    "ingest": (
        "service.cli.ingest",
        "ingest",
        "Ingest local feed files into a source, exactly as if they had been fetched.",
    ),
    "feed": (
        "service.cli.feed",
        "feed_cmd",
        "Show a profile's ranked feed, with why each item is there and the feed's metrics.",
    ),
    "topics": (
        "service.cli.items",
        "topics_cmd",
        "The taxonomy: areas and their topics, with how many items each has.",
    ),
    "worker": (
        "service.cli.worker_cmd",
        "worker",
        "Poll due sources every STAYCURRENT_POLL_TICK_SECONDS until SIGTERM or SIGINT.",
    ),
    "db": ("service.cli.db", "app", "The database: migrations, export and import."),
    "sources": (
        "service.cli.sources",
        "app",
        "Sources: list, check and sync feeds.yaml, status, OPML import.",
    ),
    "items": ("service.cli.items", "app", "Stored items: list (with paging) and show."),
    "settings": (
        "service.cli.settings_cmd",
        "app",
        "Settings: the effective values and the reference.",
    ),
    "profile": ("service.cli.profile", "app", "Profiles: interests, the depth dial, tokens."),
    "export": ("service.cli.export", "app", "Export OPML and feeds (RSS, Atom, JSON Feed)."),
    "digest": ("service.cli.digest", "app", "The email digest: preview, send, run, history."),
    "trends": (
        "service.cli.trends",
        "trends_cmd",
        "Show the rising themes: phrases and topics well above their usual rate, with evidence.",
    ),
    "tags": (
        "service.cli.tags",
        "app",
        "Topic tagging: the model's figures, retraining, re-tagging.",
    ),
}


def load_command(name: str) -> Any:
    """The click command ``name`` of LAZY_COMMANDS, its module imported now."""
    module, attribute, _ = LAZY_COMMANDS[name]
    found: Any = getattr(importlib.import_module(module), attribute)
    if isinstance(found, typer.Typer):
        return typer.main.get_group(found)  # a group even with one command, as add_typer made it
    single = typer.Typer()
    single.command(name)(found)
    return typer.main.get_command(single)


def settle_imports() -> None:
    """Hide everything alive from the cyclic garbage collector for good, and let it run again.

    Called once the command's modules are imported (``main`` pauses the collector until then).
    Modules, classes, functions, tables and schemas live as long as the process: a collection
    that walks them frees nothing, yet collections during the imports, later ones and those of
    the interpreter's exit cost a call about a third of its CPU (``items list``: 0.6 s -> 0.4 s).
    The cyclic garbage the imports made (under a megabyte) is kept with them.
    """
    gc.freeze()
    gc.enable()


class LazyGroup(TyperGroup):
    """The root group: lists LAZY_COMMANDS from their one-line help, imports one to run it."""

    listing = False
    # True when this process is one CLI call (``main``), not a test runner invoking commands.
    settles_imports = False

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        found = super().resolve_command(ctx, args)
        if self.settles_imports:
            settle_imports()
        return found

    # Contexts and formatters are typed Any: typer's own click (newer typer) or click itself.
    def list_commands(self, ctx: Any) -> list[str]:
        return [*super().list_commands(ctx), *LAZY_COMMANDS]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in LAZY_COMMANDS:
            return super().get_command(ctx, cmd_name)
        if self.listing:  # --help: a stand-in with the one-line help, nothing imported
            summary = LAZY_COMMANDS[cmd_name][2]
            return TyperCommand(cmd_name, help=summary, short_help=summary)
        return load_command(cmd_name)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self.listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self.listing = False


app = typer.Typer(
    name="staycurrent",
    help="Staycurrent: an ML trends feed aggregator with a depth↔breadth dial.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    cls=LazyGroup,
    rich_markup_mode=None,
)


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
    from service.cli.common import settings
    from service.cli.serve import run_api

    run_api(workers=workers or settings().api_workers)


def _database_failure(exc: Exception) -> str | None:
    """The reason of a database that cannot be reached or refused, else None (the modules are
    only looked up if already imported: an error of theirs cannot come from elsewhere)."""
    from service.errors import StorageError

    if isinstance(exc, StorageError):
        return exc.reason
    sqlalchemy_errors = sys.modules.get("sqlalchemy.exc")
    if sqlalchemy_errors is not None and isinstance(exc, sqlalchemy_errors.OperationalError):
        return str(exc.orig).strip()
    return None


def main() -> None:
    """Run the CLI; a database that cannot be reached ends in one line, not a traceback."""
    gc.disable()  # until the command is imported: see settle_imports
    LazyGroup.settles_imports = True
    try:
        app()
    except Exception as exc:
        reason = _database_failure(exc)
        if reason is None:
            raise
        from service.logs import redact

        sys.stderr.write(f"database unreachable or refused the request: {redact(reason)}\n")
        raise SystemExit(1) from None
