"""``staycurrent trends``: what is rising, in the terminal (the same themes as GET /v1/trends)."""

from __future__ import annotations

from typing import Annotated

import typer

from service.cli.common import console, database, fail, moment, print_json, profile_named
from service.errors import StaycurrentError
from service.outputs.api.routes_trends import MAX_TRENDS, trends_response
from service.outputs.trends import (
    DEFAULT_WINDOW,
    TrendsPage,
    refresh_comebacks,
    refresh_trends,
    trends_for,
)


def _print_page(page: TrendsPage) -> None:
    scope = "inside your areas" if page.scope == "areas" else "across the field"
    console.print(f"Rising in the last {page.window_days} days, {scope}:", markup=False)
    for rank, view in enumerate(page.themes, start=1):
        t = view.trend
        areas = ", ".join(view.area_labels) or "no area"
        console.print(f"{rank:3}. {t.label}  ({areas})", markup=False)
        console.print(f"     {view.why}", markup=False)
        for ref in view.representative:
            console.print(f"     - [{ref.kind}] {ref.title}", markup=False)
    if page.note:
        console.print(page.note, markup=False)
    if page.papers:
        console.print("Papers everyone covers:", markup=False)
    for rank, view in enumerate(page.papers, start=1):
        console.print(f"{rank:3}. {view.trend.label}", markup=False)
        console.print(f"     {view.trend.evidence}", markup=False)
    if page.coming_back:
        console.print("Coming back (papers you liked or saved):", markup=False)
    for back in page.coming_back:
        console.print(f"  - {back.title}: {back.reason}", markup=False)


def trends_cmd(
    *,
    profile: Annotated[
        str | None, typer.Option("--profile", help="For this profile (its areas and depth).")
    ] = None,
    window: Annotated[int, typer.Option(help="The window in days: 3, 7 or 14.")] = DEFAULT_WINDOW,
    topic: Annotated[str | None, typer.Option(help="Only this area or topic slug.")] = None,
    depth: Annotated[float | None, typer.Option(min=0, max=1, help="Override the depth.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=MAX_TRENDS, help="Themes at most.")] = 10,
    refresh: Annotated[
        bool, typer.Option("--refresh", help="Recompute the trends first (the worker does it).")
    ] = False,
    at: Annotated[str | None, typer.Option(help="Refresh as of this ISO time.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the API's JSON.")] = False,
) -> None:
    """Show the rising themes: phrases and topics well above their usual rate, with evidence."""
    chosen = profile_named(profile) if profile else None
    try:
        if refresh:
            refresh_trends(database(), now=moment(at), force=True)
            refresh_comebacks(database(), now=moment(at))
        page = trends_for(
            database(), window_days=window, topic=topic, limit=limit, profile=chosen, depth=depth
        )
    except StaycurrentError as exc:
        fail(exc.reason, code=1)
    if as_json:
        print_json(trends_response(page).model_dump(mode="json"))
    else:
        _print_page(page)
