"""Settings, from the environment and ``.env`` (the ``feeds.yaml`` catalog: ``service.catalog``).

Nothing here runs at import time: ``load_settings()`` is called by the composition root
(``service.cli``) and the settings are passed in to whatever needs them.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from service.errors import ConfigError
from service.logs import redact

ENV_PREFIX = "STAYCURRENT_"
PROJECT_URL = "https://github.com/staycurrent/staycurrent"
MIN_SECRET_LENGTH = 32
MIN_TOKEN_LENGTH = 16


class Settings(BaseSettings):
    """Every setting of Staycurrent. Environment variables are ``STAYCURRENT_<NAME>``."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        validate_default=True,
        env_ignore_empty=True,
    )

    # -- storage and catalog
    database_url: str = Field(
        "sqlite:///./data/staycurrent.db",
        description="SQLAlchemy URL: sqlite:///path or postgresql+psycopg://user@host/db.",
    )
    feeds_file: Path = Field(Path("feeds.yaml"), description="The curated catalog of sources.")
    data_dir: Path = Field(Path("data"), description="Where generated files (secret key) live.")

    # -- secrets and identity
    admin_token: SecretStr | None = Field(
        None, description="Bearer token for admin API calls; unset disables the admin API."
    )
    secret_key: SecretStr | None = Field(
        None,
        description="Signs feedback and unsubscribe links (32+ characters). On SQLite, generated "
        "into DATA_DIR/secret_key when unset; required on PostgreSQL.",
    )
    base_url: str = Field(
        "",
        description="Public URL of the API, used in links we send out; unset: http://HOST:PORT "
        "(with 127.0.0.1 for a HOST of 0.0.0.0).",
    )
    host: str = Field("127.0.0.1", description="Address the API listens on.")
    port: int = Field(8000, ge=1, le=65535, description="Port the API listens on.")
    api_workers: int = Field(1, ge=1, le=64, description="uvicorn workers for `staycurrent api`.")
    api_max_connections: int = Field(
        200, ge=1, description="Connections served at once per API process; more get a 503."
    )
    api_header_timeout_seconds: float = Field(
        10.0,
        gt=0,
        le=300,
        description="Time a client has to send a whole request line and headers; then the "
        "connection is closed.",
    )
    api_auth_failures_per_minute: int = Field(
        20,
        ge=1,
        description="Failed authentications a client may make per minute (per API process); past "
        "it, requests carrying a token get 429 with Retry-After.",
    )
    api_feed_requests_per_minute: int = Field(
        20,
        ge=1,
        description="Subscription feed documents a client may fetch per minute (per API "
        "process); past it, 429 with Retry-After.",
    )

    # -- fetching
    allow_private_networks: bool = Field(
        False, description="Allow feeds on loopback/private addresses (tests, LAN feeds)."
    )
    http_timeout: float = Field(10.0, gt=0, le=300, description="Per-phase timeout, seconds.")
    http_deadline: float = Field(30.0, gt=0, le=600, description="Overall deadline per fetch, s.")
    http_max_body: int = Field(
        10 * 1024 * 1024, ge=1024, description="Cap on the decoded body of a feed, bytes."
    )
    http_max_redirects: int = Field(5, ge=0, le=20, description="Redirects followed per fetch.")

    # -- reading documents (untrusted bytes: feeds, OPML uploads)
    parse_processes: int = Field(
        2, ge=1, le=64, description="Processes that parse, normalize and tag fetched documents."
    )
    parse_budget_seconds: float = Field(
        10.0,
        gt=0,
        le=600,
        description="Time one document may take to be read; one over it is refused and its "
        "reading process stopped.",
    )
    parse_max_entries: int = Field(
        5000,
        ge=1,
        le=1_000_000,
        description="Entries read from one document; past it the first ones are kept and the "
        "poll says so.",
    )

    # -- polling
    poll_tick_seconds: float = Field(60.0, gt=0, description="How often the worker looks for work.")
    poll_concurrency: int = Field(20, ge=1, le=500, description="Fetches at once, in all.")
    poll_per_host: int = Field(2, ge=1, le=50, description="Fetches at once per host.")
    poll_lease_seconds: float = Field(
        300.0,
        ge=1,
        description="How long a claim on a source lasts; a running worker renews its claims, "
        "so this is how soon a killed worker's sources are picked up again.",
    )
    poll_batch_size: int = Field(200, ge=1, description="Sources claimed per tick at most.")
    min_interval_minutes: int = Field(15, ge=1, description="Shortest poll interval.")
    max_interval_minutes: int = Field(1440, ge=1, description="Longest poll interval.")
    backoff_cap_minutes: int = Field(1440, ge=1, description="Longest wait after errors.")
    arxiv_min_interval_seconds: float = Field(
        3.0, ge=0, description="Gap between two requests to arXiv (their rule: 3 s)."
    )
    worker_shutdown_grace_seconds: float = Field(
        8.0,
        ge=0,
        le=9,
        description="On SIGTERM/SIGINT, how long fetches in flight may finish before they are "
        "abandoned (the worker then releases its leases and exits, within 10 s).",
    )

    # -- tagging
    tags_retrain_hours: int = Field(
        168,
        ge=0,
        description="How often the worker retrains the topic model from the stored arXiv "
        "papers (it keeps the model in use if the new one scores worse); 0 never.",
    )
    tags_retrain_papers: int = Field(
        30_000, ge=2_000, description="Newest stored arXiv papers a retraining learns from."
    )

    # -- email
    smtp_host: str | None = Field(None, description="SMTP server; unset disables sending.")
    smtp_port: int = Field(587, ge=1, le=65535, description="SMTP port.")
    smtp_username: str | None = Field(None, description="SMTP login, if the server needs one.")
    smtp_password: SecretStr | None = Field(None, description="SMTP password.")
    smtp_starttls: bool = Field(True, description="Upgrade with STARTTLS (port 587).")
    smtp_tls: bool = Field(
        False, description="Implicit TLS from the first byte (port 465); STARTTLS is then unused."
    )
    smtp_from: str = Field("Staycurrent <staycurrent@localhost>", description="From address.")
    smtp_timeout: float = Field(30.0, gt=0, description="SMTP timeout, seconds.")

    # -- logs
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Log level."
    )
    log_format: Literal["text", "json"] = Field("text", description="json for log shippers.")

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        scheme = value.split(":", 1)[0]
        if not scheme.startswith(("sqlite", "postgres")):
            raise ValueError("must start with sqlite:/// or postgresql+psycopg://")
        try:
            make_url(value).port  # noqa: B018 - reading the port is what checks it
        except (ArgumentError, ValueError):
            raise ValueError("not a database URL (scheme://user:password@host:port/name)") from None
        if scheme in {"postgresql", "postgres"}:
            return "postgresql+psycopg" + value[len(scheme) :]
        return value

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        if not value:
            return value  # derived from host and port once they are known
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an absolute http(s) URL such as https://feeds.example.org")
        return value.rstrip("/")

    @field_validator("admin_token")
    @classmethod
    def _check_admin_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < MIN_TOKEN_LENGTH:
            raise ValueError(f"must be at least {MIN_TOKEN_LENGTH} characters")
        return value

    @field_validator("secret_key")
    @classmethod
    def _check_secret_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < MIN_SECRET_LENGTH:
            raise ValueError(
                f"must be at least {MIN_SECRET_LENGTH} characters "
                "(generate one with: python -c 'import secrets; print(secrets.token_urlsafe(32))')"
            )
        return value

    @model_validator(mode="after")
    def _check_combinations(self) -> Settings:
        if self.min_interval_minutes > self.max_interval_minutes:
            raise ValueError(
                "min_interval_minutes: must not exceed STAYCURRENT_MAX_INTERVAL_MINUTES"
            )
        if not self.base_url:  # set in __dict__: base_url stays out of model_fields_set
            self.__dict__["base_url"] = served_url(self.host, self.port)
        return self

    @property
    def base_url_is_set(self) -> bool:
        """Whether STAYCURRENT_BASE_URL was given (else it is derived from host and port)."""
        return "base_url" in self.model_fields_set

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def user_agent(self) -> str:
        from service import __version__

        return f"Staycurrent/{__version__} (+{PROJECT_URL})"

    def secret_key_bytes(self) -> bytes:
        if self.secret_key is None:
            raise ConfigError("STAYCURRENT_SECRET_KEY: not set (call ensure_secret_key first)")
        return self.secret_key.get_secret_value().encode()


# A wildcard listen address is reached through loopback on this machine (not a bind: a mapping).
WILDCARD_LOOPBACK = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}  # noqa: S104


def served_url(host: str, port: int) -> str:
    """The URL a client on this machine reaches the API at: ``http://HOST:PORT``, with a
    loopback address for a wildcard HOST (0.0.0.0, ::) and brackets around IPv6."""
    shown = WILDCARD_LOOPBACK.get(host, host)
    return f"http://[{shown}]:{port}" if ":" in shown else f"http://{shown}:{port}"


LOCAL_NAMES = frozenset({"localhost", "127.0.0.1", "::1", *WILDCARD_LOOPBACK})


def base_url_mismatch(settings: Settings) -> str | None:
    """A sentence when a given BASE_URL names this machine but not the port it serves on (links
    in feeds, emails and OPML would lead nowhere); None when it agrees, or names another host
    (a reverse proxy in front)."""
    if not settings.base_url_is_set:
        return None
    parts = urlsplit(settings.base_url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    local = parts.hostname in LOCAL_NAMES or parts.hostname == settings.host
    if not local or port == settings.port:
        return None
    return (
        f"{ENV_PREFIX}BASE_URL is {settings.base_url} but the API serves on "
        f"{served_url(settings.host, settings.port)}: links in feeds, emails and OPML point to "
        f"port {port}; unset {ENV_PREFIX}BASE_URL to derive it, or set it to the public URL"
    )


def _describe(error: dict[str, Any], secret_fields: set[str]) -> str:
    loc = [str(part) for part in error.get("loc", ())]
    msg = str(error.get("msg", "invalid")).removeprefix("Value error, ")
    if ":" in msg and msg.split(":", 1)[0].isidentifier() and not loc:
        name, msg = msg.split(":", 1)
        loc, msg = [name], msg.strip()
    name = loc[0] if loc else "settings"
    shown = "" if name in secret_fields else f" (got {redact(repr(error.get('input')))})"
    if error.get("type") == "missing" or name == "settings":
        shown = ""
    return f"{ENV_PREFIX}{name.upper()}: {msg}{shown}"


def load_settings(**overrides: Any) -> Settings:
    """Read settings from the environment and ``.env``; raise ConfigError naming each problem."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        secrets_ = {"admin_token", "secret_key", "smtp_password"}
        lines = [_describe(dict(err), secrets_) for err in exc.errors()]
        raise ConfigError("\n".join(lines)) from None


def ensure_secret_key(settings: Settings) -> Settings:
    """Return settings with a secret key: the configured one, or on SQLite a generated, kept one."""
    if settings.secret_key is not None:
        return settings
    if not settings.is_sqlite:
        raise ConfigError(
            f"{ENV_PREFIX}SECRET_KEY: required with PostgreSQL so every process signs links alike "
            "(generate one with: python -c 'import secrets; print(secrets.token_urlsafe(32))')"
        )
    path = settings.data_dir / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    key = path.read_text().strip()
    if len(key) < MIN_SECRET_LENGTH:
        raise ConfigError(f"{path}: holds a secret key shorter than {MIN_SECRET_LENGTH} characters")
    return settings.model_copy(update={"secret_key": SecretStr(key)})
