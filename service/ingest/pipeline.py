"""The one orchestrator of an update, drawn like a shell pipe::

    sources | xargs -P N fetch | pool: parse | normalize | tag | embed | decide | storage

Only retrieval runs concurrently (a global limit and a per-host limit). Parse, normalize, tag and
embed run in a ``DocumentPool`` (processes, a time budget per document: a hostile document costs
one stopped process, never the event loop, the API or lease renewal); the pool lives as long as
the pipeline (``close()``), so its processes load the models once, not once per round. ``decide``
(``ingest.decide``, pure) says what the attempt means for the source; storing runs on one
processing thread, one source at a time, so SQLite sees one writer. A failing source is a value
in the results, never an exception out of the batch. Without a readable embedding model items
get no vector. Many local documents: ``ingest.bulk``.
"""

from __future__ import annotations

import asyncio
import copyreg
import logging
import operator
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import Any, Self
from urllib.parse import urlsplit

from sqlmodel import Session

from service.clock import utcnow
from service.errors import (
    FetchError,
    ModelError,
    ParseError,
    StaycurrentError,
)
from service.ingest.decide import body_hash, decide
from service.ingest.embed import Embedder, item_text, shared_embedder, to_blob
from service.ingest.fetch import Fetcher
from service.ingest.isolation import DocumentPool
from service.ingest.normalize import normalize_feed
from service.ingest.parse import parse_feed
from service.ingest.schedule import ScheduleLimits
from service.ingest.tag import Tagger
from service.records import (
    ArxivInfo,
    FetchedFeed,
    FetchRequest,
    ItemWithTags,
    NormalizedItem,
    ParsedFeed,
    PodcastInfo,
    PollIntent,
    PollResult,
    Processed,
    SourceContext,
    SourceForUpdate,
    TagAssignment,
)
from service.storage.engine import Database
from service.storage.items import StoreCounts, store_items
from service.storage.sources import apply_poll, record_content_hash

log = logging.getLogger("staycurrent.pipeline")

MAX_ENTRIES = 5000  # the default of STAYCURRENT_PARSE_MAX_ENTRIES
STORE_BATCH = 500  # items stored per transaction
HostGate = Callable[[str], AbstractAsyncContextManager[None]]


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def _stopping(stop: asyncio.Event | None) -> bool:
    return stop is not None and stop.is_set()


def cap_entries(feed: ParsedFeed, max_entries: int) -> ParsedFeed:
    """``feed`` with at most ``max_entries`` entries (the first ones, as the document lists them),
    the cut said in its warning."""
    if len(feed.entries) <= max_entries:
        return feed
    cut = (
        f"the document holds {len(feed.entries):,} entries; only the first {max_entries:,} were "
        "read (STAYCURRENT_PARSE_MAX_ENTRIES)"
    )
    warning = f"{feed.warning}; {cut}" if feed.warning else cut
    return replace(feed, entries=feed.entries[:max_entries], warning=warning)


def process_document(
    body: bytes,
    source: SourceForUpdate,
    fetched_at: datetime,
    tagger: Tagger,
    *,
    content_type: str | None = None,
    max_entries: int = MAX_ENTRIES,
    embedder: Embedder | None = None,
) -> Processed:
    """parse | normalize | tag | embed for one document (no vectors without ``embedder``).
    Raises ParseError for bytes that are not a feed. Past ``max_entries`` entries, the first
    ones are read and the feed says so in its warning."""
    parsed = parse_feed(body, content_type=content_type, url=source.url)
    feed = cap_entries(parsed, max_entries)
    context = SourceContext(
        feed_url=source.url, kind=source.kind, fetched_at=fetched_at, source_id=source.id
    )
    normalized = normalize_feed(feed, context)
    tags = tagger.tag_all(normalized.items, source_topics=source.topics)
    tagged = tuple(
        ItemWithTags(item, found, tag_model=tagger.model_version)
        for item, found in zip(normalized.items, tags, strict=True)
    )
    return Processed(feed, embed_items(tagged, embedder), normalized.skipped, len(parsed.entries))


def embed_items(
    items: tuple[ItemWithTags, ...], embedder: Embedder | None
) -> tuple[ItemWithTags, ...]:
    """``items`` with their vectors, made in one batch; unchanged without an embedder."""
    if embedder is None or not items:
        return items
    rows = embedder.embed([item_text(t.item.title, t.item.summary_text) for t in items])
    return tuple(
        replace(t, vector=to_blob(row), vector_model=embedder.name)
        for t, row in zip(items, rows, strict=True)
    )


_embedder_failed = False


def available_embedder() -> Embedder | None:
    """The shared embedder, or None (said once in the log) when its model cannot be read:
    ingest then goes on without vectors."""
    global _embedder_failed  # noqa: PLW0603 - one warning per process, not one per document
    if _embedder_failed:
        return None
    try:
        return shared_embedder()
    except ModelError as exc:
        _embedder_failed = True
        log.warning("items get no vectors: %s", exc.reason)
        return None


def pickle_by_fields(record: type) -> None:
    """Pickle a frozen record as its class and its field values, rebuilt through ``__init__``.

    A slots dataclass pickles through ``__getstate__``/``__setstate__``, which look up
    ``dataclasses.fields()`` for every object: sending a feed's items back from a pool process
    cost more than storing them. This is about five times cheaper both ways. Registered (copyreg)
    only for the records that cross the document pool; this module is imported by every pool
    process (the pool's preload), so both sides pickle this way.
    """
    names = [f.name for f in fields(record)]
    values: Callable[[Any], Any] = operator.attrgetter(*names)
    single = len(names) == 1

    def reduce(value: Any) -> tuple[type, tuple[Any, ...]]:
        found = values(value)
        return record, (found,) if single else found

    copyreg.pickle(record, reduce)


# to the pool: the source; back: what was read of it (its feed without entries, the items)
POOL_RECORDS = (SourceForUpdate, Processed, ParsedFeed, ItemWithTags, NormalizedItem, ArxivInfo)
for _record in (*POOL_RECORDS, PodcastInfo, TagAssignment):
    pickle_by_fields(_record)


# Each process of an ingest pool compiles its own tagger once (regexes do not travel well); with
# it, the cap on entries per document and whether to make vectors (each process loads the model
# on first use).
_pool_reader: tuple[Tagger, int, bool] | None = None


def _start_pool_worker(tagger: Tagger, max_entries: int, embeds: bool = False) -> None:
    global _pool_reader  # noqa: PLW0603 - per-process state of a pool worker, set once
    _pool_reader = (tagger, max_entries, embeds)


def process_in_pool(
    body: bytes, source: SourceForUpdate, fetched_at: datetime, content_type: str | None = None
) -> Processed:
    """``process_document`` in a pool worker. The parsed entries stay here: storing needs only
    the items and the feed's warning, and sending raw entries back would double the pickling."""
    assert _pool_reader is not None, "the pool initializer did not run"
    tagger, max_entries, embeds = _pool_reader
    processed = process_document(
        body,
        source,
        fetched_at,
        tagger,
        content_type=content_type,
        max_entries=max_entries,
        embedder=available_embedder() if embeds else None,
    )
    return replace(processed, feed=replace(processed.feed, entries=()))


def new_body(source: SourceForUpdate, fetched: FetchedFeed | FetchError) -> bytes | None:
    """The bytes a fetch brought to read; None for an error, a 304 or the same bytes again."""
    if isinstance(fetched, FetchError) or fetched.not_modified or fetched.body is None:
        return None
    return fetched.body if body_hash(fetched.body) != source.content_hash else None


class Pipeline:
    """Polls sources and ingests bytes; the only place that calls fetch, parse, tag and storage."""

    def __init__(
        self,
        *,
        db: Database,
        tagger: Tagger,
        fetcher: Fetcher | None = None,
        limits: ScheduleLimits | None = None,
        concurrency: int = 20,
        per_host: int = 2,
        worker_id: str = "",
        host_gate: HostGate | None = None,
        clock: Callable[[], datetime] = utcnow,
        vectors: bool = True,
        parse_processes: int = 2,
        parse_budget_seconds: float = 10.0,
        max_entries: int = MAX_ENTRIES,
    ) -> None:
        self.db = db
        self.tagger = tagger
        self.vectors = vectors  # give every item its vector (when the model can be read)
        self.fetcher = fetcher
        self.limits = limits or ScheduleLimits()
        self.concurrency = concurrency
        self.per_host = per_host
        self.worker_id = worker_id
        self.host_gate = host_gate
        self.clock = clock
        self.parse_processes = parse_processes
        self.parse_budget_seconds = parse_budget_seconds
        self.max_entries = max_entries
        self._held = False  # entered: one document pool for every poll until close()
        self._pool: DocumentPool | None = None
        self._pool_tagger: Tagger | None = None  # the tagger the held pool's processes have

    def __enter__(self) -> Self:
        """Keep one document pool across polls (a worker's rounds): its processes start and load
        the tagger and the embedding model once, not once per batch. Closed on exit."""
        self._held = True
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the held document pool's processes (if any); polls start their own again."""
        self._held = False
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()

    # ------------------------------------------------------------------ pure-ish stages

    def process(
        self,
        body: bytes,
        source: SourceForUpdate,
        fetched_at: datetime,
        *,
        content_type: str | None = None,
    ) -> Processed:
        """parse | normalize | tag | embed. Raises ParseError for bytes that are not a feed."""
        return process_document(
            body,
            source,
            fetched_at,
            self.tagger,
            content_type=content_type,
            max_entries=self.max_entries,
            embedder=available_embedder() if self.vectors else None,
        )

    def documents(self, processes: int | None = None) -> DocumentPool:
        """A pool that reads untrusted documents with ``process_in_pool``, within the budget."""
        return DocumentPool(
            processes=processes or self.parse_processes,
            budget_seconds=self.parse_budget_seconds,
            initializer=_start_pool_worker,
            initargs=(self.tagger, self.max_entries, self.vectors),
        )

    # ------------------------------------------------------------------ completing one source

    def _store_batches(
        self,
        source_id: int,
        items: Sequence[ItemWithTags],
        started: datetime,
        finish: Callable[[Session, StoreCounts], None],
    ) -> StoreCounts:
        """Store ``items`` in transactions of ``STORE_BATCH`` (other writers get their turn in
        between); ``finish`` runs in the last one, with the counts of all. Killed between two,
        the source's state is not written, so its next poll stores the rest (storing is
        idempotent)."""
        total = StoreCounts()
        batches = [items[i : i + STORE_BATCH] for i in range(0, len(items), STORE_BATCH)] or [()]
        for number, batch in enumerate(batches, start=1):
            last = finish if number == len(batches) else None
            write = _Batch(source_id, batch, started, last, total)
            total = _added(total, self.db.write_retrying(write))
        return total

    def _store(
        self, intent: PollIntent, items: Sequence[ItemWithTags], started: datetime
    ) -> StoreCounts:
        def finish(session: Session, counts: StoreCounts) -> None:
            apply_poll(
                session,
                intent,
                worker=self.worker_id,
                items_new=counts.new,
                items_updated=counts.updated,
                finished_at=self.clock(),
            )

        return self._store_batches(intent.source_id, items, started, finish)

    def _result(
        self, source: SourceForUpdate, intent: PollIntent, counts: StoreCounts, reason: str | None
    ) -> PollResult:
        return PollResult(
            source_id=source.id,
            name=source.name,
            outcome=intent.outcome,
            items_new=counts.new,
            items_updated=counts.updated,
            status_code=intent.status_code,
            error_kind=intent.error_kind,
            reason=reason if reason is not None else intent.error_reason,
            next_poll_at=intent.next_poll_at,
            elapsed_seconds=(self.clock() - intent.attempted_at).total_seconds(),
        )

    def complete(
        self,
        source: SourceForUpdate,
        started: datetime,
        fetched: FetchedFeed | FetchError,
        read: Processed | StaycurrentError | None,
    ) -> PollResult:
        """Everything after the fetch and the reading, for one source: decide, store in one
        transaction. ``read`` is what the document pool made of a new body (None: no new body)."""
        answer = read if isinstance(read, StaycurrentError) else fetched
        processed = read if isinstance(read, Processed) else None
        if processed is not None and processed.entries > self.max_entries:
            log.warning("%s: %s", source.name, processed.feed.warning, extra={"source": source.id})
        intent = decide(source, answer, processed, started, self.limits)
        items = processed.items if processed else ()
        return self._finish(source, intent, items, processed.feed.warning if processed else None)

    def _finish(
        self,
        source: SourceForUpdate,
        intent: PollIntent,
        items: Sequence[ItemWithTags],
        note: str | None,
    ) -> PollResult:
        try:
            counts = self._store(intent, items, intent.attempted_at)
        except StaycurrentError as exc:
            log.error("storing %s failed: %s", source.name, exc.reason, extra={"source": source.id})
            intent = decide(source, exc, None, intent.attempted_at, self.limits)
            return self._result(source, intent, StoreCounts(), exc.reason)
        return self._result(source, intent, counts, note)

    def complete_safely(
        self,
        source: SourceForUpdate,
        started: datetime,
        fetched: FetchedFeed | FetchError,
        read: Processed | StaycurrentError | None,
    ) -> PollResult:
        """``complete``, with any unexpected error recorded on the source instead of raised."""
        try:
            return self.complete(source, started, fetched, read)
        except Exception as exc:  # a bug must not stop the batch; record it and go on
            log.exception("unexpected error while processing %s", source.name)
            error = StaycurrentError(f"internal error while processing the feed: {exc!r}"[:500])
            return self._finish(source, decide(source, error, None, started, self.limits), (), None)

    # ------------------------------------------------------------------ the batch

    @asynccontextmanager
    async def _turn(self, host: str, stop: asyncio.Event | None) -> AsyncIterator[bool]:
        """The host's turn from the gate (if any); yields False when stopping instead."""
        if self.host_gate is None or _stopping(stop):
            yield not _stopping(stop)
        else:
            async with self.host_gate(host):
                yield not _stopping(stop)

    async def _fetch(
        self,
        source: SourceForUpdate,
        limit: asyncio.Semaphore,
        slots: dict[str, asyncio.Semaphore],
        stop: asyncio.Event | None,
    ) -> tuple[datetime, FetchedFeed | FetchError] | None:
        """Fetch one source in its turn; None when ``stop`` was set before its turn came.

        A slot on the source's host comes first, a global one second: a task waiting for a busy
        host holds no global slot, so sources of one host queued together cannot keep the
        other hosts waiting (head-of-line blocking).
        """
        assert self.fetcher is not None, "polling needs a Fetcher"
        request = FetchRequest(source.url, source.etag, source.last_modified)
        host = host_of(source.url)
        host_slot = slots.setdefault(host, asyncio.Semaphore(self.per_host))
        async with host_slot, limit, self._turn(host, stop) as go:
            if not go:
                return None
            started = self.clock()
            try:
                return started, await self.fetcher.fetch(request, now=started)
            except FetchError as exc:
                return started, exc

    async def poll(
        self,
        sources: Sequence[SourceForUpdate],
        *,
        on_result: Callable[[PollResult], None] | None = None,
        stop: asyncio.Event | None = None,
    ) -> list[PollResult]:
        """Fetch every source (bounded concurrency), then process each as its fetch completes.

        Once ``stop`` is set, sources whose fetch has not started are left alone (no result, no
        change in storage); fetches in flight finish, or are abandoned if the caller cancels.
        """
        limit = asyncio.Semaphore(self.concurrency)
        slots: dict[str, asyncio.Semaphore] = {}
        loop = asyncio.get_running_loop()
        results: dict[int, PollResult] = {}
        held = self._held
        pool = await self._held_pool() if held else self.documents()
        try:
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest") as processing:

                async def one(source: SourceForUpdate) -> None:
                    fetched = await self._fetch(source, limit, slots, stop)
                    if fetched is None:
                        return
                    read = await self._read(pool, source, *fetched)
                    result = await loop.run_in_executor(
                        processing, self.complete_safely, source, *fetched, read
                    )
                    results[source.id] = result
                    if on_result is not None:
                        on_result(result)

                await asyncio.gather(*(one(source) for source in sources))
        finally:
            if not held:
                await asyncio.to_thread(pool.close)
        return [results[source.id] for source in sources if source.id in results]

    async def _held_pool(self) -> DocumentPool:
        """The held pool, started anew when the tagger changed (a retrained topic model): its
        processes were given the old one."""
        if self._pool is not None and self._pool_tagger is not self.tagger:
            stale, self._pool = self._pool, None
            await asyncio.to_thread(stale.close)
        if self._pool is None:
            self._pool, self._pool_tagger = self.documents(), self.tagger
        return self._pool

    async def _read(
        self,
        pool: DocumentPool,
        source: SourceForUpdate,
        started: datetime,
        fetched: FetchedFeed | FetchError,
    ) -> Processed | StaycurrentError | None:
        """parse | normalize | tag of a new body, in the pool: the result or why not."""
        body = new_body(source, fetched)
        if body is None:
            return None
        content_type = fetched.content_type if isinstance(fetched, FetchedFeed) else None
        try:
            # submitted from a thread: the first document starts the pool's processes (and,
            # once per process, the fork server), which must not hold the event loop
            submitted = await asyncio.to_thread(
                pool.submit, process_in_pool, body, source, started, content_type
            )
            return await asyncio.wrap_future(submitted)
        except ParseError as exc:
            return exc
        except Exception as exc:  # a bug must not stop the batch; record it and go on
            log.exception("unexpected error while reading %s", source.name)
            return StaycurrentError(f"internal error while reading the feed: {exc!r}"[:500])

    # ------------------------------------------------------------------ local bytes

    def ingest_bytes(self, source: SourceForUpdate, body: bytes) -> PollResult:
        """Ingest a local document into ``source`` (its poll schedule is left alone)."""
        started = self.clock()
        digest = body_hash(body)
        if digest == source.content_hash:
            return unchanged(source)
        return self.store_local(source, digest, self.process(body, source, started), started)

    def store_local(
        self, source: SourceForUpdate, digest: str, processed: Processed, started: datetime
    ) -> PollResult:
        def finish(session: Session, _counts: StoreCounts) -> None:
            record_content_hash(session, source.id, digest)

        counts = self._store_batches(source.id, processed.items, started, finish)
        return PollResult(
            source.id,
            source.name,
            "updated",
            items_new=counts.new,
            items_updated=counts.updated,
            reason=processed.feed.warning,
        )


@dataclass(frozen=True, slots=True)
class _Batch:
    """One transaction of ``_store_batches``: some items, and the finish in the last one."""

    source_id: int
    items: Sequence[ItemWithTags]
    started: datetime
    finish: Callable[[Session, StoreCounts], None] | None
    before: StoreCounts  # the counts of the batches stored before this one

    def __call__(self, session: Session) -> StoreCounts:
        counts = store_items(session, source_id=self.source_id, items=self.items, now=self.started)
        if self.finish is not None:
            self.finish(session, _added(self.before, counts))
        return counts


def _added(a: StoreCounts, b: StoreCounts) -> StoreCounts:
    return StoreCounts(a.new + b.new, a.updated + b.updated, a.unchanged + b.unchanged)


def unchanged(source: SourceForUpdate) -> PollResult:
    return PollResult(source.id, source.name, "unchanged", reason="same bytes as last time")
