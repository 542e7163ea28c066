"""Cold start: seed a profile from what a reader already has; the seeds act as likes.

    arXiv ids | a BibTeX file | an OPML of blogs  --parse_* (pure)-->  Seeds
      --seed_profile-->  papers known here: a like each; OPML feeds known here: unmuted, and their
                         newest posts liked; the rest reported, one line each  -->  SeedReport

Used by ``staycurrent profile seed`` and ``POST /v1/profiles/me/seed`` alike. Papers are found by
arXiv id (any version, old-style ids too), then DOI, then title (``quotes.paper_key``); nothing is
fetched: a paper not in the database is reported as unknown, so the reader knows it will not count
until a source brings it. Input is bounded (``MAX_BYTES``, ``MAX_SEEDS``) and a malformed file is
refused with the line that broke it. The OPML is read by ``subscribe.read_opml_isolated`` (the
hardened reader of source imports); seeding adds no sources (that is an admin's import).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel
from sqlmodel import Session, col, select

from service.errors import InvalidInputError
from service.ingest.quotes import paper_key
from service.ingest.subscribe import read_opml_isolated
from service.storage.engine import Database
from service.storage.models import Item, ItemSource, Profile, Source
from service.storage.preferences import seed_likes
from service.storage.source_registry import url_key

MAX_BYTES = 1_000_000  # the API refuses larger bodies (413) before they reach here
MAX_SEEDS = 1000
POSTS_PER_FEED = 3  # an OPML feed known here: its newest posts are liked
OPML_BUDGET_SECONDS = 10.0
_CHUNK = 500
_NEW_ID = r"\d{4}\.\d{4,5}"
_OLD_ID = r"[a-z][a-z.-]*/\d{7}"
ARXIV_ID = re.compile(rf"^(?:arxiv:)?({_NEW_ID}|{_OLD_ID})(?:v\d+)?$", re.IGNORECASE)
ARXIV_IN_URL = re.compile(rf"arxiv\.org/(?:abs|pdf)/({_NEW_ID}|{_OLD_ID})", re.IGNORECASE)
_ENTRY = re.compile(r"@\s*([a-zA-Z]+)\s*[{(]")
_FIELD = re.compile(r"\s*([a-zA-Z_-]+)\s*=\s*", re.ASCII)


@dataclass(frozen=True, slots=True)
class PaperSeed:
    """One paper to like: found by arXiv id, else DOI, else title (``label`` says which line)."""

    label: str
    arxiv_id: str | None = None
    doi: str | None = None
    title: str | None = None


@dataclass(frozen=True, slots=True)
class Seeds:
    papers: tuple[PaperSeed, ...] = ()
    feeds: tuple[tuple[str, str], ...] = ()  # (label, feed url)
    problems: tuple[str, ...] = field(default_factory=tuple)  # entries that name nothing usable

    def count(self) -> int:
        return len(self.papers) + len(self.feeds)


def _bounded(text: str | bytes, what: str) -> None:
    if len(text) > MAX_BYTES:
        raise InvalidInputError(f"{what}: {len(text):,} bytes; at most {MAX_BYTES:,} per seeding")


def _checked(seeds: Seeds) -> Seeds:
    if seeds.count() > MAX_SEEDS:
        raise InvalidInputError(f"{seeds.count():,} seeds; at most {MAX_SEEDS:,} per seeding")
    if not seeds.count():
        raise InvalidInputError("nothing to seed from: no arXiv id, DOI, title or feed found")
    return seeds


def arxiv_id_of(text: str) -> str | None:
    """The versionless arXiv id in an id or an arXiv URL (None: none there)."""
    text = text.strip()
    found = ARXIV_ID.match(text) or ARXIV_IN_URL.search(text)
    return found.group(1).lower() if found else None


def parse_arxiv_list(text: str) -> Seeds:
    """Ids separated by commas, spaces or lines (``2405.01234``, ``arXiv:2405.01234v2``, URLs)."""
    _bounded(text, "the arXiv id list")
    words = [w for w in re.split(r"[\s,;]+", text) if w]
    if len(words) > MAX_SEEDS:
        raise InvalidInputError(f"{len(words):,} arXiv ids; at most {MAX_SEEDS:,} per seeding")
    papers, problems = [], []
    for word in words:
        found = arxiv_id_of(word)
        if found is None:
            problems.append(f"{word[:80]!r}: not an arXiv id")
        else:
            papers.append(PaperSeed(label=f"arXiv:{found}", arxiv_id=found))
    return _checked(Seeds(tuple(dict.fromkeys(papers)), (), tuple(problems)))


# --------------------------------------------------------------------------- BibTeX


def _line(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _closing(text: str, start: int) -> int:
    """The offset after what closes the ``{``, ``(`` or ``"`` at ``start`` (braces nest)."""
    opener, depth, index = text[start], 0, start + 1
    while index < len(text):
        char = text[index]
        if char == "\\":
            index += 2
            continue
        if char == "{":
            depth += 1
        elif char == "}":
            if depth == 0 and opener == "{":
                return index + 1
            depth -= 1
        elif depth == 0 and (opener, char) in {("(", ")"), ('"', '"')}:
            return index + 1
        index += 1
    raise InvalidInputError(f"not a BibTeX file: unbalanced braces from line {_line(text, start)}")


def _value(text: str, index: int) -> tuple[str, int]:
    """A field value at ``index``: ``{...}``, ``"..."`` or a bare word; and the offset after."""
    if index < len(text) and text[index] in '{"':
        end = _closing(text, index)
        return text[index + 1 : end - 1], end
    found = re.compile(r"[^,}\s]*").match(text, index)
    assert found is not None  # the pattern matches the empty string
    return found.group(0), found.end()


def _fields(body: str) -> dict[str, str]:
    """The fields of one entry's body (after its key); values without braces, on one line."""
    fields: dict[str, str] = {}
    index = body.find(",") + 1 if "," in body else len(body)
    while index < len(body):
        named = _FIELD.match(body, index)
        if named is None:
            break
        value, index = _value(body, named.end())
        fields[named.group(1).lower()] = " ".join(re.sub(r"[{}]", "", value).split())
        index = body.find(",", index) + 1 if "," in body[index:] else len(body)
    return fields


def _paper(fields: dict[str, str], label: str) -> PaperSeed | None:
    eprint = fields.get("eprint", "")
    arxiv = arxiv_id_of(eprint) if eprint else None
    for name in ("url", "arxiv", "note", "howpublished", "journal"):
        arxiv = arxiv or arxiv_id_of(fields.get(name, ""))
    doi = fields.get("doi", "").strip().lower().removeprefix("https://doi.org/") or None
    if (doi or "").startswith("10.48550/arxiv."):
        arxiv = arxiv or arxiv_id_of(doi.split("arxiv.", 1)[1] if doi else "")
    title = fields.get("title") or None
    if not (arxiv or doi or title):
        return None
    return PaperSeed(label=label, arxiv_id=arxiv, doi=doi, title=title)


def parse_bibtex(text: str) -> Seeds:
    """Every ``@article{…}``-like entry: its arXiv id (eprint, URL or arXiv DOI), DOI and title."""
    _bounded(text, "the BibTeX file")
    papers: list[PaperSeed] = []
    problems: list[str] = []
    index = 0
    entries = 0
    while (found := _ENTRY.search(text, index)) is not None:
        kind = found.group(1).lower()
        end = _closing(text, found.end() - 1)
        index = end
        if kind in {"comment", "string", "preamble"}:
            continue
        entries += 1
        if entries > MAX_SEEDS:
            raise InvalidInputError(f"more than {MAX_SEEDS:,} BibTeX entries; split the file")
        body = text[found.end() : end - 1]
        key = body.split(",", 1)[0].strip()[:80] or f"line {_line(text, found.start())}"
        paper = _paper(_fields(body), f"@{kind}{{{key}}}")
        if paper is None:
            problems.append(f"@{kind}{{{key}}}: no arXiv id, DOI or title")
        else:
            papers.append(paper)
    if not entries:
        raise InvalidInputError("not a BibTeX file: no @entry{…} found")
    return _checked(Seeds(tuple(papers), (), tuple(problems)))


def parse_opml(body: bytes) -> Seeds:
    """The feed URLs of an OPML document (read by the source import's hardened reader)."""
    _bounded(body, "the OPML file")
    document = read_opml_isolated(body, budget_seconds=OPML_BUDGET_SECONDS)
    feeds = tuple((o.title or o.xml_url, o.xml_url) for o in document.outlines if o.xml_url)
    if not feeds:
        raise InvalidInputError("the OPML lists no feed (no outline with an xmlUrl)")
    return _checked(Seeds((), tuple(dict.fromkeys(feeds)), ()))


# --------------------------------------------------------------------------- seeding


class SeedLine(BaseModel):
    seed: str  # what the input named (an arXiv id, a BibTeX key, a feed)
    status: str  # liked | already | unknown | subscribed | invalid
    item_id: int | None = None
    title: str | None = None
    note: str | None = None


class SeedReport(BaseModel):
    liked: int  # new likes recorded
    known: int  # seeds found here (papers and feeds)
    unknown: int  # seeds not found here
    invalid: int
    lines: list[SeedLine]


_Found = tuple[int, str]  # (item id, title)


def _lookup(session: Session, column: Any, values: set[str]) -> dict[str, _Found]:
    """value -> the first item (lowest id) whose ``column`` has it, in chunked ``IN`` queries."""
    found: dict[str, _Found] = {}
    ordered = sorted(values)
    for start in range(0, len(ordered), _CHUNK):
        rows = session.execute(
            sa.select(column, col(Item.id), col(Item.title))
            .where(column.in_(ordered[start : start + _CHUNK]))
            .order_by(col(Item.id))
        )
        for value, item_id, title in rows:
            found.setdefault(value, (item_id, title))
    return found


def _papers(session: Session, papers: Sequence[PaperSeed]) -> list[_Found | None]:
    """Each seed's item: by arXiv id, else DOI, else title key (three batched lookups)."""
    keys = [paper_key(p.title) if p.title else None for p in papers]
    by_arxiv = _lookup(session, col(Item.arxiv_id), {p.arxiv_id for p in papers if p.arxiv_id})
    by_doi = _lookup(session, sa.func.lower(col(Item.doi)), {p.doi for p in papers if p.doi})
    by_title = _lookup(session, col(Item.title_key), {k for k in keys if k})
    return [
        (by_arxiv.get(p.arxiv_id or "") or by_doi.get(p.doi or "") or by_title.get(key or ""))
        for p, key in zip(papers, keys, strict=True)
    ]


def _feeds(
    session: Session, feeds: Sequence[tuple[str, str]]
) -> list[tuple[Source, list[int]] | None]:
    """Each feed's source here (matched by URL key) and its newest posts' ids."""
    wanted = {url_key(url) for _, url in feeds}
    sources = {url_key(s.url): s for s in session.exec(select(Source)) if url_key(s.url) in wanted}
    found: list[tuple[Source, list[int]] | None] = []
    for _, url in feeds:
        source = sources.get(url_key(url))
        if source is None:
            found.append(None)
            continue
        items = session.execute(
            sa.select(col(ItemSource.item_id))
            .join(Item, col(Item.id) == col(ItemSource.item_id))
            .where(col(ItemSource.source_id) == source.id)
            .order_by(col(Item.published_at).desc(), col(Item.id).desc())
            .limit(POSTS_PER_FEED)
        )
        found.append((source, list(items.scalars())))
    return found


def _plan(session: Session, seeds: Seeds) -> tuple[list[SeedLine], list[int], set[int]]:
    """One line per seed, the item ids to like, the source ids to unmute."""
    lines = [SeedLine(seed=p.split(":", 1)[0], status="invalid", note=p) for p in seeds.problems]
    likes: list[int] = []
    sources: set[int] = set()
    for paper, item in zip(seeds.papers, _papers(session, seeds.papers), strict=True):
        if item is None:
            lines.append(SeedLine(seed=paper.label, status="unknown", title=paper.title))
            continue
        likes.append(item[0])
        lines.append(SeedLine(seed=paper.label, status="liked", item_id=item[0], title=item[1]))
    for (label, _url), feed in zip(seeds.feeds, _feeds(session, seeds.feeds), strict=True):
        if feed is None or feed[0].id is None:
            note = "not a source here (an admin can add it: staycurrent sources import)"
            lines.append(SeedLine(seed=label, status="unknown", note=note))
            continue
        sources.add(feed[0].id)
        likes.extend(feed[1])
        note = f"{len(feed[1])} newest posts liked"
        lines.append(SeedLine(seed=label, status="subscribed", title=feed[0].name, note=note))
    return lines, list(dict.fromkeys(likes)), sources


def seed_profile(db: Database, *, profile_id: int, seeds: Seeds, now: datetime) -> SeedReport:
    """Like every seed found here (one transaction); unmute the seeded feeds; report each seed."""
    with db.session() as session:  # found first, so the write is short
        lines, likes, sources = _plan(session, seeds)
    with db.write() as session:
        profile = session.get(Profile, profile_id)
        if profile is None:
            raise InvalidInputError(f"no profile has id {profile_id}")
        added = seed_likes(session, profile_id=profile_id, item_ids=likes, now=now)
        if sources & set(profile.muted_sources):
            profile.muted_sources = [s for s in profile.muted_sources if s not in sources]
            session.add(profile)
    for line in lines:
        if line.status == "liked" and line.item_id not in added:
            line.status = "already"
    return SeedReport(
        liked=len(added),
        known=sum(line.status in {"liked", "already", "subscribed"} for line in lines),
        unknown=sum(line.status == "unknown" for line in lines),
        invalid=sum(line.status == "invalid" for line in lines),
        lines=lines,
    )


def read_seeds(
    *, arxiv: str | Sequence[str] | None, bibtex: str | None, opml: bytes | None
) -> Seeds:
    """Exactly one of the three inputs, parsed."""
    given = [x for x in (arxiv, bibtex, opml) if x is not None]
    if len(given) != 1:
        raise InvalidInputError("give exactly one of arxiv, bibtex or opml")
    if arxiv is not None:
        return parse_arxiv_list(arxiv if isinstance(arxiv, str) else " ".join(_strs(arxiv)))
    if bibtex is not None:
        return parse_bibtex(bibtex)
    assert opml is not None
    return parse_opml(opml)


def _strs(values: Iterable[str]) -> list[str]:
    return [str(v) for v in values]
