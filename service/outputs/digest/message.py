"""A letter as an email (pure): multipart/alternative, plain text first, then HTML.

Headers: From, To, Subject, Date, Message-ID, ``List-Unsubscribe`` with our one-click URL and
``List-Unsubscribe-Post: List-Unsubscribe=One-Click`` (RFC 8058), ``List-Id`` (RFC 2919) and
``Auto-Submitted: auto-generated`` (RFC 3834, so vacation responders stay quiet).

The message uses the SMTP policy (CRLF) with lines folded only past 998 characters: the default
78 would turn the long unsubscribe URL into an RFC 2047 encoded-word that no mail client reads
as a URL. Both bodies go as quoted-printable UTF-8, so no server needs 8BITMIME.
"""

from __future__ import annotations

from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, make_msgid

from service.errors import ConfigError
from service.outputs.digest.render import Letter

MESSAGE_POLICY = policy.SMTP.clone(max_line_length=998)


def sender_address(from_header: str) -> str:
    """The bare address of a From value such as ``Staycurrent <digest@example.org>``."""
    pairs = getaddresses([from_header])
    if len(pairs) != 1 or "@" not in pairs[0][1]:
        raise ConfigError(f"STAYCURRENT_SMTP_FROM: not one email address (got {from_header!r})")
    return pairs[0][1]


def message_domain(from_header: str) -> str:
    return sender_address(from_header).rpartition("@")[2]


def delivery_message_id(*, delivery_id: int, period: str, from_header: str) -> str:
    """One Message-ID per delivery, the same on every retry (receivers can drop a duplicate)."""
    return f"<digest.{delivery_id}.{period}@{message_domain(from_header)}>"


def preview_message_id(from_header: str) -> str:
    return make_msgid("digest-preview", domain=message_domain(from_header))


def build_message(
    letter: Letter,
    *,
    sender: str,
    recipient: str,
    message_id: str,
    date: datetime,
    unsubscribe_url: str,
) -> EmailMessage:
    """The email: both bodies and every header, ready for SMTP."""
    message = EmailMessage(policy=MESSAGE_POLICY)
    message["From"] = sender
    message["To"] = Address(addr_spec=recipient)
    message["Subject"] = letter.subject
    message["Date"] = format_datetime(date)
    message["Message-ID"] = message_id
    message["List-Id"] = f"Staycurrent digest <digest.{message_domain(sender)}>"
    message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(letter.text, charset="utf-8", cte="quoted-printable")
    message.add_alternative(letter.html, subtype="html", charset="utf-8", cte="quoted-printable")
    return message
