"""``staycurrent profile``: create, change, show, list, seed profiles and rotate their tokens."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from service.cli import app_password
from service.cli.common import console, database, fail, print_json, profile_named, settings
from service.errors import StaycurrentError
from service.outputs.api.schemas_profiles import ProfileOut
from service.outputs.subscriptions import subscription_urls
from service.storage.migrate import upgrade
from service.storage.models import Profile
from service.storage.profiles import (
    TOKEN_KINDS,
    create_profile,
    list_profiles,
    rotate_token,
    update_profile,
)

app = typer.Typer(help="Profiles: interests, the depth dial, tokens.", no_args_is_help=True)
app.add_typer(app_password.app, name="app-password")  # service/cli/app_password.py

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def parse_interests(text: str) -> dict[str, float]:
    """'nlp,robotics:0.5' -> {'nlp': 1.0, 'robotics': 0.5}."""
    interests: dict[str, float] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        slug, _, weight = part.partition(":")
        try:
            interests[slug.strip()] = float(weight) if weight else 1.0
        except ValueError:
            fail(f"--interests: {part!r}: the weight after ':' must be a number", code=2)
    return interests


def _csv(text: str | None) -> list[str]:
    return [p.strip() for p in (text or "").split(",") if p.strip()]


def _show(profile: Profile) -> None:
    out = ProfileOut.of(profile)
    interests = ", ".join(f"{k} ({v:g})" for k, v in out.interests.items()) or "none"
    console.print(f"{out.name} (id {out.id})", markup=False)
    console.print(f"  depth {out.depth:g}, window {out.window_days} days", markup=False)
    console.print(f"  interests: {interests}", markup=False)
    console.print(f"  keywords: {', '.join(out.keywords) or 'none'}", markup=False)
    console.print(f"  authors: {', '.join(out.authors) or 'none'}", markup=False)
    if out.kind_weights:
        weights = ", ".join(f"{k} {v:g}" for k, v in out.kind_weights.items())
        console.print(f"  kind weights: {weights}", markup=False)
    console.print(f"  digest: {_digest_line(out)}", markup=False)


def _digest_line(out: ProfileOut) -> str:
    state = "on" if out.digest_enabled else "off"
    when = f"{out.digest_cadence} at {out.digest_time} {out.timezone}"
    if out.digest_cadence == "weekly":
        when = f"weekly on {WEEKDAYS[out.digest_weekday]} at {out.digest_time} {out.timezone}"
    depth = "profile depth" if out.digest_depth is None else f"depth {out.digest_depth:g}"
    note = ", a note on empty days" if out.digest_empty_note else ""
    return (
        f"{state}, to {out.email or 'no address'}, {when}; up to {out.digest_max_items} items "
        f"in {out.digest_budget_minutes} min, {depth}{note}"
    )


def _changes(
    *,
    interests: str | None,
    depth: float | None,
    preset: str | None,
    keywords: str | None,
    authors: list[str] | None,
    window_days: int | None,
) -> dict[str, Any]:
    changes: dict[str, Any] = {"interests": parse_interests(interests or "")}
    optional = {"depth": depth, "preset": preset, "window_days": window_days}
    changes.update({k: v for k, v in optional.items() if v is not None})
    if keywords:
        changes["keywords"] = _csv(keywords)
    if authors:
        changes["authors"] = authors
    return changes


@app.command("create")
def create_cmd(
    name: Annotated[str, typer.Argument(help="A unique name.")],
    *,
    interests: Annotated[
        str | None, typer.Option(help="Topic slugs, comma-separated; 'slug:weight' to weigh.")
    ] = None,
    depth: Annotated[
        float | None, typer.Option(min=0, max=1, help="1 = deep into your topics, 0 = broad.")
    ] = None,
    preset: Annotated[
        str | None, typer.Option(help="researcher (0.85), engineer (0.5) or educator (0.15).")
    ] = None,
    keywords: Annotated[
        str | None, typer.Option(help="Comma-separated; a leading '-' excludes: 'agents,-crypto'.")
    ] = None,
    authors: Annotated[
        list[str] | None, typer.Option("--author", help="An author to follow (repeatable).")
    ] = None,
    window_days: Annotated[int | None, typer.Option(help="How far back the feed looks.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a profile and print its two tokens (shown only this once)."""
    db = database()
    upgrade(db)
    changes = _changes(
        interests=interests,
        depth=depth,
        preset=preset,
        keywords=keywords,
        authors=authors,
        window_days=window_days,
    )
    try:
        created = create_profile(db, name=name, changes=changes)
    except StaycurrentError as exc:
        fail(exc.reason, code=1)
    if as_json:
        profile = ProfileOut.of(created.profile).model_dump(mode="json")
        print_json(
            {
                "profile": profile,
                "api_token": created.api_token,
                "feed_token": created.feed_token,
                "subscriptions": subscription_urls(settings().base_url, created.feed_token),
            }
        )
        return
    _show(created.profile)
    console.print("These tokens are shown only now; store them safely:", markup=False)
    console.print(f"  API token:  {created.api_token}", markup=False)
    console.print(f"  feed token: {created.feed_token}", markup=False)
    _print_subscriptions(created.feed_token)


def _print_subscriptions(feed_token: str) -> None:
    console.print("Subscribe in any reader (these URLs carry the feed token):", markup=False)
    for label, url in subscription_urls(settings().base_url, feed_token).items():
        console.print(f"  {label:13} {url}", markup=False)


@app.command("show")
def show_cmd(name: Annotated[str, typer.Argument()], as_json: JsonOpt = False) -> None:
    """Show one profile (never its tokens)."""
    profile = profile_named(name)
    if as_json:
        print_json(ProfileOut.of(profile).model_dump(mode="json"))
    else:
        _show(profile)


@app.command("list")
def list_cmd(as_json: JsonOpt = False) -> None:
    """List every profile."""
    with database().session() as session:
        profiles = list_profiles(session)
    if as_json:
        print_json([ProfileOut.of(p).model_dump(mode="json") for p in profiles])
        return
    if not profiles:
        console.print("no profiles yet: staycurrent profile create NAME --interests ...")
    for profile in profiles:
        topics = ", ".join(profile.interests) or "no interests"
        console.print(f"{profile.name}: depth {profile.depth:g}; {topics}", markup=False)


@app.command("rotate")
def rotate_cmd(
    name: Annotated[str, typer.Argument()],
    which: Annotated[str, typer.Option("--token", help="Which token: api or feed.")] = "api",
    as_json: JsonOpt = False,
) -> None:
    """Replace a profile's API (or feed) token; the old one stops working at once."""
    if which not in TOKEN_KINDS:
        fail(f"--token: must be one of {', '.join(TOKEN_KINDS)} (got {which!r})", code=2)
    profile = profile_named(name)
    assert profile.id is not None
    new = rotate_token(database(), profile_id=profile.id, which="api" if which == "api" else "feed")
    if as_json:
        print_json({"profile": profile.name, "token_kind": which, "token": new})
        return
    console.print(f"new {which} token for {profile.name} (shown only now): {new}", markup=False)
    if which == "feed":
        _print_subscriptions(new)


def parse_weekday(text: str) -> int:
    """'mon'..'sun' or 'monday'..'sunday' (any case), or 0..6 (0 = Monday)."""
    key = text.strip().lower()
    names = {day: n for n, day in enumerate(WEEKDAYS)}
    names |= {day: n for n, day in enumerate(DAY_NAMES)}
    names |= {str(n): n for n in range(7)}
    if key not in names:
        fail(f"--weekday: a day such as mon or monday, or 0-6 from Monday (got {text!r})", code=2)
    return names[key]


def _digest_depth(text: str) -> float | None:
    if text.strip().lower() in ("none", "profile", ""):
        return None
    try:
        return float(text)
    except ValueError:
        fail(f"--digest-depth: a number from 0 to 1, or 'none' (got {text!r})", code=2)


def _set_changes(options: dict[str, Any]) -> dict[str, Any]:
    """The options given, as profile fields (absent options change nothing)."""
    changes = {k: v for k, v in options.items() if v is not None}
    if "interests" in changes:
        changes["interests"] = parse_interests(changes["interests"])
    if "keywords" in changes:
        changes["keywords"] = _csv(changes["keywords"])
    if "digest_weekday" in changes:
        changes["digest_weekday"] = parse_weekday(changes["digest_weekday"])
    if "digest_depth" in changes:
        changes["digest_depth"] = _digest_depth(changes["digest_depth"])
    return changes


@app.command("set")
def set_cmd(
    name: Annotated[str, typer.Argument(help="The profile to change.")],
    *,
    email: Annotated[str | None, typer.Option(help="Where the digest goes.")] = None,
    digest: Annotated[
        bool | None, typer.Option("--digest/--no-digest", help="Turn the email digest on or off.")
    ] = None,
    digest_time: Annotated[
        str | None, typer.Option(help="Local send time, HH:MM (24 h), e.g. 07:30.")
    ] = None,
    timezone: Annotated[
        str | None, typer.Option(help="IANA time zone, e.g. Europe/Berlin.")
    ] = None,
    cadence: Annotated[str | None, typer.Option(help="daily, weekdays or weekly.")] = None,
    weekday: Annotated[
        str | None, typer.Option(help="For weekly digests: mon..sun (or 0-6 from Monday).")
    ] = None,
    max_items: Annotated[int | None, typer.Option(help="At most this many items (1-100).")] = None,
    budget: Annotated[
        int | None, typer.Option(help="Reading/listening minutes the digest fits into (5-600).")
    ] = None,
    digest_depth: Annotated[
        str | None, typer.Option(help="Depth for the digest (0-1), or 'none' for the profile's.")
    ] = None,
    empty_note: Annotated[
        bool | None,
        typer.Option("--empty-note/--no-empty-note", help="Send a short note when nothing is new."),
    ] = None,
    interests: Annotated[
        str | None, typer.Option(help="Replace the interests: 'slug,slug:weight'.")
    ] = None,
    depth: Annotated[float | None, typer.Option(min=0, max=1, help="The feed's depth.")] = None,
    preset: Annotated[str | None, typer.Option(help="researcher, engineer or educator.")] = None,
    keywords: Annotated[
        str | None, typer.Option(help="Replace the keywords (comma-separated).")
    ] = None,
    window_days: Annotated[int | None, typer.Option(help="How far back the feed looks.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Change a profile: its digest settings and its feed settings (only the options given)."""
    changes = _set_changes(
        {
            "email": email,
            "digest_enabled": digest,
            "digest_time": digest_time,
            "timezone": timezone,
            "digest_cadence": cadence,
            "digest_weekday": weekday,
            "digest_max_items": max_items,
            "digest_budget_minutes": budget,
            "digest_depth": digest_depth,
            "digest_empty_note": empty_note,
            "interests": interests,
            "depth": depth,
            "preset": preset,
            "keywords": keywords,
            "window_days": window_days,
        }
    )
    if not changes:
        fail("nothing to change: give at least one option (see --help)", code=2)
    profile = profile_named(name)
    assert profile.id is not None
    try:
        changed = update_profile(database(), profile_id=profile.id, changes=changes)
    except StaycurrentError as exc:
        fail(exc.reason, code=1)
    if as_json:
        print_json(ProfileOut.of(changed).model_dump(mode="json"))
    else:
        _show(changed)


_SEED_LIMIT = 1_000_000  # seeding.MAX_BYTES (not imported: the CLI loads it lazily)


def _read_seed_file(path: Path | None) -> bytes | None:
    if path is None:
        return None
    try:
        with path.open("rb") as handle:
            data = handle.read(_SEED_LIMIT + 1)
    except OSError as e:
        fail(f"cannot read {path}: {e.strerror or e}", code=2)
    return data


@app.command("seed")
def seed_cmd(
    name: Annotated[str, typer.Argument()],
    arxiv: Annotated[
        str | None, typer.Option("--arxiv", help="arXiv ids, comma-separated.")
    ] = None,
    bibtex: Annotated[
        Path | None, typer.Option("--bibtex", help="A BibTeX file (eprint, url, doi, title).")
    ] = None,
    opml: Annotated[Path | None, typer.Option("--opml", help="An OPML file of blogs.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Seed a profile from papers or blogs you already read: each one found becomes a like."""
    from service.outputs.seeding import read_seeds, seed_profile

    profile = profile_named(name)
    assert profile.id is not None
    bib = _read_seed_file(bibtex)
    try:
        seeds = read_seeds(
            arxiv=arxiv,
            bibtex=bib.decode("utf-8", errors="replace") if bib is not None else None,
            opml=_read_seed_file(opml),
        )
        report = seed_profile(database(), profile_id=profile.id, seeds=seeds, now=datetime.now(UTC))
    except StaycurrentError as e:
        fail(str(e), code=2)
    if as_json:
        print_json(report.model_dump())
        return
    for line in report.lines:
        detail = " - ".join(x for x in (line.title, line.note) if x)
        console.print(f"{line.status:>10}  {line.seed}  {detail}", markup=False)
    console.print(
        f"{report.liked} new likes; {report.known} found, {report.unknown} unknown here, "
        f"{report.invalid} invalid",
        markup=False,
    )
