"""Subscribing: one feed URL (vetted, optionally probed once, then added), or an OPML subscription
list (one result per outline: added, duplicate, invalid). The routes (``POST /v1/sources``,
``POST /v1/sources/import``) and ``staycurrent sources import`` call these in one line.

    url   --check_feed_url, vet_feed_address (SSRF guard)--> --probe_feed (optional, no item
          stored)--> storage.source_registry.create_source --> Subscribed
    bytes --read_opml--> OpmlDocument --plan_outline (pure)--> candidates + refusals
          --storage.source_registry.import_sources (one transaction)--> ImportReport

Reading is safe with hostile files: the prolog is cleaned first (``ingest.prolog``: DOCTYPE and
entity declarations removed, so XXE and billion laughs have nothing to expand), then lxml parses
with entity resolution, DTD loading and network access off, in recover mode (real OPML files carry
unescaped ``&`` in URLs). Attribute names are matched case-insensitively (``xmlUrl``, ``xmlurl``).
An upload is read in a ``DocumentPool`` process within the parse budget, and an element with more
than ``MAX_ATTRIBUTES`` attributes refuses the file, so no upload can hold the API's process.

An outline with ``xmlUrl`` is a feed; one with children is a folder. The titles of the folders
around a feed (and its OPML 2.0 ``category`` attribute) become its topics where they match a
taxonomy slug or label. The kind is ``kind`` if given, else guessed: arXiv is paper, video sites
are video, a feed whose folder, title or document title mentions podcasts is a podcast, the
rest are posts.
URLs are checked for shape and for literal addresses the SSRF guard refuses; host names are vetted
on every fetch (resolving hundreds of names at import time would be slow and prove little).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlsplit

from lxml import etree
from pydantic import BaseModel, ConfigDict, Field

from service.config import Settings
from service.errors import FetchError, HostileDocumentError, InvalidInputError, StaycurrentError
from service.ingest.fetch import Fetcher, FetchLimits
from service.ingest.isolation import DocumentPool, too_many_attributes
from service.ingest.netguard import NetGuard, Resolver, build_transport
from service.ingest.probe import (
    ProbeReport,
    check_feed_url,
    guess_kind,
    probe_feed,
    vet_feed_address,
)
from service.ingest.prolog import clean_prolog
from service.records import Kind, Level
from service.storage.engine import Database
from service.storage.models import Source
from service.storage.source_registry import (
    MAX_NAME_CHARS,
    ImportCandidate,
    ImportOutcome,
    NewSource,
    create_source,
    import_sources,
    printable,
    url_key,
)
from service.storage.topics import topic_labels

MAX_FEEDS = 5000


def _safe_parser() -> etree.XMLParser:
    """No entities, no DTD, no network; recover from sloppy exports."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        recover=True,
    )


_PODCAST = re.compile(r"podcast", re.I)
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True, slots=True)
class OpmlOutline:
    """A feed outline as the file gives it, with the titles of the folders around it."""

    line: int | None
    title: str | None
    xml_url: str | None
    html_url: str | None
    folders: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class OpmlDocument:
    title: str | None
    outlines: tuple[OpmlOutline, ...]


# --------------------------------------------------------------------------- reading


def _attributes(element: etree._Element) -> dict[str, str]:
    refusal = too_many_attributes(element)
    if refusal is not None:
        raise InvalidInputError(f"not imported: {refusal.reason}")
    return {str(k).lower(): str(v) for k, v in element.attrib.items()}


def _label(attributes: Mapping[str, str]) -> str | None:
    for key in ("title", "text"):
        text = printable(attributes.get(key, ""), MAX_NAME_CHARS)
        if text:
            return text
    return None


def _categories(value: str) -> tuple[str, ...]:
    parts = re.split(r"[,/]", value)
    return tuple(p.strip() for p in parts if p.strip())


def _walk(element: etree._Element, folders: tuple[str, ...]) -> Iterator[OpmlOutline]:
    for child in element:
        if not isinstance(child.tag, str) or etree.QName(child).localname.lower() != "outline":
            continue
        attributes = _attributes(child)
        xml_url = attributes.get("xmlurl")
        if xml_url is not None or len(child) == 0:
            yield OpmlOutline(
                line=child.sourceline,
                title=_label(attributes),
                xml_url=xml_url,
                html_url=attributes.get("htmlurl"),
                folders=folders,
                categories=_categories(attributes.get("category", "")),
            )
        if len(child):
            yield from _walk(child, (*folders, _label(attributes) or ""))


def read_opml(body: bytes) -> OpmlDocument:
    """The outlines of an OPML document, or InvalidInputError saying why it is not one."""
    try:
        document = clean_prolog(body)
        root = etree.fromstring(document.data, _safe_parser())
    except (StaycurrentError, etree.XMLSyntaxError, ValueError) as exc:
        raise InvalidInputError(f"not an OPML document: {exc}") from None
    if root is None or not isinstance(root.tag, str):
        raise InvalidInputError("not an OPML document: it holds no XML element")
    if etree.QName(root).localname.lower() != "opml":
        raise InvalidInputError(f"not an OPML document: the root element is <{root.tag}>")
    body_element = next((e for e in root if _is(e, "body")), None)
    head = next((e for e in root if _is(e, "head")), None)
    title = next((e.text for e in head if _is(e, "title")), None) if head is not None else None
    outlines = tuple(_walk(body_element, ())) if body_element is not None else ()
    return OpmlDocument(title=printable(title or "", 500) or None, outlines=outlines)


def read_opml_isolated(body: bytes, *, budget_seconds: float) -> OpmlDocument:
    """``read_opml`` in a process of its own, stopped (and the file refused) past the budget."""
    with DocumentPool(processes=1, budget_seconds=budget_seconds) as pool:
        try:
            return pool.submit(read_opml, body).result()
        except HostileDocumentError as exc:
            raise InvalidInputError(f"not imported: {exc.reason}") from None


def _is(element: etree._Element, name: str) -> bool:
    return isinstance(element.tag, str) and etree.QName(element).localname.lower() == name


# --------------------------------------------------------------------------- planning (pure)


def _slug(text: str) -> str:
    return _NOT_SLUG.sub("-", text.lower()).strip("-")


def match_topics(names: Sequence[str], labels: Mapping[str, str]) -> tuple[str, ...]:
    """The taxonomy slugs that folder titles or categories name (by slug or by label)."""
    by_label = {label.casefold(): slug for slug, label in labels.items()}
    found: list[str] = []
    for name in names:
        slug = name.strip() if name.strip() in labels else _slug(name)
        match = slug if slug in labels else by_label.get(name.strip().casefold())
        if match and match not in found:
            found.append(match)
    return tuple(found)


def _kind_of(outline: OpmlOutline, url: str, kind: Kind | None, document_title: str) -> Kind:
    if kind is not None:
        return kind
    guessed = guess_kind(url)
    if guessed != "post":
        return guessed
    words = (document_title, *outline.folders, *outline.categories, outline.title or "")
    return "podcast" if any(_PODCAST.search(w) for w in words) else "post"


def _site(html_url: str | None, guard: NetGuard) -> str | None:
    if not html_url:
        return None
    try:
        return check_feed_url(html_url, guard)
    except FetchError:
        return None


def _default_name(url: str) -> str:
    parts = urlsplit(url)
    return printable(f"{parts.hostname}{parts.path}".rstrip("/"), MAX_NAME_CHARS) or "feed"


@dataclass(frozen=True, slots=True)
class Planned:
    """An outline and what to do with it: a candidate to add, or the reason it is refused."""

    outline: OpmlOutline
    candidate: ImportCandidate | None = None
    refusal: str = ""
    status: Literal["duplicate", "invalid"] = "invalid"  # of a refusal


def plan_outline(
    outline: OpmlOutline,
    labels: Mapping[str, str],
    *,
    guard: NetGuard,
    kind: Kind | None,
    level: Level,
    document_title: str = "",
) -> Planned:
    """What to do with one outline: the source to add, or why not."""
    if not outline.xml_url:
        return Planned(outline, refusal="not a feed: the outline has no xmlUrl")
    try:
        url = check_feed_url(outline.xml_url, guard)
    except FetchError as exc:
        return Planned(outline, refusal=exc.reason)
    candidate = ImportCandidate(
        url=url,
        name=outline.title or _default_name(url),
        kind=_kind_of(outline, url, kind, document_title),
        level=level,
        topics=match_topics((*outline.folders, *outline.categories), labels),
        site_url=_site(outline.html_url, guard),
    )
    return Planned(outline, candidate)


def _refuse_duplicates_within(plans: list[Planned]) -> list[Planned]:
    seen: dict[str, int | None] = {}
    out: list[Planned] = []
    for plan in plans:
        key = url_key(plan.candidate.url) if plan.candidate is not None else None
        if key is not None and key in seen:
            reason = f"listed twice in this file (first on line {seen[key]})"
            out.append(Planned(plan.outline, refusal=reason, status="duplicate"))
            continue
        if key is not None:
            seen[key] = plan.outline.line
        out.append(plan)
    return out


# --------------------------------------------------------------------------- the report


class OutlineResult(BaseModel):
    """What became of one outline."""

    line: int | None = Field(description="Its line in the file.")
    title: str | None
    url: str | None = Field(description="Its xmlUrl as written.")
    status: Literal["added", "duplicate", "invalid"]
    reason: str = Field(description="Why it is a duplicate or invalid; empty when added.")
    source_id: int | None = Field(description="The source added, or the one it duplicates.")
    name: str | None = Field(description="The source's name.")
    kind: str | None
    topics: list[str] = Field(description="Taxonomy topics from its folders and categories.")


class ImportReport(BaseModel):
    """An OPML import, outline by outline."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "title": "AI RSS Feeds",
                    "added": 1,
                    "duplicates": 1,
                    "invalid": 1,
                    "outlines": [
                        {
                            "line": 7,
                            "title": "Anthropic News",
                            "url": "https://example.org/anthropic-news.xml",
                            "status": "added",
                            "reason": "",
                            "source_id": 41,
                            "name": "Anthropic News",
                            "kind": "post",
                            "topics": ["safety-alignment"],
                        },
                        {
                            "line": 8,
                            "title": "The Batch",
                            "url": "https://example.org/the-batch.xml",
                            "status": "duplicate",
                            "reason": "already a source: 'The Batch'",
                            "source_id": 7,
                            "name": "The Batch",
                            "kind": None,
                            "topics": [],
                        },
                        {
                            "line": 9,
                            "title": "Intranet",
                            "url": "http://10.0.0.5/feed",
                            "status": "invalid",
                            "reason": "refused: 10.0.0.5 is a private address",
                            "source_id": None,
                            "name": None,
                            "kind": None,
                            "topics": [],
                        },
                    ],
                }
            ]
        }
    )

    title: str | None = Field(description="The OPML document's own title.")
    added: int
    duplicates: int
    invalid: int
    outlines: list[OutlineResult]


def _result(plan: Planned, outcome: ImportOutcome | None) -> OutlineResult:
    o, c = plan.outline, plan.candidate
    url = printable(o.xml_url or "", 2048) or None
    if outcome is None or c is None:
        return OutlineResult(
            line=o.line,
            title=o.title,
            url=url,
            status=plan.status,
            reason=plan.refusal,
            source_id=None,
            name=None,
            kind=None,
            topics=[],
        )
    added = outcome.status == "added"
    return OutlineResult(
        line=o.line,
        title=o.title,
        url=url,
        status=outcome.status,
        reason=outcome.reason,
        source_id=outcome.source_id,
        name=outcome.name,
        kind=c.kind if added else None,
        topics=list(c.topics) if added else [],
    )


def import_opml(
    db: Database,
    body: bytes,
    settings: Settings,
    *,
    kind: Kind | None = None,
    level: Level = "practitioner",
) -> ImportReport:
    """Read an OPML document (within the parse budget) and add every new feed in it, in one
    transaction."""
    guard = guard_of(settings)
    document = read_opml_isolated(body, budget_seconds=settings.parse_budget_seconds)
    feeds = sum(1 for o in document.outlines if o.xml_url)
    if feeds > MAX_FEEDS:
        raise InvalidInputError(f"the OPML lists {feeds} feeds; at most {MAX_FEEDS} per import")
    with db.session() as session:
        labels = topic_labels(session)
    plans = _refuse_duplicates_within(
        [
            plan_outline(
                o, labels, guard=guard, kind=kind, level=level, document_title=document.title or ""
            )
            for o in document.outlines
        ]
    )
    ready = [p.candidate for p in plans if p.candidate is not None]
    outcomes = iter(import_sources(db, ready))
    results = [_result(p, next(outcomes) if p.candidate else None) for p in plans]
    return ImportReport(
        title=document.title,
        added=sum(r.status == "added" for r in results),
        duplicates=sum(r.status == "duplicate" for r in results),
        invalid=sum(r.status == "invalid" for r in results),
        outlines=results,
    )


# --------------------------------------------------------------------------- one feed URL


@dataclass(frozen=True, slots=True)
class Subscribed:
    """A source added, and what probing its feed found (None: not probed)."""

    source: Source
    probe: ProbeReport | None


def guard_of(settings: Settings) -> NetGuard:
    return NetGuard(allow_all=settings.allow_private_networks)


async def subscribe(
    db: Database,
    settings: Settings,
    *,
    url: str,
    name: str | None,
    changes: Mapping[str, Any],
    probe: bool,
    resolver: Resolver,
    now: datetime,
) -> Subscribed:
    """Add the feed at ``url``: its address vetted (SSRF guard), probed once if asked (the
    source is added either way, no item stored), named after the feed's title unless ``name``;
    ``changes`` are the source's other fields (kind, level, topics, ...)."""
    guard = guard_of(settings)
    checked = await vetted_url(url, guard, resolver)
    report = await probe_url(checked, settings, guard, resolver, now) if probe else None
    new = new_source(checked, name, dict(changes), report)
    return Subscribed(await asyncio.to_thread(create_source, db, new), report)


async def vetted_url(url: str, guard: NetGuard, resolver: Resolver) -> str:
    """``url`` checked for shape and its host's addresses vetted; InvalidInputError otherwise."""
    try:
        checked = check_feed_url(url, guard)
        await vet_feed_address(checked, guard, resolver=resolver)
    except FetchError as exc:
        raise InvalidInputError(f"url: {exc.reason}") from exc
    return checked


async def probe_url(
    url: str, settings: Settings, guard: NetGuard, resolver: Resolver, now: datetime
) -> ProbeReport:
    transport = build_transport(guard, resolver=resolver)
    async with Fetcher(FetchLimits.from_settings(settings), guard=guard, transport=transport) as f:
        return await probe_feed(url, f, now=now)


def new_source(
    url: str, name: str | None, changes: dict[str, Any], report: ProbeReport | None
) -> NewSource:
    """The source to create: the probe's kind guess, title and site where nothing was given."""
    found = report if report is not None and report.ok else None
    if "kind" not in changes and found is not None and found.kind_guess is not None:
        changes["kind"] = found.kind_guess
    title = printable(found.title or "", 200) if found else ""
    site = found.site_url if found and found.site_url else None
    return NewSource(
        name=name or title or printable(url.split("://", 1)[-1], 200),
        url=url,
        changes=changes,
        origin="api",
        site_url=site if site and len(site) <= 2048 and site.isprintable() else None,
        feed_title=title or None,
        name_given=name is not None,
    )
