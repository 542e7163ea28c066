"""Settings: interests from the taxonomy, keywords (``-word`` is a negative), followed authors,
kind weights, the dial and window, the digest schedule (and a preview), and feed addresses.

Changes go through ``update_profile`` (the API's checks and words); a refused value shows the
form again with the reason. Feed addresses contain the feed token, stored only as a hash, so the
page makes new ones on request (the old ones stop working) and shows them this once to copy.
App passwords (for reader apps, Google Reader API) are listed, made and revoked here through the
same storage functions as ``/v1/profiles/me/app-passwords``; a new one is shown this once, with
the server address and user name to type into the app.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from service.config import Settings
from service.errors import ConflictError, InvalidInputError
from service.outputs.api.deps import DatabaseDep, NowDep, SettingsDep
from service.outputs.digest.run import preview
from service.outputs.subscriptions import subscription_urls
from service.outputs.web.render import page
from service.outputs.web.session import Reader, ReaderDep, check_csrf
from service.records import KINDS
from service.storage.app_passwords import (
    MAX_APP_PASSWORDS,
    create_app_password,
    list_app_passwords,
    revoke_app_password,
)
from service.storage.engine import Database
from service.storage.models import MAX_ROW_ID, Profile
from service.storage.profiles import (
    DIGEST_CADENCES,
    MAX_KIND_WEIGHT,
    MAX_WINDOW_DAYS,
    rotate_token,
    update_profile,
)
from service.storage.topics import taxonomy

router = APIRouter()

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MAX_FORM_FIELDS = 2000


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.replace(",", "\n").splitlines() if line.strip()]


def _number(form: FormData, name: str, default: float | None = None) -> float | None:
    raw = str(form.get(name, "")).strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise InvalidInputError(f"{name}: must be a number (got {raw[:40]!r})") from None


def _whole(form: FormData, name: str, default: int) -> int:
    value = _number(form, name, default)
    assert value is not None
    if value != int(value):
        raise InvalidInputError(f"{name}: must be a whole number (got {value})")
    return int(value)


def _interests(profile: Profile, form: FormData) -> dict[str, float]:
    """Checked topics keep the weight they had; newly checked ones get 1."""
    had = dict(profile.interests or {})
    return {slug: had.get(slug, 1.0) for slug in dict.fromkeys(map(str, form.getlist("interest")))}


def _kind_weights(form: FormData) -> dict[str, float]:
    weights: dict[str, float] = {}
    for kind in KINDS:
        value = _number(form, f"kind_{kind}")
        if value is not None and value != 1.0:
            weights[kind] = value
    return weights


def changes_from(profile: Profile, form: FormData) -> dict[str, object]:
    """The profile changes a submitted settings form asks for (checked by ``update_profile``)."""
    email = str(form.get("email", "")).strip()
    return {
        "interests": _interests(profile, form),
        "keywords": _lines(str(form.get("keywords", ""))),
        "authors": [a.strip() for a in str(form.get("authors", "")).splitlines() if a.strip()],
        "kind_weights": _kind_weights(form),
        "depth": _number(form, "depth", profile.depth),
        "window_days": _whole(form, "window_days", profile.window_days),
        "email": email or None,
        "digest_enabled": form.get("digest_enabled") == "on",
        "digest_time": str(form.get("digest_time", profile.digest_time)).strip(),
        "timezone": str(form.get("timezone", profile.timezone)).strip(),
        "digest_cadence": str(form.get("digest_cadence", profile.digest_cadence)),
        "digest_weekday": _whole(form, "digest_weekday", profile.digest_weekday),
        "digest_max_items": _whole(form, "digest_max_items", profile.digest_max_items),
        "digest_budget_minutes": _whole(
            form, "digest_budget_minutes", profile.digest_budget_minutes
        ),
    }


def _taxonomy(db: Database) -> list[dict[str, Any]]:
    """The areas, each with its subtopics, for the interest checkboxes."""
    with db.session() as session:
        topics = list(taxonomy(session))
    return [
        {"area": area, "subtopics": [t for t in topics if t.parent == area.slug]}
        for area in topics
        if area.parent is None
    ]


def _settings_page(
    request: Request,
    reader: Reader,
    *,
    db: Database,
    settings: Settings,
    **extra: Any,
) -> Response:
    status = int(extra.pop("status", 200))
    with db.session() as session:
        app_passwords = list_app_passwords(session, profile_id=reader.profile_id)
    context = {
        "reader": reader,
        "csrf": reader.csrf,
        "profile": reader.profile,
        "taxonomy": _taxonomy(db),
        "kinds": KINDS,
        "max_kind_weight": MAX_KIND_WEIGHT,
        "max_window": MAX_WINDOW_DAYS,
        "cadences": DIGEST_CADENCES,
        "weekdays": WEEKDAYS,
        "catalog_opml": f"{settings.base_url.rstrip('/')}/v1/opml",
        "error": "",
        "saved": request.query_params.get("saved") == "1",
        "feed_urls": None,
        "app_passwords": app_passwords,
        "max_app_passwords": MAX_APP_PASSWORDS,
        "new_app_password": None,
        "server_url": settings.base_url,
        "revoked": request.query_params.get("revoked") == "1",
        **extra,
    }
    return page(request, "settings.html", context, status_code=status)


@router.get("/settings")
def settings_form(
    request: Request, reader: ReaderDep, db: DatabaseDep, settings: SettingsDep
) -> Response:
    return _settings_page(request, reader, db=db, settings=settings)


@router.post("/settings")
async def save_settings(
    request: Request, reader: ReaderDep, db: DatabaseDep, settings: SettingsDep
) -> Response:
    form = await request.form(max_fields=MAX_FORM_FIELDS)
    check_csrf(reader, str(form.get("csrf", "")))
    try:
        changes = changes_from(reader.profile, form)
        await run_in_threadpool(update_profile, db, profile_id=reader.profile_id, changes=changes)
    except (InvalidInputError, ConflictError) as error:
        return await run_in_threadpool(
            _settings_page,
            request,
            reader,
            db=db,
            settings=settings,
            error=error.reason,
            status=400,
        )
    base = str(request.scope.get("root_path") or "")
    return RedirectResponse(f"{base}/settings?saved=1", status_code=303)


@router.post("/settings/feed-addresses")
async def new_feed_addresses(
    request: Request, reader: ReaderDep, db: DatabaseDep, settings: SettingsDep
) -> Response:
    form = await request.form()
    check_csrf(reader, str(form.get("csrf", "")))
    token = await run_in_threadpool(rotate_token, db, profile_id=reader.profile_id, which="feed")
    urls = subscription_urls(settings.base_url, token)
    return await run_in_threadpool(
        _settings_page, request, reader, db=db, settings=settings, feed_urls=urls
    )


@router.post("/settings/app-passwords")
async def new_app_password(
    request: Request, reader: ReaderDep, db: DatabaseDep, settings: SettingsDep, now: NowDep
) -> Response:
    form = await request.form()
    check_csrf(reader, str(form.get("csrf", "")))
    try:
        created = await run_in_threadpool(
            create_app_password,
            db,
            profile_id=reader.profile_id,
            label=str(form.get("label", "")),
            now=now,
        )
    except (InvalidInputError, ConflictError) as error:
        return await run_in_threadpool(
            _settings_page,
            request,
            reader,
            db=db,
            settings=settings,
            error=error.reason,
            status=400,
        )
    return await run_in_threadpool(
        _settings_page, request, reader, db=db, settings=settings, new_app_password=created
    )


@router.post("/settings/app-passwords/{app_password_id}/revoke")
async def revoke(
    request: Request,
    reader: ReaderDep,
    db: DatabaseDep,
    app_password_id: Annotated[int, Path(ge=1, le=MAX_ROW_ID)],
) -> Response:
    """Another profile's app password is answered as an unknown one (404)."""
    form = await request.form()
    check_csrf(reader, str(form.get("csrf", "")))
    await run_in_threadpool(
        revoke_app_password, db, profile_id=reader.profile_id, app_password_id=app_password_id
    )
    base = str(request.scope.get("root_path") or "")
    return RedirectResponse(f"{base}/settings?revoked=1#app-passwords", status_code=303)


@router.get("/settings/digest-preview")
def digest_preview(
    request: Request, reader: ReaderDep, db: DatabaseDep, settings: SettingsDep, now: NowDep
) -> Response:
    composed = preview(db, settings, reader.profile, now)
    context = {
        "reader": reader,
        "csrf": reader.csrf,
        "subject": composed.letter.subject,
        "text": composed.letter.text,
        "entries": composed.digest.item_count,
        "minutes": composed.digest.minutes,
    }
    return page(request, "digest_preview.html", context)
