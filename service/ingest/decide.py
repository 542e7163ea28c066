"""The decider of a poll: what to write on a source after one attempt. Pure: data and ``now`` in,
a frozen ``PollIntent`` out; no clock, session or client (tested with tables of examples).

    decide(source, fetched | error, processed, now, limits) -> PollIntent

    error            FetchError, ParseError, a storing error: count it, back off (``after_error``),
                     honour Retry-After; 410 Gone: probe weekly (``after_gone``); keep validators
    304              ok, "not_modified": the server's validators (or the stored ones), next poll
    same bytes       ok, "unchanged" (``processed`` is None: there was nothing new to read)
    new bytes        ok, "updated" (or "empty": a valid feed without entries), the content hash,
                     the feed's <ttl> and title, the publishing rate it shows
    redirect         a permanent redirect seen ``PERMANENT_REDIRECTS_TO_ADOPT`` polls in a row
                     to the same target is adopted as the source's new URL
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime, timedelta

from service.errors import GoneError, RateLimitedError, StaycurrentError
from service.ingest.schedule import (
    ScheduleLimits,
    ServerAsk,
    after_error,
    after_gone,
    after_success,
)
from service.records import (
    FetchedFeed,
    ItemWithTags,
    PollIntent,
    PollOutcome,
    Processed,
    SourceForUpdate,
)

PERMANENT_REDIRECTS_TO_ADOPT = 3
RATE_WINDOW = timedelta(days=28)


def body_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def observed_per_week(items: Sequence[ItemWithTags], now: datetime) -> float:
    """How many items a feed published per week over the last four weeks, by their dates."""
    since = now - RATE_WINDOW
    recent = sum(since <= tagged.item.published_at <= now for tagged in items)
    return recent / (RATE_WINDOW / timedelta(days=7))


def decide(
    source: SourceForUpdate,
    fetched: FetchedFeed | StaycurrentError,
    processed: Processed | None,
    now: datetime,
    limits: ScheduleLimits,
) -> PollIntent:
    """What one attempt at ``now`` means for ``source``.

    ``fetched`` is the answer (or the error of the fetch, of reading the body, of storing it);
    ``processed`` what was read of a new body (None: an error, a 304 or the same bytes again).
    """
    if isinstance(fetched, StaycurrentError):
        return after_failure(source, fetched, now, limits)
    if fetched.not_modified:
        return after_answer(source, fetched, None, now, limits, outcome="not_modified")
    if processed is None:
        return after_answer(source, fetched, None, now, limits, outcome="unchanged")
    outcome: PollOutcome = "updated" if processed.entries else "empty"
    return after_answer(source, fetched, processed, now, limits, outcome=outcome)


def after_answer(
    source: SourceForUpdate,
    fetched: FetchedFeed,
    processed: Processed | None,
    now: datetime,
    limits: ScheduleLimits,
    *,
    outcome: PollOutcome,
) -> PollIntent:
    """The intent after a good answer: the schedule, the validators, the feed's own fields."""
    feed = processed.feed if processed else None
    ttl = feed.ttl_minutes if feed else None
    asked = ServerAsk(
        max_age_seconds=fetched.cache_max_age,
        expires=fetched.expires,
        ttl_minutes=ttl if feed else source.ttl_minutes,
    )
    observed = observed_per_week(processed.items, now) if processed else 0.0
    same = fetched.not_modified
    redirect_url, redirect_count, new_url = redirect(source, fetched)
    return PollIntent(
        source_id=source.id,
        attempted_at=now,
        outcome=outcome,
        next_poll_at=after_success(
            source, now, limits, outcome=outcome, asked=asked, observed_per_week=observed
        ),
        consecutive_errors=0,
        state="ok",
        status_code=fetched.status,
        etag=fetched.etag or (source.etag if same else None),
        last_modified=fetched.last_modified or (source.last_modified if same else None),
        content_hash=body_hash(fetched.body) if fetched.body is not None else None,
        succeeded=True,
        ttl_minutes=ttl,
        feed_title=feed.title if feed else None,
        redirect_url=redirect_url,
        redirect_count=redirect_count,
        new_url=new_url,
    )


def redirect(source: SourceForUpdate, fetched: FetchedFeed) -> tuple[str | None, int, str | None]:
    """(the permanent redirect seen, how many polls in a row saw it, the URL to adopt)."""
    target = fetched.permanent_redirect
    if not target or target == source.url:
        return None, 0, None
    count = source.redirect_count + 1 if target == source.redirect_url else 1
    return target, count, target if count >= PERMANENT_REDIRECTS_TO_ADOPT else None


def after_failure(
    source: SourceForUpdate, error: StaycurrentError, now: datetime, limits: ScheduleLimits
) -> PollIntent:
    """The intent after an error: one more in a row, backed off; a gone feed probed weekly."""
    errors = source.consecutive_errors + 1
    retry_after = error.retry_after if isinstance(error, RateLimitedError) else None
    gone = isinstance(error, GoneError)
    if gone:
        next_poll_at = after_gone(source, now, limits)
    else:
        next_poll_at = after_error(source, now, limits, errors=errors, retry_after=retry_after)
    return PollIntent(
        source_id=source.id,
        attempted_at=now,
        outcome="gone" if gone else "error",
        next_poll_at=next_poll_at,
        consecutive_errors=errors,
        state="gone" if gone else "error",
        status_code=getattr(error, "status", None),
        error_kind=error.kind,
        error_reason=error.reason,
        retry_after_until=retry_after,
        redirect_url=source.redirect_url,
        redirect_count=source.redirect_count,
        keep_validators=True,
    )
