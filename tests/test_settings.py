"""Settings: defaults, .env, and one clear line per bad value (secrets never echoed)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from service.config import Settings, base_url_mismatch, ensure_secret_key, load_settings
from service.errors import ConfigError


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for key in list(os.environ):
        if key.startswith("STAYCURRENT_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_defaults_are_the_embedded_sqlite_setup(clean_env: Path) -> None:
    settings = load_settings()
    assert settings.database_url == "sqlite:///./data/staycurrent.db"
    assert settings.feeds_file == Path("feeds.yaml")
    assert settings.allow_private_networks is False
    assert settings.http_max_body == 10 * 1024 * 1024
    assert settings.http_max_redirects == 5
    assert settings.admin_token is None
    assert settings.user_agent.startswith("Staycurrent/")
    assert "github.com/staycurrent" in settings.user_agent


def test_dotenv_is_read(clean_env: Path) -> None:
    (clean_env / ".env").write_text("STAYCURRENT_HTTP_TIMEOUT=7.5\nSTAYCURRENT_PORT=9001\n")
    settings = load_settings()
    assert settings.http_timeout == 7.5
    assert settings.port == 9001


def test_environment_wins_over_dotenv(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (clean_env / ".env").write_text("STAYCURRENT_PORT=9001\n")
    monkeypatch.setenv("STAYCURRENT_PORT", "9002")
    assert load_settings().port == 9002


def test_empty_variables_are_unset_and_names_match_in_any_case(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (clean_env / ".env").write_text(
        "# the host\nexport STAYCURRENT_HOST='0.0.0.0'\nstaycurrent_smtp_port=2525\nOTHER=1\n"
    )
    monkeypatch.setenv("STAYCURRENT_PORT", "")
    monkeypatch.setenv("STAYCURRENT_SMTP_HOST", "")
    monkeypatch.setenv("Staycurrent_Http_Timeout", "7.5")
    settings = load_settings()
    assert settings.port == 8000 and settings.smtp_host is None
    assert settings.http_timeout == 7.5
    assert settings.host == "0.0.0.0" and settings.smtp_port == 2525


def test_given_values_win_and_no_file_is_read_when_told(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (clean_env / ".env").write_text("STAYCURRENT_PORT=9001\nSTAYCURRENT_HOST=files.lan\n")
    monkeypatch.setenv("STAYCURRENT_HTTP_TIMEOUT", "7.5")
    assert load_settings(port=9100).port == 9100
    without_file = Settings(_env_file=None)
    assert without_file.port == 8000 and without_file.host == "127.0.0.1"
    assert without_file.http_timeout == 7.5


def test_postgres_urls_get_the_psycopg_driver(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STAYCURRENT_DATABASE_URL", "postgresql://u@db/staycurrent")
    assert load_settings().database_url == "postgresql+psycopg://u@db/staycurrent"


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("HTTP_TIMEOUT", "abc", "STAYCURRENT_HTTP_TIMEOUT: Input should be a valid number"),
        ("HTTP_TIMEOUT", "0", "STAYCURRENT_HTTP_TIMEOUT: Input should be greater than 0"),
        ("HTTP_MAX_REDIRECTS", "50", "STAYCURRENT_HTTP_MAX_REDIRECTS: Input should be less than"),
        ("PORT", "70000", "STAYCURRENT_PORT: Input should be less than or equal to 65535"),
        ("DATABASE_URL", "mysql://x/y", "STAYCURRENT_DATABASE_URL: must start with sqlite:///"),
        ("BASE_URL", "feeds.example.org", "STAYCURRENT_BASE_URL: must be an absolute http(s) URL"),
        (
            "ALLOW_PRIVATE_NETWORKS",
            "perhaps",
            "STAYCURRENT_ALLOW_PRIVATE_NETWORKS: Input should be",
        ),
        ("LOG_FORMAT", "xml", "STAYCURRENT_LOG_FORMAT: Input should be 'text' or 'json'"),
    ],
)
def test_a_bad_value_names_the_variable_and_what_is_wrong(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(f"STAYCURRENT_{variable}", value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    lines = caught.value.reason.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(expected), lines[0]


@pytest.mark.parametrize("variable", ["SECRET_KEY", "ADMIN_TOKEN"])
def test_short_secrets_are_refused_without_being_echoed(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(f"STAYCURRENT_{variable}", "hunter2")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert caught.value.reason.startswith(f"STAYCURRENT_{variable}: must be at least")
    assert "hunter2" not in caught.value.reason


@pytest.mark.parametrize(
    "url",
    [
        "mysql://bob:hunter2pass@db.example/feeds",
        "postgresql://bob:hunter2pass@db.example:notaport/feeds",
    ],
)
def test_an_invalid_database_url_is_named_without_its_password(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.setenv("STAYCURRENT_DATABASE_URL", url)
    with pytest.raises(ConfigError) as refused:
        load_settings()
    assert refused.value.reason.startswith("STAYCURRENT_DATABASE_URL: ")
    assert "bob:***@db.example" in refused.value.reason
    assert "hunter2pass" not in refused.value.reason


def test_two_problems_give_two_lines(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STAYCURRENT_PORT", "x")
    monkeypatch.setenv("STAYCURRENT_HTTP_DEADLINE", "-1")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    lines = sorted(caught.value.reason.splitlines())
    assert [line.split(":")[0] for line in lines] == [
        "STAYCURRENT_HTTP_DEADLINE",
        "STAYCURRENT_PORT",
    ]


def test_interval_bounds_must_be_ordered(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STAYCURRENT_MIN_INTERVAL_MINUTES", "120")
    monkeypatch.setenv("STAYCURRENT_MAX_INTERVAL_MINUTES", "60")
    with pytest.raises(ConfigError, match=r"^STAYCURRENT_MIN_INTERVAL_MINUTES: must not exceed"):
        load_settings()


def test_sqlite_generates_and_keeps_a_private_secret_key(clean_env: Path) -> None:
    first = ensure_secret_key(load_settings())
    second = ensure_secret_key(load_settings())
    assert first.secret_key is not None
    assert second.secret_key is not None
    assert first.secret_key.get_secret_value() == second.secret_key.get_secret_value()
    assert len(first.secret_key.get_secret_value()) >= 32
    key_file = clean_env / "data" / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_postgres_requires_a_secret_key(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STAYCURRENT_DATABASE_URL", "postgresql+psycopg://u@db/x")
    with pytest.raises(ConfigError, match=r"^STAYCURRENT_SECRET_KEY: required with PostgreSQL"):
        ensure_secret_key(load_settings())


def test_settings_are_not_read_at_import_time(clean_env: Path) -> None:
    env: dict[str, Any] = {**os.environ, "STAYCURRENT_PORT": "not-a-port"}
    code = "import service, service.config, service.cli, service.storage.models; print('ok')"
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_the_cli_stops_with_one_line_naming_the_variable(clean_env: Path) -> None:
    env = {**os.environ, "STAYCURRENT_HTTP_TIMEOUT": "soon"}
    done = subprocess.run(
        [sys.executable, "-m", "service.cli", "sources", "check"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "STAYCURRENT_HTTP_TIMEOUT: Input should be a valid number, unable to parse string as a "
        "number (got 'soon')"
    ]


def test_an_unreachable_database_is_one_line_without_its_password(clean_env: Path) -> None:
    env = {
        **os.environ,
        "STAYCURRENT_DATABASE_URL": "postgresql://bob:hunter2-secret@127.0.0.1:1/x",
        "STAYCURRENT_SECRET_KEY": "k" * 40,
    }
    done = subprocess.run(
        [sys.executable, "-m", "service.cli", "sources", "status"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.startswith("database unreachable or refused the request: ")
    assert "Traceback" not in done.stderr
    assert "hunter2-secret" not in done.stderr + done.stdout


@pytest.mark.parametrize(
    ("host", "port", "expected"),
    [
        ("127.0.0.1", 18001, "http://127.0.0.1:18001"),
        ("0.0.0.0", 8080, "http://127.0.0.1:8080"),
        ("::", 8080, "http://[::1]:8080"),
        ("feeds.lan", 9000, "http://feeds.lan:9000"),
    ],
)
def test_base_url_follows_host_and_port_when_unset(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, host: str, port: int, expected: str
) -> None:
    monkeypatch.setenv("STAYCURRENT_HOST", host)
    monkeypatch.setenv("STAYCURRENT_PORT", str(port))
    settings = load_settings()
    assert settings.base_url == expected
    assert not settings.base_url_is_set
    assert base_url_mismatch(settings) is None


def test_a_given_base_url_is_kept(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STAYCURRENT_PORT", "18001")
    monkeypatch.setenv("STAYCURRENT_BASE_URL", "https://feeds.example.org/")
    settings = load_settings()
    assert settings.base_url == "https://feeds.example.org"
    assert settings.base_url_is_set
    assert base_url_mismatch(settings) is None  # another host: a reverse proxy in front


@pytest.mark.parametrize("given", ["http://127.0.0.1:8000", "http://localhost:8000/"])
def test_a_local_base_url_on_another_port_is_named(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, given: str
) -> None:
    monkeypatch.setenv("STAYCURRENT_PORT", "18001")
    monkeypatch.setenv("STAYCURRENT_BASE_URL", given)
    problem = base_url_mismatch(load_settings())
    assert problem is not None
    assert "STAYCURRENT_BASE_URL" in problem
    assert "http://127.0.0.1:18001" in problem
    assert "port 8000" in problem
