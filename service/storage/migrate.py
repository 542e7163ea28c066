"""Alembic migrations, run programmatically: ``upgrade``, ``current_revision``, ``is_current``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from service.storage.engine import Database

MIGRATIONS = Path(__file__).parent / "migrations"
# Objects created by hand in migrations (full-text search) that the models do not describe.
_UNMODELLED = frozenset({"search_vector", "ix_item_search"})


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, other: Any) -> bool:
    """Alembic's filter: compare everything except the hand-made full-text search objects."""
    if name is None:
        return True
    return not (name in _UNMODELLED or name.startswith("item_fts"))


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None, "the migrations folder has no revisions"
    return head


def upgrade(db: Database, revision: str = "head") -> None:
    """Bring the schema to ``revision``; safe to run again, and from two processes at once."""
    config = _config()
    options = {"sqlite_begin": "IMMEDIATE"} if db.is_sqlite else {}
    with db.engine.connect() as raw:
        conn = raw.execution_options(**options)
        if not db.is_sqlite:
            # Two processes starting at once: the second waits, then finds nothing to do.
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(727274)")
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
        conn.commit()


def current_revision(db: Database) -> str | None:
    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def is_current(db: Database) -> bool:
    return current_revision(db) == head_revision()
