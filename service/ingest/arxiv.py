"""arXiv papers from every format arXiv serves, and arXiv ids named in other items.

Formats read by ``arxiv_info``:

- current listings from rss.arxiv.org, RSS 2.0 and Atom: guid ``oai:arXiv.org:2411.01234v2``,
  ``arxiv:announce_type``, the description
  ``arXiv:2411.01234v2 Announce Type: replace Abstract: …``, categories with the primary first;
- old RSS 1.0 (RDF) listings: the link ``http://arxiv.org/abs/1805.08875`` and a title suffix
  ``(arXiv:1805.08875v1 [hep-ex] CROSS LISTED)`` giving version, primary category and type;
- export.arxiv.org API Atom: id ``http://arxiv.org/abs/1605.08386v1``, ``arxiv:primary_category``,
  ``arxiv:doi``, ``arxiv:journal_ref``, ``arxiv:comment``.

Identifiers are kept without version: new style ``2401.12345`` (4 digits after the dot up to
1412, 5 from 1501) and old style ``hep-th/9901001`` or ``math.GT/0309136``.
"""

from __future__ import annotations

import re
from typing import cast

from service.arxiv_categories import OLD_STYLE_ARCHIVES, is_arxiv_category
from service.records import AnnounceType, ArxivInfo, ParsedEntry

ANNOUNCE_TYPES: tuple[AnnounceType, ...] = ("new", "cross", "replace", "replace-cross")
_NEW_ID = r"\d{4}\.\d{4,5}(?!\d)"
_OLD_ID = r"[a-z]+(?:-[a-z]+)?(?:\.[A-Z]{2})?/\d{7}(?!\d)"
_ID = rf"(?P<id>{_NEW_ID}|{_OLD_ID})(?:v(?P<version>\d{{1,3}}))?"
_HOSTS = (
    r"(?:(?:www\.|export\.)?arxiv\.org/(?:abs|pdf|html|format|ps|ftp/arxiv/papers/\d{4})"
    r"|(?:ar5iv\.labs\.arxiv\.org|ar5iv\.org)/(?:abs|html)"
    r"|(?:www\.)?alphaxiv\.org/(?:abs|overview|pdf)"
    r"|(?:huggingface|hf)\.co/papers"
    r"|tldr\.takara\.ai/p"
    r"|(?:www\.)?paperswithcode\.com/(?:arxiv|paper/arxiv)"
    r"|(?:www\.)?semanticscholar\.org/arxiv"
    r"|papers\.cool/arxiv)"
)
_MARKERS = ("arxiv", "alphaxiv", "huggingface.co/papers", "hf.co/papers", "takara.ai/p")
_URL_ID = re.compile(rf"(?<![\w.-]){_HOSTS}/{_ID}", re.I)
# ``arXiv:`` in prose and in Semantic Scholar's API paths; arXiv's DOIs; an ``arxiv_id`` query.
_TEXT_ID = re.compile(
    rf"(?:(?<![\w/.-])|(?<=semanticscholar\.org/)|(?<=/paper/))arXiv:\s?{_ID}", re.I
)
_DOI_ID = re.compile(rf"(?<![\w.])10\.48550/arXiv\.{_ID}", re.I)
_QUERY_ID = re.compile(rf"[?&]arxiv_id={_ID}", re.I)
_OAI_ID = re.compile(rf"^oai:arXiv\.org:{_ID}$", re.I)
_EXACT_ID = re.compile(rf"^{_ID}$")
_PREFIX = re.compile(
    r"^\s*arXiv:\s?(?P<ident>\S+)\s+Announce Type:\s*(?P<type>[\w-]+)\s*(?:Abstract:\s*)?",
    re.I,
)
_OLD_TITLE = re.compile(
    rf"\s*\(arXiv:{_ID}\s*\[(?P<category>[\w.-]+)\](?P<flag>\s*[A-Z ]+?)?\s*\)\s*$"
)
_OLD_FLAGS: dict[str, AnnounceType] = {"CROSS LISTED": "cross", "UPDATED": "replace"}


def is_valid_id(arxiv_id: str) -> bool:
    """True for an arXiv identifier without version that could exist (month and archive checked)."""
    if "/" in arxiv_id:
        archive, number = arxiv_id.split("/", 1)
        return archive.split(".")[0] in OLD_STYLE_ARCHIVES and _plausible_month(
            number[:4], old=True
        )
    yymm, _, number = arxiv_id.partition(".")
    if not _plausible_month(yymm, old=False):
        return False
    return len(number) == (4 if yymm < "1501" else 5)


def _plausible_month(yymm: str, *, old: bool) -> bool:
    if len(yymm) != 4 or not yymm.isdigit() or not 1 <= int(yymm[2:]) <= 12:
        return False
    year = int(yymm[:2])
    return (year >= 91 or year <= 7) if old else year >= 7 and yymm >= "0704"


def split_id(text: str) -> tuple[str, int | None] | None:
    """``2401.12345v2`` -> (``2401.12345``, 2); None when ``text`` is not an arXiv id."""
    match = _EXACT_ID.match(text.strip())
    if match is None or not is_valid_id(match.group("id")):
        return None
    version = match.group("version")
    return match.group("id"), int(version) if version else None


def extract_arxiv_ids(text: str) -> tuple[str, ...]:
    """The arXiv ids (without version, in order of first mention) that ``text`` links or names.

    Only links and prefixed identifiers count, never a bare ``1234.5678`` in prose: arxiv.org
    abs/pdf/html/ps/ftp (any version, export. and www.), ar5iv, alphaxiv, huggingface.co/papers,
    tldr.takara.ai/p, paperswithcode, semanticscholar.org/arxiv and its API's ``arXiv:`` paths,
    papers.cool, ``doi.org/10.48550/arXiv.<id>``, ``?arxiv_id=<id>`` and ``arXiv:<id>`` in text;
    new-style and old-style (``hep-th/9901001``, ``cs/0112017``) identifiers.
    """
    lowered = text.lower()
    if not any(marker in lowered for marker in _MARKERS):
        return ()  # most texts name no paper: skip the two scans
    found: dict[str, int] = {}
    for pattern in (_URL_ID, _TEXT_ID, _DOI_ID, _QUERY_ID):
        for match in pattern.finditer(text):
            arxiv_id = match.group("id")
            if is_valid_id(arxiv_id):
                found.setdefault(arxiv_id, match.start())
    return tuple(sorted(found, key=found.__getitem__))


def abs_url(arxiv_id: str) -> str:
    return f"https://arxiv.org/abs/{arxiv_id}"


def pdf_url(arxiv_id: str, version: int | None = None) -> str:
    return f"https://arxiv.org/pdf/{arxiv_id}" + (f"v{version}" if version else "")


def strip_listing_prefix(summary: str) -> str:
    """The abstract alone: without ``arXiv:… Announce Type: … Abstract:``."""
    return _PREFIX.sub("", summary, count=1)


def strip_old_title_suffix(title: str) -> str:
    """An old RDF listing title without its ``(arXiv:1805.08875v1 [hep-ex] UPDATED)`` tail."""
    return _OLD_TITLE.sub("", title)


def has_arxiv_markers(entry: ParsedEntry) -> bool:
    """True when the entry comes from arXiv itself (listing or API), not a page linking a paper."""
    return bool(
        entry.arxiv_announce_type
        or entry.arxiv_primary_category
        or (entry.guid and _OAI_ID.match(entry.guid))
        or _OLD_TITLE.search(entry.title)
    )


def arxiv_info(entry: ParsedEntry) -> ArxivInfo | None:
    """What the entry says about its arXiv paper, in any of the three formats; else None."""
    identity = _identity(entry)
    if identity is None:
        return None
    arxiv_id, version = identity
    old_title = _OLD_TITLE.search(entry.title)
    prefix = _PREFIX.match(entry.summary)
    version = version or _version_from(old_title, prefix)
    categories = tuple(term for term in entry.terms if is_arxiv_category(term))
    primary = _primary_category(entry, categories, old_title)
    if primary and primary not in categories:
        categories = (primary, *categories)
    return ArxivInfo(
        arxiv_id=arxiv_id,
        version=version,
        categories=categories,
        primary_category=primary,
        announce_type=_announce_type(entry, prefix, old_title),
        abs_url=abs_url(arxiv_id),
        pdf_url=pdf_url(arxiv_id, version),
        doi=entry.arxiv_doi,
        journal_ref=entry.arxiv_journal_ref,
        comments=entry.arxiv_comment,
    )


def _identity(entry: ParsedEntry) -> tuple[str, int | None] | None:
    """Id and version from the guid (oai: or abs URL), then the links, then the summary prefix."""
    candidates = [entry.guid or "", entry.link or "", *entry.links]
    for candidate in candidates:
        oai = _OAI_ID.match(candidate)
        match = oai or _URL_ID.search(candidate)
        if match and is_valid_id(match.group("id")):
            version = match.group("version")
            return match.group("id"), int(version) if version else None
    prefix = _PREFIX.match(entry.summary)
    return split_id(prefix.group("ident").removeprefix("arXiv:")) if prefix else None


def _version_from(old_title: re.Match[str] | None, prefix: re.Match[str] | None) -> int | None:
    if old_title and old_title.group("version"):
        return int(old_title.group("version"))
    if prefix:
        parts = split_id(prefix.group("ident"))
        return parts[1] if parts else None
    return None


def _primary_category(
    entry: ParsedEntry, categories: tuple[str, ...], old_title: re.Match[str] | None
) -> str | None:
    """Explicit (API) first, then the old title's bracket, then the listing's first category."""
    explicit = entry.arxiv_primary_category
    if explicit and is_arxiv_category(explicit):
        return explicit
    if old_title and is_arxiv_category(old_title.group("category")):
        return old_title.group("category")
    return categories[0] if categories else None


def _announce_type(
    entry: ParsedEntry, prefix: re.Match[str] | None, old_title: re.Match[str] | None
) -> AnnounceType | None:
    for value in (entry.arxiv_announce_type, prefix.group("type") if prefix else None):
        if value and value.strip().lower() in ANNOUNCE_TYPES:
            return cast(AnnounceType, value.strip().lower())
    if old_title:
        return _OLD_FLAGS.get((old_title.group("flag") or "").strip(), "new")
    return None
