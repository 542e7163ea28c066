"""Hostile XML feed documents, each with what must survive it and what must never be stored.

XXE (a local file; an entity, a DTD, a parameter entity and a public DTD over HTTP), billion
laughs, the quadratic blowup (one ~20 KB entity referenced thousands of times: ~80 KB), deeply
nested elements and a 10,000-entry feed (of which the first 5,000 are read).
``documents(secret_file, entity_base)`` builds them for a run: ``entity_base`` is where the HTTP
entities live (a feed server that counts requests).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from service.ingest.pipeline import MAX_ENTRIES

SECRET = "SECRET-MARKER-42"
LEAKED = "LEAKED-OVER-HTTP"
ENTITY_PATHS = ("/entity", "/external.dtd", "/param.dtd", "/public.dtd")
ENTITY_BODY = f'<!ENTITY leaked "{LEAKED}">'.encode()


@dataclass(frozen=True)
class HostileDocument:
    """A hostile document, the entries that must come out of it, and text that must not."""

    name: str
    body: bytes
    entries: int
    absent: tuple[str, ...]


def rss(items: str, prolog: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?>\n{prolog}<rss version="2.0"><channel>'
        "<title>Hostile</title><link>https://hostile.example.org/</link><description>d"
        f"</description>{items}</channel></rss>"
    ).encode()


def item(title: str, number: int = 0, description: str = "", extra: str = "") -> str:
    return (
        f"<item><title>{title}</title><link>https://hostile.example.org/{number}</link>"
        f"<description>{description}</description>{extra}</item>"
    )


def with_doctype(name: str, doctype: str, refs: str, absent: tuple[str, ...]) -> HostileDocument:
    body = rss(item(f"{name} {refs}", description=refs), prolog=doctype + "\n")
    return HostileDocument(name, body, 1, absent)


def billion_laughs() -> HostileDocument:
    entities = ['<!ENTITY lol "lol">'] + [
        f'<!ENTITY lol{n} "{("&lol" + str(n - 1) + ";") * 10 if n > 1 else "&lol;" * 10}">'
        for n in range(1, 10)
    ]
    doctype = f"<!DOCTYPE lolz [{''.join(entities)}]>"
    return with_doctype("billion laughs", doctype, "&lol9;", ("lollol",))


def quadratic_blowup() -> HostileDocument:
    """One ~20 KB entity referenced 12,000 times: an ~80 KB document (1 GB if expanded)."""
    doctype = f'<!DOCTYPE rss [\n<!ENTITY big "{"A" * 20_000}">\n]>'
    refs = "&big;" * 6_000
    return with_doctype("quadratic blowup", doctype, refs, ("A" * 1000,))


def nested(depth: int) -> HostileDocument:
    tags = "<x>" * depth + "deep" + "</x>" * depth
    escaped = "&lt;div&gt;" * depth + "deep" + "&lt;/div&gt;" * depth
    body = rss(item(f"nested {depth}", description=escaped, extra=tags))
    return HostileDocument(f"{depth:,} nested elements", body, 1, ())


def many_entries(count: int) -> HostileDocument:
    """``count`` entries: the first ``MAX_ENTRIES`` (STAYCURRENT_PARSE_MAX_ENTRIES) are stored."""
    items = "".join(item(f"Entry {n}", n, f"Body {n}") for n in range(count))
    return HostileDocument(f"{count:,} entries", rss(items), min(count, MAX_ENTRIES), ())


def documents(secret_file: Path, entity_base: str) -> list[HostileDocument]:
    """Every hostile document of a run."""
    entity, dtd, param, public = (entity_base + path for path in ENTITY_PATHS)
    leaks = (LEAKED,)
    return [
        with_doctype(
            "XXE file",
            f'<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file://{secret_file}">]>',
            "&xxe;",
            (SECRET,),
        ),
        with_doctype(
            "XXE http entity", f'<!DOCTYPE rss [<!ENTITY xxe SYSTEM "{entity}">]>', "&xxe;", leaks
        ),
        with_doctype("XXE external DTD", f'<!DOCTYPE rss SYSTEM "{dtd}">', "&leaked;", leaks),
        with_doctype(
            "XXE parameter entity",
            f'<!DOCTYPE rss [<!ENTITY % remote SYSTEM "{param}"> %remote; ]>',
            "&leaked;",
            leaks,
        ),
        with_doctype(
            "XXE public DTD",
            f'<!DOCTYPE rss PUBLIC "-//X//Y" "{public}" [<!ENTITY xxe "x">]>',
            "&leaked; &xxe;",
            leaks,
        ),
        billion_laughs(),
        quadratic_blowup(),
        nested(1_000),
        nested(50_000),
        many_entries(10_000),
    ]


# Floods: documents that are inert but slow to read (quadratic or worse in a parser), each sized to
# take several seconds on this machine's parser before the limits. ``floods()`` names them.


def attribute_flood(count: int = 30_000) -> bytes:
    """One element with ``count`` attributes (lxml's ``attrib.items()`` is quadratic in them)."""
    attributes = " ".join(f'a{n}="v"' for n in range(count))
    return rss(item("attribute flood", extra=f"<category {attributes}>c</category>"))


def nesting_flood(depth: int = 400_000) -> bytes:
    """Elements nested ``depth`` deep inside an entry (past libxml2's limit: the slow readers)."""
    return rss(item("nesting flood", extra="<x>" * depth + "deep" + "</x>" * depth))


def namespace_flood(count: int = 25_000) -> bytes:
    """``count`` namespaces declared on the root, each used by one element of an entry. It took
    feedparser's SAX handlers (and our port of them) many seconds; lxml's reader reads it in about
    0.1 s, so it is no longer among ``floods()``: it is read like any feed."""
    elements = "".join(f"<n{n}:e>v</n{n}:e>" for n in range(count))
    declared = "".join(f' xmlns:n{n}="https://ns.example.org/{n}"' for n in range(count))
    return rss(item("namespace flood", extra=elements)).replace(
        b'<rss version="2.0">', f'<rss version="2.0"{declared}>'.encode()
    )


def floods() -> dict[str, bytes]:
    return {
        "attribute flood": attribute_flood(),
        "nesting flood": nesting_flood(),
    }
