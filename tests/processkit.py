"""Small checks on running ``staycurrent`` processes: a free port, an HTTP probe, JSON log lines."""

from __future__ import annotations

import json
import socket
import subprocess
from collections.abc import Iterable
from typing import Any

import httpx
import pytest
from workerprocs import Running


def free_port() -> int:
    """A TCP port nothing listens on now (on 127.0.0.1)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def answers(url: str) -> bool:
    """Whether ``url`` answers 200 now."""
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def json_lines(text: str) -> list[dict[str, Any]]:
    """Every non-blank line of ``text`` as a JSON object; a line that is not JSON fails."""
    parsed: list[dict[str, Any]] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            pytest.fail(f"not a JSON line: {line!r}")
        assert isinstance(record, dict), line
        parsed.append(record)
    return parsed


def stop_leftovers(processes: Iterable[Running], timeout: float = 15.0) -> None:
    """SIGTERM whatever still runs (a test failed half-way), then SIGKILL what outlives it."""
    processes = list(processes)
    for running in processes:
        if running.process.poll() is None:
            running.process.terminate()  # the API's supervisor stops its uvicorn workers itself
    for running in processes:
        try:
            running.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            running.process.kill()
            running.process.wait()
