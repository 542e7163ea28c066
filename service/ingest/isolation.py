"""Untrusted documents are read in processes that can be stopped: a time budget per document.

    fetched bytes --DocumentPool.submit(parse | normalize | tag)--> worker process
                  --within the budget--> the result (or the ParseError it raised)
                  --over the budget, or the process died--> HostileDocumentError; the process
                                                            is killed and replaced

A document crafted to make a parser slow (an element with thousands of attributes, thousands of
namespaces, deep nesting) can keep a C call busy for minutes while it holds the GIL. Read in the
process that serves the API, runs the event loop and renews leases, it would freeze all of them.
Here it only costs one worker process of the pool, which pebble stops when the budget is spent;
the caller waits on a future (``asyncio.wrap_future`` in the event loop), so nothing else waits.

The pool starts its processes on the first document (a round of 304s starts nothing), from
multiprocessing's fork server: a clean process that imported the readers once, so a worker starts
in milliseconds yet inherits nothing of the caller's — no open sockets (a forked copy of a feed
connection or an API client's socket would keep it open after the caller closed it), no event loop
signal wake-up socket, no threads. ``initializer`` runs in every new process, the replacements of
stopped ones too. As with any non-fork start method, a script that ingests must guard its entry
point with ``if __name__ == "__main__":`` (the ``staycurrent`` command and ``python -m`` do).
"""

from __future__ import annotations

import multiprocessing
import signal
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as BudgetSpent
from types import TracebackType
from typing import Any, Self, TypeVar

from pebble import ProcessExpired, ProcessPool

from service.errors import HostileDocumentError

T = TypeVar("T")
# The fork server imports these once; every reading process starts with them (scipy.sparse: the
# topic model and the item vectors, imported lazily elsewhere to keep the command line light).
PRELOAD = ["service.ingest.pipeline", "service.ingest.subscribe", "scipy.sparse"]
# lxml's ``attrib.items()`` is quadratic in the number of attributes and holds the GIL (20,000
# attributes: 3 s; 100,000: two minutes); ``len(attrib)`` is linear. Readers of untrusted XML
# refuse an element with more than this many before reading any; real feeds and OPML files use
# a handful per element.
MAX_ATTRIBUTES = 256


def too_many_attributes(element: Any) -> HostileDocumentError | None:
    """The refusal for an lxml element with more than ``MAX_ATTRIBUTES`` attributes, or None."""
    count = len(element.attrib)
    if count <= MAX_ATTRIBUTES:
        return None
    return HostileDocumentError(
        f"refused: an element <{str(element.tag)[:80]}> has {count:,} attributes "
        f"(at most {MAX_ATTRIBUTES} are read)"
    )


def over_budget(budget_seconds: float) -> HostileDocumentError:
    return HostileDocumentError(
        f"refused: reading the document took more than {budget_seconds:g} s "
        "(STAYCURRENT_PARSE_BUDGET_SECONDS); it was stopped"
    )


def _reader_context() -> multiprocessing.context.BaseContext:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)  # read once, by the fork server when it starts
    return context


def _start_reader(initializer: Callable[..., object] | None, initargs: tuple[Any, ...]) -> None:
    """In a new worker process: default signal handling, then the caller's initializer."""
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, signal.SIG_DFL)
    if initializer is not None:
        initializer(*initargs)


class DocumentPool:
    """A pool of processes that read documents, each document within ``budget_seconds``."""

    def __init__(
        self,
        *,
        processes: int,
        budget_seconds: float,
        initializer: Callable[..., object] | None = None,
        initargs: tuple[Any, ...] = (),
    ) -> None:
        self.budget_seconds = budget_seconds
        self._pool = ProcessPool(
            max_workers=processes,
            initializer=_start_reader,
            initargs=(initializer, initargs),
            context=_reader_context(),
        )

    def submit(self, function: Callable[..., T], *args: Any) -> Future[T]:
        """``function(*args)`` in a worker process; the future raises ``HostileDocumentError``
        when the budget was spent or the process died, else what the function raised."""
        running = self._pool.schedule(function, args=args, timeout=self.budget_seconds)
        settled: Future[T] = Future()
        running.add_done_callback(lambda done: self._settle(done, settled))
        return settled

    def _settle(self, done: Future[Any], settled: Future[T]) -> None:
        if done.cancelled():
            settled.cancel()
            return
        error = done.exception()
        if isinstance(error, BudgetSpent):
            settled.set_exception(over_budget(self.budget_seconds))
        elif isinstance(error, ProcessExpired):
            reason = f"refused: the process reading the document died (exit code {error.exitcode})"
            settled.set_exception(HostileDocumentError(reason))
        elif error is not None:
            settled.set_exception(error)
        else:
            settled.set_result(done.result())

    def close(self) -> None:
        """Stop the worker processes (a document still being read is abandoned)."""
        self._pool.stop()  # type: ignore[no-untyped-call]  # pebble leaves it unannotated
        self._pool.join()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
