"""Feedback: ``POST /v1/feedback`` with a token, or a signed one-click link from an email or feed.

A one-click link is two steps on purpose: ``GET`` shows a small confirmation page and changes
nothing (mail scanners and link previews fetch links), its button ``POST``s the same signed token,
which records the signal. Links expire and cannot be altered (``service.outputs.links``).
"""

from __future__ import annotations

import html
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import HTMLResponse

from service.errors import NotFoundError
from service.outputs.api.deps import CurrentProfile, DatabaseDep, NowDep, SettingsDep
from service.outputs.api.pages import HTML_RESPONSE, PAGE_HEADERS, confirm_form, html_page
from service.outputs.api.problems import problem_responses
from service.outputs.api.schemas_feed import FeedbackIn, FeedbackOut
from service.outputs.links import FeedbackClaim, read_feedback_token
from service.storage.engine import Database
from service.storage.feedback import record_feedback
from service.storage.models import Item, Profile

router = APIRouter(prefix="/v1/feedback", tags=["feedback"])

SIGNAL_ACTIONS = {
    "like": ("Like", "liked"),
    "dislike": ("Show fewer like this", "noted you want fewer items like"),
    "save": ("Save", "saved"),
    "hide": ("Hide", "hid"),
    "read": ("Mark as read", "marked as read"),
}
SignedToken = Annotated[
    str, Path(max_length=2048, description="The signed token of a one-click link.")
]


@router.post(
    "",
    summary="Record feedback on an item",
    description="Records `like`, `dislike`, `save`, `hide` or `read` for your profile. Recording "
    "twice changes nothing; `like` and `dislike` replace each other. Likes and dislikes shift "
    "your topic, source and author affinities; hidden items never return; read items leave the "
    "feed unless `include_read=true`.",
    response_model=FeedbackOut,
    responses=problem_responses(401, 404, 422),
)
def post_feedback(
    profile: CurrentProfile, db: DatabaseDep, now: NowDep, body: FeedbackIn
) -> FeedbackOut:
    assert profile.id is not None
    outcome = record_feedback(
        db, profile_id=profile.id, item_id=body.item_id, signal=body.signal, now=now
    )
    return FeedbackOut(
        item_id=outcome.item_id,
        signal=body.signal,
        changed=outcome.changed,
        replaced=outcome.replaced,
        signals=list(outcome.signals),
    )


def _claim(db: Database, secret: bytes, token: str, now: datetime) -> tuple[FeedbackClaim, str]:
    claim = read_feedback_token(secret, token, now=now)
    with db.session() as session:
        item = session.get(Item, claim.item_id)
        profile = session.get(Profile, claim.profile_id)
        if profile is None or item is None:
            raise NotFoundError("the item or profile of this link no longer exists")
    claim.check_generation(profile.feed_token_hash)
    return claim, item.title


@router.get(
    "/{token}",
    summary="Confirm a one-click feedback link",
    description="Shows what the link will record and a button to do it. Opening the link "
    "records **nothing**, so a mail scanner that prefetches it changes nothing.",
    response_class=HTMLResponse,
    responses={200: HTML_RESPONSE, **problem_responses(403, 404, 410)},
)
def confirm_link(
    token: SignedToken, db: DatabaseDep, settings: SettingsDep, now: NowDep
) -> HTMLResponse:
    claim, item_title = _claim(db, settings.secret_key_bytes(), token, now)
    button, _done = SIGNAL_ACTIONS[claim.signal]
    body = f"<p>{html.escape(item_title)}</p>{confirm_form(button)}"
    return HTMLResponse(html_page(f"{button}?", body), headers=PAGE_HEADERS)


@router.post(
    "/{token}",
    summary="Record a one-click feedback link",
    description="The confirmation page's button: records the signal the link was signed for.",
    response_class=HTMLResponse,
    responses={200: HTML_RESPONSE, **problem_responses(403, 404, 410)},
)
def record_link(
    token: SignedToken, db: DatabaseDep, settings: SettingsDep, now: NowDep
) -> HTMLResponse:
    claim, item_title = _claim(db, settings.secret_key_bytes(), token, now)
    record_feedback(
        db, profile_id=claim.profile_id, item_id=claim.item_id, signal=claim.signal, now=now
    )
    _button, done = SIGNAL_ACTIONS[claim.signal]
    body = f"<p>Done: {html.escape(done)} “{html.escape(item_title)}”.</p>"
    return HTMLResponse(html_page("Thank you", body), headers=PAGE_HEADERS)
