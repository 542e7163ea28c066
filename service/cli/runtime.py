"""Assembling long-lived parts from settings: the catalog and the pipeline for local ingest."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from service.catalog import Catalog, load_catalog
from service.cli.common import database, fail, settings
from service.errors import ConfigError

if TYPE_CHECKING:
    from service.ingest.fetch import Fetcher
    from service.ingest.pipeline import Pipeline


@functools.cache
def catalog() -> Catalog:
    path = settings().feeds_file
    try:
        return load_catalog(path)
    except ConfigError as exc:
        fail(f"{exc.reason}\n{path}: fix the catalog (staycurrent sources check)", code=2)


def build_pipeline(fetcher: Fetcher | None) -> Pipeline:
    """The pipeline as configured (without the host limiter: for ingesting local files)."""
    from service.worker.compose import build_pipeline as build_configured_pipeline
    from service.worker.compose import new_owner

    return build_configured_pipeline(
        settings(), database(), catalog().taxonomy, fetcher=fetcher, owner=new_owner()
    )
