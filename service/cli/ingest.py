"""``staycurrent poll`` and ``staycurrent ingest``: run the pipeline now, from network or files."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from service.cli.common import console, database, fail, print_json, settings
from service.cli.runtime import build_pipeline, catalog
from service.errors import NotFoundError, ParseError, StaycurrentError
from service.ingest.bulk import ingest_many
from service.ingest.pipeline import Pipeline
from service.records import KINDS, PollResult, SourceForUpdate
from service.storage.migrate import upgrade
from service.storage.sources import add_source, find_source, for_update

if TYPE_CHECKING:
    from service.worker.poller import RoundReport

_STYLE = {
    "updated": "green",
    "empty": "cyan",
    "not_modified": "cyan",
    "unchanged": "cyan",
    "error": "red",
    "gone": "red",
}


def _source_ids(name: str | None) -> list[int] | None:
    """The id of the source named (it must be active), or None for every active source."""
    if name is None:
        return None
    with database().session() as session:
        try:
            row = find_source(session, name)
        except NotFoundError as exc:
            fail(exc.reason)
    if not row.active:
        why = "a local source (files ingested by hand)" if row.origin == "local" else "inactive"
        fail(f"{row.name!r} is not polled: it is {why}")
    return [row.id or 0]


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


async def _poll(source_ids: list[int] | None) -> RoundReport:
    from service.worker.compose import polling

    async with polling(settings(), database(), catalog().taxonomy) as poller:
        with Progress(
            TextColumn("polling"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as progress:
            task = progress.add_task("poll", total=None)
            return await poller.poll_now(
                source_ids,
                on_claimed=lambda n: progress.update(task, total=n),
                on_result=lambda _r: progress.advance(task),
            )


def poll(
    source: Annotated[str | None, typer.Option(help="Only this source (name or id).")] = None,
) -> None:
    """Poll sources now (every active one, or --source), whatever their schedule says.

    Sources are claimed as a worker claims them: one a worker is polling right now is skipped.
    """
    upgrade(database())
    report = asyncio.run(_poll(_source_ids(source)))
    results = list(report.results)
    for name, owner in report.held_elsewhere:
        console.print(f"skipped {name}: being polled now by {owner}", markup=False)
    if not results and not report.held_elsewhere:
        fail("no active sources: run `staycurrent sources sync` first")
    if not results:
        return
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


def _ingest_one(
    pipeline: Pipeline, source: SourceForUpdate, body: bytes
) -> PollResult | ParseError:
    try:
        return pipeline.ingest_bytes(source, body)
    except ParseError as exc:
        return exc


def _row(path: Path, status: str, new: int, updated: int, error: str | None) -> dict[str, object]:
    return {
        "file": str(path),
        "status": status,
        "items_new": new,
        "items_updated": updated,
        "error": error,
    }


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
    if len(paths) > 1:  # parsed in parallel, stored in order; files read as they are needed
        results = ingest_many(pipeline, ((target, path.read_bytes()) for path in paths))
    else:
        results = [_ingest_one(pipeline, target, paths[0].read_bytes())]
    refused = 0
    for path, result in zip(paths, results, strict=True):
        if isinstance(result, StaycurrentError):
            refused += 1
            row = _row(path, "refused", 0, 0, result.reason)
        else:
            row = _row(path, "ingested", result.items_new, result.items_updated, None)
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
