"""A real SMTP server for tests: aiosmtpd on 127.0.0.1 at an ephemeral port, programmable.

- ``server.messages``: every accepted message (envelope sender, recipients, raw bytes, parsed);
- ``server.refuse("RCPT", "451 4.3.0 try later", times=1)``: answer the next N MAIL/RCPT/DATA
  commands with that reply instead of accepting;
- ``server.hold_data()``: the server queues a message but waits to answer until
  ``server.release()`` (``server.data_arrived`` is set once it is queued);
- ``server.drop_after_data(times=1)``: read the body, then cut the connection without answering;
- ``tls="starttls"`` or ``tls="implicit"`` with a throwaway CA (trustme; ``client_context`` trusts
  it), ``login=(user, password)`` to require AUTH.
"""

from __future__ import annotations

import asyncio
import email
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from typing import Any, Literal

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@dataclass
class Received:
    sender: str
    recipients: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class _Plan:
    refusals: dict[str, list[str]] = field(default_factory=dict)
    drops: int = 0


class _Handler:
    def __init__(self, server: SMTPServer) -> None:
        self.server = server

    def _refusal(self, command: str) -> str | None:
        with self.server.lock:
            queue = self.server.plan.refusals.get(command)
            return queue.pop(0) if queue else None

    async def handle_MAIL(
        self, _server: Any, _session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        refusal = self._refusal("MAIL")
        if refusal:
            return refusal
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, _server: Any, _session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        refusal = self._refusal("RCPT")
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: Any, _session: Any, envelope: Any) -> str:
        with self.server.lock:
            drop = self.server.plan.drops > 0
            self.server.plan.drops -= int(drop)
        if drop:  # the server dies before it has the message
            server.transport.abort()
            return "421 dropped"
        refusal = self._refusal("DATA")
        if refusal:
            return refusal
        content = envelope.original_content or envelope.content
        with self.server.lock:  # queued, as a real server does before it answers
            self.server.messages.append(
                Received(envelope.mail_from, list(envelope.rcpt_tos), bytes(content))
            )
        self.server.data_arrived.set()
        while self.server.holding and not self.server.released.is_set():
            await asyncio.sleep(0.01)
        return "250 2.0.0 Ok: queued"


class _EphemeralController(Controller):
    """aiosmtpd's Controller bound to port 0; learns the port the OS picked before triggering."""

    def _trigger_server(self) -> None:
        assert self.server is not None
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class SMTPServer:
    """One running test server; see the module docstring."""

    def __init__(
        self,
        *,
        tls: Literal["none", "starttls", "implicit"] = "none",
        login: tuple[str, str] | None = None,
    ) -> None:
        self.messages: list[Received] = []
        self.plan = _Plan()
        self.lock = threading.Lock()
        self.data_arrived = threading.Event()
        self.released = threading.Event()
        self.holding = False
        self.tls = tls
        self.login = login
        self.ca = trustme.CA()
        self.client_context = ssl.create_default_context()
        self.ca.configure_trust(self.client_context)
        self._controller = self._build()

    def _server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
        return context

    def _authenticate(
        self, _server: Any, _session: Any, _envelope: Any, _mechanism: str, data: Any
    ) -> AuthResult:
        assert self.login is not None
        ok = (
            isinstance(data, LoginPassword)
            and (
                data.login.decode(),
                data.password.decode(),
            )
            == self.login
        )
        return AuthResult(success=ok, handled=False)

    def _build(self) -> Controller:
        options: dict[str, Any] = {"hostname": "127.0.0.1", "port": 0}
        if self.tls == "starttls":
            options["tls_context"] = self._server_context()
        if self.tls == "implicit":
            options["ssl_context"] = self._server_context()
        if self.login is not None:
            options.update(
                authenticator=self._authenticate,
                auth_required=True,
                # aiosmtpd only counts STARTTLS as TLS; on implicit TLS it would hide AUTH
                auth_require_tls=self.tls == "starttls",
                # Python 3.11's smtplib and aiosmtpd disagree on AUTH LOGIN with an initial
                # response (the client then waits forever after a refusal): offer PLAIN only.
                auth_exclude_mechanism=["LOGIN"],
            )
        return _EphemeralController(_Handler(self), **options)

    @property
    def port(self) -> int:
        return int(self._controller.port)

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self.released.set()
        self._controller.stop()

    def refuse(self, command: str, reply: str, *, times: int = 1) -> None:
        with self.lock:
            self.plan.refusals.setdefault(command, []).extend([reply] * times)

    def drop_after_data(self, *, times: int = 1) -> None:
        with self.lock:
            self.plan.drops += times

    def hold_data(self) -> None:
        self.holding = True
        self.released.clear()
        self.data_arrived.clear()

    def release(self) -> None:
        self.released.set()

    def received_by(self, address: str) -> list[Received]:
        with self.lock:
            return [m for m in self.messages if address in m.recipients]


@contextmanager
def smtp_server(**options: Any) -> Iterator[SMTPServer]:
    server = SMTPServer(**options)
    server.start()
    try:
        yield server
    finally:
        server.stop()
