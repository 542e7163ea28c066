"""The database: one engine, read sessions, and write transactions that never deadlock on SQLite.

SQLite connections use WAL (readers never block the writer), foreign keys, and a busy timeout.
Python's sqlite3 module starts transactions lazily and as DEFERRED; a deferred reader that later
writes can fail with "database is locked" without waiting. Following SQLAlchemy's documented recipe,
we take over BEGIN ourselves: reads begin DEFERRED, ``Database.write()`` begins IMMEDIATE so writers
queue on the busy timeout instead of failing.

Within one process, SQLite writers also queue on a lock of their own before BEGIN IMMEDIATE: a
writer that finds the database locked sleeps in SQLite's busy handler (1, 2, 5 … 25, 50, 100 ms
steps), long after the lock is free, while a thread waiting on the process lock takes the turn the
moment it is given up. (A worker's fetch tasks and its processing thread write a few times per
source; with the busy handler alone most of a 304 round went in those sleeps.) Other processes
still meet the busy timeout; ``write_retrying`` runs a write again when another process held the
database past it (three concurrent ``staycurrent ingest`` runs made one fail with "database is
locked").
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from service.errors import StorageError

SQLITE_BUSY_TIMEOUT_MS = 30_000
LOCKED_WRITE_ATTEMPTS = 3
LOCKED_RETRY_PAUSE_SECONDS = 1.0
log = logging.getLogger("staycurrent.storage")
T = TypeVar("T")


def _sqlite_file(url: sa.engine.URL) -> Path | None:
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def _install_sqlite_hooks(engine: Engine, page_cache_kib: int | None) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        if page_cache_kib is not None:
            cursor.execute(f"PRAGMA cache_size=-{int(page_cache_kib)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


def make_engine(url: str, *, pool_size: int = 10, page_cache_kib: int | None = None) -> Engine:
    """An engine for ``url`` (sqlite:/// or postgresql+psycopg://), ready for our sessions.

    ``page_cache_kib``: SQLite's page cache per connection (default: SQLite's 2 MB); a reader with
    many connections (the API) keeps it small and leaves caching the file to the OS."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = _sqlite_file(parsed)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            pool_size=pool_size,
            max_overflow=20,
        )
        _install_sqlite_hooks(engine, page_cache_kib)
        return engine
    return sa.create_engine(
        url, pool_size=pool_size, max_overflow=10, pool_pre_ping=True, pool_recycle=1800
    )


class Database:
    """The engine plus the two ways to use it: ``session()`` to read, ``write()`` to change."""

    def __init__(self, url: str, *, pool_size: int = 10, page_cache_kib: int | None = None) -> None:
        self.url = url
        self.engine = make_engine(url, pool_size=pool_size, page_cache_kib=page_cache_kib)
        # SQLite has one writer at a time: this process's writers take turns here (see above).
        self._writer = threading.RLock() if self.is_sqlite else nullcontext()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    def session(self) -> Session:
        """A session for reads (a write through it works too, but may wait less politely)."""
        return Session(self.engine, expire_on_commit=False)

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back on any exception."""
        options = {"sqlite_begin": "IMMEDIATE"} if self.is_sqlite else {}
        with self._writer, self.engine.connect() as raw:
            conn = raw.execution_options(**options)
            with Session(bind=conn, expire_on_commit=False) as session:
                try:
                    yield session
                    session.commit()
                except OperationalError as exc:
                    session.rollback()
                    raise StorageError(f"the database refused the write: {exc.orig}") from exc
                except BaseException:
                    session.rollback()
                    raise
            conn.commit()

    def write_retrying(self, work: Callable[[Session], T]) -> T:
        """``work`` in one ``write`` transaction, run again (after a pause, up to
        ``LOCKED_WRITE_ATTEMPTS`` in all) while SQLite stays locked past its busy timeout."""
        for attempt in range(1, LOCKED_WRITE_ATTEMPTS + 1):
            try:
                with self.write() as session:
                    return work(session)
            except StorageError as exc:
                if (
                    not (self.is_sqlite and "locked" in exc.reason)
                    or attempt == LOCKED_WRITE_ATTEMPTS
                ):
                    raise
                log.warning(
                    "the database is locked by another process; write attempt %d again", attempt + 1
                )
                time.sleep(LOCKED_RETRY_PAUSE_SECONDS * attempt)
        raise AssertionError("unreachable")  # the last attempt returns or raises

    def dispose(self) -> None:
        self.engine.dispose()
