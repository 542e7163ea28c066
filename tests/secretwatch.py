"""Secrets a test hands out, and where any of them turns up in captured output.

A ``SecretBook`` collects every credential a scenario creates (tokens, rotated tokens, signed link
tokens, passwords, the secret key), and the forms they travel in (base64 in SMTP AUTH, percent
encoding in URLs). ``leaks(text)`` names the ones that appear in ``text``.
"""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass, field
from urllib.parse import quote

from service.logs import JSONFormatter, TextFormatter

SMTP_USER = "digest-sender"
SMTP_PASSWORD = "smtp-Pass-0f-the-digest-9876"
DB_PASSWORD = "pg-Secret-Pw-4242-abcdef"
TEST_SERVER_LOGGERS = ("mail.log", "aiosmtpd")  # the test's own SMTP server, not Staycurrent


@dataclass
class SecretBook:
    """Every secret of a scenario, by what it is."""

    secrets: dict[str, str] = field(default_factory=dict)

    def add(self, what: str, value: str) -> str:
        self.secrets[what] = value
        return value

    def forms(self) -> dict[str, str]:
        """Each secret, also percent-encoded, and SMTP's base64 AUTH PLAIN of the password."""
        found = dict(self.secrets)
        for what, value in self.secrets.items():
            if quote(value, safe="") != value:
                found[f"{what} (percent-encoded)"] = quote(value, safe="")
        if "SMTP password" in self.secrets:
            plain = f"\0{SMTP_USER}\0{self.secrets['SMTP password']}".encode()
            found["SMTP AUTH PLAIN"] = base64.b64encode(plain).decode()
        return found

    def leaks(self, text: str) -> list[str]:
        """The secrets (by name) that appear in ``text``."""
        return sorted(what for what, value in self.forms().items() if value in text)


def formatted(records: list[logging.LogRecord]) -> str:
    """``records`` as Staycurrent writes them: through its JSON and its text formatter."""
    json_formatter, text_formatter = JSONFormatter(), TextFormatter()
    kept = [r for r in records if not r.name.startswith(TEST_SERVER_LOGGERS)]
    return "\n".join(f"{json_formatter.format(r)}\n{text_formatter.format(r)}" for r in kept)
