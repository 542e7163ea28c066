"""Google Reader ids, stream ids and paging tokens, parsed and made (pure).

Item ids come in three forms, all naming the same 64-bit number (our item id):

- long: ``tag:google.com,2005:reader/item/000000000000002a`` (16 hex digits);
- short: ``42`` (decimal; clients that keep it as a signed 64-bit number may send it negative);
- bare hex: ``000000000000002a`` (16 hex digits, as some clients send the long form's tail;
  16 characters with a leading zero or a letter are hex, anything else decimal).

Stream ids: ``user/-/state/com.google/reading-list|starred|read`` (``-`` or the user's number),
``user/-/label/<name>``, ``feed/<url>``. A continuation is ``<sort key hex>.<item id hex>`` of the
last item given: the next page starts after it (keyset paging, stable while items arrive).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from service.errors import InvalidInputError

ITEM_PREFIX = "tag:google.com,2005:reader/item/"
STATE_PREFIX = "user/-/state/com.google/"
LABEL_PREFIX = "user/-/label/"
READING_LIST = f"{STATE_PREFIX}reading-list"
READ = f"{STATE_PREFIX}read"
STARRED = f"{STATE_PREFIX}starred"
KEPT_UNREAD = f"{STATE_PREFIX}kept-unread"
MAX_ITEM_ID = 2**63 - 1
MAX_STREAM_CHARS = 2200
MAX_SECONDS = 253_402_300_799  # 9999-12-31T23:59:59Z: the last instant a datetime can hold
MAX_USEC = MAX_SECONDS * 1_000_000
_HEX16 = re.compile(r"^[0-9a-fA-F]{16}$")
_DECIMAL = re.compile(r"^-?[0-9]{1,20}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_USER = re.compile(r"^user/(?:-|[0-9]{1,20})/")
_CONTINUATION = re.compile(r"^([0-9a-f]{1,16})\.([0-9a-f]{1,16})$")

StreamKind = Literal["reading-list", "starred", "read", "kept-unread", "label", "feed"]
STATES: tuple[StreamKind, ...] = ("reading-list", "starred", "read", "kept-unread")


class MalformedIdError(InvalidInputError):
    """An item id, stream id or continuation that is none of the accepted forms."""


def long_item_id(item_id: int) -> str:
    return f"{ITEM_PREFIX}{item_id:016x}"


def short_item_id(item_id: int) -> str:
    return str(item_id)


def _checked(number: int, given: str) -> int:
    if not 1 <= number <= MAX_ITEM_ID:
        raise MalformedIdError(f"item id out of range: {given[:80]!r}")
    return number


def parse_item_id(value: str) -> int:
    """Our item id from any of the three forms; MalformedIdError naming the value otherwise."""
    text = value.strip()
    if text.startswith(ITEM_PREFIX):
        tail = text[len(ITEM_PREFIX) :]
        if not _HEX16.match(tail):
            raise MalformedIdError(f"item id: not 16 hex digits after the prefix: {text[:80]!r}")
        return _checked(int(tail, 16), text)
    if _HEX16.match(text) and (text.startswith("0") or not text.isdigit()):
        return _checked(int(text, 16), text)
    if _DECIMAL.match(text):
        number = int(text)
        return _checked(number + 2**64 if number < 0 else number, text)
    raise MalformedIdError(f"item id: neither tag:…/item/<16 hex>, decimal nor hex: {text[:80]!r}")


@dataclass(frozen=True, slots=True)
class StreamId:
    """A parsed stream id: a state, a label (its name) or a feed (its URL)."""

    kind: StreamKind
    name: str = ""

    @property
    def text(self) -> str:
        if self.kind == "label":
            return f"{LABEL_PREFIX}{self.name}"
        if self.kind == "feed":
            return f"feed/{self.name}"
        return f"{STATE_PREFIX}{self.kind}"


def parse_stream_id(value: str) -> StreamId:
    """The stream ``value`` names; MalformedIdError when it is none of the known forms."""
    text = value.strip()
    if not text or len(text) > MAX_STREAM_CHARS:
        raise MalformedIdError("stream id: empty or too long")
    if _CONTROL.search(text):
        raise MalformedIdError("stream id: control characters")
    if text.startswith("feed/") and len(text) > len("feed/"):
        return StreamId("feed", text[len("feed/") :])
    user = _USER.match(text)
    if user is None:
        raise MalformedIdError(f"stream id: not user/-/…, nor feed/<url>: {text[:80]!r}")
    rest = text[user.end() :]
    if rest.startswith("label/") and rest[len("label/") :].strip():
        return StreamId("label", rest[len("label/") :])
    if rest.startswith("state/com.google/"):
        state = rest[len("state/com.google/") :]
        for kind in STATES:
            if state == kind:
                return StreamId(kind)
    raise MalformedIdError(f"stream id: unknown state or label: {text[:80]!r}")


@dataclass(frozen=True, slots=True, order=True)
class SortKey:
    """Where an item sits in a stream: its time in microseconds, then its id."""

    usec: int
    item_id: int


def continuation_of(key: SortKey) -> str:
    return f"{key.usec:x}.{key.item_id:x}"


def parse_continuation(value: str) -> SortKey:
    found = _CONTINUATION.match(value.strip())
    if found is None or int(found.group(1), 16) > MAX_USEC:
        raise MalformedIdError(f"continuation: not one this server gave: {value[:80]!r}")
    return SortKey(int(found.group(1), 16), int(found.group(2), 16))


def parse_count(value: str | None, *, default: int, most: int) -> int:
    """``n``: a whole number from 1 (larger ones are cut to ``most``: the rest is paged)."""
    if value is None or value == "":
        return default
    if not value.strip().isdigit() or int(value) < 1:
        raise InvalidInputError(f"n: a whole number from 1 (got {value[:40]!r})")
    return min(int(value), most)


def parse_seconds(name: str, value: str | None) -> int | None:
    """``ot`` / ``nt``: Unix seconds (microseconds are accepted too and scaled down)."""
    if value is None or value == "":
        return None
    text = value.strip()
    if not text.isdigit() or len(text) > 19:
        raise InvalidInputError(f"{name}: Unix seconds (got {text[:40]!r})")
    number = int(text)
    seconds = number // 1_000_000 if number > 10**11 else number
    if seconds > MAX_SECONDS:
        raise InvalidInputError(f"{name}: past the year 9999 (got {text})")
    return seconds
