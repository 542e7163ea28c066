"""``staycurrent export`` and the subscription URLs of ``staycurrent profile``, on SQLite."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import feedparser
import listparser
import pytest
from corpusgen import GeneratedCorpus, generate_corpus
from fastapi.testclient import TestClient
from feedcheck import json_feed_problems
from typer.testing import CliRunner

from service.cli import app
from service.cli.common import database, settings
from service.outputs.api.app import create_app
from service.storage.engine import Database

SECRET = "cli-test-secret-key-that-is-long-enough-0123"
BASE = "http://testserver"

Cli = tuple[CliRunner, GeneratedCorpus, TestClient]


@pytest.fixture
def cli(sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cli]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("STAYCURRENT_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("STAYCURRENT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("STAYCURRENT_SECRET_KEY", SECRET)
    monkeypatch.setenv("STAYCURRENT_BASE_URL", BASE)
    settings.cache_clear()
    database.cache_clear()
    db = Database(sqlite_url)
    corpus = generate_corpus(db, items=200, seed=4)
    client = TestClient(create_app(settings(), db=db, clock=lambda: corpus.now))
    yield CliRunner(), corpus, client
    database().dispose()
    db.dispose()
    settings.cache_clear()
    database.cache_clear()


def _run(runner: CliRunner, *args: str) -> Any:
    return runner.invoke(app, list(args), catch_exceptions=False)


def _create(runner: CliRunner, name: str = "ada") -> dict[str, Any]:
    result = _run(runner, "profile", "create", name, "--interests", "nlp", "--json")
    assert result.exit_code == 0, result.output
    created: dict[str, Any] = json.loads(result.output)
    return created


def test_profile_create_prints_subscription_urls_that_work(cli: Cli) -> None:
    runner, _, client = cli
    text = _run(runner, "profile", "create", "bob", "--interests", "nlp")
    assert text.exit_code == 0
    urls = [word for word in text.output.split() if word.startswith(f"{BASE}/v1/subscriptions/")]
    assert [url.rsplit("/", 1)[1] for url in urls] == [
        "feed.rss", "feed.atom", "feed.json", "sources.opml", "lenses.opml"
    ]  # fmt: skip
    for url in urls:
        assert client.get(url).status_code == 200, url
    created = _create(runner)
    assert created["subscriptions"]["RSS"].endswith(f"/{created['feed_token']}/feed.rss")


def test_rotating_the_feed_token_prints_new_urls_and_retires_the_old(cli: Cli) -> None:
    runner, _, client = cli
    old = _create(runner)["subscriptions"]["RSS"]
    result = _run(runner, "profile", "rotate", "ada", "--token", "feed")
    assert result.exit_code == 0, result.output
    new = next(w for w in result.output.split() if w.startswith(BASE) and w.endswith("feed.rss"))
    assert new != old
    assert client.get(old).status_code == 404
    assert client.get(new).status_code == 200


def test_export_opml_is_the_api_opml(cli: Cli, tmp_path: Path) -> None:
    runner, corpus, client = cli
    everything = _run(runner, "export", "opml")
    assert everything.exit_code == 0
    assert everything.stdout_bytes == client.get("/v1/opml").content
    assert listparser.parse(everything.stdout_bytes).bozo == 0
    created = _create(runner)
    target = tmp_path / "ada.opml"
    at = corpus.now.isoformat()
    result = _run(runner, "export", "opml", "--profile", "ada", "--output", str(target), "--at", at)
    assert result.exit_code == 0 and "wrote" in result.output
    api = client.get(f"/v1/subscriptions/{created['feed_token']}/sources.opml")
    assert target.read_bytes() == api.content
    mine, every = listparser.parse(target.read_bytes()), listparser.parse(everything.stdout_bytes)
    assert mine.bozo == 0 and 0 < len(mine.feeds) < len(every.feeds)


@pytest.mark.parametrize("fmt", ["rss", "atom", "json"])
def test_export_feed_has_the_entries_of_the_subscription_feed(cli: Cli, fmt: str) -> None:
    runner, corpus, client = cli
    created = _create(runner)
    at = corpus.now.isoformat()
    result = _run(runner, "export", "feed", "--profile", "ada", "--format", fmt, "--at", at,
                  "--depth", "0", "--limit", "12")  # fmt: skip
    assert result.exit_code == 0, result.output
    api = client.get(f"/v1/subscriptions/{created['feed_token']}/feed.{fmt}?depth=0&limit=12")
    if fmt == "json":
        assert json_feed_problems(result.stdout_bytes) == []
        exported = json.loads(result.stdout_bytes)["items"]
        assert exported == json.loads(api.content)["items"]
        return
    parsed = feedparser.parse(result.stdout_bytes)
    assert parsed.bozo == 0 and len(parsed.entries) == 12
    served = feedparser.parse(api.content)
    assert [(e.id, e.title, e.description if fmt == "rss" else e.content[0].value)
            for e in parsed.entries] == [
        (e.id, e.title, e.description if fmt == "rss" else e.content[0].value)
        for e in served.entries
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--profile", "ada", "--format", "xml"], 2, "--format: must be one of rss, atom, json"),
        (["--profile", "nobody"], 1, "no profile is named 'nobody'"),
        (["--profile", "ada", "--kinds", "tweet"], 1, "kinds: must be among"),
        (["--profile", "ada", "--at", "yesterday"], 2, "--at: not an ISO 8601"),
    ],
)
def test_export_feed_refuses_bad_values(cli: Cli, args: list[str], code: int, message: str) -> None:
    runner, _, _ = cli
    _create(runner)
    result = _run(runner, "export", "feed", *args)
    assert result.exit_code == code
    assert message in result.output
