"""Running ``staycurrent`` commands as real processes for tests: workers, serve, poll.

Each process gets a clean environment (no ``STAYCURRENT_*`` from the caller, no ``.env``: it runs
in the test's own directory) plus the settings a test gives; its stdout and stderr go to files,
so a chatty process can never block on a full pipe.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SECRET = "test-secret-key-that-is-long-enough-0123456789"


def cli_env(db_url: str, **settings: object) -> dict[str, str]:
    """The environment of a ``staycurrent`` process on ``db_url`` with ``settings`` (by name)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("STAYCURRENT_")}
    env |= {
        "STAYCURRENT_DATABASE_URL": db_url,
        "STAYCURRENT_SECRET_KEY": SECRET,
        "STAYCURRENT_ALLOW_PRIVATE_NETWORKS": "true",
        "STAYCURRENT_FEEDS_FILE": str(ROOT / "feeds.yaml"),
        "STAYCURRENT_LOG_LEVEL": "INFO",
        "COLUMNS": "200",
    }
    env |= {f"STAYCURRENT_{name.upper()}": str(value) for name, value in settings.items()}
    return env


@dataclass
class Running:
    """A started ``staycurrent`` process and the files its output goes to."""

    process: subprocess.Popen[bytes]
    stdout: Path
    stderr: Path

    def output(self) -> str:
        return self.stdout.read_text(errors="replace") + self.stderr.read_text(errors="replace")

    def finish(self, timeout: float = 60.0) -> int:
        """Wait for the exit (at most ``timeout`` s) and return the exit status."""
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"still running after {timeout} s:\n{self.output()}") from None


def start(args: list[str], env: dict[str, str], workdir: Path, name: str) -> Running:
    """Start ``staycurrent <args>`` in ``workdir``."""
    stdout, stderr = workdir / f"{name}.out", workdir / f"{name}.err"
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "service.cli", *args],
            env=env,
            cwd=workdir,
            stdout=out,
            stderr=err,
        )
    return Running(process, stdout, stderr)


def wait_until(check: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    """Poll ``check`` until it holds; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)
