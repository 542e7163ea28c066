"""The feed, the saved list, an item, and the buttons that give feedback.

- ``GET /``: the ranked feed with the dial (a slider), window and kinds filters; every option is
  a query parameter, so the page works as plain links and forms without JavaScript;
- ``GET /feed/list``: the same feed's list alone (the slider's script swaps it in as it moves);
- ``GET /saved``: the items saved, the latest first;
- ``GET /items/{id}``: one item, what covers it, and more like it;
- ``POST /items/{id}/feedback``: like, dislike, save, hide, read (``-save`` withdraws), then back.

``reading_feed`` is the one place the page ranks a feed (the API's own composition: ``build_feed``,
its trend badges, ``feed_response``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from service.config import Settings
from service.errors import InvalidInputError, NotFoundError
from service.outputs.api.deps import DatabaseDep, NowDep, SettingsDep
from service.outputs.api.schemas_feed import FeedResponse, feed_response
from service.outputs.api.schemas_items import similar_response
from service.outputs.feed import FeedOptions, build_feed
from service.outputs.schemas import item_detail
from service.outputs.similar import similar_items
from service.outputs.trends import rising_badges
from service.outputs.web.render import page
from service.outputs.web.session import Reader, ReaderDep, check_csrf
from service.rank.loader import WindowCache
from service.records import KINDS
from service.storage.engine import Database
from service.storage.feedback import record_feedback, signals_for, withdraw_feedback
from service.storage.models import MAX_ROW_ID
from service.storage.profiles import MAX_WINDOW_DAYS
from service.storage.views import get_item, sightings
from service.storage.web_sessions import saved_items

router = APIRouter()

PAGE_SIZE = 20
SIGNALS = ("like", "dislike", "save", "hide", "read")
WINDOWS = (1, 3, 7, 14, 30, 90)
SAVED_LIMIT = 200
SIMILAR_SHOWN = 8
ItemId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]


@dataclass(frozen=True, slots=True)
class FeedView:
    """What the reader asked the feed page for (None = the profile's own setting)."""

    depth: float | None = None
    window: int | None = None
    kinds: tuple[str, ...] = ()
    cursor: str | None = None

    def options(self) -> FeedOptions:
        return FeedOptions(
            depth=self.depth,
            kinds=self.kinds or None,
            window_days=self.window,
            limit=PAGE_SIZE,
            cursor=self.cursor,
        )

    def query(self, *, cursor: str | None = None) -> str:
        pairs: list[tuple[str, Any]] = []
        if self.depth is not None:
            pairs.append(("depth", f"{self.depth:g}"))
        if self.window is not None:
            pairs.append(("window", self.window))
        pairs += [("kind", kind) for kind in self.kinds]
        if cursor:
            pairs.append(("cursor", cursor))
        return urlencode(pairs)


def feed_view(
    depth: Annotated[float | None, Query(ge=0, le=1)] = None,
    window: Annotated[int | None, Query(ge=1, le=MAX_WINDOW_DAYS)] = None,
    kind: Annotated[list[str] | None, Query(max_length=20)] = None,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> FeedView:
    kinds = tuple(dict.fromkeys(k for k in kind or () if k))
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise InvalidInputError(f"kind: must be among {', '.join(KINDS)} (got {unknown[0]!r})")
    return FeedView(depth=depth, window=window, kinds=kinds, cursor=cursor or None)


def reading_feed(
    db: Database,
    settings: Settings,
    reader: Reader,
    view: FeedView,
    now: datetime,
    *,
    windows: WindowCache | None = None,
) -> FeedResponse:
    """One page of the reader's ranked feed with its badges: the one feed-building call."""
    feed = build_feed(
        db,
        profile=reader.profile,
        options=view.options(),
        secret=settings.secret_key_bytes(),
        now=now,
        widen="the window",
        windows=windows,
    )
    return feed_response(feed, rising_badges(db, [item.candidate.id for item in feed.items]))


def _feed_context(
    request: Request,
    view: FeedView,
    *,
    db: Database,
    settings: Settings,
    reader: Reader,
    now: datetime,
) -> dict[str, Any]:
    feed = reading_feed(db, settings, reader, view, now, windows=request.app.state.windows)
    base = str(request.scope.get("root_path") or "")
    return {
        "reader": reader,
        "csrf": reader.csrf,
        "feed": feed,
        "view": view,
        "depth": reader.profile.depth if view.depth is None else view.depth,
        "window": view.window or reader.profile.window_days,
        "windows": WINDOWS,
        "kinds": KINDS,
        "back": f"{base}/?{view.query()}",
        "next_url": f"{base}/?{view.query(cursor=feed.next_cursor)}" if feed.next_cursor else None,
    }


FeedViewDep = Annotated[FeedView, Depends(feed_view)]


@router.get("/")
def feed_page(
    *,
    request: Request,
    view: FeedViewDep,
    reader: ReaderDep,
    db: DatabaseDep,
    settings: SettingsDep,
    now: NowDep,
) -> Response:
    context = _feed_context(request, view, db=db, settings=settings, reader=reader, now=now)
    return page(request, "feed.html", context)


@router.get("/feed/list")
def feed_list(
    *,
    request: Request,
    view: FeedViewDep,
    reader: ReaderDep,
    db: DatabaseDep,
    settings: SettingsDep,
    now: NowDep,
) -> Response:
    """The list alone (metrics, items, the next page's link): what the slider swaps in."""
    context = _feed_context(request, view, db=db, settings=settings, reader=reader, now=now)
    return page(request, "feed_list.html", context)


@router.get("/saved")
def saved_page(request: Request, reader: ReaderDep, db: DatabaseDep) -> Response:
    items = saved_items(db, profile_id=reader.profile_id, limit=SAVED_LIMIT)
    base = str(request.scope.get("root_path") or "")
    context = {"reader": reader, "csrf": reader.csrf, "items": items, "back": f"{base}/saved"}
    return page(request, "saved.html", context)


@router.get("/items/{item_id}")
def item_page(request: Request, item_id: ItemId, reader: ReaderDep, db: DatabaseDep) -> Response:
    with db.session() as session:
        view = get_item(session, item_id)
        if view is None:
            raise NotFoundError(f"no item has id {item_id}")
        detail = item_detail(view, sightings(session, item_id))
        similar = similar_response(similar_items(session, item_id, limit=SIMILAR_SHOWN))
        mine = signals_for(session, profile_id=reader.profile_id, item_ids=[item_id])
    base = str(request.scope.get("root_path") or "")
    context = {
        "reader": reader,
        "csrf": reader.csrf,
        "item": detail,
        "similar": similar,
        "signals": sorted(mine.get(item_id, frozenset())),
        "back": f"{base}/items/{item_id}",
    }
    return page(request, "item.html", context)


def _back(request: Request, back: str) -> str:
    """Where to return after a button: a path of this page only (never another site)."""
    base = str(request.scope.get("root_path") or "")
    inside = back.startswith(f"{base}/") and not back.startswith("//") and "\\" not in back
    return back if inside else f"{base}/"


@router.post("/items/{item_id}/feedback")
def give_feedback(
    *,
    request: Request,
    item_id: ItemId,
    reader: ReaderDep,
    db: DatabaseDep,
    now: NowDep,
    signal: Annotated[str, Form(max_length=16)],
    csrf: Annotated[str, Form(max_length=200)],
    back: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    check_csrf(reader, csrf)
    name = signal.removeprefix("-")
    if name not in SIGNALS:
        raise InvalidInputError(f"signal: must be one of {', '.join(SIGNALS)} (got {signal!r})")
    if signal.startswith("-"):
        withdraw_feedback(db, profile_id=reader.profile_id, item_id=item_id, signal=name)
    else:
        record_feedback(db, profile_id=reader.profile_id, item_id=item_id, signal=name, now=now)
    return RedirectResponse(_back(request, back), status_code=303)
