# mypy: disable-error-code="import-not-found"
# (the test helpers in tests/ are on sys.path when the benchmarks run, not when mypy reads them)
"""The scaling part of the ingest benchmark: N generated entries into a fresh database, measured in
a process of its own so that its peak resident memory is the ingest's alone.

    bench process --spawn--> ingest process: copy the migrated template, add the sources, then
                                             Pipeline.ingest_many(files read one at a time)
                              +--fork--> pool workers (parse | normalize | tag)
    bench process: samples the workers' peak RSS from /proc while the ingest runs

The ingest process reports its own peak RSS (``VmHWM``) and how far it rose during the ingest
(``memorywatch.peak_growth``).
"""

from __future__ import annotations

import multiprocessing
import shutil
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

from memorywatch import memory_fields, peak_growth
from sqlmodel import func, select

from bench.ingestdocs import GeneratedFile
from service.config import load_catalog
from service.ingest.pipeline import Pipeline
from service.ingest.tag import Tagger
from service.records import SourceForUpdate
from service.storage.engine import Database
from service.storage.models import Item
from service.storage.sources import add_source, for_update

MIB = 1024 * 1024
SAMPLE_SECONDS = 0.1


@dataclass(frozen=True)
class ScaleRun:
    """One scaling run: entries ingested, items stored, seconds, and memory."""

    entries: int
    documents: int
    stored_items: int
    refused: int
    seconds: float
    peak_rss_mib: float
    rss_growth_mib: float
    worker_peak_rss_mib: float


def _add_sources(db: Database, files: Sequence[GeneratedFile]) -> list[SourceForUpdate]:
    with db.write() as session:
        return [
            for_update(
                add_source(
                    session,
                    name=f"scale/{f.name}",
                    url=f"https://scale.example/{f.name}",
                    kind=f.kind,
                    origin="local",
                )
            )
            for f in files
        ]


def _bodies(
    sources: Sequence[SourceForUpdate], files: Sequence[GeneratedFile]
) -> Iterator[tuple[SourceForUpdate, bytes]]:
    for source, file in zip(sources, files, strict=True):
        yield source, file.path.read_bytes()


def _ingest(
    template: Path, database: Path, catalog: Path, files: Sequence[GeneratedFile], conn: Connection
) -> None:
    """The ingest process: set up outside the clock, then time ``ingest_many`` alone."""
    shutil.copy(template, database)
    db = Database(f"sqlite:///{database}")
    pipeline = Pipeline(db=db, tagger=Tagger(load_catalog(catalog).taxonomy))
    sources = _add_sources(db, files)
    started = time.perf_counter()
    results, growth = peak_growth(lambda: pipeline.ingest_many(_bodies(sources, files)))
    seconds = time.perf_counter() - started
    with db.session() as session:
        stored = session.exec(select(func.count()).select_from(Item)).one()
    refused = sum(isinstance(r, Exception) for r in results)
    db.dispose()
    conn.send((seconds, stored, refused, memory_fields()["VmHWM"], growth))
    conn.close()


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def _worker_peak(pid: int, peaks: dict[int, int]) -> None:
    for child in _children(pid):
        try:
            peaks[child] = max(peaks.get(child, 0), memory_fields(child)["VmHWM"])
        except (OSError, KeyError):
            continue  # it has just exited


def run_scale(
    template: Path, database: Path, catalog: Path, files: Sequence[GeneratedFile]
) -> ScaleRun:
    """Ingest ``files`` in a fresh process; its time, what it stored, and its memory."""
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    process = context.Process(
        target=_ingest, args=(template, database, catalog, list(files), send), daemon=False
    )
    process.start()
    send.close()
    peaks: dict[int, int] = {}
    while not receive.poll(SAMPLE_SECONDS):
        assert process.pid is not None
        _worker_peak(process.pid, peaks)
        if not process.is_alive():
            raise RuntimeError(f"the ingest process ended with exit code {process.exitcode}")
    seconds, stored, refused, peak, growth = receive.recv()
    process.join()
    return ScaleRun(
        entries=sum(f.entries for f in files),
        documents=len(files),
        stored_items=stored,
        refused=refused,
        seconds=seconds,
        peak_rss_mib=peak / MIB,
        rss_growth_mib=growth / MIB,
        worker_peak_rss_mib=max(peaks.values(), default=0) / MIB,
    )
