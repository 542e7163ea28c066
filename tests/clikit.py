"""The CLI under test: ``staycurrent`` run in-process against a given database URL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from service.cli import app
from service.cli.common import database, settings

SECRET = "cli-test-secret-key-that-is-long-enough-0123"


class Cli:
    """Runs ``staycurrent`` commands; settings come from the environment the context set."""

    def __init__(self) -> None:
        self.runner = CliRunner()

    def __call__(self, *args: str) -> Result:
        return self.runner.invoke(app, list(args), catch_exceptions=False)


@contextmanager
def cli_on(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cli]:
    """A CLI whose settings point at ``database_url`` (its cached settings reset around it)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("STAYCURRENT_DATABASE_URL", database_url)
    monkeypatch.setenv("STAYCURRENT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("STAYCURRENT_SECRET_KEY", SECRET)
    settings.cache_clear()
    database.cache_clear()
    try:
        yield Cli()
    finally:
        database().dispose()
        settings.cache_clear()
        database.cache_clear()
