"""The API process protects its connections: a client that sends its request head too slowly (a
"slowloris") is disconnected, while whole requests, one after another on a kept-alive
connection, are served. Real ``staycurrent api`` processes, one and two uvicorn workers."""

from __future__ import annotations

import socket
import sys
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


def test_the_server_speaks_httptools_where_installed_and_h11_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from uvicorn.protocols.http.h11_impl import H11Protocol
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    from service.cli.connections import HeadDeadline, protocol_class

    fast = protocol_class(3.0)
    assert issubclass(fast, HttpToolsProtocol) and issubclass(fast, HeadDeadline)
    assert fast.seconds == 3.0
    monkeypatch.setitem(sys.modules, "service.cli.httptools_deadline", None)  # import fails
    fallback = protocol_class(4.0)
    assert issubclass(fallback, H11Protocol) and not issubclass(fallback, HttpToolsProtocol)
    assert fallback.seconds == 4.0


def test_the_event_loop_is_uvloop_where_installed() -> None:
    from uvicorn.config import Config

    from service.cli.serve import limits
    from service.config import Settings

    config = Config(app=lambda: None, **limits(Settings()))
    loop = config.get_loop_factory()
    assert loop is not None and "uvloop" in loop.__module__
