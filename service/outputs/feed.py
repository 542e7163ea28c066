"""One page of a profile's ranked feed: the composition shared by the API, the CLI and the digest.

    profile + FeedOptions -> Preferences + CandidateQuery -> rank.loader.load_pool (storage,
        through the caller's WindowCache) -> rank.dial.dial_order (pure; every candidate scored
        as arrays, the order produced only as far as the page) -> a page of RankedItems (only
        the page is explained), its metrics, a next cursor

The cursor is opaque: a signed token (``service.signing``, purpose ``feed-cursor``) holding the
profile, the instant the feed was ranked "as of", the position reached, the last item id and a
fingerprint of the query. The next page ranks again as of that same instant (the loader ignores
items first seen later), so pages never overlap or skip while the data does not change.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from service.errors import InvalidInputError, SignatureError
from service.outputs.feed_reason import LEFT_OUT, feed_reason, load_window_facts
from service.rank.contract import DialReport, check_dial
from service.rank.dial import DialOrder, dial_order
from service.rank.loader import (
    CandidateQuery,
    CoveringItem,
    WindowCache,
    load_covering,
    load_pool,
)
from service.rank.metrics import DEFAULT_K
from service.rank.model import (
    Candidate,
    FeedMetrics,
    Preferences,
    RankedItem,
    TopicIndex,
)
from service.records import KINDS
from service.signing import sign, verify
from service.storage.engine import Database
from service.storage.models import Profile
from service.storage.profiles import MAX_WINDOW_DAYS, check_topics

CURSOR_PURPOSE = "feed-cursor"
CURSOR_TTL = timedelta(hours=24)
DEFAULT_LIMIT = 20
MAX_LIMIT = 100


@dataclass(frozen=True, slots=True)
class FeedOptions:
    """Per-request overrides of a profile's feed settings (None = the profile's own)."""

    depth: float | None = None
    kinds: tuple[str, ...] | None = None
    topics: tuple[str, ...] | None = None  # replaces the interests, each with weight 1
    window_days: int | None = None
    include_read: bool = False
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None

    def fingerprint(self) -> str:
        """Identifies the query a cursor belongs to (everything but limit and cursor)."""
        document = [self.depth, self.kinds, self.topics, self.window_days, self.include_read]
        return hashlib.sha256(json.dumps(document).encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class FeedPage:
    """One page of a ranked feed, with what rendering it needs."""

    items: tuple[RankedItem, ...]
    metrics: FeedMetrics
    preferences: Preferences
    topics: TopicIndex
    ranked_at: datetime
    total: int  # items in the whole ranked feed
    truncated: bool  # the candidate cap left older items of the window out
    next_cursor: str | None = None
    covering: dict[str, tuple[CoveringItem, ...]] = field(default_factory=dict)
    same_story: Mapping[int, tuple[Candidate, ...]] = field(default_factory=dict)
    reason: str | None = None  # why the whole feed is shorter than a page, in words


def second_after(moment: datetime) -> datetime:
    """``moment`` in UTC rounded up to a whole second: what a feed is ranked as of, so an item
    first seen within the current second is in (a cursor keeps whole seconds)."""
    whole = moment.astimezone(UTC).replace(microsecond=0)
    return whole if whole == moment else whole + timedelta(seconds=1)


def _check_options(session: Session, options: FeedOptions) -> None:
    if options.depth is not None and not 0.0 <= options.depth <= 1.0:
        raise InvalidInputError(f"depth: must be from 0 to 1 (got {options.depth})")
    for kind in options.kinds or ():
        if kind not in KINDS:
            raise InvalidInputError(f"kinds: must be among {', '.join(KINDS)} (got {kind!r})")
    if options.window_days is not None and not 1 <= options.window_days <= MAX_WINDOW_DAYS:
        raise InvalidInputError(
            f"window_days: must be from 1 to {MAX_WINDOW_DAYS} (got {options.window_days})"
        )
    if not 1 <= options.limit <= MAX_LIMIT:
        raise InvalidInputError(f"limit: must be from 1 to {MAX_LIMIT} (got {options.limit})")
    check_topics(session, "topics", options.topics or ())


def preferences_for(profile: Profile, options: FeedOptions) -> Preferences:
    """The profile's preferences with the request's overrides applied."""
    interests = (
        dict.fromkeys(options.topics, 1.0) if options.topics else dict(profile.interests or {})
    )
    return Preferences(
        interests=interests,
        keywords=tuple(profile.keywords or ()),
        authors=tuple(profile.authors or ()),
        kind_weights=dict(profile.kind_weights or {}),
        depth=profile.depth if options.depth is None else options.depth,
        window_days=options.window_days or profile.window_days,
    )


def _kinds(profile: Profile, options: FeedOptions) -> tuple[str, ...]:
    asked = options.kinds or KINDS
    weights = profile.kind_weights or {}
    return tuple(kind for kind in KINDS if kind in asked and weights.get(kind, 1.0) > 0)


@dataclass(frozen=True, slots=True)
class _Resume:
    at: datetime
    position: int
    last_id: int | None


def _read_cursor(
    secret: bytes, profile: Profile, options: FeedOptions, now: datetime
) -> _Resume | None:
    if options.cursor is None:
        return None
    try:
        payload = verify(secret, CURSOR_PURPOSE, options.cursor, now=now)
    except SignatureError as exc:
        raise InvalidInputError(f"cursor: {exc.reason}; start again without a cursor") from exc
    if payload.get("pid") != profile.id:
        raise InvalidInputError("cursor: it was issued to another profile")
    if payload.get("q") != options.fingerprint():
        raise InvalidInputError(
            "cursor: it belongs to another query (depth, kinds, topics, window_days or "
            "include_read changed); start again without a cursor"
        )
    at, position, last = payload.get("at"), payload.get("pos"), payload.get("last")
    if not isinstance(at, int) or not isinstance(position, int) or not isinstance(last, int):
        raise InvalidInputError("cursor: malformed")
    return _Resume(datetime.fromtimestamp(at, UTC), position, last)


def _start(feed: DialOrder, resume: _Resume | None) -> int:
    if resume is None:
        return 0
    index = feed.index_of(resume.last_id) if resume.last_id is not None else None
    if index is not None:
        return index + 1
    return min(resume.position, len(feed))


def _next_cursor(
    secret: bytes, profile: Profile, options: FeedOptions, at: datetime, last: RankedItem
) -> str:
    assert profile.id is not None
    payload: dict[str, str | int] = {
        "pid": profile.id,
        "at": int(at.timestamp()),
        "pos": last.position + 1,
        "last": last.candidate.id,
        "q": options.fingerprint(),
    }
    return sign(secret, CURSOR_PURPOSE, payload, expires_at=at + CURSOR_TTL)


def feed_query(profile: Profile, options: FeedOptions, at: datetime) -> CandidateQuery:
    """What storage is asked for the profile's feed with ``options``, as of ``at``."""
    return _query(profile, options, preferences_for(profile, options), at)


def _query(
    profile: Profile, options: FeedOptions, preferences: Preferences, at: datetime
) -> CandidateQuery:
    return CandidateQuery(
        at=at,
        window_days=preferences.window_days,
        kinds=_kinds(profile, options),
        profile_id=profile.id,
        muted_sources=tuple(profile.muted_sources or ()),
        include_read=options.include_read,
    )


def shortfall_reason(
    session: Session,
    query: CandidateQuery,
    *,
    shown: int,
    widen: str | None,
    left_out: str = LEFT_OUT,
) -> str:
    """Why the feed of ``query`` has only ``shown`` items, in words (see ``feed_reason``)."""
    return feed_reason(
        load_window_facts(session, query),
        shown=shown,
        window_days=query.window_days,
        at=query.at,
        kinds=query.kinds,
        widen=widen,
        left_out=left_out,
    )


@dataclass(frozen=True, slots=True)
class FeedRanking:
    """A profile's whole feed ranked once, as of ``ranked_at``: page through ``order`` in memory
    (``order.items(start, stop)`` explains only those positions)."""

    order: DialOrder
    preferences: Preferences
    topics: TopicIndex
    ranked_at: datetime
    truncated: bool
    same_story: Mapping[int, tuple[Candidate, ...]] = field(default_factory=dict)


def _rank(
    session: Session,
    profile: Profile,
    options: FeedOptions,
    at: datetime,
    k: int,
    *,
    windows: WindowCache | None,
) -> FeedRanking:
    preferences = preferences_for(profile, options)
    pool = load_pool(session, _query(profile, options, preferences, at), windows)
    order = dial_order(pool, preferences, now=at, k=k)
    return FeedRanking(order, preferences, pool.topics, at, pool.truncated, pool.same_story)


def rank_profile(
    db: Database,
    *,
    profile: Profile,
    options: FeedOptions,
    now: datetime,
    k: int = DEFAULT_K,
    windows: WindowCache | None = None,
) -> FeedRanking:
    """The profile's feed ranked once as of ``now`` (``options.cursor`` is not read): what
    ``build_feed`` pages give, page after page, without ranking again for each page."""
    with db.session() as session:
        _check_options(session, options)
        return _rank(session, profile, options, second_after(now), k, windows=windows)


def build_feed(
    db: Database,
    *,
    profile: Profile,
    options: FeedOptions,
    secret: bytes,
    now: datetime,
    k: int = DEFAULT_K,
    widen: str = "window_days",
    windows: WindowCache | None = None,
) -> FeedPage:
    """Rank the profile's feed (as of the cursor's instant, or ``now``) and cut one page; a feed
    shorter than a page says why (``widen`` names the window option where it is read).
    ``windows``: the window cache to rank from (None: the window is read for this page)."""
    assert profile.id is not None
    with db.session() as session:
        _check_options(session, options)
        resume = _read_cursor(secret, profile, options, now)
        at = resume.at if resume else second_after(now)
        ranking = _rank(session, profile, options, at, k, windows=windows)
        ranked = ranking.order
        start = _start(ranked, resume)
        page = ranked.items(start, start + options.limit)
        papers = [i.candidate.arxiv_id for i in page if i.candidate.arxiv_id]
        covering = load_covering(session, papers) if papers else {}
        reason = None
        if len(ranked) < options.limit:
            query = _query(profile, options, ranking.preferences, at)
            reason = shortfall_reason(session, query, shown=len(ranked), widen=widen)
    more = start + len(page) < len(ranked)
    return FeedPage(
        items=page,
        metrics=ranked.metrics,
        preferences=ranking.preferences,
        topics=ranking.topics,
        ranked_at=at,
        total=len(ranked),
        truncated=ranking.truncated,
        next_cursor=_next_cursor(secret, profile, options, at, page[-1]) if page and more else None,
        covering=covering,
        same_story={
            i.candidate.id: ranking.same_story[i.candidate.id]
            for i in page
            if i.candidate.id in ranking.same_story
        },
        reason=reason,
    )


def dial_report(
    db: Database,
    *,
    profile: Profile,
    options: FeedOptions,
    now: datetime,
    k: int = DEFAULT_K,
    windows: WindowCache | None = None,
) -> DialReport:
    """The profile's feed measured at every setting of the dial, checked against the contract."""
    with db.session() as session:
        _check_options(session, options)
        at = second_after(now)
        preferences = preferences_for(profile, options)
        pool = load_pool(session, _query(profile, options, preferences, at), windows)
    return check_dial(pool, preferences, now=at, k=k)
