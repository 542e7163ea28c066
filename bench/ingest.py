"""Ingest: our whole pipeline against feedparser's default parse of the same bytes, in one run.

Inputs: every feed file of ``../shared/corpus`` (OPML lists and documents the pipeline refuses
as not a feed are left out, and a note says which and why) plus a generated 1,000-entry arXiv
listing. Measured on those bytes, each time the best of a few runs:

- ``feedparser``: ``feedparser.parse(body)`` with its defaults (the baseline);
- ``parse``: our parser alone (``parse.parse_feed``: the typed lxml reader, feedparser behind it);
- ``serial``: ``Pipeline.ingest_bytes`` per document into a fresh migrated SQLite database
  (parse, normalize, tag, store; one transaction per document);
- ``pool``: ``ingest.bulk.ingest_many`` (a pool of processes parses, normalizes and tags while this
  process stores), what ``staycurrent ingest`` does with several files;
- the stages apart (parse, normalize, tag, store) and a cProfile of the serial path, to show
  where the time goes;
- re-ingest: the same bytes again through both entry points (skipped by the content hash);
- scaling: generated arXiv listings and blogs totalling each of ``ctx.scales`` entries, ingested
  with ``ingest_many`` into a fresh database by a process of its own (``bench.ingestscale``):
  items/s, time per item and peak RSS at each scale.

Items/s is always the number of entries our parser reads divided by the time, so every ratio is a
ratio of times on the same bytes.

Targets (``Target.name``; the records, tables, notes and targets live in
``bench.ingestreport``): ``TARGET_END_TO_END`` (the faster of serial and pool at least 4× the
items/s of feedparser's default parse; 8× is the moonshot), ``TARGET_PARSE`` (``parse_feed``
alone at least 30×), ``TARGET_REINGEST_SERIAL`` and ``TARGET_REINGEST_POOL``
(re-ingesting unchanged bytes at least 50× faster than the first ingest), ``TARGET_SCALING``
(time per item at the largest scale at most 1.25× that at the smallest: about linear).
"""

from __future__ import annotations

import cProfile
import functools
import gc
import pstats
import resource
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import feedparser
from sqlmodel import func, select

from bench.ingestdocs import (
    Corpus,
    Document,
    corpus_documents,
    generated_documents,
    generated_listing,
)
from bench.ingestreport import (
    NAME,
    POOL_PROCESSES,
    TARGET_END_TO_END,
    TARGET_REINGEST_POOL,
    TARGET_REINGEST_SERIAL,
    TARGET_SCALING,
    TITLE,
    Clocked,
    Ingested,
    Profile,
    Results,
    Stages,
    section,
)
from bench.ingestscale import ScaleRun, run_scale
from bench.report import ROOT, Context, Section
from service.catalog import load_catalog
from service.errors import ParseError
from service.ingest.bulk import ingest_many
from service.ingest.decide import body_hash
from service.ingest.normalize import normalize_feed
from service.ingest.parse import parse_feed
from service.ingest.pipeline import Pipeline
from service.ingest.tag import Tagger
from service.ingest.topiclearn import make_tagger
from service.records import (
    ItemWithTags,
    Normalized,
    ParsedFeed,
    PollResult,
    SourceContext,
    SourceForUpdate,
)
from service.storage.catalog import sync_taxonomy
from service.storage.engine import Database
from service.storage.items import store_items
from service.storage.migrate import upgrade
from service.storage.models import Item, Source
from service.storage.sources import add_source, for_update, record_content_hash

__all__ = [
    "NAME",
    "TARGET_END_TO_END",
    "TARGET_REINGEST_POOL",
    "TARGET_REINGEST_SERIAL",
    "TARGET_SCALING",
    "TITLE",
    "run",
]
CATALOG = ROOT / "feeds.yaml"
LISTING_ENTRIES = 1_000
TINY_LISTING_ENTRIES = 50
TINY_MAX_BYTES = 8 * 1024  # a tiny run reads the corpus files up to this size
REPEATS = 3
PROFILE_ROWS = 12
T = TypeVar("T")


# --------------------------------------------------------------------------- set-up


@dataclass(frozen=True)
class Setup:
    """What every measurement shares: the documents, the tagger, a migrated database to copy."""

    ctx: Context
    documents: tuple[Document, ...]
    tagger: Tagger
    template: Path
    repeats: int

    @property
    def entries(self) -> int:
        return sum(d.entries for d in self.documents)


def _template(workdir: Path) -> Path:
    """A migrated SQLite database holding the shipped taxonomy, copied for every run."""
    path = workdir / "template.db"
    db = Database(f"sqlite:///{path}")
    upgrade(db)
    with db.write() as session:
        sync_taxonomy(session, load_catalog(CATALOG).taxonomy)
    with db.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    db.dispose()
    return path


@dataclass
class Fresh:
    """A fresh copy of the template with one source per document, and a pipeline on it."""

    db: Database
    pipeline: Pipeline
    sources: list[SourceForUpdate]
    path: Path

    def stored_items(self) -> int:
        with self.db.session() as session:
            return int(session.exec(select(func.count()).select_from(Item)).one())

    def reload_sources(self) -> None:
        """The sources as the database holds them now (with the content hash just stored)."""
        with self.db.session() as session:
            self.sources = [for_update(session.get_one(Source, s.id)) for s in self.sources]

    def close(self) -> None:
        self.db.dispose()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)


def _fresh(setup: Setup, label: str) -> Fresh:
    path = setup.ctx.workdir / f"{label}.db"
    shutil.copy(setup.template, path)
    db = Database(f"sqlite:///{path}")
    with db.write() as session:
        sources = [
            for_update(add_source(session, name=d.name, url=d.url, kind=d.kind, origin="local"))
            for d in setup.documents
        ]
    return Fresh(db, Pipeline(db=db, tagger=setup.tagger), sources, path)


def _cpu() -> float:
    me, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def _timed(run: Callable[[], T]) -> tuple[T, Clocked]:
    gc.collect()
    cpu, started = _cpu(), time.perf_counter()
    result = run()
    return result, Clocked(time.perf_counter() - started, _cpu() - cpu)


def _fastest(times: Sequence[Clocked]) -> Clocked:
    """The best wall time and the best CPU time of several runs."""
    return Clocked(min(t.wall for t in times), min(t.cpu for t in times))


def _best(setup: Setup, run: Callable[[], object]) -> float:
    return min(_timed(run)[1].wall for _ in range(setup.repeats))


# --------------------------------------------------------------------------- the entry points


def _outcome(result: PollResult | ParseError) -> str:
    return f"refused: {result.reason}" if isinstance(result, ParseError) else result.outcome


def _serial(fresh: Fresh, documents: Sequence[Document]) -> list[str]:
    pairs = zip(fresh.sources, documents, strict=True)
    return [_outcome(fresh.pipeline.ingest_bytes(s, d.body)) for s, d in pairs]


def _pool(fresh: Fresh, documents: Sequence[Document]) -> list[str]:
    pairs = [(s, d.body) for s, d in zip(fresh.sources, documents, strict=True)]
    results = ingest_many(fresh.pipeline, pairs, processes=POOL_PROCESSES)
    return [_outcome(r) for r in results]


EntryPoint = Callable[[Fresh, Sequence[Document]], list[str]]
ENTRY_POINTS: dict[str, EntryPoint] = {"serial": _serial, "pool": _pool}


@dataclass
class Rounds:
    """Every approach once per round, so that each sees the machine as busy as the others."""

    times: dict[str, list[Clocked]]
    outcomes: dict[str, list[str]]
    last: dict[str, Fresh]  # the database of each entry point's last round, for re-ingesting


def _rounds(setup: Setup, feedparser_run: Callable[[], object]) -> Rounds:
    rounds = Rounds({name: [] for name in ("feedparser", "parse", *ENTRY_POINTS)}, {}, {})
    for attempt in range(setup.repeats):
        rounds.times["feedparser"].append(_timed(feedparser_run)[1])
        rounds.times["parse"].append(_timed(functools.partial(_parse_all, setup))[1])
        for name, entry_point in ENTRY_POINTS.items():
            fresh = _fresh(setup, f"{name}-{attempt}")
            outcomes, clocked = _timed(functools.partial(entry_point, fresh, setup.documents))
            rounds.times[name].append(clocked)
            rounds.outcomes[name] = outcomes
            if name in rounds.last:
                rounds.last[name].close()
            rounds.last[name] = fresh
    return rounds


def _ingested(setup: Setup, rounds: Rounds, name: str) -> Ingested:
    """The first ingests of ``name``, and re-ingesting the same bytes into its last database."""
    fresh, entry_point = rounds.last[name], ENTRY_POINTS[name]
    stored = fresh.stored_items()
    fresh.reload_sources()
    again = [
        _timed(functools.partial(entry_point, fresh, setup.documents)) for _ in range(setup.repeats)
    ]
    fresh.close()
    return Ingested(
        first=_fastest(rounds.times[name]),
        reingest=_fastest([clocked for _, clocked in again]),
        stored_items=stored,
        outcomes=tuple(rounds.outcomes[name]),
        reingest_outcomes=tuple(again[-1][0]),
    )


# --------------------------------------------------------------------------- stages apart


def _parse_all(setup: Setup) -> list[ParsedFeed]:
    return [parse_feed(d.body, url=d.url) for d in setup.documents]


def _normalize_all(setup: Setup, feeds: Sequence[ParsedFeed], now: datetime) -> list[Normalized]:
    return [
        normalize_feed(feed, SourceContext(feed_url=d.url, kind=d.kind, fetched_at=now))
        for d, feed in zip(setup.documents, feeds, strict=True)
    ]


def _tag_all(setup: Setup, normalized: Sequence[Normalized]) -> list[list[ItemWithTags]]:
    tag_all = setup.tagger.tag_all  # a document's items together, as the pipeline tags them
    return [
        [ItemWithTags(item, tags) for item, tags in zip(n.items, tag_all(n.items), strict=True)]
        for n in normalized
    ]


def _store_all(
    fresh: Fresh, setup: Setup, tagged: Sequence[list[ItemWithTags]], now: datetime
) -> None:
    """What ``Pipeline.ingest_bytes`` does after processing: one transaction per document."""
    for source, document, items in zip(fresh.sources, setup.documents, tagged, strict=True):
        with fresh.db.write() as session:
            store_items(session, source_id=source.id, items=items, now=now)
            record_content_hash(session, source.id, body_hash(document.body))


def _store_best(setup: Setup, tagged: Sequence[list[ItemWithTags]], now: datetime) -> float:
    times = []
    for attempt in range(setup.repeats):
        fresh = _fresh(setup, f"store-{attempt}")
        times.append(_timed(functools.partial(_store_all, fresh, setup, tagged, now))[1].wall)
        fresh.close()
    return min(times)


def _stages(setup: Setup) -> Stages:
    now = datetime.now(UTC)
    feeds = _parse_all(setup)
    normalized = _normalize_all(setup, feeds, now)
    tagged = _tag_all(setup, normalized)
    return Stages(
        parse=_best(setup, functools.partial(_parse_all, setup)),
        normalize=_best(setup, functools.partial(_normalize_all, setup, feeds, now)),
        tag=_best(setup, functools.partial(_tag_all, setup, normalized)),
        store=_store_best(setup, tagged, now),
    )


# --------------------------------------------------------------------------- the profile


def _function_name(key: tuple[str, int, str]) -> str:
    filename, line, name = key
    if filename == "~":
        return name  # a built-in, e.g. "<method 'clean' of 'builtins.Cleaner' objects>"
    path = Path(filename)
    if path.is_relative_to(ROOT):
        where = str(path.relative_to(ROOT))
    elif "site-packages" in path.parts:
        where = "/".join(path.parts[path.parts.index("site-packages") + 1 :])
    else:
        where = path.name
    return f"{where}:{line} {name}"


def _profile(setup: Setup) -> Profile:
    fresh = _fresh(setup, "profile")
    profiler = cProfile.Profile()
    profiler.runcall(_serial, fresh, setup.documents)
    fresh.close()
    stats: dict[Any, Any] = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    total = sum(row[2] for row in stats.values())
    ranked = sorted(stats.items(), key=lambda pair: pair[1][2], reverse=True)[:PROFILE_ROWS]
    return Profile([(_function_name(key), row[2], row[1]) for key, row in ranked], total)


# --------------------------------------------------------------------------- scaling


def _scaling(setup: Setup) -> list[ScaleRun]:
    runs = []
    for scale in setup.ctx.scales:
        folder = setup.ctx.workdir / f"scale-{scale}"
        setup.ctx.log(f"  ingest: generating and ingesting {scale:,} entries")
        files = generated_documents(folder, scale)
        database = setup.ctx.workdir / f"scale-{scale}.db"
        runs.append(run_scale(setup.template, database, CATALOG, files))
        shutil.rmtree(folder)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{database}{suffix}").unlink(missing_ok=True)
    return runs


# --------------------------------------------------------------------------- run


def _setup(ctx: Context) -> tuple[Setup, Corpus]:
    corpus = corpus_documents(ctx.corpus, max_bytes=TINY_MAX_BYTES if ctx.tiny else None)
    listing = generated_listing(TINY_LISTING_ENTRIES if ctx.tiny else LISTING_ENTRIES)
    setup = Setup(
        ctx=ctx,
        documents=(*corpus.documents, listing),
        tagger=make_tagger(load_catalog(CATALOG).taxonomy, None),  # what the worker tags with
        template=_template(ctx.workdir),
        repeats=1 if ctx.tiny else REPEATS,
    )
    return setup, corpus


def run(ctx: Context) -> Section:
    setup, corpus = _setup(ctx)
    bodies = [d.body for d in setup.documents]
    ctx.log("  ingest: feedparser, our parser, the pipeline serial and pool, in rounds")
    rounds = _rounds(setup, lambda: [feedparser.parse(b) for b in bodies])
    ctx.log("  ingest: re-ingest, the stages apart, a profile")
    results = Results(
        corpus=corpus,
        documents=len(setup.documents),
        entries=setup.entries,
        listing_entries=setup.documents[-1].entries,
        repeats=setup.repeats,
        feedparser=_fastest(rounds.times["feedparser"]),
        feedparser_entries=sum(len(feedparser.parse(b).entries) for b in bodies),
        parse=_fastest(rounds.times["parse"]),
        serial=_ingested(setup, rounds, "serial"),
        pool=_ingested(setup, rounds, "pool"),
        stages=_stages(setup),
        profile=_profile(setup),
        scaling=_scaling(setup),
    )
    return section(results)
