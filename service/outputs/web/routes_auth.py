"""Signing in and out of the reading page.

- ``GET /login``: the only page open without a session: a form for a profile's API token, and
  one for an email address (a one-time sign-in link is sent when a profile has that address);
- ``POST /login``: the token; right, a session begins; wrong, 401 (counted by the API's limit
  of failed authentications);
- ``GET /signin?link=…``: the emailed link shows a button and changes nothing (mail scanners
  open links); ``POST /signin`` uses the link up and signs in;
- ``POST /logout``: the session ends (its row is deleted) and the cookie is cleared.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from service.config import Settings
from service.errors import ConfigError, SMTPDeliveryError
from service.outputs.api.deps import DatabaseDep, NowDep, SettingsDep
from service.outputs.api.ratelimit import TokenBuckets
from service.outputs.digest.send import SMTPConfig, send_email
from service.outputs.web.render import page
from service.outputs.web.session import (
    LOGIN_COOKIE,
    SESSION_TTL,
    ReaderDep,
    check_csrf,
    check_login_csrf,
    clear_session_cookie,
    login_nonce,
    set_login_cookie,
    set_session_cookie,
    signed_in,
)
from service.storage.engine import Database
from service.storage.profiles import find_by_token
from service.storage.web_sessions import (
    close_session,
    issue_link,
    open_session,
    profile_by_email,
    redeem_link,
)

log = logging.getLogger("staycurrent.web")
router = APIRouter()

LINK_TTL = timedelta(minutes=20)
LINK_SENT = (
    "If a profile has that address, a sign-in link is on its way: it works once, for 20 minutes."
)
Field = Annotated[str, Form(max_length=400)]


def _login_page(
    request: Request, settings: Settings, *, note: str = "", status: int = 200
) -> Response:
    nonce = login_nonce(request)
    context = {
        "reader": None,
        "csrf": nonce,
        "note": note,
        "email_enabled": bool(settings.smtp_host),
    }
    response = page(request, "login.html", context, status_code=status)
    set_login_cookie(response, request, settings, nonce)
    return response


def _failures(request: Request) -> TokenBuckets:
    buckets: TokenBuckets = request.app.state.sign_in_failures
    return buckets


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _throttled(request: Request, settings: Settings, now: datetime) -> Response | None:
    """The page to answer when this client spent its failed sign-ins (429), else None."""
    wait = _failures(request).wait(_client(request), now.timestamp())
    if wait is None:
        return None
    note = f"Too many failed sign-ins from here: try again in {wait} s."
    response = _login_page(request, settings, note=note, status=429)
    response.headers["Retry-After"] = str(wait)
    return response


def _failed(request: Request, settings: Settings, now: datetime, note: str) -> Response:
    _failures(request).take(_client(request), now.timestamp())
    return _login_page(request, settings, note=note, status=401)


def _home(request: Request) -> str:
    return f"{request.scope.get('root_path') or ''}/"


def _begin(
    request: Request, settings: Settings, db: Database, profile_id: int, now: datetime
) -> Response:
    secret = open_session(db, profile_id=profile_id, now=now, ttl=SESSION_TTL)
    response = RedirectResponse(_home(request), status_code=303)
    set_session_cookie(response, request, settings, secret, now)
    response.delete_cookie(LOGIN_COOKIE, path=str(request.scope.get("root_path") or "/"))
    return response


@router.get("/login")
def login_form(request: Request, settings: SettingsDep, db: DatabaseDep, now: NowDep) -> Response:
    if signed_in(request, settings, db, now) is not None:
        return RedirectResponse(_home(request), status_code=303)
    return _login_page(request, settings)


@router.post("/login")
def login(
    *,
    request: Request,
    settings: SettingsDep,
    db: DatabaseDep,
    now: NowDep,
    token: Field,
    csrf: Field,
) -> Response:
    check_login_csrf(request, csrf)
    throttled = _throttled(request, settings, now)
    if throttled is not None:
        return throttled
    with db.session() as session:
        profile = find_by_token(session, token.strip(), which="api")
    if profile is None or profile.id is None:
        note = "That token is no profile's API token (it may have been rotated)."
        return _failed(request, settings, now, note)
    return _begin(request, settings, db, profile.id, now)


def _link_message(settings: Settings, address: str, url: str, now: datetime) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = address
    message["Subject"] = "Your Staycurrent sign-in link"
    message["Date"] = format_datetime(now)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(
        "Open this link to sign in to your Staycurrent reading page. It works once, for the next "
        f"20 minutes:\n\n{url}\n\nIf you did not ask for it, ignore this message.\n"
    )
    return message


@router.post("/login/email")
def email_link(
    *,
    request: Request,
    settings: SettingsDep,
    db: DatabaseDep,
    now: NowDep,
    email: Field,
    csrf: Field,
) -> Response:
    check_login_csrf(request, csrf)
    if not settings.smtp_host:
        raise ConfigError("email sign-in is off on this server (STAYCURRENT_SMTP_HOST is not set)")
    profile = profile_by_email(db, email)
    if profile is not None and profile.id is not None and profile.email:
        secret = issue_link(db, profile_id=profile.id, now=now, ttl=LINK_TTL)
        url = f"{settings.base_url.rstrip('/')}{request.scope.get('root_path') or ''}/signin?"
        url += urlencode({"link": secret})
        try:
            send_email(
                SMTPConfig.from_settings(settings),
                _link_message(settings, profile.email, url, now),
                recipient=profile.email,
            )
        except SMTPDeliveryError as error:
            log.warning("sign-in link not sent: %s", error.reason)
            return _login_page(request, settings, note="The link could not be sent.", status=503)
    return _login_page(request, settings, note=LINK_SENT)


@router.get("/signin")
def confirm_link(
    request: Request,
    settings: SettingsDep,
    link: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    nonce = login_nonce(request)
    context = {"reader": None, "csrf": nonce, "link": link}
    response = page(request, "signin.html", context)
    set_login_cookie(response, request, settings, nonce)
    return response


@router.post("/signin")
def use_link(
    *,
    request: Request,
    settings: SettingsDep,
    db: DatabaseDep,
    now: NowDep,
    link: Field,
    csrf: Field,
) -> Response:
    check_login_csrf(request, csrf)
    throttled = _throttled(request, settings, now)
    if throttled is not None:
        return throttled
    profile_id = redeem_link(db, link, now=now)
    if profile_id is None:
        note = "That sign-in link was used already or has expired: ask for a new one."
        return _failed(request, settings, now, note)
    return _begin(request, settings, db, profile_id, now)


@router.post("/logout")
def logout(
    request: Request, reader: ReaderDep, db: DatabaseDep, settings: SettingsDep, csrf: Field
) -> Response:
    check_csrf(reader, csrf)
    close_session(db, reader.secret)
    response = RedirectResponse(f"{request.scope.get('root_path') or ''}/login", status_code=303)
    clear_session_cookie(response, request, settings)
    return response
