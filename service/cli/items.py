"""``staycurrent items``: what is stored, as a table or as JSON (the API's item shape)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from service.cli.common import console, database, print_json
from service.errors import NotFoundError
from service.ingest.backfill import BackfillCounts, backfill_items
from service.ingest.pipeline import available_embedder
from service.outputs.api.schemas_items import similar_response
from service.outputs.schemas import item_out
from service.outputs.similar import DEFAULT_DAYS, similar_items
from service.outputs.similar import MAX_LIMIT as SIMILAR_MAX
from service.records import KINDS
from service.storage.models import MAX_ROW_ID
from service.storage.search import search_items
from service.storage.vectors import item_ids_after
from service.storage.views import ItemFilter, list_items

app = typer.Typer(help="Stored items.", no_args_is_help=True)


@app.command("list")
def list_cmd(
    *,
    kind: Annotated[str | None, typer.Option(help=f"One of {', '.join(KINDS)}.")] = None,
    tag: Annotated[
        str | None, typer.Option(help="A topic slug; an area includes its subtopics.")
    ] = None,
    source: Annotated[int | None, typer.Option(help="Only items seen in this source id.")] = None,
    query: Annotated[
        str | None,
        typer.Option("--query", "-q", help="Search titles, summaries and authors; best first."),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many, newest first.")] = 20,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON array, as the API returns.")
    ] = False,
) -> None:
    """List stored items, newest first (or search them), with tags and arXiv / podcast fields."""
    if kind is not None and kind not in KINDS:
        raise typer.BadParameter(f"must be one of {', '.join(KINDS)}", param_hint="--kind")
    wanted = ItemFilter(kind=kind, topic=tag, source_id=source)
    with database().session() as session:
        if query is None:
            found = list_items(session, wanted, limit=limit)
        else:
            found = search_items(session, query, wanted, limit=limit).items
        out = [item_out(view) for view in found]
    if as_json:
        print_json([item.model_dump(mode="json") for item in out])
        return
    table = Table("id", "published (UTC)", "kind", "title", "tags", "sources")
    for item in out:
        table.add_row(
            str(item.id),
            item.published.strftime("%Y-%m-%d %H:%M"),
            item.kind,
            item.title[:80],
            ", ".join(t.slug for t in item.tags[:4]),
            ", ".join(s.name for s in item.sources[:2]),
        )
    console.print(table)


@app.command("similar")
def similar_cmd(
    item_id: Annotated[int, typer.Argument(min=1, max=MAX_ROW_ID, help="The item's id.")],
    *,
    limit: Annotated[int, typer.Option(min=1, max=SIMILAR_MAX, help="How many.")] = 10,
    days: Annotated[
        int, typer.Option(min=1, max=3650, help="Published within this many days of the item.")
    ] = DEFAULT_DAYS,
    as_json: Annotated[bool, typer.Option("--json", help="JSON, as the API returns.")] = False,
) -> None:
    """More like this: the stored items nearest in meaning to ITEM_ID, with why."""
    with database().session() as session:
        try:
            found = similar_response(similar_items(session, item_id, limit=limit, days=days))
        except NotFoundError as exc:
            raise typer.BadParameter(exc.reason, param_hint="ITEM_ID") from exc
    if as_json:
        print_json(found.model_dump(mode="json"))
        return
    if found.note:
        console.print(found.note)
    table = Table("id", "similarity", "kind", "title", "why")
    for item in found.items:
        table.add_row(str(item.id), f"{item.similarity:.2f}", item.kind, item.title[:70], item.why)
    console.print(table)


@app.command("backfill")
def backfill_cmd(
    *,
    batch: Annotated[int, typer.Option(min=1, max=5000, help="Items per transaction.")] = 500,
) -> None:
    """Give stored items their vectors and coverage links (items stored before they existed).

    Batches of items in id order, one transaction each; safe to stop and run again.
    """
    embedder = available_embedder()
    if embedder is None:
        console.print("the embedding model cannot be read: only coverage links are made")
    db = database()
    totals, after = BackfillCounts(), 0
    while True:
        with db.write() as session:
            ids = item_ids_after(session, after, batch)
            if not ids:
                break
            done = backfill_items(session, ids, embedder=embedder)
        after = ids[-1]
        totals = BackfillCounts(
            totals.items + done.items, totals.vectors + done.vectors, totals.links + done.links
        )
        console.print(f"up to item {after}: {totals.vectors} vectors, {totals.links} links")
    console.print(
        f"{totals.items} items: {totals.vectors} vectors and {totals.links} coverage links added"
    )
