"""``staycurrent items``: what is stored, as a table or as JSON (the API's item shape)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from service.cli.common import console, database, print_json
from service.outputs.schemas import item_out
from service.records import KINDS
from service.storage.search import search_items
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
