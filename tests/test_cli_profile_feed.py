"""``staycurrent profile`` and ``staycurrent feed`` against a real SQLite database."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from apikit import bearer
from corpusgen import GeneratedCorpus, generate_corpus
from fastapi.testclient import TestClient
from sqlmodel import col, select
from typer.testing import CliRunner

from service.cli import app
from service.cli.common import database, settings
from service.outputs.api.app import create_app
from service.storage.engine import Database
from service.storage.models import Item
from service.storage.profiles import find_by_token

SECRET = "cli-test-secret-key-that-is-long-enough-0123"


@pytest.fixture
def cli(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[CliRunner, GeneratedCorpus, Database]]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("STAYCURRENT_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("STAYCURRENT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("STAYCURRENT_SECRET_KEY", SECRET)
    settings.cache_clear()
    database.cache_clear()
    db = Database(sqlite_url)
    corpus = generate_corpus(db, items=200, seed=4)
    yield CliRunner(), corpus, db
    database().dispose()
    db.dispose()
    settings.cache_clear()
    database.cache_clear()


def _run(runner: CliRunner, *args: str) -> Any:
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_profile_create_prints_the_tokens_once(cli: tuple[CliRunner, Any, Database]) -> None:
    runner, _, db = cli
    result = _run(
        runner,
        "profile",
        "create",
        "ada",
        "--interests",
        "robotics:2,nlp",
        "--preset",
        "researcher",
        "--keywords",
        "agents,-crypto",
        "--author",
        "Yoshua Bengio",
        "--json",
    )
    assert result.exit_code == 0, result.output
    created = json.loads(result.output)
    profile = created["profile"]
    assert profile["interests"] == {"robotics": 2.0, "nlp": 1.0}
    assert (profile["depth"], profile["keywords"]) == (0.85, ["agents", "-crypto"])
    assert profile["authors"] == ["Yoshua Bengio"]
    with db.session() as session:
        assert find_by_token(session, created["api_token"]).name == "ada"  # type: ignore[union-attr]
    text = _run(runner, "profile", "create", "bob", "--interests", "nlp")
    assert text.exit_code == 0
    assert "shown only now" in text.output and "API token:" in text.output
    for args in (["profile", "show", "ada"], ["profile", "list", "--json"], ["profile", "list"]):
        shown = _run(runner, *args)
        assert shown.exit_code == 0
        assert (
            created["api_token"] not in shown.output and created["feed_token"] not in shown.output
        )
    assert "ada: depth 0.85; robotics, nlp" in _run(runner, "profile", "list").output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--interests", "astrology"], "interests: unknown topic 'astrology'"),
        (["--interests", "nlp:lots"], "the weight after ':' must be a number"),
        (["--preset", "wizard"], "preset: must be one of researcher, engineer, educator"),
    ],
)
def test_profile_create_refuses_bad_values(
    cli: tuple[CliRunner, Any, Database], args: list[str], message: str
) -> None:
    runner, _, _ = cli
    result = _run(runner, "profile", "create", "ada", *args)
    assert result.exit_code != 0
    assert message in result.output.replace("\n", " ")


def test_profile_rotate(cli: tuple[CliRunner, Any, Database]) -> None:
    runner, _, db = cli
    old = json.loads(_run(runner, "profile", "create", "ada", "--json").output)["api_token"]
    result = _run(runner, "profile", "rotate", "ada", "--json")
    new = json.loads(result.output)["token"]
    with db.session() as session:
        assert find_by_token(session, old) is None
        assert find_by_token(session, new) is not None
    assert _run(runner, "profile", "rotate", "nobody").exit_code == 1


def test_the_cli_feed_is_the_api_feed(cli: tuple[CliRunner, GeneratedCorpus, Database]) -> None:
    runner, corpus, db = cli
    created = json.loads(
        _run(runner, "profile", "create", "ada", "--interests", "nlp", "--json").output
    )
    at = corpus.now.isoformat()
    from_cli = json.loads(_run(runner, "feed", "--profile", "ada", "--at", at, "--json").output)
    client = TestClient(create_app(settings(), db=db, clock=lambda: corpus.now))
    from_api = client.get("/v1/feed", headers=bearer(created["api_token"])).json()
    assert from_cli == from_api
    assert len(from_cli["items"]) == 20 and from_cli["items"][0]["why"]["summary"]
    text = _run(runner, "feed", "--profile", "ada", "--at", at, "--limit", "3")
    assert text.exit_code == 0
    assert from_cli["items"][0]["title"] in text.output
    assert "focus@20" in text.output and "coverage@20" in text.output


def test_the_cli_measures_the_dial(cli: tuple[CliRunner, GeneratedCorpus, Database]) -> None:
    runner, corpus, _ = cli
    _run(runner, "profile", "create", "ada", "--interests", "nlp")
    at = corpus.now.isoformat()
    result = _run(runner, "feed", "--profile", "ada", "--at", at, "--dial", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert [m["depth"] for m in report["metrics"]] == [0, 0.25, 0.5, 0.75, 1]
    assert report["violations"] == []
    assert (
        "the dial contract holds"
        in _run(runner, "feed", "--profile", "ada", "--at", at, "--dial").output
    )


def test_the_cli_feed_refuses_unknowns(cli: tuple[CliRunner, Any, Database]) -> None:
    runner, _, _ = cli
    missing = _run(runner, "feed", "--profile", "nobody")
    assert missing.exit_code == 1 and "no profile is named 'nobody'" in missing.output
    _run(runner, "profile", "create", "ada")
    bad = _run(runner, "feed", "--profile", "ada", "--kinds", "tweet")
    assert bad.exit_code == 1 and "kinds: must be among" in bad.output
    when = _run(runner, "feed", "--profile", "ada", "--at", "yesterday")
    assert when.exit_code == 2 and "--at: not an ISO 8601" in when.output


def test_an_empty_cli_feed_says_why(cli: tuple[CliRunner, GeneratedCorpus, Database]) -> None:
    runner, corpus, _ = cli
    _run(runner, "profile", "create", "ada", "--interests", "nlp")
    later = (corpus.now + timedelta(days=30)).isoformat()
    text = _run(runner, "feed", "--profile", "ada", "--at", later)
    assert text.exit_code == 0
    assert "Why so few: no items in the last 7 days; the newest is from " in text.output
    assert "widen with --window-days (up to 365 days)" in text.output
    as_json = json.loads(_run(runner, "feed", "--profile", "ada", "--at", later, "--json").output)
    assert as_json["items"] == [] and as_json["reason"].startswith("no items in the last 7 days")
    wide = _run(runner, "feed", "--profile", "ada", "--at", later, "--window-days", "365", "--json")
    assert len(json.loads(wide.output)["items"]) == 20


def test_profile_seed_from_bibtex_likes_known_papers(
    cli: tuple[CliRunner, Any, Database], tmp_path: Path
) -> None:
    runner, _, db = cli
    _run(runner, "profile", "create", "ada")
    with db.session() as session:
        paper = session.exec(select(Item).where(col(Item.arxiv_id).is_not(None))).first()
    assert paper is not None
    refs = tmp_path / "refs.bib"
    refs.write_text(
        f"@article{{known, title={{x}}, eprint={{{paper.arxiv_id}}}}}\n"
        "@article{unknown, title={A paper nobody here has}, eprint={2401.99999}}\n"
    )
    result = _run(runner, "profile", "seed", "ada", "--bibtex", str(refs), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert [(line["seed"], line["status"]) for line in report["lines"]] == [
        ("@article{known}", "liked"),
        ("@article{unknown}", "unknown"),
    ]
    (tmp_path / "bad.bib").write_text("@article{broken, title = {never closed")
    bad = _run(runner, "profile", "seed", "ada", "--bibtex", str(tmp_path / "bad.bib"))
    assert bad.exit_code == 2
    assert "unbalanced braces from line 1" in bad.output
    both = _run(runner, "profile", "seed", "ada", "--arxiv", "2401.00001", "--opml", str(refs))
    assert both.exit_code == 2 and "exactly one" in both.output
