"""The only part of ranking that reads storage: bounded, indexed queries into frozen Candidates.

Candidates are the newest items of the window (``ix_item_published``, newest first), at most
``MAX_CANDIDATES`` of them, without the profile's hidden (and, unless asked, read) items, of the
kinds asked for, seen in at least one source that is not muted. Only items first seen by ``at``
count, so a feed ranked "as of ``at``" stays the same while new items arrive. Tags, sources,
covering posts and feedback of those candidates follow in chunked ``IN`` queries on primary keys.

**The window cache.** What every profile shares — the newest items of a window with their tags,
sources, coverage, vectors and the arXiv ids they cover, as records and as arrays
(``window.Columns``) — is read once into a ``CandidateWindow`` and kept in a ``WindowCache``, an
object the caller owns and passes in (the API holds one per process, a digest run one per run;
without one a window is read for the call only). Each request reads a **stamp** first: the
newest item id, the newest ``source.updated_at`` (every poll, every local ingest, every source
edit moves it), the number of sources, the newest poll-log id and the taxonomy rows. A window is
used only while the stamp it was read under is still the database's, so new or changed items are
seen by the next request of every process (each process's cache checks the stamp itself). The
window holds ``WINDOW_MARGIN`` rows more than the cap and no "first seen by" bound; each request
applies its own parts on top as a mask over the rows: its ``at`` (first seen by; published since
is a bisect on publish time), the profile's hidden and read items and muted sources, and its
feedback. When those leave too few rows to decide the cap, a larger window is read (there is one
path: the window).
"""

from __future__ import annotations

import bisect
import operator
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa
from sqlmodel import Session, col

from service.rank.model import (
    Candidate,
    CandidatePool,
    CandidateSource,
    CandidateTag,
    FeedbackEvent,
    Rows,
    TopicIndex,
)
from service.rank.preference import learned_for
from service.rank.stories import StoryInputs, fold_stories
from service.rank.window import Columns
from service.records import KINDS
from service.storage.feedback import affinity_events
from service.storage.models import (
    Feedback,
    Item,
    ItemLink,
    ItemSource,
    ItemTag,
    PollLog,
    Source,
    Tag,
)
from service.vocabulary import MODEL_NAME

MAX_CANDIDATES = 3000
WINDOW_MARGIN = 1000  # rows a window holds beyond the cap: room for hidden, read, muted, unseen
WINDOW_CACHE_SIZE = 6  # windows kept per cache (each ~MAX_CANDIDATES + WINDOW_MARGIN items)
AFFINITY_LOOKBACK_DAYS = 90
COVERING_SHOWN = 5
_CHUNK = 900


@dataclass(frozen=True, slots=True)
class CandidateQuery:
    """Which items may enter one feed, as of ``at``."""

    at: datetime
    window_days: int
    kinds: tuple[str, ...] = KINDS
    profile_id: int | None = None
    muted_sources: tuple[int, ...] = ()
    include_read: bool = False
    limit: int = MAX_CANDIDATES


@dataclass(frozen=True, slots=True)
class CoveringItem:
    """A post or podcast that discusses a paper."""

    id: int
    kind: str
    title: str
    url: str | None
    published_at: datetime


_ITEM_COLUMNS = tuple(
    col(column)
    for column in (
        Item.id,
        Item.kind,
        Item.title,
        Item.url,
        Item.summary_text,
        Item.published_at,
        Item.authors,
        Item.reading_minutes,
        Item.arxiv_id,
        Item.arxiv_primary,
        Item.arxiv_categories,
        Item.pdf_url,
        Item.enclosure_url,
        Item.enclosure_type,
        Item.duration_seconds,
        Item.episode,
        Item.season,
        Item.image_url,
    )
)


_COVERING_COLUMNS = (ItemLink.arxiv_id, Item.id, Item.kind, Item.title, Item.url, Item.published_at)


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _tags(session: Session, ids: Sequence[int]) -> dict[int, list[CandidateTag]]:
    found: dict[int, list[CandidateTag]] = defaultdict(list)
    for chunk in _chunks(ids):
        statement = (
            sa.select(
                col(ItemTag.item_id),
                col(Tag.slug),
                col(Tag.area),
                col(ItemTag.score),
                col(ItemTag.origin),
            )
            .join(Tag, col(Tag.id) == col(ItemTag.tag_id))
            .where(col(ItemTag.item_id).in_(chunk))
        )
        for item_id, slug, area, score, origin in session.execute(statement):
            found[item_id].append(CandidateTag(slug, area, float(score), origin))
    return found


def _sources(session: Session, ids: Sequence[int]) -> dict[int, list[CandidateSource]]:
    found: dict[int, list[CandidateSource]] = defaultdict(list)
    for chunk in _chunks(ids):
        statement = (
            sa.select(
                col(ItemSource.item_id),
                col(Source.id),
                col(Source.name),
                col(Source.kind),
                col(Source.level),
                col(Source.weight),
            )
            .join(Source, col(Source.id) == col(ItemSource.source_id))
            .where(col(ItemSource.item_id).in_(chunk))
        )
        for item_id, source_id, name, kind, level, weight in session.execute(statement):
            found[item_id].append(CandidateSource(source_id, name, kind, level, float(weight)))
    return found


def _covered_counts(session: Session, arxiv_ids: Sequence[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for chunk in _chunks(arxiv_ids):
        statement = (
            sa.select(col(ItemLink.arxiv_id), sa.func.count(sa.distinct(col(ItemLink.item_id))))
            .join(Item, col(Item.id) == col(ItemLink.item_id))
            .where(col(ItemLink.arxiv_id).in_(chunk), col(Item.kind) != "paper")
            .group_by(col(ItemLink.arxiv_id))
        )
        counts.update({arxiv_id: int(n) for arxiv_id, n in session.execute(statement)})
    return counts


def load_covering(
    session: Session, arxiv_ids: Sequence[str], *, per_paper: int = COVERING_SHOWN
) -> dict[str, tuple[CoveringItem, ...]]:
    """For display: the newest posts and podcasts that discuss each paper (a few each)."""
    found: dict[str, list[CoveringItem]] = defaultdict(list)
    for chunk in _chunks(list(dict.fromkeys(arxiv_ids))):
        statement = (
            sa.select(*(col(column) for column in _COVERING_COLUMNS))
            .join(Item, col(Item.id) == col(ItemLink.item_id))
            .where(col(ItemLink.arxiv_id).in_(chunk), col(Item.kind) != "paper")
        )
        for arxiv_id, *fields in session.execute(statement):
            found[arxiv_id].append(CoveringItem(*fields))
    return {
        arxiv_id: tuple(sorted(items, key=lambda c: (-c.published_at.timestamp(), c.id)))[
            :per_paper
        ]
        for arxiv_id, items in found.items()
    }


def load_events(session: Session, *, profile_id: int, at: datetime) -> tuple[FeedbackEvent, ...]:
    since = at - timedelta(days=AFFINITY_LOOKBACK_DAYS)
    return tuple(
        FeedbackEvent(
            sign=1 if event.signal == "like" else -1,
            at=event.at,
            topics=event.topics,
            source_ids=event.source_ids,
            authors=event.authors,
        )
        for event in affinity_events(session, profile_id=profile_id, since=since)
    )


def _candidate(
    row: Any,
    tags: dict[int, list[CandidateTag]],
    sources: dict[int, list[CandidateSource]],
    covered: dict[str, int],
    feedback: dict[int, frozenset[str]],
) -> Candidate:
    return Candidate(
        id=row.id,
        kind=row.kind,
        title=row.title,
        url=row.url,
        summary=row.summary_text,
        published_at=row.published_at,
        authors=tuple(row.authors or ()),
        reading_minutes=row.reading_minutes,
        arxiv_id=row.arxiv_id,
        arxiv_primary=row.arxiv_primary,
        arxiv_categories=tuple(row.arxiv_categories or ()),
        pdf_url=row.pdf_url,
        enclosure_url=row.enclosure_url,
        enclosure_type=row.enclosure_type,
        duration_seconds=row.duration_seconds,
        episode=row.episode,
        season=row.season,
        image_url=row.image_url,
        tags=tuple(sorted(tags.get(row.id, ()), key=lambda t: (-t.score, t.slug))),
        sources=tuple(sorted(sources.get(row.id, ()), key=lambda s: (-s.weight, s.id))),
        covered_by=covered.get(row.arxiv_id, 0) if row.arxiv_id else 0,
        feedback=feedback.get(row.id, frozenset()),
    )


# --------------------------------------------------------------------------- the window cache


@dataclass(frozen=True, slots=True)
class CandidateWindow:
    """The newest items of a window as every profile shares them (no feedback, no ``at``),
    with their arrays (``window.Columns``) and what folding stories needs."""

    stamp: tuple[Any, ...]
    since: datetime  # read with published_at >= since
    complete: bool  # holds every item published since ``since`` (else only the newest)
    candidates: tuple[Candidate, ...]  # newest first, feedback empty
    columns: Columns
    first_seen: npt.NDArray[np.float64]  # seconds since the epoch
    newest_seen: float  # the latest first_seen (a request at or after it drops none)
    published_keys: tuple[float, ...]  # minus published_at in seconds: ascending, for bisect
    mentions: Mapping[int, tuple[str, ...]]  # non-paper item id -> arXiv ids it covers
    vectors: Mapping[int, bytes]  # non-paper item id -> its stored vector (story folding)


class WindowCache:
    """A few CandidateWindows, least recently used out; shared by the threads of one process
    (one reader at a time). Each use checks the database's data stamp first, so a window is
    never used after the data it was read from changed — also when another process wrote."""

    def __init__(self, size: int = WINDOW_CACHE_SIZE) -> None:
        self.size = size
        self.lock = threading.Lock()
        self.windows: OrderedDict[tuple[Any, ...], CandidateWindow] = OrderedDict()
        self.reads = 0  # windows read from storage (tests and benchmarks look)

    def get(
        self, key: tuple[Any, ...], stamp: tuple[Any, ...], since: datetime
    ) -> CandidateWindow | None:
        window = self.windows.get(key)
        if window is None or window.stamp != stamp or window.since > since:
            return None
        self.windows.move_to_end(key)
        return window

    def put(self, key: tuple[Any, ...], window: CandidateWindow) -> None:
        self.windows[key] = window
        self.windows.move_to_end(key)
        while len(self.windows) > self.size:
            self.windows.popitem(last=False)


def data_stamp(session: Session, topic_rows: Sequence[tuple[Any, ...]]) -> tuple[Any, ...]:
    """What a cached window depends on, read in one cheap statement (maxima on indexed or tiny
    tables), plus the taxonomy rows."""
    statement = sa.select(
        sa.select(sa.func.max(col(Item.id))).scalar_subquery(),
        sa.select(sa.func.max(col(Source.updated_at))).scalar_subquery(),
        sa.select(sa.func.count()).select_from(Source).scalar_subquery(),
        sa.select(sa.func.max(col(PollLog.id))).scalar_subquery(),
    )
    return (*session.execute(statement).one(), tuple(topic_rows))


def _story_rows(
    session: Session, rows: Sequence[Any]
) -> tuple[dict[int, tuple[str, ...]], dict[int, bytes]]:
    """The arXiv ids each item covers (non-papers) and every stored vector of ``rows``."""
    mentions: dict[int, list[str]] = defaultdict(list)
    vectors: dict[int, bytes] = {}
    others = [row.id for row in rows if row.kind != "paper"]
    for chunk in _chunks(others):
        links = sa.select(col(ItemLink.item_id), col(ItemLink.arxiv_id)).where(
            col(ItemLink.item_id).in_(chunk)
        )
        for item_id, arxiv_id in session.execute(links):
            mentions[item_id].append(arxiv_id)
    for chunk in _chunks([row.id for row in rows]):
        stored = sa.select(col(Item.id), col(Item.vector)).where(
            col(Item.id).in_(chunk), col(Item.vector_model) == MODEL_NAME
        )
        vectors.update({item_id: bytes(blob) for item_id, blob in session.execute(stored) if blob})
    return {k: tuple(v) for k, v in mentions.items()}, vectors


def _read_window(
    session: Session,
    query: CandidateQuery,
    stamp: tuple[Any, ...],
    topics: TopicIndex,
    wanted: int,
) -> CandidateWindow:
    since = query.at - timedelta(days=query.window_days)
    conditions = [col(Item.published_at) >= since]
    if set(query.kinds) != set(KINDS):
        conditions.append(col(Item.kind).in_(query.kinds))
    statement = (
        sa.select(*_ITEM_COLUMNS, col(Item.first_seen_at))
        .where(*conditions)
        .order_by(col(Item.published_at).desc(), col(Item.id).desc())
        .limit(wanted)
    )
    rows = list(session.execute(statement).all())
    ids = [row.id for row in rows]
    tags, sources = _tags(session, ids), _sources(session, ids)
    covered = _covered_counts(session, [row.arxiv_id for row in rows if row.arxiv_id])
    candidates = tuple(_candidate(row, tags, sources, covered, {}) for row in rows)
    mentions, vectors = _story_rows(session, rows)
    first_seen = np.array([row.first_seen_at.timestamp() for row in rows], dtype=np.float64)
    return CandidateWindow(
        stamp=stamp,
        since=since,
        complete=len(rows) < wanted,
        candidates=candidates,
        columns=Columns.build(candidates, topics, vectors),
        first_seen=first_seen,
        newest_seen=float(first_seen.max()) if rows else 0.0,
        published_keys=tuple(-c.published_at.timestamp() for c in candidates),
        mentions=mentions,
        vectors={c.id: vectors[c.id] for c in candidates if c.kind != "paper" and c.id in vectors},
    )


def _profile_signals(session: Session, profile_id: int) -> dict[int, frozenset[str]]:
    found: dict[int, set[str]] = defaultdict(set)
    statement = sa.select(col(Feedback.item_id), col(Feedback.signal)).where(
        col(Feedback.profile_id) == profile_id
    )
    for item_id, signal in session.execute(statement):
        found[item_id].add(signal)
    return {item_id: frozenset(signals) for item_id, signals in found.items()}


def _passing(
    window: CandidateWindow, query: CandidateQuery, signals: Mapping[int, frozenset[str]], end: int
) -> npt.NDArray[np.bool_]:
    """Which of the window's first ``end`` rows this query keeps: not hidden (nor read), first
    seen by ``at``, seen in a source that is not muted."""
    columns = window.columns
    keep = np.ones(end, dtype=np.bool_)
    dropped = {"hide"} if query.include_read else {"hide", "read"}
    gone = [item_id for item_id, marks in signals.items() if not marks.isdisjoint(dropped)]
    if gone:
        keep &= ~np.isin(columns.ids[:end], np.array(gone, dtype=np.int64))
    if window.newest_seen > query.at.timestamp():
        keep &= window.first_seen[:end] <= query.at.timestamp()
    if query.muted_sources:
        offsets, flat = columns.source_lists
        muted = np.isin(columns.source_ids, np.array(query.muted_sources, dtype=np.int64))
        open_sources = np.concatenate([[0], np.cumsum(~muted[flat])])
        keep &= (open_sources[offsets[1 : end + 1]] - open_sources[offsets[:end]]) > 0
    return keep


def _apply(
    window: CandidateWindow, query: CandidateQuery, signals: Mapping[int, frozenset[str]]
) -> tuple[Rows, bool] | None:
    """The query's rows of the window (and whether the cap cut some off), or None when the
    window holds too few rows to decide them."""
    since = query.at - timedelta(days=query.window_days)
    end = bisect.bisect_right(window.published_keys, -since.timestamp())  # published >= since
    rows = np.flatnonzero(_passing(window, query, signals, end)).astype(np.int64)
    if len(rows) > query.limit:
        return rows[: query.limit], True
    if end < len(window.candidates) or (window.complete and since >= window.since):
        return rows, False  # every row of the query's window was passed
    return None


def _window_rows(
    session: Session, query: CandidateQuery, windows: WindowCache, topic_rows: Sequence[Any]
) -> tuple[CandidateWindow, Rows, bool, Mapping[int, frozenset[str]]]:
    """The window for ``query`` (from ``windows`` while the data stamp holds, else read, larger
    when the query drops too many rows) and the query's rows of it."""
    stamp = data_stamp(session, topic_rows)
    key = (frozenset(query.kinds), query.window_days, query.limit)
    since = query.at - timedelta(days=query.window_days)
    signals = _profile_signals(session, query.profile_id) if query.profile_id is not None else {}
    wanted = query.limit + 1 + WINDOW_MARGIN
    while True:
        with windows.lock:
            window = windows.get(key, stamp, since)
            if window is None or (len(window.candidates) < wanted and not window.complete):
                topics = TopicIndex.build(topic_rows)
                window = _read_window(session, query, stamp, topics, wanted)
                windows.put(key, window)
                windows.reads += 1
        found = _apply(window, query, signals)
        if found is not None:
            return window, found[0], found[1], signals
        wanted = 4 * max(wanted, len(window.candidates))


def _with_feedback(
    window: CandidateWindow, rows: Rows, signals: Mapping[int, frozenset[str]]
) -> tuple[Candidate, ...]:
    if not len(rows):
        return ()
    pick = operator.itemgetter(*rows.tolist())
    found = pick(window.candidates) if len(rows) > 1 else (pick(window.candidates),)
    if not signals:
        return tuple(found)
    return tuple(replace(c, feedback=m) if (m := signals.get(c.id)) else c for c in found)


def load_candidates(
    session: Session, query: CandidateQuery, windows: WindowCache | None = None
) -> tuple[tuple[Candidate, ...], bool]:
    """The candidates of one feed, newest first, and whether the cap cut older ones off."""
    if not query.kinds:
        return (), False
    window, rows, truncated, signals = _window_rows(
        session, query, windows or WindowCache(), _topic_rows(session)
    )
    return _with_feedback(window, rows, signals), truncated


def _topic_rows(session: Session) -> list[tuple[str, str, str | None, str]]:
    statement = sa.select(col(Tag.slug), col(Tag.area), col(Tag.parent), col(Tag.label))
    rows = session.execute(statement.order_by(col(Tag.slug)))
    return [(slug, area, parent, label) for slug, area, parent, label in rows]


def load_pool(
    session: Session, query: CandidateQuery, windows: WindowCache | None = None
) -> CandidatePool:
    """Candidates with each story once (``stories.fold_stories``), the taxonomy, (for a profile)
    its likes and dislikes, and the window's arrays. ``windows``: the cache to read the window
    from and keep it in (None: read it for this call only)."""
    topic_rows = _topic_rows(session)
    topics = TopicIndex.build(topic_rows)
    events = (
        load_events(session, profile_id=query.profile_id, at=query.at)
        if query.profile_id is not None
        else ()
    )
    if not query.kinds:
        return CandidatePool((), topics, events)
    window, rows, truncated, signals = _window_rows(
        session, query, windows or WindowCache(), topic_rows
    )
    candidates = _with_feedback(window, rows, signals)
    pool = CandidatePool(candidates, topics, events, truncated, columns=window.columns, rows=rows)
    inputs = StoryInputs(
        window.mentions,
        window.vectors,
        _papers_gone(session, query, _mentioned(window, rows))
        if _hides(query, signals)
        else frozenset(),
    )
    # Each story once: coverage folds into its paper, near-duplicates into the first of them.
    folded = fold_stories(pool, inputs).pool
    if query.profile_id is None:
        return folded
    # The profile's learned preference model (rank.preference) on the stories' vectors.
    learned = learned_for(session, query.profile_id, folded, query.at)
    return folded if learned is None else replace(folded, learned=learned)


def _hides(query: CandidateQuery, signals: Mapping[int, frozenset[str]]) -> bool:
    """Whether the profile hid (or, for this query, read) anything: only then can a covered
    paper's story be gone."""
    gone = {"hide"} if query.include_read else {"hide", "read"}
    return any(not marks.isdisjoint(gone) for marks in signals.values())


def _mentioned(window: CandidateWindow, rows: Rows) -> set[str]:
    """The arXiv ids the query's candidates cover."""
    if not window.mentions:
        return set()
    ids = set(window.columns.ids[rows].tolist())
    return {a for item_id, found in window.mentions.items() if item_id in ids for a in found}


def _papers_gone(
    session: Session, query: CandidateQuery | None, arxiv_ids: set[str]
) -> frozenset[str]:
    if query is None or query.profile_id is None or not arxiv_ids:
        return frozenset()
    signals = ["hide"] if query.include_read else ["hide", "read"]
    gone: set[str] = set()
    for chunk in _chunks(sorted(arxiv_ids)):
        statement = (
            sa.select(col(Item.arxiv_id))
            .join(Feedback, col(Feedback.item_id) == col(Item.id))
            .where(
                col(Feedback.profile_id) == query.profile_id,
                col(Feedback.signal).in_(signals),
                col(Item.arxiv_id).in_(chunk),
            )
        )
        gone.update(arxiv_id for (arxiv_id,) in session.execute(statement))
    return frozenset(gone)
