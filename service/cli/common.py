"""What every command shares: settings loaded once, the database, the console, clean failures."""

from __future__ import annotations

import functools
import json
import sys
from typing import Any, NoReturn

import typer
from rich.console import Console

from service.config import Settings, ensure_secret_key, load_settings
from service.errors import StaycurrentError
from service.logs import configure_logging
from service.storage.engine import Database

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


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


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, default=str, ensure_ascii=False) + "\n")
