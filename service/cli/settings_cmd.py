"""``staycurrent settings``: show the effective settings, or the reference table for the README."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import SecretStr
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from service.cli.common import console, settings
from service.config import ENV_PREFIX, Settings
from service.logs import redact

app = typer.Typer(help="Settings: the effective values and the reference.", no_args_is_help=True)


def _shown(value: Any) -> str:
    if isinstance(value, SecretStr):
        return "(set)"
    return "(unset)" if value is None else str(value)


def without_password(url: str) -> str:
    """A database URL as shown to people: its password, if any, as ``***``."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return redact(url)


def reference_table() -> str:
    """The Markdown table of every setting: variable, default, meaning (generated, not written)."""
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        default = field.default
        shown = "" if default in (None, "") else f"`{default}`"
        meaning = (field.description or "").replace("|", "\\|")
        lines.append(f"| `{ENV_PREFIX}{name.upper()}` | {shown} | {meaning} |")
    return "\n".join(lines)


START, END = "<!-- settings-reference:start -->", "<!-- settings-reference:end -->"


def with_reference(document: str) -> str:
    """``document`` with the table between the settings-reference markers replaced."""
    head, found, rest = document.partition(START)
    if not found or END not in rest:
        raise ValueError(f"the document has no {START} ... {END} markers")
    return f"{head}{START}\n{reference_table()}\n{END}{rest.partition(END)[2]}"


@app.command("reference")
def reference_cmd(
    write: Annotated[
        Path | None, typer.Option(help="Rewrite the table between the markers in this file.")
    ] = None,
) -> None:
    """Print the settings reference as a Markdown table (the README's table is this output)."""
    if write is None:
        print(reference_table())
        return
    write.write_text(with_reference(write.read_text()))
    console.print(f"{write}: settings reference updated")


@app.command("show")
def show_cmd() -> None:
    """Validate the settings and print the effective values (secrets shown as "(set)")."""
    current = settings()
    for name in Settings.model_fields:
        shown = _shown(getattr(current, name))
        if name == "database_url":
            shown = without_password(shown)
        console.print(f"{ENV_PREFIX}{name.upper()}={shown}", markup=False)
