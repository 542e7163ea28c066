"""``staycurrent feed``: a profile's ranked feed in the terminal (the same items as the API)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated

import typer

from service.cli.common import console, database, fail, moment, print_json, profile_named, settings
from service.errors import StaycurrentError
from service.outputs.api.schemas_feed import feed_response
from service.outputs.feed import DEFAULT_LIMIT, MAX_LIMIT, FeedOptions, FeedPage, build_feed
from service.outputs.feed import dial_report as measure_dial
from service.outputs.trends import rising_badges
from service.rank.model import FeedMetrics
from service.storage.models import Profile


def _csv(text: str | None) -> tuple[str, ...] | None:
    parts = tuple(p.strip() for p in (text or "").split(",") if p.strip())
    return parts or None


def _metrics_line(m: FeedMetrics) -> str:
    return (
        f"depth {m.depth:g}: focus@{m.k} {m.focus:.2f}, coverage@{m.k} {m.coverage:.2f} "
        f"({m.areas_covered} of {m.areas_available} areas), technical {m.mean_technical:.2f}, "
        f"{m.sources_covered} sources (at most {m.max_per_source} from one), "
        f"{m.kinds_covered} of {m.kinds_available} kinds"
    )


def _print_page(page: FeedPage, badges: dict[int, list[str]]) -> None:
    for item in page.items:
        c = item.candidate
        area = page.topics.label(c.area) if c.area else "untagged"
        console.print(f"{item.position + 1:3}. [{c.kind}] {c.title}", markup=False)
        console.print(f"     {area} · {item.why.summary}", markup=False)
        for badge in badges.get(c.id, ()):
            console.print(f"     {badge}", markup=False)
        if c.url:
            console.print(f"     {c.url}", markup=False)
    console.print(_metrics_line(page.metrics), markup=False)
    if page.reason:
        console.print(f"Why so few: {page.reason}", markup=False)
    if page.next_cursor:
        console.print(f"{page.total - page.items[-1].position - 1} more (use --limit)")


def _print_dial(options: FeedOptions, profile: Profile, now: datetime, as_json: bool) -> None:
    report = measure_dial(database(), profile=profile, options=options, now=now)
    if as_json:
        rows = [asdict(metrics) for metrics in report.metrics]
        print_json({"metrics": rows, "violations": list(report.violations)})
    else:
        for metrics in report.metrics:
            console.print(_metrics_line(metrics), markup=False)
        for violation in report.violations:
            console.print(f"contract broken: {violation}", markup=False)
        if report.holds:
            console.print("the dial contract holds")
    if not report.holds:
        raise typer.Exit(1)


def feed_cmd(
    *,
    profile: Annotated[str, typer.Option("--profile", help="The profile's name.")],
    depth: Annotated[float | None, typer.Option(min=0, max=1, help="Override the depth.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=MAX_LIMIT, help="Items.")] = DEFAULT_LIMIT,
    kinds: Annotated[str | None, typer.Option(help="Comma-separated kinds.")] = None,
    topics: Annotated[str | None, typer.Option(help="Topics replacing the interests.")] = None,
    window_days: Annotated[
        int | None, typer.Option(min=1, max=365, help="Override the window (days).")
    ] = None,
    include_read: Annotated[bool, typer.Option(help="Keep items marked read.")] = False,
    at: Annotated[str | None, typer.Option(help="Rank as of this ISO time (default now).")] = None,
    dial: Annotated[
        bool, typer.Option("--dial", help="Measure depth 0..1 and check the dial contract.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the API's JSON.")] = False,
) -> None:
    """Show a profile's ranked feed, with why each item is there and the feed's metrics."""
    options = FeedOptions(
        depth=depth,
        kinds=_csv(kinds),
        topics=_csv(topics),
        window_days=window_days,
        include_read=include_read,
        limit=limit,
    )
    chosen, now = profile_named(profile), moment(at)
    try:
        if dial:
            _print_dial(options, chosen, now, as_json)
            return
        page = build_feed(
            database(),
            profile=chosen,
            options=options,
            secret=settings().secret_key_bytes(),
            now=now,
            widen="--window-days",
        )
    except StaycurrentError as exc:
        fail(exc.reason, code=1)
    badges = rising_badges(database(), [item.candidate.id for item in page.items])
    if as_json:
        print_json(feed_response(page, badges).model_dump(mode="json"))
    else:
        _print_page(page, badges)
