"""Assembling long-lived parts from settings: the catalog, tagger, fetcher and pipeline."""

from __future__ import annotations

import functools
import os
import socket

from service.cli.common import database, fail, settings
from service.config import Catalog, load_catalog
from service.errors import ConfigError
from service.ingest.fetch import Fetcher, FetchLimits
from service.ingest.pipeline import Pipeline
from service.ingest.schedule import ScheduleLimits
from service.ingest.tag import Tagger


@functools.cache
def catalog() -> Catalog:
    path = settings().feeds_file
    try:
        return load_catalog(path)
    except ConfigError as exc:
        fail(f"{exc.reason}\n{path}: fix the catalog (staycurrent sources check)", code=2)


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def build_fetcher() -> Fetcher:
    return Fetcher(FetchLimits.from_settings(settings()))


def build_pipeline(fetcher: Fetcher | None) -> Pipeline:
    cfg = settings()
    return Pipeline(
        db=database(),
        tagger=Tagger(catalog().taxonomy),
        fetcher=fetcher,
        limits=ScheduleLimits.from_settings(cfg),
        concurrency=cfg.poll_concurrency,
        per_host=cfg.poll_per_host,
        worker_id=worker_id(),
    )
