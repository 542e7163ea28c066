"""Ingesting many local documents (``staycurrent ingest``, a directory, a backfill of files):

    documents | pool: parse | normalize | tag | embed | (here, in order) store

While this process stores one document, the pipeline's document pool reads the next ones, so
reading uses the other cores and storage (one writer) never waits for it. At most ``ahead``
documents are read ahead of the one being stored, so memory stays bounded however many
documents come.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from concurrent.futures import Future
from datetime import datetime

from service.errors import ParseError
from service.ingest.decide import body_hash
from service.ingest.pipeline import Pipeline, process_in_pool, unchanged
from service.records import PollResult, Processed, SourceForUpdate

AHEAD_PER_PROCESS = 8


def ingest_many(
    pipeline: Pipeline,
    documents: Iterable[tuple[SourceForUpdate, bytes]],
    *,
    processes: int | None = None,
    ahead: int | None = None,
) -> list[PollResult | ParseError]:
    """Ingest many local documents: read in a pool of processes, stored here in order.

    At most ``ahead`` documents (default: eight per process) are read and parsed ahead of the one
    being stored. A document that is not a feed gives its ParseError in the results; the others
    go on. No process starts when every document is unchanged.
    """
    started = pipeline.clock()
    processes = processes or pipeline.parse_processes
    window = max(1, ahead if ahead is not None else AHEAD_PER_PROCESS * processes)
    results: list[PollResult | ParseError] = []
    pending: deque[tuple[SourceForUpdate, str, Future[Processed] | None]] = deque()
    with pipeline.documents(processes) as pool:
        for source, body in documents:
            digest = body_hash(body)
            same = digest == source.content_hash
            future = None if same else pool.submit(process_in_pool, body, source, started)
            pending.append((source, digest, future))
            if len(pending) >= window:
                results.append(_collect(pipeline, *pending.popleft(), started))
        while pending:
            results.append(_collect(pipeline, *pending.popleft(), started))
    return results


def _collect(
    pipeline: Pipeline,
    source: SourceForUpdate,
    digest: str,
    future: Future[Processed] | None,
    started: datetime,
) -> PollResult | ParseError:
    if future is None:
        return unchanged(source)
    try:
        processed = future.result()
    except ParseError as exc:
        return exc
    return pipeline.store_local(source, digest, processed, started)
