"""What every command shares: settings loaded once, the database, the console, clean failures.

``console`` (stdout) and ``err_console`` (stderr) are rich consoles made when a command first uses
one: a command that prints no table or progress bar does not import rich.
"""

from __future__ import annotations

import functools
import json
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NoReturn

import typer

from service.config import Settings, ensure_secret_key, load_settings
from service.errors import StaycurrentError
from service.logs import configure_logging
from service.storage.engine import Database

if TYPE_CHECKING:
    from rich.console import Console

    from service.storage.models import Profile

    console: Console
    err_console: Console


@functools.cache
def _console(*, stderr: bool) -> Console:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=True)


if not TYPE_CHECKING:  # for mypy, console and err_console are the attributes declared above

    def __getattr__(name: str) -> Console:
        if name in ("console", "err_console"):
            return _console(stderr=name == "err_console")
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def fail(message: str, code: int = 1) -> NoReturn:
    """Print ``message`` (each line as given) on stderr and exit with ``code``."""
    sys.stderr.write(message.rstrip("\n") + "\n")
    raise typer.Exit(code)


@functools.cache
def settings() -> Settings:
    """The settings, validated once; a bad value ends the program with one line per problem."""
    try:
        loaded = ensure_secret_key(load_settings())
    except StaycurrentError as exc:
        fail(exc.reason, code=2)
    configure_logging(loaded.log_level, loaded.log_format)
    return loaded


@functools.cache
def database() -> Database:
    return Database(settings().database_url)


def moment(text: str | None, option: str = "--at") -> datetime:
    """An ISO 8601 time given on the command line (naive means UTC), or now."""
    if text is None:
        return datetime.now(UTC)
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        fail(f"{option}: not an ISO 8601 date and time (got {text!r})", code=2)
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def profile_named(name: str) -> Profile:
    """The profile called ``name``, or exit 1 saying there is none."""
    from service.storage.profiles import get_profile_by_name

    with database().session() as session:
        try:
            return get_profile_by_name(session, name)
        except StaycurrentError as exc:
            fail(exc.reason, code=1)


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, default=str, ensure_ascii=False) + "\n")
