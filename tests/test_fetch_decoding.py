"""BodyDecoder: every Content-Encoding we ask for, decoded exactly, never past the cap."""

from __future__ import annotations

import itertools
import tracemalloc

import pytest
from feedserver import MIB, encode, gzip_bomb
from hypothesis import given
from hypothesis import strategies as st

from service.errors import FetchError, TooLargeError
from service.ingest.decoding import BodyDecoder, content_codings, describe_size

ENCODINGS = {"identity": "identity", "gzip": "gzip", "deflate": "deflate", "raw-deflate": "deflate"}


def decode(header: str, raw: bytes, limit: int, cuts: list[int]) -> bytes:
    decoder = BodyDecoder(header, limit)
    bounds = [0, *sorted(c % (len(raw) + 1) for c in cuts), len(raw)]
    pieces = [decoder.feed(raw[a:b]) for a, b in itertools.pairwise(bounds)]
    return b"".join(pieces) + decoder.finish()


@given(
    body=st.binary(max_size=4000) | st.text(max_size=3000).map(str.encode),
    encoding=st.sampled_from(sorted(ENCODINGS)),
    limit=st.integers(min_value=0, max_value=5000),
    cuts=st.lists(st.integers(min_value=0, max_value=10_000), max_size=6),
)
def test_decodes_exactly_or_refuses_past_the_cap(
    body: bytes, encoding: str, limit: int, cuts: list[int]
) -> None:
    raw = body if encoding == "identity" else encode(body, encoding)
    if len(body) <= limit:
        assert decode(ENCODINGS[encoding], raw, limit, cuts) == body
    else:
        with pytest.raises(TooLargeError):
            decode(ENCODINGS[encoding], raw, limit, cuts)


@given(
    members=st.lists(st.binary(max_size=300), min_size=1, max_size=4),
    cuts=st.lists(st.integers(min_value=0, max_value=2000), max_size=5),
)
def test_gzip_members_are_all_decoded(members: list[bytes], cuts: list[int]) -> None:
    raw = b"".join(encode(member, "gzip") for member in members)
    assert decode("gzip", raw, 10_000, cuts) == b"".join(members)


def test_padding_after_the_last_gzip_member_is_ignored() -> None:
    assert decode("x-gzip", encode(b"feed", "gzip") + b"\0" * 16, 100, []) == b"feed"


def feed_in_chunks(decoder: BodyDecoder, raw: bytes, size: int) -> None:
    for start in range(0, len(raw), size):
        decoder.feed(raw[start : start + size])


def test_bomb_is_refused_with_memory_bounded_by_the_cap() -> None:
    bomb = gzip_bomb(256 * MIB)
    decoder = BodyDecoder("gzip", MIB)
    tracemalloc.start()
    try:
        with pytest.raises(TooLargeError, match="larger than 1 MiB"):
            feed_in_chunks(decoder, bomb, 65536)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert decoder.produced == MIB + 1  # stopped at the first byte past the cap
    assert peak < 8 * MIB


@pytest.mark.parametrize(
    ("header", "raw", "reason"),
    [
        ("br", b"x", "the server compressed the feed with 'br'"),
        ("zstd", b"x", "the server compressed the feed with 'zstd'"),
        ("gzip, deflate", b"x", "the server compressed the feed several times (gzip, deflate)"),
        ("gzip", b"not gzip", "the server sent a body that is not valid gzip: "),
        ("deflate", b"not deflate", "the server sent a body that is not valid deflate: "),
        ("gzip", encode(b"a" * 1000, "gzip")[:20], "the gzip body was cut short"),
    ],
)
def test_unreadable_encodings_are_fetch_errors(header: str, raw: bytes, reason: str) -> None:
    with pytest.raises(FetchError) as caught:
        decode(header, raw, 10_000, [])
    assert type(caught.value) is FetchError
    assert caught.value.reason.startswith(reason)


@pytest.mark.parametrize(
    ("header", "codings"),
    [
        (None, []),
        ("", []),
        ("identity", []),
        ("GZIP", ["gzip"]),
        (" gzip , identity ", ["gzip"]),
        ("deflate, gzip", ["deflate", "gzip"]),
    ],
)
def test_content_codings(header: str | None, codings: list[str]) -> None:
    assert content_codings(header) == codings


@pytest.mark.parametrize(
    ("size", "text"),
    [(10 * MIB, "10 MiB"), (64 * 1024, "64 KiB"), (1500, "1500 bytes"), (MIB + 1, "1048577 bytes")],
)
def test_describe_size(size: int, text: str) -> None:
    assert describe_size(size) == text
