"""Google Reader API edits: read and starred as feedback (``edit-tag``, ``mark-all-as-read``)
and unsubscribing as muting (``subscription/edit``, ``subscription/quickadd``); each answers
``OK``, idempotent."""

from __future__ import annotations

from starlette.responses import Response

from service.errors import (
    InvalidInputError,
    NotFoundError,
)
from service.outputs.api.greader_context import (
    MAX_PAGE,
    Params,
    Reader,
    all_params,
    first_param,
    json_response,
    ok_response,
    stream_param,
)
from service.outputs.greader.ids import (
    KEPT_UNREAD,
    MAX_USEC,
    READ,
    STARRED,
    parse_stream_id,
)
from service.outputs.greader.library import source_id_by_url
from service.outputs.greader.streams import (
    Filters,
    all_keys,
    select_stream,
)
from service.storage.feedback import record_feedback_many, withdraw_feedback_many
from service.storage.profiles import update_profile


def _tags(params: Params, name: str) -> set[str]:
    tags = set()
    for value in all_params(params, name):
        stream = parse_stream_id(value)  # malformed -> 400
        tags.add(stream.text)
    return tags


def edit_tag(reader: Reader) -> Response:
    reader.check_edit_token()
    if not all_params(reader.params, "i"):
        raise InvalidInputError("i: no item id given")
    ids = reader.item_ids()
    added, removed = _tags(reader.params, "a"), _tags(reader.params, "r")
    profile_id = reader.profile_id
    if READ in added:
        record_feedback_many(
            reader.db, profile_id=profile_id, item_ids=ids, signal="read", now=reader.now
        )
    elif READ in removed or KEPT_UNREAD in added:
        withdraw_feedback_many(reader.db, profile_id=profile_id, item_ids=ids, signal="read")
    if STARRED in added:
        record_feedback_many(
            reader.db, profile_id=profile_id, item_ids=ids, signal="save", now=reader.now
        )
    elif STARRED in removed:
        withdraw_feedback_many(reader.db, profile_id=profile_id, item_ids=ids, signal="save")
    return ok_response()


def _timestamp_usec(value: str | None) -> int | None:
    if not value:
        return None
    text = value.strip()
    if not text.isdigit() or len(text) > 19:
        raise InvalidInputError(f"ts: microseconds since 1970 (got {text[:40]!r})")
    number = int(text)
    usec = number * 1_000_000 if number < 10**11 else number  # seconds are taken too
    if usec > MAX_USEC:
        raise InvalidInputError(f"ts: past the year 9999 (got {text})")
    return usec


def mark_all_as_read(reader: Reader) -> Response:
    reader.check_edit_token()
    stream = stream_param(reader)
    limit = _timestamp_usec(first_param(reader.params, "ts"))
    library = reader.library()
    selection = select_stream(library, stream)
    older = None if limit is None else limit // 1_000_000 + 1
    filters = Filters(count=MAX_PAGE, older_than=older, exclude="read")
    with reader.db.session() as session:
        keys = list(all_keys(session, library, selection, filters))
    ids = [k.item_id for k in keys if limit is None or k.usec <= limit]
    for start in range(0, len(ids), MAX_PAGE):
        record_feedback_many(
            reader.db,
            profile_id=reader.profile_id,
            item_ids=ids[start : start + MAX_PAGE],
            signal="read",
            now=reader.now,
        )
    return ok_response()


def _muted_change(reader: Reader, stream_text: str, *, mute: bool) -> None:
    library = reader.library()
    if library.lens(stream_text) is not None:
        raise InvalidInputError("a Staycurrent lens cannot be unsubscribed or re-subscribed")
    source = library.source(stream_text)
    source_id = source.source_id if source else _source_id_for(reader, stream_text)
    muted = set(reader.user.profile.muted_sources or ())
    if not mute and source is None and source_id not in muted:
        raise InvalidInputError(
            "that source is not behind your interests: add one of its topics to your interests "
            "(PATCH /v1/profiles/me) and it is listed"
        )
    wanted = muted | {source_id} if mute else muted - {source_id}
    if wanted != muted:
        changes = {"muted_sources": sorted(wanted)}
        update_profile(reader.db, profile_id=reader.profile_id, changes=changes)


def _source_id_for(reader: Reader, stream_text: str) -> int:
    found = source_id_by_url(reader.db, stream_text.removeprefix("feed/"))
    if found is None:
        raise NotFoundError(
            "not a Staycurrent source: the admin adds sources (staycurrent sources add)"
        )
    return found


def subscription_edit(reader: Reader) -> Response:
    reader.check_edit_token()
    action = first_param(reader.params, "ac") or ""
    streams = [parse_stream_id(s) for s in all_params(reader.params, "s")]
    if not streams or any(s.kind != "feed" for s in streams):
        raise InvalidInputError("s: one or more feed/<url> stream ids")
    if action not in ("subscribe", "unsubscribe", "edit"):
        raise InvalidInputError("ac: subscribe, unsubscribe or edit")
    if action == "edit":
        raise InvalidInputError("renaming and moving are not supported: folders follow areas")
    for stream in streams:
        _muted_change(reader, stream.text, mute=action == "unsubscribe")
    return ok_response()


def quick_add(reader: Reader) -> Response:
    reader.check_edit_token()
    url = (first_param(reader.params, "quickadd") or "").strip().removeprefix("feed/")
    if not url:
        raise InvalidInputError("quickadd: the feed URL is missing")
    stream = parse_stream_id(f"feed/{url}")  # malformed (control characters, length) -> 400
    _muted_change(reader, stream.text, mute=False)
    return json_response({"numResults": 1, "query": url, "streamId": f"feed/{url}"})
