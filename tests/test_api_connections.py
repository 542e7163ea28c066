"""The API process protects its connections: a client that sends its request head too slowly (a
"slowloris") is disconnected, while whole requests, one after another on a kept-alive
connection, are served. Real ``staycurrent api`` processes, one and two uvicorn workers."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import httpx
import pytest
from workerprocs import cli_env, start, wait_until

HEAD = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _response(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data or not data.rstrip().endswith(b"}"):
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_a_slow_request_head_is_cut_off_and_whole_requests_are_served(
    sqlite_url: str, tmp_path: Path, workers: int
) -> None:
    port = free_port()
    env = cli_env(sqlite_url, port=port, api_header_timeout_seconds=1, data_dir=tmp_path / "d")
    api = start(["api", "--workers", str(workers)], env, tmp_path, "api")
    try:
        wait_until(lambda: _answers(f"http://127.0.0.1:{port}/healthz"), "the API to answer")
        with socket.create_connection(("127.0.0.1", port), timeout=20) as slow:
            slow.sendall(HEAD)  # the request line and a header, never the blank line
            for _ in range(3):
                time.sleep(0.2)
                slow.sendall(b"X-Drip: 1\r\n")
            closed = slow.recv(4096)  # blocks until the server closes (or 20 s pass: fail)
        assert closed == b""
        with socket.create_connection(("127.0.0.1", port), timeout=20) as kept:
            for _ in range(2):  # two whole requests on one kept-alive connection
                kept.sendall(HEAD + b"\r\n")
                assert _response(kept).startswith(b"HTTP/1.1 200")
    finally:
        api.process.terminate()
        api.finish(timeout=30)
