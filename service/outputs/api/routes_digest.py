"""Leaving the digest with one click: ``/v1/unsubscribe/{signed}`` (RFC 8058).

The link is in every digest, in the footer and in the ``List-Unsubscribe`` header with
``List-Unsubscribe-Post: List-Unsubscribe=One-Click``. ``GET`` shows a page with a button and
changes nothing (mail scanners and link previews fetch links); ``POST`` — the button, or the mail
client's one-click request with the body ``List-Unsubscribe=One-Click`` — turns the digest off.
No login: the signed token names the profile and cannot be altered (``service.outputs.links``).
Unsubscribing twice is harmless.
"""

from __future__ import annotations

import html
from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import HTMLResponse

from service.outputs.api.deps import DatabaseDep, NowDep, SettingsDep
from service.outputs.api.pages import HTML_RESPONSE, PAGE_HEADERS, confirm_form, html_page
from service.outputs.api.problems import problem_responses
from service.outputs.links import read_unsubscribe_token
from service.storage.engine import Database
from service.storage.models import Profile
from service.storage.profiles import get_profile, update_profile

router = APIRouter(prefix="/v1/unsubscribe", tags=["digest"])

SignedToken = Annotated[
    str, Path(max_length=2048, description="The signed token of an unsubscribe link.")
]


def masked(address: str | None) -> str:
    """``a•••@example.org``: enough to recognise an address without showing it to a stranger."""
    if not address or "@" not in address:
        return "your address"
    local, _, domain = address.rpartition("@")
    return f"{local[:1]}•••@{domain}"


def _profile(db: Database, profile_id: int) -> Profile:
    with db.session() as session:
        return get_profile(session, profile_id)


@router.get(
    "/{token}",
    summary="Confirm leaving the email digest",
    description="Shows which digest the link stops and a button to do it. Opening the link "
    "changes **nothing**, so a mail scanner that prefetches it does not unsubscribe anyone.",
    response_class=HTMLResponse,
    responses={200: HTML_RESPONSE, **problem_responses(403, 404, 410)},
)
def confirm_unsubscribe(
    token: SignedToken, db: DatabaseDep, settings: SettingsDep, now: NowDep
) -> HTMLResponse:
    profile = _profile(db, read_unsubscribe_token(settings.secret_key_bytes(), token, now=now))
    if not profile.digest_enabled:
        body = f"<p>The digest to {html.escape(masked(profile.email))} is already off.</p>"
        return HTMLResponse(html_page("Already unsubscribed", body), headers=PAGE_HEADERS)
    body = (
        f"<p>Stop the Staycurrent digest to {html.escape(masked(profile.email))}?</p>"
        f"{confirm_form('Unsubscribe')}"
    )
    return HTMLResponse(html_page("Unsubscribe?", body), headers=PAGE_HEADERS)


@router.post(
    "/{token}",
    summary="Leave the email digest (one click)",
    description="Turns the digest of the link's profile off. This is the confirmation page's "
    "button and the RFC 8058 one-click request (any body, e.g. `List-Unsubscribe=One-Click`). "
    "Turn it back on with `PATCH /v1/profiles/me` (`digest_enabled: true`).",
    response_class=HTMLResponse,
    responses={200: HTML_RESPONSE, **problem_responses(403, 404, 410)},
)
def unsubscribe(
    token: SignedToken, db: DatabaseDep, settings: SettingsDep, now: NowDep
) -> HTMLResponse:
    profile_id = read_unsubscribe_token(settings.secret_key_bytes(), token, now=now)
    profile = update_profile(db, profile_id=profile_id, changes={"digest_enabled": False})
    body = (
        f"<p>Done: no more digests to {html.escape(masked(profile.email))}.</p>"
        "<p>Changed your mind? Set <code>digest_enabled</code> back to true in your profile.</p>"
    )
    return HTMLResponse(html_page("Unsubscribed", body), headers=PAGE_HEADERS)
