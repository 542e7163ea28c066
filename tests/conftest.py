"""Shared fixtures: real SQLite and PostgreSQL databases, the shared corpus, settings.

PostgreSQL tests use ``STAYCURRENT_TEST_POSTGRES_URL`` (a server where we may create databases);
each test session creates its own database and drops it at the end, so parallel runs never meet.
Without it the tests skip with a visible reason — except under ``CI=true``, where any skip that is
not an explicit opt-in fails the run.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from service.config import Settings
from service.storage.engine import Database
from service.storage.migrate import upgrade

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
IN_CI = os.environ.get("CI", "").lower() == "true"
OPT_IN = "opt-in:"

hypothesis_settings.register_profile(
    "default", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
hypothesis_settings.load_profile("default")

_skipped: list[str] = []


def skip_or_fail(reason: str) -> None:
    """Skip with ``reason`` — or fail under CI=true, where every test must run."""
    if IN_CI:
        pytest.fail(f"must run under CI=true: {reason}")
    pytest.skip(reason)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and isinstance(report.longrepr, tuple):
        reason = str(report.longrepr[2])
        if OPT_IN not in reason:
            _skipped.append(f"{report.nodeid}: {reason}")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if IN_CI and _skipped:
        print("\nCI=true and tests were skipped (a skip is a failure in CI):")
        for line in _skipped:
            print(f"  {line}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


# --------------------------------------------------------------------------- corpus


@pytest.fixture(scope="session")
def corpus() -> Path:
    """``../shared/corpus``, read in place (never copied into the project)."""
    if not CORPUS.is_dir():
        skip_or_fail(f"the shared corpus is absent ({CORPUS})")
    return CORPUS


def corpus_files() -> list[Path]:
    """Every feed file in the corpus (for parametrizing); empty where the corpus is absent."""
    if not CORPUS.is_dir():
        return []
    return sorted(
        p
        for p in CORPUS.rglob("*")
        if p.is_file() and p.name not in {"README.md", "PROVENANCE.tsv"}
    )


# --------------------------------------------------------------------------- databases

_TABLES_IN_ORDER = (
    "web_session",
    "comeback",
    "trend",
    "trend_refresh",
    "delivery_item",
    "delivery",
    "feedback",
    "profile",
    "item_link",
    "item_tag",
    "item_source",
    "poll_log",
    "tag",
    "item",
    "host_lease",
    "topic_model",
    "rebuild_checkpoint",
    "source",
)


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, migrated; dropped at the end."""
    admin_url = os.environ.get("STAYCURRENT_TEST_POSTGRES_URL")
    if not admin_url:
        skip_or_fail("PostgreSQL tests need STAYCURRENT_TEST_POSTGRES_URL (see .ci/run)")
        raise AssertionError("unreachable")
    admin_url = admin_url.replace("postgresql://", "postgresql+psycopg://", 1)
    name = f"sc_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError as exc:
        admin.dispose()
        skip_or_fail(f"PostgreSQL at STAYCURRENT_TEST_POSTGRES_URL is unreachable: {exc.orig}")
    url = sa.engine.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    db = Database(url)
    upgrade(db)
    db.dispose()
    yield url
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (migrating once is the slow part)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    db = Database(f"sqlite:///{path}")
    upgrade(db)
    with db.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    db.dispose()
    return path


def _truncate(db: Database) -> None:
    with db.engine.begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE {', '.join(_TABLES_IN_ORDER)} RESTART IDENTITY CASCADE")


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "staycurrent.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def postgres_url(postgres_server_url: str) -> str:
    db = Database(postgres_server_url, pool_size=1)
    _truncate(db)
    db.dispose()
    return postgres_server_url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    """A migrated, empty database: once on SQLite, once on PostgreSQL."""
    name = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    return str(request.getfixturevalue(name))


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url)
    yield database
    database.dispose()


@pytest.fixture
def make_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Build Settings for a test with a clean environment (no .env, no STAYCURRENT_* leaking in)."""
    for key in list(os.environ):
        if key.startswith("STAYCURRENT_") and key != "STAYCURRENT_TEST_POSTGRES_URL":
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)

    def build(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "database_url": f"sqlite:///{tmp_path / 'staycurrent.db'}",
            "data_dir": tmp_path / "data",
            "secret_key": "test-secret-key-that-is-long-enough-0123456789",
            "feeds_file": ROOT / "feeds.yaml",
        }
        values.update(overrides)
        return Settings(**values)

    return build
