"""A newcomer's session, for real: the README's CLI lines run by bash in a fresh folder laid out
like a clone (``.venv`` and ``feeds.yaml`` linked in, ``../shared`` beside it), then
``staycurrent serve`` on a free, non-default port with STAYCURRENT_BASE_URL unset."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from processkit import answers, free_port, stop_leftovers
from workerprocs import Running, start, wait_until

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
ADMIN_TOKEN = "admin-token-for-the-first-hour-0123456789"
SECTIONS = ("## Quick start", "## Your feed", "## Email digest")  # where the CLI examples are


def readme_cli_lines(text: str) -> list[str]:
    """The ``staycurrent`` lines of the README's code blocks in ``SECTIONS``, in order, with
    continuation lines joined; lines with a ``[placeholder]`` are left out (not runnable)."""
    lines: list[str] = []
    for section in re.split(r"(?m)^(?=## )", text):
        if not section.startswith(SECTIONS):
            continue
        for block in re.findall(r"(?ms)^```[a-z]*\n(.*?)^```", section):
            joined = re.sub(r"\\\n\s*", " ", block)
            for line in joined.splitlines():
                command = line.strip()
                runnable = not re.search(r"\s\[", command.split("#")[0])
                if command.startswith(("staycurrent ", ".venv/bin/staycurrent ")) and runnable:
                    lines.append(command)
    return lines


@dataclass
class Session:
    """A fresh clone's folder, the environment of the user's shell, and the server's port."""

    clone: Path
    env: dict[str, str]
    port: int
    server: Running

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def bash(self, script: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """Run ``script`` as the user would in a shell of the clone (stopping at the first
        failing line), with ``staycurrent`` on PATH as after ``source .venv/bin/activate``."""
        return subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", script],
            cwd=self.clone,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


def _clone(tmp: Path) -> Path:
    clone = tmp / "staycurrent"
    clone.mkdir()
    venv = ROOT / ".venv" if (ROOT / ".venv").is_dir() else Path(sys.prefix)
    (clone / ".venv").symlink_to(venv)
    (clone / "feeds.yaml").symlink_to(ROOT / "feeds.yaml")
    if (ROOT.parent / "shared").exists():
        (tmp / "shared").symlink_to(ROOT.parent / "shared")
    return clone


def _user_env(clone: Path, port: int) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("STAYCURRENT_")}
    bin_dir = clone / ".venv" / "bin"
    return env | {
        "PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
        "STAYCURRENT_PORT": str(port),
        "STAYCURRENT_ADMIN_TOKEN": ADMIN_TOKEN,
        # No DNS here: without this the SSRF guard refuses every feed URL the tour adds (it could
        # not resolve it); with it, adding works and the probe reports the fetch failure.
        "STAYCURRENT_ALLOW_PRIVATE_NETWORKS": "true",
        "STAYCURRENT_HTTP_DEADLINE": "5",
        "STAYCURRENT_HTTP_TIMEOUT": "3",
        "COLUMNS": "200",
    }


@contextmanager
def newcomer(tmp: Path) -> Iterator[Session]:
    """The README's CLI lines run in a fresh clone, then ``make run``'s steps with the server on
    a non-default port; the server is stopped afterwards."""
    clone = _clone(tmp)
    port = free_port()
    env = _user_env(clone, port)
    lines = [
        "staycurrent db upgrade",
        "staycurrent sources sync",
        *readme_cli_lines(README.read_text()),
    ]
    done = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", "\n".join(lines)],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, f"the README's CLI lines failed:\n{done.stdout}\n{done.stderr}"
    server = start(["serve"], env, clone, "serve")
    try:
        wait_until(lambda: answers(f"http://127.0.0.1:{port}/readyz"), "the server", timeout=60)
        yield Session(clone, env, port, server)
    finally:
        stop_leftovers([server])
