"""``staycurrent poll`` and ``staycurrent ingest``: run the pipeline now, from network or files."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlmodel import col, select

from service.cli.common import console, database, fail, print_json
from service.cli.runtime import build_fetcher, build_pipeline
from service.errors import NotFoundError, StaycurrentError
from service.records import KINDS, PollResult, SourceForUpdate
from service.storage.migrate import upgrade
from service.storage.models import Source, utcnow
from service.storage.sources import add_source, find_source, for_update, load_for_update

_STYLE = {
    "updated": "green",
    "not_modified": "cyan",
    "unchanged": "cyan",
    "error": "red",
    "gone": "red",
}


def _due_sources(name: str | None) -> list[SourceForUpdate]:
    db = database()
    with db.session() as session:
        if name is not None:
            try:
                ids = [find_source(session, name).id or 0]
            except NotFoundError as exc:
                fail(exc.reason)
        else:
            stmt = select(Source.id).where(col(Source.active)).order_by(col(Source.id))
            ids = [i for i in session.exec(stmt) if i is not None]
        return load_for_update(session, ids, utcnow())


def _results_table(results: list[PollResult]) -> Table:
    table = Table("source", "status", "new", "updated", "time", "note")
    for r in results:
        style = _STYLE.get(r.outcome, "")
        status = r.outcome.replace("_", " ") + (f" ({r.status_code})" if r.status_code else "")
        table.add_row(
            r.name,
            f"[{style}]{status}[/]",
            str(r.items_new),
            str(r.items_updated),
            f"{r.elapsed_seconds:.1f}s",
            (r.reason or "")[:90],
        )
    return table


async def _poll(sources: list[SourceForUpdate]) -> list[PollResult]:
    async with build_fetcher() as fetcher:
        pipeline = build_pipeline(fetcher)
        with Progress(
            TextColumn("polling"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as progress:
            task = progress.add_task("poll", total=len(sources))
            return await pipeline.poll(sources, on_result=lambda _r: progress.advance(task))


def poll(
    source: Annotated[str | None, typer.Option(help="Only this source (name or id).")] = None,
) -> None:
    """Poll sources now (every active one, or --source), then show a result per source."""
    upgrade(database())
    sources = _due_sources(source)
    if not sources:
        fail("no active sources: run `staycurrent sources sync` first")
    results = asyncio.run(_poll(sources))
    console.print(_results_table(results))
    new = sum(r.items_new for r in results)
    failed = sum(r.outcome in ("error", "gone") for r in results)
    console.print(f"{len(results)} sources polled: {new} new items, {failed} with errors")


def _ingest_source(name: str, kind: str) -> SourceForUpdate:
    db = database()
    with db.write() as session:
        try:
            row = find_source(session, name)
        except NotFoundError:
            url = f"file:///local/{name.replace(' ', '-')}"
            row = add_source(session, name=name, url=url, kind=kind, origin="local")  # type: ignore[arg-type]
            row.active = False  # a local source is never polled over the network
        return for_update(row)


def ingest(
    paths: Annotated[
        list[Path], typer.Argument(help="Feed files to ingest.", exists=True, dir_okay=False)
    ],
    source: Annotated[str, typer.Option(help="A known source, or a new local one of this name.")],
    kind: Annotated[
        str, typer.Option(help=f"Kind of a new local source: {', '.join(KINDS)}.")
    ] = "post",
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per file.")] = False,
) -> None:
    """Ingest local feed files into a source, exactly as if they had been fetched."""
    if kind not in KINDS:
        raise typer.BadParameter(f"must be one of {', '.join(KINDS)}", param_hint="--kind")
    upgrade(database())
    target = _ingest_source(source, kind)
    pipeline = build_pipeline(None)
    refused = 0
    for path in paths:
        try:
            result = pipeline.ingest_bytes(target, path.read_bytes())
            target = _ingest_source(source, kind)  # the stored content hash moved on
            row = {
                "file": str(path),
                "status": "ingested",
                "items_new": result.items_new,
                "items_updated": result.items_updated,
                "error": None,
            }
        except StaycurrentError as exc:
            refused += 1
            row = {
                "file": str(path),
                "status": "refused",
                "items_new": 0,
                "items_updated": 0,
                "error": exc.reason,
            }
        if as_json:
            print_json(row)
        elif row["status"] == "ingested":
            console.print(
                f"{path}: {row['items_new']} new, {row['items_updated']} updated", markup=False
            )
        else:
            console.print(f"{path}: refused: {row['error']}", markup=False)
    if refused:
        raise typer.Exit(1)
