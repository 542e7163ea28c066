"""``staycurrent profile set`` and ``staycurrent digest`` against real SQLite and a real SMTP
server."""

from __future__ import annotations

import email
import json
from collections.abc import Iterator
from dataclasses import dataclass
from email import policy
from pathlib import Path
from typing import Any

import pytest
from corpusgen import GeneratedCorpus, generate_corpus
from smtpserver import SMTPServer, smtp_server
from sqlmodel import select
from typer.testing import CliRunner

from service.cli import app
from service.cli.common import database, settings
from service.storage.engine import Database
from service.storage.models import Delivery

SECRET = "cli-digest-secret-key-that-is-long-enough-01"
AT = "2026-11-20T12:00:00Z"  # when the generated corpus ends


@dataclass
class Cli:
    runner: CliRunner
    corpus: GeneratedCorpus
    db: Database
    server: SMTPServer
    tmp: Path

    def __call__(self, *args: str) -> Any:
        return self.runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture
def cli(sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cli]:
    monkeypatch.chdir(tmp_path)
    with smtp_server() as server:
        env = {
            "DATABASE_URL": sqlite_url,
            "DATA_DIR": str(tmp_path / "data"),
            "SECRET_KEY": SECRET,
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(server.port),
            "SMTP_STARTTLS": "false",
            "SMTP_FROM": "Staycurrent <digest@example.org>",
            "BASE_URL": "https://feeds.example.org",
        }
        for key, value in env.items():
            monkeypatch.setenv(f"STAYCURRENT_{key}", value)
        settings.cache_clear()
        database.cache_clear()
        db = Database(sqlite_url)
        corpus = generate_corpus(db, items=120, seed=9)
        yield Cli(CliRunner(), corpus, db, server, tmp_path)
        database().dispose()
        db.dispose()
        settings.cache_clear()
        database.cache_clear()


def _ada(cli: Cli, *extra: str) -> dict[str, Any]:
    assert cli("profile", "create", "ada", "--interests", "nlp").exit_code == 0
    result = cli(
        "profile",
        "set",
        "ada",
        "--email",
        "ada@example.org",
        "--digest",
        "--digest-time",
        "07:30",
        "--timezone",
        "Europe/Berlin",
        *extra,
        "--json",
    )
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout))


def test_profile_set_changes_the_digest_settings(cli: Cli) -> None:
    shown = _ada(
        cli,
        "--cadence",
        "weekly",
        "--weekday",
        "Friday",
        "--budget",
        "20",
        "--max-items",
        "5",
        "--digest-depth",
        "0.3",
        "--empty-note",
    )
    assert {k: shown[k] for k in shown if k.startswith(("digest", "email", "timezone"))} == {
        "email": "ada@example.org",
        "digest_enabled": True,
        "digest_time": "07:30",
        "timezone": "Europe/Berlin",
        "digest_cadence": "weekly",
        "digest_weekday": 4,
        "digest_max_items": 5,
        "digest_budget_minutes": 20,
        "digest_depth": 0.3,
        "digest_empty_note": True,
    }
    assert shown["interests"] == {"nlp": 1.0}  # untouched
    cleared = cli("profile", "set", "ada", "--digest-depth", "none", "--no-digest", "--json")
    assert json.loads(cleared.stdout)["digest_depth"] is None
    show = cli("profile", "show", "ada")
    assert "digest: off, to ada@example.org, weekly on fri at 07:30 Europe/Berlin" in show.stdout


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--timezone", "Mars/Olympus"], 1, "timezone: unknown IANA time zone"),
        (["--digest-time", "7:30"], 1, "digest_time: must be HH:MM"),
        (["--email", "not an address"], 1, "email:"),
        (["--cadence", "hourly"], 1, "digest_cadence: must be one of daily, weekdays, weekly"),
        (["--weekday", "someday"], 2, "--weekday:"),
        (["--digest-depth", "deep"], 2, "--digest-depth:"),
        ([], 2, "nothing to change"),
    ],
)
def test_profile_set_refuses_bad_values(cli: Cli, args: list[str], code: int, message: str) -> None:
    assert cli("profile", "create", "ada").exit_code == 0
    result = cli("profile", "set", "ada", *args)
    assert result.exit_code == code and message in result.stderr


def test_preview_writes_html_and_eml_and_records_nothing(cli: Cli) -> None:
    _ada(cli)
    html, eml = cli.tmp / "digest.html", cli.tmp / "digest.eml"
    result = cli(
        "digest", "preview", "--profile", "ada", "--html", str(html), "--eml", str(eml), "--at", AT
    )
    assert result.exit_code == 0, result.output
    message = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert message.get_content_type() == "multipart/alternative"
    assert str(message["Subject"]) in result.stdout
    assert "<table" in html.read_text(encoding="utf-8")
    text = cli("digest", "preview", "--profile", "ada", "--at", AT)
    assert "DEEP IN YOUR TOPICS" in text.stdout and "Unsubscribe: https://" in text.stdout
    with cli.db.session() as session:
        assert session.exec(select(Delivery)).all() == []
    assert cli.server.messages == []


def test_send_dry_run_then_send_once(cli: Cli) -> None:
    _ada(cli)
    dry = cli("digest", "send", "--profile", "ada", "--dry-run", "--at", AT)
    assert dry.exit_code == 0 and "To: ada@example.org" in dry.stdout
    assert cli.server.messages == []
    sent = cli("digest", "send", "--profile", "ada", "--at", AT)
    assert sent.exit_code == 0, sent.output
    assert "ada 2026-11-20: sent" in sent.stdout
    assert len(cli.server.received_by("ada@example.org")) == 1
    again = cli("digest", "send", "--profile", "ada", "--at", AT)
    assert again.exit_code == 1 and "not sent again (sent)" in again.stdout
    history = cli("digest", "history", "--profile", "ada")
    assert "2026-11-20: sent" in history.stdout
    assert cli("digest", "run", "--at", AT).stdout.strip() == "no digest is due"
    assert len(cli.server.messages) == 1


def test_run_sends_what_is_due(cli: Cli) -> None:
    _ada(cli)
    result = cli("digest", "run", "--at", AT, "--json")
    assert result.exit_code == 0
    [row] = json.loads(result.stdout)
    assert (row["profile"], row["period"], row["outcome"]) == ("ada", "2026-11-20", "sent")
    assert len(cli.server.messages) == 1
