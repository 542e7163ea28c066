"""``staycurrent sources``: check and sync the curated catalog; status: polling health in words."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from service.catalog import load_catalog, read_catalog
from service.cli.common import console, database, fail, print_json, settings
from service.clock import utcnow
from service.errors import ConfigError, NotFoundError, StaycurrentError
from service.ingest.health import SourceHealth, clock_time, describe
from service.ingest.subscribe import ImportReport, import_opml
from service.records import KINDS, LEVELS
from service.storage.catalog import sync_catalog
from service.storage.migrate import upgrade
from service.storage.sources import find_source, source_facts

app = typer.Typer(
    help="Sources: list, check and sync feeds.yaml, status, OPML import.", no_args_is_help=True
)

FileArg = Annotated[
    Path | None, typer.Argument(help="A catalog file; default STAYCURRENT_FEEDS_FILE.")
]


@app.command("list")
def list_cmd(
    *,
    kind: Annotated[str | None, typer.Option(help=f"Only this kind ({', '.join(KINDS)}).")] = None,
    active: Annotated[
        bool | None, typer.Option("--active/--inactive", help="Only active (or inactive) ones.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="Sources per page.")] = 100,
    cursor: Annotated[
        str | None, typer.Option(help="The next page: the cursor the previous page printed.")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="The page as GET /v1/sources returns it.")
    ] = False,
) -> None:
    """Every source in id order: name, kind, where it comes from, items, and its health."""
    from service.outputs.api.schemas_sources import SourceOut, SourcesResponse
    from service.outputs.source_pages import SourcesQuery, sources_page
    from service.storage.source_registry import item_counts

    if kind is not None and kind not in KINDS:
        raise typer.BadParameter(f"must be one of {', '.join(KINDS)}", param_hint="--kind")
    now, asked = utcnow(), SourcesQuery(kind=kind, active=active, limit=limit, cursor=cursor)
    with database().session() as session:
        try:
            page = sources_page(session, asked, secret=settings().secret_key_bytes(), now=now)
        except StaycurrentError as exc:
            fail(exc.reason, code=2)
        ids = [s.id for s in page.sources if s.id is not None]
        counts = item_counts(session, ids)
        health = {f.id: describe(f, now).sentence for f in source_facts(session, now, ids)}
    shown = [
        SourceOut.of(s, counts.get(s.id or 0, 0), health.get(s.id or 0, "")) for s in page.sources
    ]
    if as_json:
        print_json(
            SourcesResponse(sources=shown, next_cursor=page.next_cursor).model_dump(mode="json")
        )
        return
    table = Table("id", "name", "kind", "origin", "items", "health")
    for out in shown:
        table.add_row(
            str(out.id), out.name, out.kind, out.origin, str(out.items), out.health.sentence
        )
    console.print(table if shown else "no sources: run `staycurrent sources sync` first")
    if page.next_cursor:
        console.print(f"more: add --cursor {page.next_cursor}", markup=False, soft_wrap=True)


@app.command("check")
def check_cmd(file: FileArg = None) -> None:
    """Validate feeds.yaml: every problem on its own line with its path; exit 1 on any."""
    path = file or settings().feeds_file
    catalog, problems = read_catalog(path)
    if problems:
        fail("\n".join(problems) + f"\n{path}: {len(problems)} problem(s)", code=1)
    counts = catalog.count_by_kind()
    by_kind = ", ".join(f"{n} {kind}" for kind, n in counts.items() if n)
    areas = len(catalog.taxonomy.areas)
    subtopics = len(catalog.taxonomy.topics) - areas
    console.print(
        f"{path}: ok — {len(catalog.sources)} sources ({by_kind}); "
        f"{areas} areas, {subtopics} subtopics"
    )


@app.command("sync")
def sync_cmd(file: FileArg = None) -> None:
    """Load feeds.yaml into the database: add, update, deactivate removed (items are kept)."""
    path = file or settings().feeds_file
    try:
        catalog = load_catalog(path)
    except ConfigError as exc:
        fail(exc.reason + f"\n{path}: fix the problems above, then sync again", code=1)
    db = database()
    upgrade(db)
    report = sync_catalog(db, catalog)
    console.print(
        f"sources: {len(report.added)} added, {len(report.updated)} updated, "
        f"{len(report.deactivated)} deactivated, {report.unchanged} unchanged; "
        f"topics: {report.tags_added} added, {report.tags_updated} updated"
    )
    for name in report.deactivated:
        console.print(f"  deactivated (no longer in {path}): {name}", markup=False)


_STATUS_STYLE = {
    "ok": "green",
    "quiet": "cyan",
    "new": "cyan",
    "backing_off": "yellow",
    "gone": "red",
    "inactive": "dim",
}


def _when(value: datetime | None, now: datetime) -> str:
    return clock_time(value, now) if value is not None else "-"


def _health_table(health: list[SourceHealth], now: datetime) -> Table:
    table = Table("source", "status", "last attempt", "last success", "HTTP", "errors")
    for column in ("next poll", "items 7d", "why"):
        table.add_column(column)
    for h in health:
        style = _STATUS_STYLE.get(h.status, "")
        table.add_row(
            h.name,
            f"[{style}]{h.status.replace('_', ' ')}[/]",
            _when(h.last_attempt_at, now),
            _when(h.last_success_at, now),
            str(h.last_status or "-"),
            str(h.consecutive_errors),
            _when(h.next_poll_at, now),
            str(h.items_last_7_days),
            h.sentence,
        )
    return table


@app.command("status")
def status_cmd(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per source.")] = False,
    source: Annotated[str | None, typer.Option(help="Only this source (name or id).")] = None,
) -> None:
    """Each source's polling health: last attempt and success, errors, next poll, and why."""
    from service.outputs.api.routes_health_sources import SourceHealthOut

    db = database()
    upgrade(db)
    now = utcnow()
    with db.session() as session:
        ids = None
        if source is not None:
            try:
                ids = [find_source(session, source).id or 0]
            except NotFoundError as exc:
                fail(exc.reason)
        health = [describe(facts, now) for facts in source_facts(session, now, ids)]
    if as_json:
        for h in health:
            print_json(SourceHealthOut.from_health(h).model_dump(mode="json"))
    elif not health:
        console.print("no sources: run `staycurrent sources sync` first")
    else:
        console.print(_health_table(health, now))


MAX_OPML_BYTES = 10 * 1024 * 1024


@app.command("import")
def import_cmd(
    file: Annotated[Path, typer.Argument(help="An OPML subscription list.")],
    kind: Annotated[
        str | None, typer.Option(help=f"The kind of every feed ({', '.join(KINDS)}); else guessed.")
    ] = None,
    level: Annotated[str, typer.Option(help=f"The level of every feed ({', '.join(LEVELS)}).")] = (
        "practitioner"
    ),
    as_json: Annotated[
        bool, typer.Option("--json", help="The report as JSON, as the API returns it.")
    ] = False,
) -> None:
    """Add every feed of an OPML file; report each outline: added, duplicate or invalid (why)."""
    if kind is not None and kind not in KINDS:
        raise typer.BadParameter(f"must be one of {', '.join(KINDS)}", param_hint="--kind")
    if level not in LEVELS:
        raise typer.BadParameter(f"must be one of {', '.join(LEVELS)}", param_hint="--level")
    body = _read_opml(file)
    db = database()
    upgrade(db)
    try:
        report = import_opml(db, body, settings(), kind=kind, level=level)
    except StaycurrentError as exc:
        fail(f"{file}: {exc.reason}", code=1)
    if as_json:
        print_json(report.model_dump(mode="json"))
        return
    _print_report(file, report)


def _read_opml(file: Path) -> bytes:
    try:
        if file.stat().st_size > MAX_OPML_BYTES:
            fail(f"{file}: larger than {MAX_OPML_BYTES // (1024 * 1024)} MiB", code=1)
        return file.read_bytes()
    except OSError as exc:
        fail(f"{file}: cannot read ({exc.strerror or exc})", code=1)


def _print_report(file: Path, report: ImportReport) -> None:
    for outline in report.outlines:
        where = f"line {outline.line}" if outline.line else "?"
        label = outline.name or outline.title or outline.url or "(untitled)"
        detail = f" — {outline.reason}" if outline.reason else ""
        topics = f" [{', '.join(outline.topics)}]" if outline.topics else ""
        console.print(f"{outline.status:9} {where:>9}  {label}{topics}{detail}", markup=False)
    console.print(
        f"{file}: {report.added} added, {report.duplicates} duplicate, {report.invalid} invalid",
        markup=False,
    )
