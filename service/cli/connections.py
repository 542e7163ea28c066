"""uvicorn's HTTP/1.1 protocol with a deadline for each request's head (slow-header clients).

uvicorn closes an idle keep-alive connection after ``timeout_keep_alive``, but a client that opens
a connection and sends its request line and headers a byte at a time (a "slowloris") gets all the
time it wants, so a few hundred of them hold every connection the server allows. Here a connection
whose next request head is not complete within ``STAYCURRENT_API_HEADER_TIMEOUT_SECONDS`` (of
opening, or of the previous response) is closed.
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.h11_impl import H11Protocol


class HeaderTimeoutH11(H11Protocol):
    """uvicorn's h11 protocol (``http=``) closing a connection whose request head is late.

    ``seconds`` is a class attribute so that uvicorn's spawned workers (``staycurrent api
    --workers N``) can import the class by name; each process sets it from its settings
    (``configure``) before serving.
    """

    seconds: float = 10.0
    _head_deadline: asyncio.TimerHandle | None = None
    _previous: object = None  # the request cycle before the head awaited now

    @classmethod
    def configure(cls, seconds: float) -> type[HeaderTimeoutH11]:
        cls.seconds = seconds
        return cls

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._await_head()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._head_deadline is not None and self._head_arrived():
            self._head_deadline.cancel()
            self._head_deadline = None

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._await_head()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
        super().connection_lost(exc)

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
