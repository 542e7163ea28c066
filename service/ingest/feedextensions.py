"""feedparser's handlers for categories, iTunes and Media RSS elements, re-implemented on
``FeedState`` (``feedparser.namespaces._base``, ``itunes``, ``mediarss``; names as feedparser's).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from service.ingest.feedstate import EndHandler, FeedState, Handler, Record

ITUNES_SCHEME = "http://www.itunes.com/"
MEDIA_CATEGORY_SCHEME = "http://search.yahoo.com/mrss/category_schema"


# --------------------------------------------------------------------------- categories


def start_category(state: FeedState, attrs: dict[str, str]) -> None:
    scheme = attrs.get("scheme", attrs.get("domain"))
    state.add_tag(attrs.get("term"), scheme, attrs.get("label"))
    state.push("category", 1)


def end_category(state: FeedState) -> None:
    value = state.pop("category")
    if not value:
        return
    tags = state.context()["tags"]
    if value and len(tags) and not tags[-1]["term"]:
        state.name_last_tag(tags, value)
    else:
        state.add_tag(value, None, None)


def start_media_category(state: FeedState, attrs: dict[str, str]) -> None:
    attrs.setdefault("scheme", MEDIA_CATEGORY_SCHEME)
    start_category(state, attrs)


def start_itunes_category(state: FeedState, attrs: dict[str, str]) -> None:
    state.add_tag(attrs.get("text"), ITUNES_SCHEME, None)
    state.push("category", 1)


def keywords(element: str, scheme: str | None) -> EndHandler:
    """An end handler adding each comma-separated keyword as a tag."""

    def end(state: FeedState) -> None:
        for term in state.pop(element).split(","):
            if term.strip():
                state.add_tag(term.strip(), scheme, None)

    return end


def end_tags(state: FeedState) -> None:
    for term in state.pop("tags").split(","):
        state.add_tag(term.strip(), None, None)


# --------------------------------------------------------------------------- iTunes


def start_itunes_image(state: FeedState, attrs: dict[str, str]) -> None:
    state.push("itunes_image", 0)
    href = attrs.get("href") or attrs.get("url")
    if href:
        state.context()["image"] = Record({"href": href})


def end_itunes_block(state: FeedState) -> None:
    value = state.pop("itunes_block", 0)
    state.context()["itunes_block"] = 1 if value in ("yes", "Yes") else 0


def end_itunes_explicit(state: FeedState) -> None:
    value = state.pop("itunes_explicit", 0)
    state.context()["itunes_explicit"] = (None, False, True)[
        (value == "yes" and 2) or value == "clean" or 0
    ]


# --------------------------------------------------------------------------- Media RSS


def start_media_group(state: FeedState, attrs: dict[str, str]) -> None:
    return


def start_media_content(state: FeedState, attrs: dict[str, str]) -> None:
    state.context().setdefault("media_content", []).append(attrs)


def start_media_thumbnail(state: FeedState, attrs: dict[str, str]) -> None:
    context = state.context()
    context.setdefault("media_thumbnail", [])
    state.push("url", 1)
    context["media_thumbnail"].append(attrs)


def end_media_thumbnail(state: FeedState) -> None:
    url = state.pop("url")
    context = state.context()
    if url is not None and url.strip() and "url" not in context["media_thumbnail"][-1]:
        context["media_thumbnail"][-1]["url"] = url


def media_attributes(
    key: str, element: str, content: Callable[[str], Any]
) -> tuple[Handler, EndHandler]:
    """media:rating, media:restriction, media:license: attributes kept, text as ``content``."""

    def start(state: FeedState, attrs: dict[str, str]) -> None:
        state.context().setdefault(key, attrs)
        state.push(element, 1)

    def end(state: FeedState) -> None:
        value = state.pop(element)
        if value is not None and value.strip():
            state.context()[key]["content"] = content(value)

    return start, end


def start_media_credit(state: FeedState, attrs: dict[str, str]) -> None:
    state.context().setdefault("media_credit", []).append(attrs)
    state.push("credit", 1)


def end_media_credit(state: FeedState) -> None:
    credit = state.pop("credit")
    if credit is not None and credit.strip():
        state.context()["media_credit"][-1]["content"] = credit


def start_media_player(state: FeedState, attrs: dict[str, str]) -> None:
    state.push("media_player", 0)
    state.context()["media_player"] = Record(attrs)


def end_media_player(state: FeedState) -> None:
    value = state.pop("media_player")
    state.context()["media_player"]["content"] = value


def restriction(value: str) -> list[str]:
    return [code.strip().lower() for code in value.split(" ")]


def same(value: str) -> str:
    return value
