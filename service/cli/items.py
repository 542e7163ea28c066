"""``staycurrent items`` (list with cursor pages, show one) and ``staycurrent topics``: what is
stored, as tables or as JSON in the API's shapes (``GET /v1/items``, ``/v1/items/{id}``,
``/v1/topics``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer

from service.cli import common
from service.cli.common import database, fail, print_json, settings
from service.errors import NotFoundError, StaycurrentError
from service.outputs.items import MAX_LIMIT, ItemsPage, ItemsQuery, list_page
from service.outputs.schemas import ItemDetail, ItemOut, cut_at_word, item_detail
from service.outputs.similar import DEFAULT_DAYS, similar_items
from service.outputs.similar import MAX_LIMIT as SIMILAR_MAX
from service.storage.models import MAX_ROW_ID
from service.storage.views import ItemFilter, get_item, sightings
from service.vocabulary import KINDS

if TYPE_CHECKING:
    from rich.table import Table

app = typer.Typer(help="Stored items: list (with paging) and show.", no_args_is_help=True)

TITLE_CHARS = 80


def _source_id(name: str | None) -> int | None:
    """The id of the source named ``name`` (or given by id), as ``ingest --source`` takes it."""
    if name is None:
        return None
    from service.storage.sources import find_source

    with database().session() as session:
        try:
            return find_source(session, name).id
        except StaycurrentError as exc:
            fail(f"--source: {exc.reason}", code=2)


def _items_table(items: Sequence[ItemOut]) -> Table:
    from rich.table import Table

    table = Table("id", "published (UTC)", "kind", "title", "tags", "sources")
    for item in items:
        table.add_row(
            str(item.id),
            item.published.strftime("%Y-%m-%d %H:%M"),
            item.kind,
            cut_at_word(item.title, TITLE_CHARS),
            ", ".join(t.slug for t in item.tags[:4]),
            ", ".join(s.name for s in item.sources[:2]),
        )
    return table


@app.command("list")
def list_cmd(
    *,
    kind: Annotated[str | None, typer.Option(help=f"One of {', '.join(KINDS)}.")] = None,
    tag: Annotated[
        str | None, typer.Option(help="A topic slug; an area includes its subtopics.")
    ] = None,
    source: Annotated[
        str | None, typer.Option(help="Only items seen in this source (its name, or its id).")
    ] = None,
    query: Annotated[
        str | None,
        typer.Option("--query", "-q", help="Search titles, summaries and authors; best first."),
    ] = None,
    limit: Annotated[
        int, typer.Option(min=1, max=MAX_LIMIT, help="Items per page, newest first.")
    ] = 20,
    cursor: Annotated[
        str | None, typer.Option(help="The next page: the cursor the previous page printed.")
    ] = None,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="The page as the API returns it: items, next_cursor."),
    ] = False,
) -> None:
    """List stored items a page at a time, newest first (or search them), with tags."""
    if kind is not None and kind not in KINDS:
        raise typer.BadParameter(f"must be one of {', '.join(KINDS)}", param_hint="--kind")
    wanted = ItemFilter(kind=kind, topic=tag, source_id=_source_id(source))
    asked = ItemsQuery(filter=wanted, q=query, limit=limit, cursor=cursor)
    secret = settings().secret_key_bytes()
    with database().session() as session:
        try:
            page = list_page(session, asked, secret=secret, now=datetime.now(UTC))
        except StaycurrentError as exc:
            fail(exc.reason, code=2)
    if as_json:
        items = [item.model_dump(mode="json") for item in page.items]
        print_json({"items": items, "next_cursor": page.next_cursor, "order": page.order})
    elif not page.items:
        print(_nothing_listed(asked))
    else:
        _print_page(page)


def _nothing_listed(asked: ItemsQuery) -> str:
    """Why a page has no items, in words (a table of headers alone says nothing)."""
    if asked.cursor is not None:
        return "no more items: that was the last page"
    if asked.q is not None or asked.filter != ItemFilter():
        return "no stored item matches (widen the filters or the search)"
    return (
        "no items stored yet: `staycurrent poll` fetches the catalog's sources, "
        "`staycurrent ingest` reads feed files"
    )


def _print_page(page: ItemsPage) -> None:
    common.console.print(_items_table(page.items))
    if page.next_cursor:
        common.console.print(f"more: add --cursor {page.next_cursor}", markup=False, soft_wrap=True)


def _show(detail: ItemDetail) -> None:
    console = common.console
    console.print(f"{detail.title}", markup=False)
    console.print(
        f"{detail.kind} · published {detail.published:%Y-%m-%d %H:%M} UTC · id {detail.id}",
        markup=False,
    )
    if detail.url:
        console.print(detail.url, markup=False)
    if detail.authors:
        console.print("by " + ", ".join(detail.authors), markup=False)
    if detail.tags:
        console.print("topics: " + ", ".join(t.label for t in detail.tags), markup=False)
    for seen in detail.seen_in:
        console.print(f"seen in {seen.name} since {seen.first_seen:%Y-%m-%d %H:%M}", markup=False)
    if detail.summary:
        console.print("", markup=False)
        console.print(detail.summary, markup=False)


@app.command("show")
def show_cmd(
    item_id: Annotated[int, typer.Argument(min=1, help="The item's id (items list shows it).")],
    as_json: Annotated[bool, typer.Option("--json", help="As GET /v1/items/{id}.")] = False,
) -> None:
    """One item with everything known: sources, topics, arXiv and podcast fields, summary."""
    with database().session() as session:
        view = get_item(session, item_id)
        if view is None:
            fail(f"no item has id {item_id}", code=1)
        detail = item_detail(view, sightings(session, item_id))
    if as_json:
        print_json(detail.model_dump(mode="json"))
    else:
        _show(detail)


def topics_cmd(
    as_json: Annotated[bool, typer.Option("--json", help="As GET /v1/topics.")] = False,
) -> None:
    """The taxonomy: areas and their topics, with how many items each has."""
    from service.storage.topics import topic_counts

    now = datetime.now(UTC)
    with database().session() as session:
        counts = topic_counts(session, now)
    if as_json:
        from service.outputs.api.schemas_items import topics_response

        print_json(topics_response(counts, now).model_dump(mode="json"))
        return
    from rich.table import Table

    table = Table("topic", "slug", "last 7 days", "last 30 days")
    for topic in counts:
        label = topic.label if topic.parent is None else f"  {topic.label}"
        table.add_row(label, topic.slug, str(topic.counts[7]), str(topic.counts[30]))
    common.console.print(table)


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
    from service.outputs.api.schemas_items import similar_response

    with database().session() as session:
        try:
            found = similar_response(similar_items(session, item_id, limit=limit, days=days))
        except NotFoundError as exc:
            raise typer.BadParameter(exc.reason, param_hint="ITEM_ID") from exc
    if as_json:
        print_json(found.model_dump(mode="json"))
        return
    if found.note:
        common.console.print(found.note)
    from rich.table import Table

    table = Table("id", "similarity", "kind", "title", "why")
    for item in found.items:
        table.add_row(str(item.id), f"{item.similarity:.2f}", item.kind, item.title[:70], item.why)
    common.console.print(table)
