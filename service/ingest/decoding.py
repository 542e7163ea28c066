"""Decoding a response body (Content-Encoding) under a hard cap on the decoded size.

httpx decodes gzip without a limit (a 1 MB body inflating to 1 GiB costs 2 GB of memory), so the
fetcher reads the raw bytes and decodes them here: ``zlib.decompressobj().decompress(data,
max_length)`` never produces more than the room left under the cap, plus one byte to notice the
overflow, so memory stays bounded by the cap whatever the compression ratio.
"""

from __future__ import annotations

import zlib

from service.errors import FetchError, TooLargeError

KIB = 1024
MIB = 1024 * KIB
_GZIP = ("gzip", "x-gzip")
_DEFLATE = ("deflate",)
_GZIP_MAGIC = b"\x1f"


def describe_size(size: int) -> str:
    """``10 MiB``, ``64 KiB`` or ``1500 bytes``: the way a limit is shown to a user."""
    if size >= MIB and size % MIB == 0:
        return f"{size // MIB} MiB"
    if size >= KIB and size % KIB == 0:
        return f"{size // KIB} KiB"
    return f"{size} bytes"


def too_large(limit: int) -> TooLargeError:
    return TooLargeError(f"the feed is larger than {describe_size(limit)} (decoded)")


def content_codings(header: str | None) -> list[str]:
    """The codings a Content-Encoding header lists, lower-cased, without ``identity``."""
    codings = [part.strip().lower() for part in (header or "").split(",")]
    return [coding for coding in codings if coding and coding != "identity"]


class BodyDecoder:
    """Turns raw body chunks into decoded bytes, refusing to produce more than ``limit`` bytes.

    Supports identity, gzip (several members too) and deflate (zlib-wrapped or raw, as servers
    send both). Anything else, or a body the codec cannot read, is a ``FetchError`` with the reason.
    """

    def __init__(self, content_encoding: str | None, limit: int) -> None:
        codings = content_codings(content_encoding)
        if len(codings) > 1:
            raise FetchError(
                f"the server compressed the feed several times ({', '.join(codings)}), "
                "which we do not decode"
            )
        self.coding = codings[0] if codings else "identity"
        if self.coding not in (*_GZIP, *_DEFLATE, "identity"):
            raise FetchError(
                f"the server compressed the feed with {self.coding!r}, "
                "which we did not ask for and cannot decode"
            )
        self.limit = limit
        self.produced = 0
        self._inflater: zlib._Decompress | None = None  # made when the first bytes arrive
        self._head = b""  # deflate: the first bytes, kept until the wrapper (zlib/raw) is known
        self._done = False  # a gzip stream ended and what followed was not another member

    def feed(self, raw: bytes) -> bytes:
        """Decode the next raw chunk; raises ``TooLargeError`` once the cap is passed."""
        if self.coding == "identity":
            return self._count(raw)
        try:
            return self._inflate(raw)
        except zlib.error as exc:
            raise FetchError(
                f"the server sent a body that is not valid {self.coding}: {exc}"
            ) from exc

    def _count(self, decoded: bytes) -> bytes:
        self.produced += len(decoded)
        if self.produced > self.limit:
            raise too_large(self.limit)
        return decoded

    def _inflate(self, data: bytes) -> bytes:
        pieces: list[bytes] = []
        while data and not self._done:
            if self._inflater is None:
                data = self._start(data)
                continue
            if self._inflater.eof:
                data = self._next_member(data)
                continue
            room = self.limit - self.produced
            pieces.append(self._count(self._inflater.decompress(data, room + 1)))
            # The output stayed within room + 1 bytes (else _count raised), so all input was
            # consumed, except what follows the end of the stream.
            data = self._inflater.unused_data if self._inflater.eof else b""
        return b"".join(pieces)

    def _start(self, data: bytes) -> bytes:
        """Make the inflater; returns the bytes to give it (none yet while sniffing deflate)."""
        if self.coding in _GZIP:
            self._inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            return data
        self._head += data
        if len(self._head) < 2:
            return b""
        data, self._head = self._head, b""
        wrapped = _has_zlib_header(data)
        self._inflater = zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
        return data

    def _next_member(self, rest: bytes) -> bytes:
        """After a gzip member ends: start the next one if another follows, else stop."""
        if self.coding in _GZIP and rest.startswith(_GZIP_MAGIC):
            self._inflater = None
            return rest
        self._done = True  # trailing padding after the last member is ignored
        return b""

    def finish(self) -> bytes:
        """Check the raw body ended where the encoded stream does; a cut-short one is an error."""
        if self.coding == "identity" or self._done:
            return b""
        if self._head or (self._inflater is not None and not self._inflater.eof):
            raise FetchError(f"the {self.coding} body was cut short (it ends mid-stream)")
        return b""


def _has_zlib_header(data: bytes) -> bool:
    """Whether ``data`` starts with a zlib header (RFC 1950), as "deflate" should; some servers
    send raw deflate instead, whose first byte can never pass this check."""
    cmf, flg = data[0], data[1]
    return cmf & 0x0F == 8 and cmf >> 4 <= 7 and (cmf * 256 + flg) % 31 == 0
