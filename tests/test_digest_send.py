"""Sending over a real SMTP server (aiosmtpd on 127.0.0.1): plain, STARTTLS, implicit TLS, login,
and every failure translated into SMTPDeliveryError with the right ``permanent`` flag."""

from __future__ import annotations

import socket
from datetime import UTC, datetime

import pytest
from smtpserver import smtp_server

from service.errors import SMTPDeliveryError
from service.outputs.digest.message import build_message
from service.outputs.digest.render import Letter
from service.outputs.digest.send import UNKNOWN_OUTCOME, SMTPConfig, send_email

SENDER = "Staycurrent <digest@example.org>"
TO = "ada@example.org"


def _message(subject: str = "Staycurrent, Tue 24 Nov: 3 items · 6 min") -> object:
    letter = Letter(subject=subject, html="<p>Hello ☕</p>\n", text="Hello ☕\n")
    return build_message(
        letter,
        sender=SENDER,
        recipient=TO,
        message_id="<digest.1.2026-11-24@example.org>",
        date=datetime(2026, 11, 24, 7, 0, tzinfo=UTC),
        unsubscribe_url="https://feeds.example.org/v1/unsubscribe/abc.def",
    )


def _config(port: int, **extra: object) -> SMTPConfig:
    values: dict[str, object] = {
        "host": "127.0.0.1",
        "port": port,
        "starttls": False,
        "timeout": 5.0,
        "sender": SENDER,
    }
    values.update(extra)
    return SMTPConfig(**values)  # type: ignore[arg-type]


def test_plain_delivery_arrives_intact() -> None:
    with smtp_server() as server:
        reply = send_email(_config(server.port), _message(), recipient=TO)  # type: ignore[arg-type]
    assert reply.startswith("250")
    [received] = server.messages
    assert received.sender == "digest@example.org" and received.recipients == [TO]
    parsed = received.message
    assert parsed["Subject"] == "Staycurrent, Tue 24 Nov: 3 items · 6 min"
    text = parsed.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert text.replace("\r\n", "\n") == "Hello ☕\n"


# aiosmtpd counts only STARTTLS as TLS, so it warns about AUTH on its implicit-TLS port.
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
@pytest.mark.parametrize("tls", ["starttls", "implicit"])
def test_encrypted_delivery_with_login(tls: str) -> None:
    with smtp_server(tls=tls, login=("digest", "s3cret")) as server:
        config = _config(
            server.port,
            starttls=tls == "starttls",
            implicit_tls=tls == "implicit",
            username="digest",
            password="s3cret",
            tls_context=server.client_context,
        )
        send_email(config, _message(), recipient=TO)  # type: ignore[arg-type]
    assert len(server.messages) == 1


def test_untrusted_certificate_is_permanent() -> None:
    with smtp_server(tls="implicit") as server:
        config = _config(server.port, implicit_tls=True)  # the system trust store: not our CA
        with pytest.raises(SMTPDeliveryError) as caught:
            send_email(config, _message(), recipient=TO)  # type: ignore[arg-type]
    assert caught.value.permanent and "certificate" in caught.value.reason
    assert server.messages == []


def test_a_wrong_password_is_permanent_with_the_reply() -> None:
    with smtp_server(tls="starttls", login=("digest", "s3cret")) as server:
        config = _config(
            server.port,
            starttls=True,
            username="digest",
            password="wrong",
            tls_context=server.client_context,
        )
        with pytest.raises(SMTPDeliveryError) as caught:
            send_email(config, _message(), recipient=TO)  # type: ignore[arg-type]
    assert caught.value.permanent and caught.value.reply.startswith("535")


def test_starttls_required_but_not_offered_is_refused_before_sending() -> None:
    with smtp_server() as server:
        with pytest.raises(SMTPDeliveryError) as caught:
            send_email(_config(server.port, starttls=True), _message(), recipient=TO)  # type: ignore[arg-type]
    assert caught.value.permanent and "STARTTLS" in caught.value.reason
    assert server.messages == []


@pytest.mark.parametrize(
    ("command", "reply", "permanent"),
    [
        ("MAIL", "451 4.3.0 Mailbox busy, try later", False),
        ("MAIL", "553 5.1.8 Sender rejected", True),
        ("RCPT", "452 4.2.2 Mailbox full", False),
        ("RCPT", "550 5.1.1 No such user here", True),
        ("DATA", "451 4.7.1 Greylisted, come back later", False),
        ("DATA", "554 5.7.1 Message refused as spam", True),
    ],
)
def test_refusals_are_transient_or_permanent_with_the_server_reply(
    command: str, reply: str, permanent: bool
) -> None:
    with smtp_server() as server:
        server.refuse(command, reply)
        with pytest.raises(SMTPDeliveryError) as caught:
            send_email(_config(server.port), _message(), recipient=TO)  # type: ignore[arg-type]
    assert caught.value.permanent is permanent
    assert caught.value.reply == reply
    assert reply in caught.value.reason
    assert server.messages == []


def test_a_refused_connection_is_transient() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens here once the socket closes
    with pytest.raises(SMTPDeliveryError) as caught:
        send_email(_config(port), _message(), recipient=TO)  # type: ignore[arg-type]
    assert caught.value.permanent is False


def test_a_connection_cut_after_the_body_is_an_unknown_outcome_never_retried() -> None:
    with smtp_server() as server:
        server.drop_after_data()
        with pytest.raises(SMTPDeliveryError) as caught:
            send_email(_config(server.port), _message(), recipient=TO)  # type: ignore[arg-type]
    assert caught.value.permanent is True
    assert caught.value.reason == UNKNOWN_OUTCOME
