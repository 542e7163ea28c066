"""Structured logging: ``key=value`` text or one JSON object per line, secrets redacted."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

# Anything that looks like a credential in a message or a field is replaced before it is written.
_SECRET_PATTERNS = (
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"),
    re.compile(r"(?i)((?:token|password|secret|key|sig)=)[^&\s\"']+"),
    # a token in a path; a route template's placeholder (``{token}``) is no secret and stays
    # (paths are matched in any case: the router answers 404, but the request log still names them)
    re.compile(r"(?i)(/v1/subscriptions/)(?!\{\w+\}(?:/|\s|$))[^/\s]+"),
    re.compile(r"(?i)(/v1/(?:feedback|unsubscribe)/)(?!\{\w+\}(?:/|\s|\?|$))[^/\s?]+"),
    # the password of any URL with credentials (a database URL, whatever its scheme)
    re.compile(r"(?i)([a-z][a-z0-9+.-]*://[^:/@\s]+:)[^@\s]+(@)"),
)
_SECRET_FIELDS = {"token", "password", "secret", "secret_key", "admin_token", "authorization"}
_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


def redact(text: str) -> str:
    """Replace credentials in ``text`` with ``***``."""
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(
            lambda m: m.group(1) + "***" + (m.group(2) if m.re.groups > 1 else ""), text
        )
    return text


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in vars(record).items():
        if key in _RESERVED or key.startswith("_"):
            continue
        out[key] = "***" if key.lower() in _SECRET_FIELDS else value
    return out


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": redact(record.getMessage()),
        }
        for key, value in _fields(record).items():
            payload[key] = redact(value) if isinstance(value, str) else value
        if record.exc_info:
            payload["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(payload, default=str)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        ts = datetime.fromtimestamp(record.created, UTC).strftime("%H:%M:%S")
        parts = [f"{ts} {record.levelname.lower():7} {record.name}: {redact(record.getMessage())}"]
        for key, value in _fields(record).items():
            shown = redact(value) if isinstance(value, str) else value
            parts.append(
                f"{key}={shown!r}" if isinstance(shown, str) and " " in shown else f"{key}={shown}"
            )
        line = " ".join(parts)
        if record.exc_info:
            line += "\n" + redact(self.formatException(record.exc_info))
        return line


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time of each record (it may be replaced)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        """The stream is always the current ``sys.stderr``; assignments are ignored."""


def configure_logging(level: str = "INFO", fmt: str = "text") -> None:
    """Send the root logger to stderr in the chosen format (idempotent)."""
    handler = StderrHandler()
    handler.setFormatter(JSONFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_staycurrent", False):
            root.removeHandler(old)
    handler._staycurrent = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    logging.captureWarnings(True)  # warnings become log records, in the same format
    for noisy in ("httpx", "httpcore", "apscheduler", "alembic", "aiosmtpd", "mail.log"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
    # A poll round longer than a tick is normal (the next tick is skipped, by design): APScheduler
    # would warn about it at every tick. Job failures are logged by the worker itself.
    logging.getLogger("apscheduler.scheduler").setLevel(logging.ERROR)
