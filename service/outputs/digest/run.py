"""The digest's one orchestrator: find due periods, claim, compose, send, record.

::

    expire_stuck | digest_profiles (keyset batches) | schedule.due_period + needs_attempt
        | claim_delivery | gather (one ranking, paged - items sent before) | compose | render
        | message | begin_sending (committed) | send_email | mark_sent / mark_retry / mark_failed

``run_due_digests(db, settings, now)`` is what the worker calls every minute. Several workers may
call it at once: the claim decides who sends each period (``service.storage.deliveries``).
A failing digest is a value in the results, never an exception that stops the others.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Literal

from sqlmodel import Session

from service.config import Settings
from service.errors import ConfigError, DigestError, SMTPDeliveryError, StaycurrentError
from service.outputs.digest.compose import (
    Digest,
    RisingTheme,
    clean_text,
    compose_digest,
    web_url,
)
from service.outputs.digest.message import (
    build_message,
    delivery_message_id,
    preview_message_id,
)
from service.outputs.digest.render import Letter, Letterhead, render_letter
from service.outputs.digest.schedule import (
    DigestSchedule,
    Period,
    due_period,
    manual_period,
    needs_attempt,
    retry_at,
    window_days,
)
from service.outputs.digest.send import SMTPConfig, send_email
from service.outputs.feed import (
    MAX_LIMIT,
    FeedOptions,
    feed_query,
    rank_profile,
    second_after,
    shortfall_reason,
)
from service.outputs.links import feedback_url, link_generation, unsubscribe_url
from service.outputs.trends import DEFAULT_WINDOW, trends_for
from service.rank.loader import WindowCache
from service.rank.model import RankedItem, TopicIndex
from service.storage.deliveries import (
    DeliveryClaim,
    begin_sending,
    claim_delivery,
    delivery_states,
    digest_profiles,
    expire_stuck,
    last_sent_at,
    mark_failed,
    mark_retry,
    mark_sent,
    mark_skipped,
    release_claim,
    sent_item_ids,
)
from service.storage.engine import Database
from service.storage.models import Profile
from service.storage.profiles import get_profile

log = logging.getLogger("staycurrent.digest")

Outcome = Literal["sent", "retry", "failed", "skipped", "dry_run"]
COMPOSE_LEASE = timedelta(minutes=5)
MIN_SEND_LEASE = timedelta(minutes=5)
PROFILE_BATCH = 500
DEFAULT_SEND_LIMIT = 200
MAX_FEED_PAGES = 5
MIN_CHUNK = 20  # items explained at a time while looking for unsent ones
DIGEST_LEFT_OUT = "hidden, read, from muted sources or sent in an earlier digest"
EMPTY_REASON = "nothing new in the period, and no note was asked for"


@dataclass(frozen=True, slots=True)
class DigestResult:
    """What happened to one profile's period."""

    profile_id: int
    profile: str
    period: str
    outcome: Outcome
    items: int = 0
    minutes: int = 0
    message_id: str | None = None
    reason: str | None = None  # the failure or skip in words (the server's reply included)
    retry_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ComposedDigest:
    """A digest ready to send: its content, its letter and its message."""

    profile: Profile
    period: Period
    digest: Digest
    letter: Letter
    message: EmailMessage

    @property
    def sendable(self) -> bool:
        return not self.digest.empty or self.profile.digest_empty_note


class Clock:
    """``now`` as given, moving on with the monotonic clock (leases stay honest in long runs)."""

    def __init__(self, now: datetime) -> None:
        self._start = now
        self._origin = time.monotonic()

    def __call__(self) -> datetime:
        return self._start + timedelta(seconds=time.monotonic() - self._origin)


def new_claimant() -> str:
    """A name unique to one claim: host, process and a random suffix."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


# --------------------------------------------------------------------------- gathering


def _unsent(db: Database, profile_id: int, items: Sequence[RankedItem]) -> list[RankedItem]:
    with db.session() as session:
        sent = sent_item_ids(
            session, profile_id=profile_id, item_ids=[i.candidate.id for i in items]
        )
    return [item for item in items if item.candidate.id not in sent]


def _digest_options(db: Database, profile: Profile, now: datetime) -> FeedOptions:
    """The feed a digest chooses from: its depth, the days since the last one."""
    assert profile.id is not None
    with db.session() as session:
        since = last_sent_at(session, profile_id=profile.id)
    return FeedOptions(
        depth=profile.digest_depth,
        window_days=window_days(profile.digest_cadence, since, now),
        limit=MAX_LIMIT,
    )


def empty_reason(db: Database, profile: Profile, *, now: datetime) -> str:
    """Why a digest has nothing to send, in words."""
    at = second_after(now)
    query = feed_query(profile, _digest_options(db, profile, now), at)
    with db.session() as session:
        return shortfall_reason(session, query, shown=0, widen=None, left_out=DIGEST_LEFT_OUT)


def gather(
    db: Database, profile: Profile, *, now: datetime, windows: WindowCache | None = None
) -> tuple[list[RankedItem], TopicIndex, int]:
    """The profile's ranked items since its last digest, none sent before; topics; areas seen.

    The feed is ranked once; its items are read from that one ranking (only those explained),
    in order, until there is enough choice, at most ``MAX_FEED_PAGES`` pages of ``MAX_LIMIT``
    deep. ``windows``: the run's window cache (every profile ranks from the same
    window while the data does not change)."""
    assert profile.id is not None
    options = _digest_options(db, profile, now)
    wanted = max(4 * profile.digest_max_items, 40)  # enough choice for the knapsack
    ranking = rank_profile(db, profile=profile, options=options, now=now, windows=windows)
    order, start = ranking.order, 0
    found: list[RankedItem] = []
    reach = min(len(order), MAX_FEED_PAGES * MAX_LIMIT)
    while len(found) < wanted and start < reach:
        page = order.items(start, min(reach, start + max(wanted - len(found), MIN_CHUNK)))
        found += _unsent(db, profile.id, page)
        start += len(page)
    return found, ranking.topics, order.metrics.areas_available


# --------------------------------------------------------------------------- composing


def compose_for(
    db: Database,
    settings: Settings,
    profile: Profile,
    *,
    period: Period,
    now: datetime,
    message_id: str | None = None,
    windows: WindowCache | None = None,
) -> ComposedDigest:
    """Gather, choose, render and build the message of one profile's period."""
    assert profile.id is not None
    secret = settings.secret_key_bytes()
    ranked, topics, areas = gather(db, profile, now=now, windows=windows)
    digest = compose_digest(
        ranked,
        topics=topics,
        budget_minutes=profile.digest_budget_minutes,
        max_items=profile.digest_max_items,
        areas_available=areas,
    )
    if digest.empty:
        digest = replace(digest, reason=empty_reason(db, profile, now=now))
    digest = replace(digest, rising=rising_for(db, profile))
    leave = unsubscribe_url(settings.base_url, secret, profile_id=profile.id, now=now)
    head = Letterhead(
        profile_name=profile.name,
        local_date=period.local_date,
        cadence=profile.digest_cadence,
        unsubscribe_url=leave,
        feedback_url=_feedback_links(
            settings, secret, profile.id, link_generation(profile.feed_token_hash), now
        ),
    )
    letter = render_letter(digest, head)
    message = build_message(
        letter,
        sender=settings.smtp_from,
        recipient=profile.email or "",
        message_id=message_id or preview_message_id(settings.smtp_from),
        date=now,
        unsubscribe_url=leave,
    )
    return ComposedDigest(profile, period, digest, letter, message)


RISING_SHOWN = 3


def rising_for(db: Database, profile: Profile) -> tuple[RisingTheme, ...]:
    """ "Rising this week": the top themes of the trend radar for the profile (its depth)."""
    page = trends_for(db, window_days=DEFAULT_WINDOW, limit=RISING_SHOWN, profile=profile)
    return tuple(
        RisingTheme(
            label=clean_text(view.trend.label),
            why=clean_text(view.why),
            url=web_url(view.representative[0].url) if view.representative else None,
        )
        for view in page.themes
    )


def _feedback_links(
    settings: Settings, secret: bytes, profile_id: int, generation: str, now: datetime
) -> Callable[[int, str], str]:
    def link(item_id: int, signal: str) -> str:
        return feedback_url(
            settings.base_url,
            secret,
            profile_id=profile_id,
            item_id=item_id,
            signal=signal,
            generation=generation,
            now=now,
        )

    return link


# --------------------------------------------------------------------------- one period


def _result(
    claim: DeliveryClaim,
    profile: Profile,
    outcome: Outcome,
    *,
    digest: Digest | None = None,
    message_id: str | None = None,
    reason: str | None = None,
    retry: datetime | None = None,
) -> DigestResult:
    return DigestResult(
        profile_id=claim.profile_id,
        profile=profile.name,
        period=claim.period,
        outcome=outcome,
        items=digest.item_count if digest else 0,
        minutes=digest.minutes if digest else 0,
        message_id=message_id,
        reason=reason,
        retry_at=retry,
    )


def _send_lease(smtp: SMTPConfig) -> timedelta:
    return max(MIN_SEND_LEASE, timedelta(seconds=10 * smtp.timeout))


def _on_failure(
    db: Database,
    claim: DeliveryClaim,
    profile: Profile,
    error: DigestError,
    *,
    digest: Digest | None,
    now: datetime,
) -> DigestResult:
    """Record a failure: retry later when it may pass (with backoff), else failed for good."""
    permanent = isinstance(error, SMTPDeliveryError) and error.permanent
    again = None if permanent else retry_at(claim.attempts, now)
    if again is None:
        reason = error.reason if permanent else f"gave up after {claim.attempts} attempts: "
        reason = reason if permanent else reason + error.reason
        mark_failed(db, claim=claim, reason=reason)
        log.warning(
            "digest failed: %s",
            reason,
            extra={"profile": profile.name, "period": claim.period, "attempts": claim.attempts},
        )
        return _result(claim, profile, "failed", digest=digest, reason=reason)
    mark_retry(db, claim=claim, reason=error.reason, retry_at=again)
    log.info(
        "digest deferred: %s",
        error.reason,
        extra={"profile": profile.name, "period": claim.period, "attempts": claim.attempts},
    )
    return _result(claim, profile, "retry", digest=digest, reason=error.reason, retry=again)


def _transmit(
    db: Database, smtp: SMTPConfig, claim: DeliveryClaim, composed: ComposedDigest, clock: Clock
) -> DigestResult | None:
    """pending -> sending (committed) -> SMTP -> sent | retry | failed; None: claim lost."""
    digest, profile = composed.digest, composed.profile
    message_id = str(composed.message["Message-ID"])
    moved = begin_sending(
        db,
        claim=claim,
        item_ids=[entry.item_id for entry in digest.entries],
        minutes=digest.minutes,
        message_id=message_id,
        now=clock(),
        lease=_send_lease(smtp),
    )
    if not moved:
        return None
    try:
        send_email(smtp, composed.message, recipient=profile.email or "")
    except SMTPDeliveryError as error:
        return _on_failure(db, claim, profile, error, digest=digest, now=clock())
    mark_sent(db, claim=claim, now=clock())
    log.info(
        "digest sent",
        extra={
            "profile": profile.name,
            "period": claim.period,
            "items": digest.item_count,
            "minutes": digest.minutes,
        },
    )
    return _result(claim, profile, "sent", digest=digest, message_id=message_id)


def deliver_claimed(
    db: Database,
    settings: Settings,
    smtp: SMTPConfig,
    claim: DeliveryClaim,
    *,
    profile: Profile,
    period: Period,
    clock: Clock,
    windows: WindowCache | None = None,
) -> DigestResult | None:
    """Compose and send a claimed period: skipped when empty, deferred when composing fails."""
    message_id = delivery_message_id(
        delivery_id=claim.delivery_id, period=claim.period, from_header=settings.smtp_from
    )
    try:
        composed = compose_for(
            db,
            settings,
            profile,
            period=period,
            now=clock(),
            message_id=message_id,
            windows=windows,
        )
    except StaycurrentError as exc:
        error = DigestError(f"could not compose the digest: {exc.reason}")
        return _on_failure(db, claim, profile, error, digest=None, now=clock())
    if not composed.sendable:
        mark_skipped(db, claim=claim, reason=EMPTY_REASON)
        return _result(claim, profile, "skipped", reason=EMPTY_REASON)
    return _transmit(db, smtp, claim, composed, clock)


def _claim(db: Database, profile_id: int, period: Period, now: datetime) -> DeliveryClaim | None:
    return claim_delivery(
        db,
        profile_id=profile_id,
        period=period.key,
        claimant=new_claimant(),
        now=now,
        lease=COMPOSE_LEASE,
    )


def _deliver_due(
    db: Database,
    settings: Settings,
    smtp: SMTPConfig,
    *,
    period: Period,
    profile_id: int,
    clock: Clock,
    windows: WindowCache,
) -> DigestResult | None:
    claim = _claim(db, profile_id, period, clock())
    if claim is None:
        return None
    with db.session() as session:
        profile = get_profile(session, profile_id)  # as it is now, not as it was when listed
    if not profile.digest_enabled or not profile.email:
        release_claim(db, claim=claim)
        return None
    return deliver_claimed(
        db, settings, smtp, claim, profile=profile, period=period, clock=clock, windows=windows
    )


# --------------------------------------------------------------------------- due digests


def due_profiles(
    db: Database, now: datetime, *, batch: int = PROFILE_BATCH
) -> list[tuple[Profile, Period]]:
    """Every profile whose current period is due and has no delivery (or one free to retry)."""
    due: list[tuple[Profile, Period]] = []
    after = 0
    while True:
        with db.session() as session:
            profiles = digest_profiles(session, after_id=after, limit=batch)
            due += _due_among(session, profiles, now)
        if len(profiles) < batch:
            return due
        after = profiles[-1].id or 0


def _due_among(
    session: Session, profiles: Sequence[Profile], now: datetime
) -> list[tuple[Profile, Period]]:
    timely = [(p, period) for p in profiles if (period := _due(p, now)) is not None]
    states = delivery_states(session, [(p.id or 0, period.key) for p, period in timely])
    return [
        (p, period)
        for p, period in timely
        if needs_attempt(states.get((p.id or 0, period.key)), now)
    ]


def _due(profile: Profile, now: datetime) -> Period | None:
    try:
        schedule = DigestSchedule.of(profile)
    except (ValueError, KeyError) as exc:  # a stored value the checks would now refuse
        log.warning("digest schedule unreadable: profile=%s: %s", profile.name, exc)
        return None
    return due_period(schedule, now)


def run_due_digests(
    db: Database,
    settings: Settings,
    now: datetime,
    *,
    smtp: SMTPConfig | None = None,
    limit: int = DEFAULT_SEND_LIMIT,
) -> list[DigestResult]:
    """Send every due digest (at most ``limit`` this call); the worker calls this every minute.

    Returns one result per period this call claimed. Without ``STAYCURRENT_SMTP_HOST`` (and no
    ``smtp`` given) nothing is sent and the result is empty; without a secret key it raises
    ConfigError (the worker passes settings through ``ensure_secret_key``).
    """
    if smtp is None and not settings.smtp_host:
        return []
    smtp = smtp or SMTPConfig.from_settings(settings)
    settings.secret_key_bytes()  # no key is a configuration error, not a digest to retry
    clock = Clock(now)
    stuck = expire_stuck(db, now=now)
    if stuck:
        log.warning("digests stuck in sending past their lease marked failed: %d", stuck)
    results: list[DigestResult] = []
    windows = WindowCache()  # one window for the run's profiles while the data holds
    for profile, period in due_profiles(db, now)[:limit]:
        assert profile.id is not None
        result = _deliver_due(
            db, settings, smtp, period=period, profile_id=profile.id, clock=clock, windows=windows
        )
        if result is not None:
            results.append(result)
    return results


# --------------------------------------------------------------------------- by hand (CLI)


def preview(db: Database, settings: Settings, profile: Profile, now: datetime) -> ComposedDigest:
    """The digest the profile would get now, without a delivery row or any SMTP."""
    period = manual_period(DigestSchedule.of(profile), now)
    return compose_for(db, settings, profile, period=period, now=now)


def send_now(
    db: Database,
    settings: Settings,
    profile: Profile,
    now: datetime,
    *,
    smtp: SMTPConfig | None = None,
) -> DigestResult | None:
    """Send today's period now (even with the digest off); None if it is held or already done.

    Exactly once like any scheduled digest: the period is today's, so the scheduler will not
    send it again later today (or this week, for a weekly digest).
    """
    assert profile.id is not None
    if not profile.email:
        raise ConfigError(f"profile {profile.name!r} has no email address (profile set --email)")
    smtp = smtp or SMTPConfig.from_settings(settings)
    period = manual_period(DigestSchedule.of(profile), now)
    clock = Clock(now)
    claim = _claim(db, profile.id, period, now)
    if claim is None:
        return None
    return deliver_claimed(db, settings, smtp, claim, profile=profile, period=period, clock=clock)
