"""The scaling part of the ingest benchmark: N generated entries into a fresh database, measured in
a process of its own so that its peak resident memory is the ingest's alone.

    bench process --runs--> python -m bench.ingestscale MANIFEST (the ingest process): copies the
                            migrated template, adds the sources, then times
                            ingest_many over the files, read one at a time
                              +--fork--> pool workers (parse | normalize | tag)
    bench process: samples the workers' peak RSS from /proc while the ingest runs

The ingest process reports, as one JSON object on standard output, its time, what it stored, its
own peak RSS (``VmHWM``) and how far that rose during the ingest (``memorywatch.peak_growth``).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from memorywatch import memory_fields, peak_growth
from sqlmodel import func, select

from bench.ingestdocs import GeneratedFile
from bench.report import ROOT, TESTS
from service.catalog import load_catalog
from service.ingest.bulk import ingest_many
from service.ingest.pipeline import Pipeline
from service.ingest.topiclearn import make_tagger
from service.records import SourceForUpdate
from service.storage.engine import Database
from service.storage.models import Item
from service.storage.sources import add_source, for_update

MIB = 1024 * 1024
SAMPLE_SECONDS = 0.05


@dataclass(frozen=True)
class ScaleRun:
    """One scaling run: entries ingested, items stored, seconds, and memory."""

    entries: int
    documents: int
    stored_items: int
    refused: int
    seconds: float
    cpu_seconds: float  # the ingest process and its pool workers
    load_average: float  # the machine's 1-minute load average when the ingest ended
    peak_rss_mib: float
    rss_growth_mib: float
    worker_peak_rss_mib: float | None  # None when the workers ended before a sample


@dataclass(frozen=True)
class Manifest:
    """What the ingest process is asked to do."""

    template: str
    database: str
    catalog: str
    files: list[tuple[str, str, str, int]]  # (name, kind, path, entries) of each GeneratedFile


# --------------------------------------------------------------------------- the ingest process


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


def _cpu() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def ingest(manifest: Manifest) -> dict[str, float]:
    """Set up outside the clock, then time ``ingest_many`` alone."""
    files = [GeneratedFile(n, k, Path(p), e) for n, k, p, e in manifest.files]  # type: ignore[arg-type]
    shutil.copy(manifest.template, manifest.database)
    db = Database(f"sqlite:///{manifest.database}")
    pipeline = Pipeline(
        db=db, tagger=make_tagger(load_catalog(Path(manifest.catalog)).taxonomy, None)
    )
    sources = _add_sources(db, files)
    started, cpu = time.perf_counter(), _cpu()
    results, growth = peak_growth(lambda: ingest_many(pipeline, _bodies(sources, files)))
    seconds, cpu = time.perf_counter() - started, _cpu() - cpu  # the pool's workers are reaped
    with db.session() as session:
        stored = session.exec(select(func.count()).select_from(Item)).one()
    db.dispose()
    return {
        "seconds": seconds,
        "cpu": cpu,
        "stored": stored,
        "refused": sum(isinstance(r, Exception) for r in results),
        "peak": memory_fields()["VmHWM"],
        "growth": growth,
    }


# --------------------------------------------------------------------------- the bench process


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def _sample_workers(pid: int, peaks: dict[int, int]) -> None:
    for child in _children(pid):
        try:
            peaks[child] = max(peaks.get(child, 0), memory_fields(child)["VmHWM"])
        except (OSError, KeyError):
            continue  # it has just exited


def run_scale(
    template: Path, database: Path, catalog: Path, files: Sequence[GeneratedFile]
) -> ScaleRun:
    """Ingest ``files`` in a fresh process; its time, what it stored, and its memory."""
    manifest = Manifest(
        str(template),
        str(database),
        str(catalog),
        [(f.name, f.kind, str(f.path), f.entries) for f in files],
    )
    path = database.with_suffix(".manifest.json")
    path.write_text(json.dumps(asdict(manifest)))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join((str(ROOT), str(TESTS)))}
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.ingestscale", str(path)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    peaks: dict[int, int] = {}
    while process.poll() is None:
        _sample_workers(process.pid, peaks)
        time.sleep(SAMPLE_SECONDS)
    out, err = process.communicate()
    path.unlink()
    if process.returncode != 0:
        raise RuntimeError(
            f"the ingest process failed ({process.returncode}): {err.strip()[-2000:]}"
        )
    found = json.loads(out)
    return ScaleRun(
        entries=sum(f.entries for f in files),
        documents=len(files),
        stored_items=int(found["stored"]),
        refused=int(found["refused"]),
        seconds=float(found["seconds"]),
        cpu_seconds=float(found["cpu"]),
        load_average=os.getloadavg()[0],
        peak_rss_mib=found["peak"] / MIB,
        rss_growth_mib=found["growth"] / MIB,
        worker_peak_rss_mib=max(peaks.values()) / MIB if peaks else None,
    )


if __name__ == "__main__":
    print(json.dumps(ingest(Manifest(**json.loads(Path(sys.argv[1]).read_text())))))
