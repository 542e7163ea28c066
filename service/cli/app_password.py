"""``staycurrent profile app-password``: create, list and revoke the app passwords that
feed-reader apps sign in to the Google Reader API with."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from service.cli.common import console, database, fail, print_json, profile_named, settings
from service.errors import StaycurrentError
from service.storage.app_passwords import (
    create_app_password,
    list_app_passwords,
    revoke_app_password,
)
from service.storage.migrate import upgrade

app = typer.Typer(
    help="App passwords for feed-reader apps (Google Reader API): create, list, revoke.",
    no_args_is_help=True,
)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


@app.command("create")
def create_cmd(
    name: Annotated[str, typer.Argument(help="The profile.")],
    label: Annotated[str, typer.Option(help="Which app it is for, e.g. NetNewsWire.")],
    as_json: JsonOpt = False,
) -> None:
    """Make an app password (shown only this once) and print what to enter in the app."""
    db = database()
    upgrade(db)
    profile = profile_named(name)
    assert profile.id is not None
    try:
        created = create_app_password(db, profile_id=profile.id, label=label, now=datetime.now(UTC))
    except StaycurrentError as exc:
        fail(exc.reason, code=1)
    server = settings().base_url
    row = created.app_password
    if as_json:
        print_json(
            {
                "id": row.id,
                "label": row.label,
                "login": profile.name,
                "password": created.password,
                "server": server,
            }
        )
        return
    console.print(f"app password {row.id} for {profile.name} ({row.label}):", markup=False)
    console.print(f"  server:   {server}", markup=False)
    console.print(f"  login:    {profile.name}", markup=False)
    console.print(f"  password: {created.password}   (shown only now)", markup=False)


@app.command("list")
def list_cmd(
    name: Annotated[str, typer.Argument(help="The profile.")], as_json: JsonOpt = False
) -> None:
    """The profile's app passwords: id, label, made and last used (never the password)."""
    profile = profile_named(name)
    assert profile.id is not None
    with database().session() as session:
        rows = list_app_passwords(session, profile_id=profile.id)
    if as_json:
        print_json(
            [
                {
                    "id": r.id,
                    "label": r.label,
                    "created_at": r.created_at,
                    "last_used_at": r.last_used_at,
                }
                for r in rows
            ]
        )
        return
    if not rows:
        console.print(f"{profile.name} has no app passwords yet", markup=False)
    for r in rows:
        used = r.last_used_at.isoformat(timespec="seconds") if r.last_used_at else "never"
        made = r.created_at.isoformat(timespec="seconds")
        console.print(f"{r.id}  {r.label}  made {made}, last used {used}", markup=False)


@app.command("revoke")
def revoke_cmd(
    name: Annotated[str, typer.Argument(help="The profile.")],
    app_password_id: Annotated[int, typer.Argument(help="The id `list` shows.")],
) -> None:
    """Revoke an app password: the app that used it is signed out at once."""
    profile = profile_named(name)
    assert profile.id is not None
    try:
        revoke_app_password(database(), profile_id=profile.id, app_password_id=app_password_id)
    except StaycurrentError as exc:
        fail(exc.reason, code=1)
    console.print(f"revoked app password {app_password_id} of {profile.name}", markup=False)
