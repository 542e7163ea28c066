"""The one exception tree of Staycurrent.

Every error the service raises on purpose is a ``StaycurrentError``; foreign errors (httpx, expat,
SQLAlchemy, smtplib) are translated at the boundary with ``raise XError(...) from exc``. Each error
carries a ``reason``: one sentence a user understands, stored on the source row or shown in the API.

    StaycurrentError
    ├── ConfigError                 a setting or feeds.yaml is invalid (names the variable/path)
    ├── FetchError                  the feed could not be retrieved
    │   ├── BlockedAddressError     the URL resolves to a private/loopback/... address (SSRF guard)
    │   ├── InvalidURLError         not an http(s) URL, or unusable
    │   ├── FetchTimeoutError       a phase timeout or the overall deadline was hit
    │   ├── ConnectError            DNS failure, refused or reset connection, TLS failure
    │   ├── TooLargeError           the decoded body passed the size cap
    │   ├── TooManyRedirectsError   a redirect chain longer than allowed, or a loop
    │   ├── HTTPStatusError         an unexpected HTTP status (4xx/5xx)
    │   │   ├── RateLimitedError    429 / 503, with the Retry-After the server asked for
    │   │   └── GoneError           410: the publisher removed the feed
    │   └── (no others)
    ├── ParseError                  the bytes are not a feed we can read (reason says why)
    │   └── HostileDocumentError    a document over a limit (attributes per element, time to
    │                               read it): refused, never partly read
    ├── StorageError                the database refused a write or is unreachable
    ├── NotFoundError               an id or name that does not exist
    ├── ConflictError               a unique name/URL already taken
    ├── AuthError                   no or bad credentials (HTTP 401)
    ├── ForbiddenError              credentials that may not do this (HTTP 403)
    ├── InvalidInputError           a well-formed request with a bad value (HTTP 422)
    ├── SignatureError              a signed link or cursor was altered, is malformed or is for
    │   │                           another use (HTTP 403)
    │   └── ExpiredSignatureError   a signed link whose time is up (HTTP 410)
    ├── DigestError                 a digest could not be built or sent
    │   └── SMTPDeliveryError       the SMTP server refused; ``permanent`` tells whether to retry
    └── ModelError                  a model file (embeddings, topics) is missing or corrupt;
                                    the caller falls back (rules, no vector) and says so
"""

from __future__ import annotations

from datetime import datetime


class StaycurrentError(Exception):
    """Base of every error Staycurrent raises on purpose."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    @property
    def kind(self) -> str:
        """A short stable code for metrics and JSON: the class name in snake case."""
        name = type(self).__name__.removesuffix("Error") or "error"
        return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


class ConfigError(StaycurrentError):
    """A setting or feeds.yaml entry is invalid; the reason names it and says what to fix."""


class FetchError(StaycurrentError):
    """The feed could not be retrieved."""

    def __init__(self, reason: str, *, url: str = "") -> None:
        super().__init__(reason)
        self.url = url


class BlockedAddressError(FetchError):
    """The URL resolves to an address the SSRF guard refuses."""


class InvalidURLError(FetchError):
    """Not an http(s) URL, or otherwise unusable."""


class FetchTimeoutError(FetchError):
    """A phase timeout or the overall deadline was hit."""


class ConnectError(FetchError):
    """DNS failure, connection refused or reset, TLS failure."""


class TooLargeError(FetchError):
    """The decoded body passed the size cap."""


class TooManyRedirectsError(FetchError):
    """A redirect chain longer than allowed, or a loop."""


class HTTPStatusError(FetchError):
    """An unexpected HTTP status."""

    def __init__(self, reason: str, *, url: str = "", status: int) -> None:
        super().__init__(reason, url=url)
        self.status = status


class RateLimitedError(HTTPStatusError):
    """429 or 503: the server asks us to come back later (``retry_after``, if it said when)."""

    def __init__(
        self, reason: str, *, url: str = "", status: int, retry_after: datetime | None
    ) -> None:
        super().__init__(reason, url=url, status=status)
        self.retry_after = retry_after


class GoneError(HTTPStatusError):
    """410 Gone: the publisher removed the feed."""


class ParseError(StaycurrentError):
    """The bytes are not a feed we can read."""


class HostileDocumentError(ParseError):
    """A document over a limit (attributes per element, time to read it): refused whole."""


class StorageError(StaycurrentError):
    """The database refused a write or is unreachable."""


class NotFoundError(StaycurrentError):
    """An id or name that does not exist."""


class ConflictError(StaycurrentError):
    """A unique name or URL is already taken."""


class AuthError(StaycurrentError):
    """No or bad credentials."""


class ForbiddenError(StaycurrentError):
    """Valid credentials that may not do this."""


class InvalidInputError(StaycurrentError):
    """A well-formed request with a bad value."""


class SignatureError(StaycurrentError):
    """A signed token (one-click link, cursor) was altered, is malformed or is for another use."""


class ExpiredSignatureError(SignatureError):
    """A signed token that was genuine but whose time is up."""


class DigestError(StaycurrentError):
    """A digest could not be built or sent."""


class ModelError(StaycurrentError):
    """A model file (embeddings, topic classifier) is missing, corrupt or of another version."""


class SMTPDeliveryError(DigestError):
    """The SMTP server refused the message; ``permanent`` says whether retrying can help."""

    def __init__(self, reason: str, *, permanent: bool, reply: str = "") -> None:
        super().__init__(reason)
        self.permanent = permanent
        self.reply = reply
