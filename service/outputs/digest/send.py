"""Handing a message to the SMTP server: plain, STARTTLS or implicit TLS, with an optional login.

Every failure becomes an ``SMTPDeliveryError`` with ``permanent`` telling the caller what to do:

- a 4xx reply, a refused or dropped connection or a timeout *before the message was handed
  over* -> transient (``permanent=False``): nothing was delivered, retrying is safe;
- a 5xx reply (or a bad login, or a server without STARTTLS when it is required) -> permanent,
  with the server's reply in ``reply``;
- the connection dropping or timing out *after* the message body was sent but before the
  server's answer -> permanent with an "outcome unknown" reason: the server may have accepted
  it, and a retry could deliver it twice.

The conversation is MAIL, RCPT and DATA by hand (not ``sendmail``) so each failure is known to
fall before or after the body was handed over.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage

from service.config import Settings
from service.errors import ConfigError, SMTPDeliveryError
from service.outputs.digest.message import sender_address

UNKNOWN_OUTCOME = (
    "the connection to the mail server broke after the message was handed over: it may have "
    "been delivered, so it is not sent again"
)


@dataclass(frozen=True, slots=True)
class SMTPConfig:
    """Where and how to send mail."""

    host: str
    port: int = 587
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    starttls: bool = True
    implicit_tls: bool = False
    timeout: float = 30.0
    sender: str = "Staycurrent <staycurrent@localhost>"
    # The TLS context (certificate checks); None = the system's default trust store.
    tls_context: ssl.SSLContext | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_settings(
        cls, settings: Settings, *, tls_context: ssl.SSLContext | None = None
    ) -> SMTPConfig:
        if not settings.smtp_host:
            raise ConfigError("STAYCURRENT_SMTP_HOST: not set, so no email can be sent")
        password = settings.smtp_password
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=password.get_secret_value() if password is not None else None,
            starttls=settings.smtp_starttls,
            implicit_tls=settings.smtp_tls,
            timeout=settings.smtp_timeout,
            sender=settings.smtp_from,
            tls_context=tls_context,
        )

    def context(self) -> ssl.SSLContext:
        return self.tls_context or ssl.create_default_context()


def _reply(code: int, text: bytes | str) -> str:
    message = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return f"{code} {' '.join(message.split())}".strip()


def refused(code: int, text: bytes | str, what: str) -> SMTPDeliveryError:
    """The error for a server's refusal: permanent for 5xx, transient otherwise."""
    reply = _reply(code, text)
    permanent = 500 <= code < 600
    how = "refused" if permanent else "deferred"
    return SMTPDeliveryError(
        f"the mail server {how} {what}: {reply}", permanent=permanent, reply=reply
    )


def _open(config: SMTPConfig) -> smtplib.SMTP:
    if config.implicit_tls:
        return smtplib.SMTP_SSL(
            config.host, config.port, timeout=config.timeout, context=config.context()
        )
    connection = smtplib.SMTP(config.host, config.port, timeout=config.timeout)
    try:
        connection.ehlo()
        if config.starttls:
            if not connection.has_extn("starttls"):
                raise SMTPDeliveryError(
                    f"{config.host} does not offer STARTTLS; set STAYCURRENT_SMTP_STARTTLS=false "
                    "to send unencrypted, or use STAYCURRENT_SMTP_TLS for port 465",
                    permanent=True,
                )
            connection.starttls(context=config.context())
            connection.ehlo()
    except BaseException:
        connection.close()
        raise
    return connection


def _login(connection: smtplib.SMTP, config: SMTPConfig) -> None:
    if config.username is None:
        return
    try:
        connection.login(config.username, config.password or "")
    except smtplib.SMTPAuthenticationError as exc:
        raise refused(exc.smtp_code, exc.smtp_error, "the login") from exc
    except smtplib.SMTPNotSupportedError as exc:
        raise SMTPDeliveryError(
            f"{config.host} offers no login (AUTH); unset STAYCURRENT_SMTP_USERNAME",
            permanent=True,
        ) from exc


def _envelope(connection: smtplib.SMTP, sender: str, recipient: str) -> None:
    options = ["SMTPUTF8"] if not (sender + recipient).isascii() else []
    if options and not connection.has_extn("smtputf8"):
        raise SMTPDeliveryError(
            "the address is not ASCII and the mail server does not support SMTPUTF8",
            permanent=True,
        )
    code, text = connection.mail(sender, options)
    if code != 250:
        raise refused(code, text, f"the sender {sender}")
    code, text = connection.rcpt(recipient)
    if code not in (250, 251):
        raise refused(code, text, f"the recipient {recipient}")


def _hand_over(connection: smtplib.SMTP, body: bytes) -> str:
    try:
        code, text = connection.data(body)
    except smtplib.SMTPDataError as exc:  # DATA itself was refused: the body never left
        raise refused(exc.smtp_code, exc.smtp_error, "the message") from exc
    except (smtplib.SMTPServerDisconnected, OSError) as exc:
        raise SMTPDeliveryError(UNKNOWN_OUTCOME, permanent=True, reply=str(exc)) from exc
    if code != 250:
        raise refused(code, text, "the message")
    return _reply(code, text)


def _converse(config: SMTPConfig, message: EmailMessage, recipient: str) -> str:
    connection = _open(config)
    try:
        _login(connection, config)
        _envelope(connection, sender_address(config.sender), recipient)
        reply = _hand_over(connection, message.as_bytes())
    finally:
        _quit(connection)
    return reply


def _quit(connection: smtplib.SMTP) -> None:
    try:
        connection.quit()
    except (smtplib.SMTPException, OSError):
        connection.close()


def send_email(config: SMTPConfig, message: EmailMessage, *, recipient: str) -> str:
    """Deliver ``message`` to ``recipient``; the server's final reply, or SMTPDeliveryError."""
    try:
        return _converse(config, message, recipient)
    except SMTPDeliveryError:
        raise
    except smtplib.SMTPResponseException as exc:
        raise refused(exc.smtp_code, exc.smtp_error, "the connection") from exc
    except ssl.SSLCertVerificationError as exc:
        raise SMTPDeliveryError(
            f"the mail server's certificate is not trusted: {exc.verify_message}", permanent=True
        ) from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise SMTPDeliveryError(
            f"could not talk to the mail server {config.host}:{config.port}: {exc}",
            permanent=False,
        ) from exc
