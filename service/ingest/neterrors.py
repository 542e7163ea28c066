"""Foreign network exceptions (httpx, httpcore, anyio, socket, ssl, zlib) as ``FetchError``s.

One place decides what a user reads when the network fails: each function returns an error of the
tree in ``service.errors`` whose reason is one sentence ("could not connect: connection refused").
"""

from __future__ import annotations

import errno
import re
import socket
import ssl
import zlib
from collections.abc import Callable, Iterator
from typing import TypeVar

import anyio
import httpcore
import httpx

from service.errors import ConnectError, FetchError, FetchTimeoutError, InvalidURLError

_TIMEOUT_PHASES: tuple[tuple[tuple[type[Exception], ...], str], ...] = (
    ((httpx.ConnectTimeout, httpcore.ConnectTimeout), "connecting to the server"),
    ((httpx.ReadTimeout, httpcore.ReadTimeout), "waiting for the server to send data"),
    ((httpx.WriteTimeout, httpcore.WriteTimeout), "sending the request"),
    ((httpx.PoolTimeout, httpcore.PoolTimeout), "waiting for a free connection"),
)
_TIMEOUTS = (httpx.TimeoutException, httpcore.TimeoutException, TimeoutError)
_NETWORK = (httpx.NetworkError, httpcore.NetworkError, anyio.BrokenResourceError, OSError)
_PROTOCOL = (httpx.RemoteProtocolError, httpcore.RemoteProtocolError)
_BAD_URL = (httpx.InvalidURL, httpx.UnsupportedProtocol, httpcore.UnsupportedProtocol)
_OPENSSL_LOCATION = re.compile(r"\s*\(_ssl\.c:\d+\)")
_ERRNO_WORDS = {
    errno.ECONNREFUSED: "connection refused",
    errno.ECONNRESET: "connection reset by the server",
    errno.ECONNABORTED: "connection aborted",
    errno.ENETUNREACH: "network unreachable",
    errno.EHOSTUNREACH: "host unreachable",
    errno.ETIMEDOUT: "connection timed out",
    errno.EPIPE: "connection closed by the server",
}


def causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and everything that led to it: causes, contexts and exception group members."""
    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        if isinstance(current, BaseExceptionGroup):
            pending.extend(current.exceptions)
        pending.extend(e for e in (current.__cause__, current.__context__) if e is not None)


_E = TypeVar("_E", bound=BaseException)


def _first(exc: BaseException, kind: type[_E]) -> _E | None:
    return next((e for e in causes(exc) if isinstance(e, kind)), None)


def os_words(exc: BaseException) -> str | None:
    """A few words for the most specific OS error behind ``exc`` ("connection refused")."""
    for error in causes(exc):
        if isinstance(error, socket.gaierror):
            return f"the host name could not be resolved ({(error.strerror or '').lower()})"
        if isinstance(error, OSError) and error.errno is not None:
            words = _ERRNO_WORDS.get(error.errno)
            return words or (error.strerror or str(error)).lower()
    return None


def tls_reason(exc: ssl.SSLError) -> str:
    """A sentence for a TLS failure: a refused certificate named, other failures summarized."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        detail = exc.verify_message or exc.reason or "verification failed"
        return f"the TLS certificate was refused: {detail}"
    if exc.reason:  # an OpenSSL code such as WRONG_VERSION_NUMBER
        return f"the TLS handshake failed: {str(exc.reason).lower().replace('_', ' ')}"
    detail = _OPENSSL_LOCATION.sub("", str(exc.strerror or exc.args[-1] or exc)).strip()
    return f"the TLS handshake failed: {detail[:1].lower() + detail[1:]}"


def _message(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def truncated(exc: Exception) -> ConnectError:
    """The error for a body cut short: the connection closed or broke mid-body."""
    words = os_words(exc)
    detail = f" ({words})" if words else ""
    return ConnectError(f"the connection closed before the whole feed arrived{detail}")


def _timeout(exc: BaseException, timeout: float) -> FetchTimeoutError:
    for kinds, phase in _TIMEOUT_PHASES:
        if isinstance(exc, kinds):
            return FetchTimeoutError(f"timed out after {timeout:g} s {phase}")
    return FetchTimeoutError(f"timed out after {timeout:g} s")


def _protocol(exc: BaseException) -> FetchError:
    message = _message(exc)
    if "without sending a response" in message:
        return ConnectError("the server closed the connection without answering")
    if "complete message body" in message:
        return ConnectError("the connection closed before the whole feed arrived")
    return FetchError(f"the server's answer is not valid HTTP ({message})")


def _network(exc: BaseException) -> ConnectError:
    connecting = isinstance(exc, (httpx.ConnectError, httpcore.ConnectError))
    start = "could not connect" if connecting else "the connection failed"
    return ConnectError(f"{start}: {os_words(exc) or _message(exc).lower()}")


def _bad_url(exc: BaseException) -> FetchError:
    return InvalidURLError(f"not a usable URL ({_message(exc)})")


def _unsendable(exc: BaseException) -> FetchError:
    return FetchError(f"the request could not be sent ({_message(exc)})")


def _undecodable(exc: BaseException) -> FetchError:
    return FetchError(f"the body could not be decompressed ({_message(exc)})")


_Builder = Callable[[BaseException], FetchError]
_BY_KIND: tuple[tuple[tuple[type[BaseException], ...], _Builder], ...] = (
    (_PROTOCOL, _protocol),
    (_NETWORK, _network),
    (_BAD_URL, _bad_url),
    ((httpx.LocalProtocolError, httpcore.LocalProtocolError), _unsendable),
    ((zlib.error,), _undecodable),
)


def translate(exc: BaseException, timeout: float) -> FetchError:
    """The ``FetchError`` a user should read for a foreign exception raised while fetching.

    ``timeout`` is the per-phase timeout in force, named in timeout reasons.
    """
    if isinstance(exc, FetchError):
        return exc
    tls = _first(exc, ssl.SSLError)
    if tls is not None:
        return ConnectError(tls_reason(tls))
    if isinstance(exc, _TIMEOUTS):
        return _timeout(exc, timeout)
    for kinds, build in _BY_KIND:
        if isinstance(exc, kinds):
            return build(exc)
    return FetchError(f"the fetch failed unexpectedly ({type(exc).__name__}: {_message(exc)})")
