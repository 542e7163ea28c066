"""uvicorn's HTTP/1.1 protocol with a deadline for each request's head (slow-header clients).

uvicorn closes an idle keep-alive connection after ``timeout_keep_alive``, but a client that opens
a connection and sends its request line and headers a byte at a time (a "slowloris") gets all the
time it wants, so a few hundred of them hold every connection the server allows. Here a connection
whose next request head is not complete within ``STAYCURRENT_API_HEADER_TIMEOUT_SECONDS`` (of
opening, or of the previous response) is closed.

The deadline is one mixin (``HeadDeadline``) over either of uvicorn's HTTP/1.1 protocols: httptools
(C, the faster parser: installed with ``uvicorn[standard]`` where the platform has it) or h11
(pure Python, the fallback). ``protocol_class`` picks httptools when it imports.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol


class HeadDeadline:
    """The request-head deadline, over a uvicorn protocol (``cycle``, ``loop``, ``transport``).

    ``seconds`` is a class attribute so that uvicorn's spawned workers (``staycurrent api
    --workers N``) can import the class by name; each process sets it from its settings
    (``configure``) before serving.
    """

    seconds: float = 10.0
    _head_deadline: asyncio.TimerHandle | None = None
    _previous: object = None  # the request cycle before the head awaited now
    cycle: Any
    loop: asyncio.AbstractEventLoop
    transport: asyncio.Transport

    @classmethod
    def configure(cls, seconds: float) -> type[Any]:
        cls.seconds = seconds
        return cls

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        self._await_head()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)  # type: ignore[misc]
        if self._head_deadline is not None and self._head_arrived():
            self._head_deadline.cancel()
            self._head_deadline = None

    def on_response_complete(self) -> None:
        super().on_response_complete()  # type: ignore[misc]
        self._await_head()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
        super().connection_lost(exc)  # type: ignore[misc]

    def _head_arrived(self) -> bool:
        return self.cycle is not None and self.cycle is not self._previous

    def _await_head(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
        self._previous = self.cycle
        self._head_deadline = self.loop.call_later(self.seconds, self._head_too_slow)

    def _head_too_slow(self) -> None:
        self._head_deadline = None
        if not self._head_arrived() and not self.transport.is_closing():
            self.transport.close()


class HeaderTimeoutH11(HeadDeadline, H11Protocol):
    """uvicorn's h11 protocol (pure Python) with the request-head deadline."""


def protocol_class(seconds: float) -> type[Any]:
    """The fastest HTTP/1.1 protocol this platform has, with the deadline set to ``seconds``."""
    try:
        from service.cli.httptools_deadline import HeaderTimeoutHttpTools
    except ImportError:  # no httptools wheel for this platform
        return HeaderTimeoutH11.configure(seconds)
    return HeaderTimeoutHttpTools.configure(seconds)


KEEP_ALIVE_SECONDS = 5  # an idle connection is closed after this
# uvicorn keeps its own logging out of the way: its records go through ours (text or JSON, see
# service.logs), warnings and errors only; each request is logged once, by RequestLog.
UVICORN_LOGGING: dict[str, Any] = {"log_config": None, "log_level": "warning", "access_log": False}


def server_options(*, max_connections: int, header_timeout: float) -> dict[str, Any]:
    """uvicorn's settings for the API (``bench/api.py`` serves its bare baseline app with the
    same): connection cap (503 past it), idle keep-alive timeout, request-head deadline on the
    fastest protocol, uvloop where installed, uvicorn's own logging quiet."""
    return {
        "limit_concurrency": max_connections,
        "timeout_keep_alive": KEEP_ALIVE_SECONDS,
        "http": protocol_class(header_timeout),  # httptools, else h11
        "loop": "auto",  # uvloop where installed (uvicorn[standard]), else asyncio
        **UVICORN_LOGGING,
    }
