"""``staycurrent digest``: preview a profile's digest, send it now, run the due ones, history."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from service.cli.common import console, database, fail, moment, print_json, profile_named, settings
from service.errors import StaycurrentError
from service.outputs.digest.run import (
    ComposedDigest,
    DigestResult,
    preview,
    run_due_digests,
    send_now,
)
from service.outputs.digest.schedule import DigestSchedule, manual_period, next_period
from service.storage.deliveries import get_delivery, recent_deliveries
from service.storage.models import Profile

app = typer.Typer(help="The email digest: preview, send, run, history.", no_args_is_help=True)

ProfileOpt = Annotated[str, typer.Option("--profile", help="The profile's name.")]
AtOpt = Annotated[
    str | None, typer.Option("--at", help="Act as of this ISO 8601 time (default now).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def _summary(composed: ComposedDigest) -> None:
    digest, profile = composed.digest, composed.profile
    console.print(f"To: {profile.email or '(no address set)'}", markup=False)
    console.print(f"Subject: {composed.letter.subject}", markup=False)
    console.print(f"Period: {composed.period.key}", markup=False)
    if digest.empty:
        note = "a 'nothing new' note" if profile.digest_empty_note else "nothing (empty period)"
        console.print(f"Would send: {note}", markup=False)
        if digest.reason:
            console.print(f"Why: {digest.reason}", markup=False)
    for section in digest.sections:
        console.print(f"{section.title}:", markup=False)
        for entry in section.entries:
            console.print(f"  {entry.minutes:3} min  [{entry.kind}] {entry.title}", markup=False)


def _compose(name: str, at: str | None) -> ComposedDigest:
    profile = profile_named(name)
    try:
        return preview(database(), settings(), profile, moment(at))
    except StaycurrentError as exc:
        fail(exc.reason, code=1)


@app.command("preview")
def preview_cmd(
    profile: ProfileOpt,
    html: Annotated[Path | None, typer.Option("--html", help="Write the HTML part here.")] = None,
    eml: Annotated[
        Path | None, typer.Option("--eml", help="Write the whole message (.eml) here.")
    ] = None,
    at: AtOpt = None,
) -> None:
    """Show the digest a profile would get now (the text part); nothing is sent or recorded."""
    composed = _compose(profile, at)
    if html is not None:
        html.write_text(composed.letter.html, encoding="utf-8")
    if eml is not None:
        eml.write_bytes(composed.message.as_bytes())
    if html is None and eml is None:
        print(composed.letter.text, end="")
    else:
        _summary(composed)


def _print_result(result: DigestResult) -> None:
    line = f"{result.profile} {result.period}: {result.outcome}"
    if result.items:
        line += f", {result.items} items, {result.minutes} min"
    if result.reason:
        line += f" ({result.reason})"
    if result.retry_at:
        line += f"; next try {result.retry_at:%Y-%m-%d %H:%M} UTC"
    console.print(line, markup=False)


@app.command("send")
def send_cmd(
    profile: ProfileOpt,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Compose and show it; send and record nothing.")
    ] = False,
    at: AtOpt = None,
) -> None:
    """Send the profile's digest for today's period now (once: a sent period is not resent)."""
    if dry_run:
        _summary(_compose(profile, at))
        return
    chosen, now = profile_named(profile), moment(at)
    try:
        result = send_now(database(), settings(), chosen, now)
    except StaycurrentError as exc:
        fail(exc.reason, code=1)
    if result is None:
        _already(chosen, now)
        raise typer.Exit(1)
    _print_result(result)
    if result.outcome in ("failed", "retry"):
        raise typer.Exit(1)


def _already(profile: Profile, now: datetime) -> None:
    assert profile.id is not None
    period = manual_period(DigestSchedule.of(profile), now).key
    with database().session() as session:
        row = get_delivery(session, profile_id=profile.id, period=period)
    state = row.status if row else "held by another sender"
    if row is not None and row.status == "pending":
        state = "being sent, or waiting to retry"
    console.print(f"{profile.name} {period}: not sent again ({state})", markup=False)


@app.command("run")
def run_cmd(at: AtOpt = None, as_json: JsonOpt = False) -> None:
    """Send every digest that is due now, once (what the worker does every minute)."""
    cfg = settings()
    if not cfg.smtp_host:
        fail("STAYCURRENT_SMTP_HOST: not set, so no digest can be sent", code=2)
    try:
        results = run_due_digests(database(), cfg, moment(at))
    except StaycurrentError as exc:
        fail(exc.reason, code=1)
    if as_json:
        print_json([_as_dict(result) for result in results])
        return
    for result in results:
        _print_result(result)
    if not results:
        console.print("no digest is due")


def _as_dict(result: DigestResult) -> dict[str, object]:
    return {name: getattr(result, name) for name in DigestResult.__dataclass_fields__}


@app.command("history")
def history_cmd(
    profile: ProfileOpt,
    limit: Annotated[int, typer.Option(min=1, max=500, help="How many.")] = 20,
    as_json: JsonOpt = False,
) -> None:
    """A profile's recent deliveries and when the next digest is due."""
    chosen = profile_named(profile)
    assert chosen.id is not None
    with database().session() as session:
        rows = recent_deliveries(session, profile_id=chosen.id, limit=limit)
    if as_json:
        print_json([row.model_dump(mode="json") for row in rows])
        return
    upcoming = next_period(DigestSchedule.of(chosen), datetime.now(UTC))
    state = "on" if chosen.digest_enabled else "off"
    console.print(
        f"digest {state}; next period {upcoming.key} at {upcoming.send_at:%Y-%m-%d %H:%M} UTC"
    )
    for row in rows:
        line = f"{row.period}: {row.status}, {row.item_count} items, {row.minutes} min"
        if row.error:
            line += f" ({row.error})"
        console.print(line, markup=False)
