"""The CLI a newcomer meets: start-up imports only what a command needs, the commands that were
missing (topics, items show, item pages, sources list, --source by name), words for local
sources, and /metrics counting what the CLI ingested."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from apikit import ADMIN_TOKEN
from clikit import SECRET, Cli, cli_on
from corpusgen import GeneratedCorpus, generate_corpus
from fastapi.testclient import TestClient
from processkit import answers, free_port, stop_leftovers
from sqlmodel import col, select
from workerprocs import cli_env, start, wait_until

from service.cli import LAZY_COMMANDS, load_command
from service.cli.common import settings
from service.outputs.api.app import create_app
from service.outputs.schemas import cut_at_word
from service.storage.engine import Database
from service.storage.models import Item, ItemSource, Source

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
NEVER_AT_START = (
    "sqlalchemy",
    "sqlmodel",
    "fastapi",
    "alembic",
    "uvicorn",
    "pydantic_settings",
    "rich",
)
NOT_FOR_ITEMS = ("fastapi", "alembic", "uvicorn", "apscheduler", "httpx", "numpy", "wordllama")
# What ``items list`` on an empty database has no use for either: it prints a sentence, no table.
NOT_FOR_AN_EMPTY_LIST = (*NOT_FOR_ITEMS, "rich")


def imported_by(*args: str, env: dict[str, str] | None = None) -> set[str]:
    """The modules ``staycurrent ARGS`` imports, read from ``python -X importtime``."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "service.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = [line for line in done.stderr.splitlines() if line.startswith("import time:")]
    return {line.rsplit("|", 1)[1].strip() for line in lines}


def _under(modules: set[str], packages: tuple[str, ...]) -> set[str]:
    return {m for m in modules if m.split(".")[0] in packages or m.startswith(packages)}


@pytest.mark.parametrize("args", [("--version",), ("--help",)])
def test_version_and_help_import_no_database_or_web_stack(args: tuple[str, ...]) -> None:
    modules = imported_by(*args)
    assert "typer" in modules  # the measurement works
    assert _under(modules, NEVER_AT_START) == set()
    assert not any(m.startswith("service.storage") or m == "service.config" for m in modules)


@pytest.fixture
def empty_database_env(tmp_path: Path) -> dict[str, str]:
    """The environment of a CLI call on a migrated, empty SQLite database."""
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    env = {"STAYCURRENT_DATABASE_URL": url, "STAYCURRENT_DATA_DIR": str(tmp_path / "data")}
    subprocess.run(
        [sys.executable, "-m", "service.cli", "db", "upgrade"],
        env={**os.environ, **env},
        check=True,
        capture_output=True,
    )
    return env


def test_items_list_imports_storage_but_not_the_api_or_the_poller(
    empty_database_env: dict[str, str],
) -> None:
    modules = imported_by("items", "list", env=empty_database_env)
    assert "sqlalchemy" in modules and "service.storage.views" in modules
    assert _under(modules, NOT_FOR_AN_EMPTY_LIST) == set()
    assert not _under(modules, ("service.ingest", "service.rank", "service.outputs.api"))
    assert "service.records" not in modules  # the records of the stages; the words suffice


# One CLI call in a process of its own, reporting afterwards on the garbage collector: whether
# it runs, how many objects are frozen, and the freeze count at the start of each collection.
ONE_CALL = """
import gc, sys
from service.cli import main
frozen_at = []
def started(phase, info):
    if phase == "start":
        frozen_at.append(gc.get_freeze_count())
gc.callbacks.append(started)
sys.argv = ["staycurrent", "items", "list"]
try:
    main()
except SystemExit:
    pass
least = min(frozen_at, default=None)
print(gc.isenabled(), gc.get_freeze_count(), least, "sqlalchemy" in sys.modules)
"""


def test_a_call_imports_its_command_unwatched_by_the_collector_then_freezes_it(
    empty_database_env: dict[str, str],
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", ONE_CALL],
        env={**os.environ, **empty_database_env},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    enabled, frozen, least_frozen_at_a_collection, imported = done.stdout.split()[-4:]
    assert enabled == "True" and imported == "True"
    assert int(frozen) > 50_000  # SQLAlchemy, pydantic, the tables: out of the collector's way
    # No collection walked the imports: any that ran, ran after they were frozen.
    assert least_frozen_at_a_collection == "None" or int(least_frozen_at_a_collection) > 50_000


def test_commands_run_in_process_freeze_nothing(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    frozen = gc.get_freeze_count()
    with cli_on(sqlite_url, tmp_path, monkeypatch) as cli:
        empty = cli("items", "list")
        assert empty.exit_code == 0, empty.output
    assert gc.get_freeze_count() == frozen and gc.isenabled()  # a test runner, a library user


def test_an_empty_list_says_why(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with cli_on(sqlite_url, tmp_path, monkeypatch) as cli:
        nothing_stored = cli("items", "list").stdout
        nothing_matches = cli("items", "list", "--kind", "paper").stdout
        searched = cli("items", "list", "--query", "transformers").stdout
    assert nothing_stored.startswith("no items stored yet: `staycurrent poll` fetches")
    assert nothing_matches.startswith("no stored item matches")
    assert searched.startswith("no stored item matches")


@pytest.mark.parametrize("name", list(LAZY_COMMANDS))
def test_help_lists_each_command_with_its_real_help(name: str) -> None:
    command = load_command(name)
    real = " ".join((command.help or "").split("\n\n")[0].split())
    assert real == LAZY_COMMANDS[name][2]


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("Short title", 80, "Short title"),
        ("Attention is all you need, again and again", 20, "Attention is all you…"),
        ("Sparse experts: a survey", 16, "Sparse experts…"),
        ("Supercalifragilistic words", 10, "Supercalif…"),  # one word longer than the limit
    ],
)
def test_titles_are_cut_at_a_word(text: str, limit: int, expected: str) -> None:
    assert cut_at_word(text, limit) == expected


# --------------------------------------------------------------------------- against a database


@pytest.fixture
def corpus_cli(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Cli, GeneratedCorpus, Database]]:
    db = Database(sqlite_url)
    corpus = generate_corpus(db, items=130, seed=3)
    monkeypatch.setenv("STAYCURRENT_FEEDS_FILE", str(ROOT / "feeds.yaml"))
    with cli_on(sqlite_url, tmp_path, monkeypatch) as cli:
        yield cli, corpus, db
    db.dispose()


def _client(db: Database) -> TestClient:
    return TestClient(create_app(settings(), db=db))


def _json(cli: Cli, *args: str) -> object:
    result = cli(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_items_list_pages_through_every_item_once(
    corpus_cli: tuple[Cli, GeneratedCorpus, Database],
) -> None:
    cli, _, db = corpus_cli
    seen: list[int] = []
    cursor: list[str] = []
    for _ in range(10):
        page = _json(cli, "items", "list", "--limit", "40", *cursor)
        assert isinstance(page, dict)
        seen += [item["id"] for item in page["items"]]
        if page["next_cursor"] is None:
            break
        cursor = ["--cursor", page["next_cursor"]]
    with db.session() as session:
        stored = session.exec(
            select(Item.id).order_by(col(Item.published_at).desc(), col(Item.id).desc())
        ).all()
    assert seen == list(stored)  # newest first, each once, past the first page
    table = cli("items", "list", "--limit", "5")
    assert "more: add --cursor " in table.stdout


def test_items_list_takes_a_source_by_name(
    corpus_cli: tuple[Cli, GeneratedCorpus, Database],
) -> None:
    cli, _, db = corpus_cli
    with db.session() as session:
        source = session.exec(select(Source).where(Source.name == "arXiv cs.CL")).one()
        wanted = set(
            session.exec(select(ItemSource.item_id).where(ItemSource.source_id == source.id))
        )
    page = _json(cli, "items", "list", "--source", "arXiv cs.CL", "--limit", "100")
    assert isinstance(page, dict) and wanted
    assert {item["id"] for item in page["items"]} == wanted
    unknown = cli("items", "list", "--source", "No Such Blog")
    assert unknown.exit_code == 2 and "no source named 'No Such Blog'" in unknown.stderr


def test_items_show_topics_and_sources_list_are_what_the_api_says(
    corpus_cli: tuple[Cli, GeneratedCorpus, Database],
) -> None:
    cli, _, db = corpus_cli
    client = _client(db)
    first = client.get("/v1/items", params={"limit": 1}).json()["items"][0]
    assert (
        _json(cli, "items", "show", str(first["id"]))
        == client.get(f"/v1/items/{first['id']}").json()
    )
    text = cli("items", "show", str(first["id"])).stdout
    assert first["title"][:40] in " ".join(text.split())
    assert cli("items", "show", "999999").exit_code == 1
    topics = _json(cli, "topics")
    api_topics = client.get("/v1/topics").json()
    assert isinstance(topics, dict)
    assert topics["areas"] == api_topics["areas"] and len(topics["areas"]) > 5
    listing = " ".join(cli("topics").stdout.split())
    assert all(area["slug"][:12] in listing for area in api_topics["areas"])
    listed = _json(cli, "sources", "list", "--limit", "500")
    assert isinstance(listed, dict)
    assert listed["sources"] == client.get("/v1/sources", params={"limit": 500}).json()["sources"]
    table = cli("sources", "list", "--limit", "3")
    assert table.exit_code == 0 and "more: add --cursor " in table.stdout


def test_a_hand_ingested_source_is_called_local_and_metrics_count_it(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STAYCURRENT_FEEDS_FILE", str(ROOT / "feeds.yaml"))
    monkeypatch.setenv("STAYCURRENT_ADMIN_TOKEN", ADMIN_TOKEN)
    with cli_on(sqlite_url, tmp_path, monkeypatch) as cli:
        done = cli("ingest", str(FIXTURES / "parse_podcast.xml"), "--source", "My shelf")
        assert done.exit_code == 0, done.output
        status = cli("sources", "status", "--source", "My shelf", "--json")
        assert json.loads(status.stdout)["sentence"] == "local source (files ingested by hand)"
        listed = _json(cli, "sources", "list", "--inactive")
        assert isinstance(listed, dict)
        [shelf] = [s for s in listed["sources"] if s["name"] == "My shelf"]
        assert shelf["origin"] == "local"
        assert shelf["health"]["sentence"] == "local source (files ingested by hand)"
        db = Database(sqlite_url)
        with db.session() as session:
            stored = len(session.exec(select(Item)).all())
        assert stored > 0
        metrics = _client(db).get("/metrics").text
        db.dispose()
    assert f"staycurrent_items_ingested_24h {stored}" in metrics.splitlines()
    assert SECRET  # the CLI signed its cursors with the key cli_on set


def test_serving_on_another_port_than_a_local_base_url_says_so_once(
    sqlite_url: str, tmp_path: Path
) -> None:
    port = free_port()
    env = cli_env(sqlite_url, port=port, base_url="http://127.0.0.1:8000", log_level="INFO")
    serving = start(["api"], env, tmp_path, "api")
    try:
        wait_until(lambda: answers(f"http://127.0.0.1:{port}/readyz"), "the API", timeout=60)
        assert answers(f"http://127.0.0.1:{port}/readyz")  # served on the port asked
    finally:
        stop_leftovers([serving])
    said = serving.output()
    warning = f"STAYCURRENT_BASE_URL is http://127.0.0.1:8000 but the API serves on http://127.0.0.1:{port}"
    assert said.count(warning) == 1, said
