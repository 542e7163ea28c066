"""``staycurrent export``: OPML subscription lists and a profile's feed as RSS, Atom or JSON Feed.

The same documents the API serves, written to a file or stdout. A feed exported here has no
self link: its subscription URL carries the feed token, which is stored only hashed (rotate it
with ``staycurrent profile rotate NAME --token feed`` to see the URLs again).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from service.cli.common import console, database, fail, moment, profile_named, settings
from service.errors import StaycurrentError
from service.outputs.outlines import catalog_outline, profile_sources_outline
from service.outputs.subscriptions import lens_feed
from service.outputs.syndication.formats import FEED_FORMATS
from service.outputs.syndication.lens import DEFAULT_LIMIT, MAX_LIMIT, lens_of
from service.outputs.syndication.opml import render_opml

app = typer.Typer(help="Export OPML and feeds (RSS, Atom, JSON Feed).", no_args_is_help=True)

OutputOpt = Annotated[
    Path | None, typer.Option("--output", "-o", help="Write to this file (default: stdout).")
]


def _write(document: bytes, output: Path | None) -> None:
    if output is None:
        sys.stdout.buffer.write(document)
        sys.stdout.flush()
        return
    try:
        output.write_bytes(document)
    except OSError as exc:
        fail(f"--output: cannot write {output}: {exc.strerror}", code=1)
    console.print(f"wrote {len(document)} bytes to {output}", markup=False)


AtOpt = Annotated[str | None, typer.Option(help="As of this ISO time (default now).")]


def _csv(text: str | None) -> tuple[str, ...] | None:
    return tuple(p.strip() for p in (text or "").split(",") if p.strip()) or None


@app.command("opml")
def opml_cmd(
    profile: Annotated[
        str | None,
        typer.Option(help="Only the sources that feed this profile's interests."),
    ] = None,
    output: OutputOpt = None,
    at: AtOpt = None,
) -> None:
    """Every active source as OPML 2.0, by kind and area (or those of one profile)."""
    now = moment(at)
    chosen = profile_named(profile) if profile else None
    with database().session() as session:
        listing = (
            profile_sources_outline(session, chosen, now=now)
            if chosen
            else catalog_outline(session, fallback=now)
        )
    _write(render_opml(listing.document), output)


@app.command("feed")
def feed_cmd(
    *,
    profile: Annotated[str, typer.Option("--profile", help="The profile's name.")],
    fmt: Annotated[str, typer.Option("--format", help="rss, atom or json.")] = "rss",
    depth: Annotated[float | None, typer.Option(min=0, max=1, help="Override the depth.")] = None,
    kinds: Annotated[str | None, typer.Option(help="Comma-separated kinds.")] = None,
    topics: Annotated[str | None, typer.Option(help="Topics replacing the interests.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=MAX_LIMIT, help="Items.")] = DEFAULT_LIMIT,
    max_per_day: Annotated[
        int | None, typer.Option(min=1, help="At most this many items first seen per day.")
    ] = None,
    output: OutputOpt = None,
    at: AtOpt = None,
) -> None:
    """A profile's ranked feed as RSS 2.0, Atom or JSON Feed 1.1 (the subscription feed)."""
    if fmt not in FEED_FORMATS:
        fail(f"--format: must be one of {', '.join(FEED_FORMATS)} (got {fmt!r})", code=2)
    lens = lens_of(
        depth=depth, kinds=_csv(kinds), topics=_csv(topics), limit=limit, max_per_day=max_per_day
    )
    cfg = settings()
    try:
        feed = lens_feed(
            database(),
            profile=profile_named(profile),
            lens=lens,
            secret=cfg.secret_key_bytes(),
            base_url=cfg.base_url,
            now=moment(at),
        )
    except StaycurrentError as exc:
        fail(exc.reason, code=1)
    _write(FEED_FORMATS[fmt].render(feed.document), output)
