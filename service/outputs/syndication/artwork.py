"""The cover art of podcast lenses: a square PNG (podcast apps want 1400-3000 px, JPEG or PNG).

Drawn here, byte by byte, so the project ships no binary file: a navy square with a light dial
track and its knob at the depth end — Staycurrent's depth↔breadth dial.
"""

from __future__ import annotations

import functools
import struct
import zlib
from datetime import UTC, datetime

SIZE = 1400
MEDIA_TYPE = "image/png"
DRAWN_AT = datetime(2026, 1, 1, tzinfo=UTC)  # when the drawing last changed (Last-Modified)
_BACKGROUND = bytes((16, 37, 66))
_TRACK = bytes((120, 160, 210))
_KNOB = bytes((250, 200, 70))


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def _row(size: int, y: int) -> bytes:
    track_top, track_bottom = size * 47 // 100, size * 53 // 100
    knob_top, knob_bottom = size * 40 // 100, size * 60 // 100
    left, right = size * 15 // 100, size * 85 // 100
    knob_left, knob_right = size * 58 // 100, size * 70 // 100
    pixels = bytearray(_BACKGROUND * size)
    if track_top <= y < track_bottom:
        pixels[left * 3 : right * 3] = _TRACK * (right - left)
    if knob_top <= y < knob_bottom:
        pixels[knob_left * 3 : knob_right * 3] = _KNOB * (knob_right - knob_left)
    return b"\x00" + bytes(pixels)  # filter type 0 (none)


@functools.cache
def artwork_png(size: int = SIZE) -> bytes:
    """A ``size``×``size`` RGB PNG."""
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)  # 8-bit RGB
    raw = b"".join(_row(size, y) for y in range(size))
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(raw, 9))
        + _chunk(b"IEND", b"")
    )
