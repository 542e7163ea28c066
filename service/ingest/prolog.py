"""The XML prolog, made harmless before any parser sees the document.

feedparser's loose fallback parser expands internal entities itself (an 80 KB "quadratic blowup"
document becomes a 400 MB field), and it collects ``<!ENTITY`` declarations with a line-based
regular expression from everything before the first element. So before parsing, everything between
the start of the document and its root element is dropped except the XML declaration: DOCTYPE
declarations (internal subsets with nested brackets, quoted ``]`` and ``>`` included), stray
``<!ENTITY`` declarations, comments and processing instructions. References to the entities that
were declared there stay in the body as undefined references, which both parsers survive.

The document is first brought to an ASCII-compatible encoding: UTF-16 and UTF-32 inputs (with or
without a byte order mark) are decoded and re-encoded as UTF-8, their declaration rewritten to say
so. Removed constructs are replaced by the newlines they held, so parser line numbers still point
at the original lines.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from service.errors import ParseError

_UTF8_BOM = codecs.BOM_UTF8
# (prefix, codec) for encodings that are not ASCII-compatible, longest prefixes first.
_WIDE_ENCODINGS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00\x00\x00", "utf-32-le"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
    (b"\x00<\x00", "utf-16-be"),
    (b"<\x00", "utf-16-le"),
)
_SPACE = re.compile(rb"[ \t\r\n]*")
_PI_END = re.compile(rb"\?>")
_COMMENT_END = re.compile(rb"-->")
# Inside a markup declaration: quoted literals, comments and PIs are skipped whole. Each
# alternative also ends at the end of the data, so an unclosed one costs one linear scan.
_DECLARATION_TOKEN = re.compile(
    rb"\"[^\"]*(?:\"|\Z)|'[^']*(?:'|\Z)|<!--.*?(?:-->|\Z)|<\?.*?(?:\?>|\Z)|[\[\]>]", re.S
)
_ROOT_START = re.compile(rb"<[A-Za-z_:\x80-\xff]")
_NAME = re.compile(rb"[A-Za-z_:\x80-\xff][-.\w:\x80-\xff]*")
_XML_DECLARATION = re.compile(rb"<\?xml[ \t\r\n]")
_ENCODING_ATTRIBUTE = re.compile(rb"""encoding[ \t\r\n]*=[ \t\r\n]*(["'])[^"']*\1""")


@dataclass(frozen=True, slots=True)
class CleanDocument:
    """A document whose prolog holds nothing but (at most) the XML declaration."""

    data: bytes
    root: str | None  # the root element's name as written (``rss``, ``rdf:RDF``), None if absent
    removed_doctype: bool


def clean_prolog(body: bytes) -> CleanDocument:
    """Drop everything before the root element but the XML declaration; see the module doc."""
    data = _to_ascii_compatible(body)
    bom = _UTF8_BOM if data.startswith(_UTF8_BOM) else b""
    pos, declaration, newlines, removed_doctype = _scan_prolog(data, len(bom))
    match = _NAME.match(data, pos + 1) if pos < len(data) else None
    root = match.group().decode("utf-8", "replace") if match else None
    # Without a declaration feedparser prepends one and a newline; one without a newline keeps
    # line numbers in parse errors true to the original document.
    declaration = declaration or b'<?xml version="1.0"?>'
    cleaned = b"".join((bom, declaration, b"\n" * newlines, data[pos:]))
    return CleanDocument(cleaned, root, removed_doctype)


def _to_ascii_compatible(body: bytes) -> bytes:
    for prefix, codec in _WIDE_ENCODINGS:
        if body.startswith(prefix):
            return _reencode(body, codec)
    return body


def _reencode(body: bytes, codec: str) -> bytes:
    try:
        text = body.decode(codec)
    except UnicodeDecodeError as exc:
        raise ParseError(
            f"not a feed: the document looks like {codec.upper()} but is not valid {codec.upper()}"
        ) from exc
    data = text.lstrip("\ufeff").encode("utf-8")
    match = _XML_DECLARATION.match(data)
    if match is None:
        return data
    end = data.find(b"?>")
    head = _ENCODING_ATTRIBUTE.sub(b'encoding="utf-8"', data[: end + 2])
    return head + data[end + 2 :]


def _scan_prolog(data: bytes, start: int) -> tuple[int, bytes, int, bool]:
    """Walk the prolog; return where the root starts, the XML declaration, newlines dropped."""
    declaration, removed_doctype, pos = b"", False, start
    size = len(data)
    while True:
        pos = _SPACE.match(data, pos).end()  # type: ignore[union-attr]
        if pos >= size or _ROOT_START.match(data, pos):
            newlines = data.count(b"\n", start, pos) - declaration.count(b"\n")
            return pos, declaration, newlines, removed_doctype
        end = _construct_end(data, pos)
        construct = data[pos:end]
        if not declaration and _XML_DECLARATION.match(construct):
            declaration = construct
        else:
            removed_doctype = removed_doctype or construct[:9].upper() == b"<!DOCTYPE"
        pos = end


def _construct_end(data: bytes, pos: int) -> int:
    """Where the prolog construct (PI, comment, declaration or stray text) at ``pos`` ends."""
    if data.startswith(b"<?", pos):
        return _end_of(_PI_END, data, pos + 2, "processing instruction")
    if data.startswith(b"<!--", pos):
        return _end_of(_COMMENT_END, data, pos + 4, "comment")
    if data.startswith(b"<!", pos):
        return _declaration_end(data, pos + 2)
    # Stray text or a lone "<" before the root: skip to the next "<" after it.
    next_tag = data.find(b"<", pos + 1)
    return len(data) if next_tag < 0 else next_tag


def _end_of(pattern: re.Pattern[bytes], data: bytes, pos: int, what: str) -> int:
    match = pattern.search(data, pos)
    if match is None:
        raise ParseError(f"not a feed: not well-formed XML (a {what} before the root never ends)")
    return match.end()


def _declaration_end(data: bytes, pos: int) -> int:
    """The end of ``<!DOCTYPE ... [ ... ]>`` or any other ``<!...>``, brackets balanced."""
    depth = 0
    for token in _DECLARATION_TOKEN.finditer(data, pos):
        mark = token.group()
        if mark == b"[":
            depth += 1
        elif mark == b"]":
            depth = max(depth - 1, 0)
        elif mark == b">" and depth == 0:
            return token.end()
    raise ParseError("not a feed: not well-formed XML (a DOCTYPE declaration never ends)")
