"""Full-text search over items: title, summary and authors, on SQLite and on PostgreSQL alike.

The index is kept current by the database itself (migration 0001): on SQLite an FTS5 table
``item_fts`` (external content on ``item``, triggers on insert, update and delete); on PostgreSQL
the generated column ``item.search_vector`` (title weight A, authors B, summary C) with a GIN index.
Nothing in the ingest path has to remember it.

User text never reaches either query language as syntax. ``parse_query`` reads a small
web-search syntax — words, ``"quoted phrases"``, ``-excluded`` words, ``or`` — keeping only word
characters of each term; the result is rebuilt as an FTS5 expression of quoted phrases (SQLite),
or as clean ``websearch_to_tsquery`` input per alternative (PostgreSQL). The last bare word also
matches as a prefix (``transf`` finds "transformer"). A query with nothing searchable matches
nothing.

``search_items`` is the one entry point, in two orders:

- ``newest``: every match, keyset-paged on (published_at, id) like the plain listing;
- ``relevance``: the ``RELEVANCE_WINDOW`` most recently stored matches (after the filters), ranked
  by BM25 (SQLite, title 10 : authors 5 : summary 2) or ``ts_rank`` (PostgreSQL). Ranking cost
  grows with the window, never with how common a term is. A page returns the best ``limit`` of the
  window and the ids of the window still to show; the next page ranks only those, so every item
  of the window appears exactly once however the data changes in between.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import reduce
from typing import Literal

import sqlalchemy as sa
from sqlmodel import Session, col

from service.storage.models import Item
from service.storage.views import (
    Cursor,
    ItemFilter,
    ItemView,
    item_conditions,
    items_by_id,
    list_items,
)

SearchOrder = Literal["newest", "relevance"]
RELEVANCE_WINDOW = 200
MAX_TERMS = 16
MIN_PREFIX_CHARS = 3
BM25_WEIGHTS = (10.0, 2.0, 5.0)  # title, summary_text, authors_text: the FTS5 column order
TS_CONFIG = "english"  # the configuration the generated search_vector column uses

_TOKEN = re.compile(r'(-?)"([^"]*)"?|(\S+)')
_WORD = re.compile(r"\w+")
_FTS = sa.table("item_fts", sa.column("rowid", sa.Integer))
_SEARCH_VECTOR: sa.ColumnElement[object] = sa.literal_column("item.search_vector")


@dataclass(frozen=True, slots=True)
class Term:
    """One search term: a word or a phrase (its words in order), maybe matched as a prefix."""

    words: tuple[str, ...]
    prefix: bool = False
    quoted: bool = False


@dataclass(frozen=True, slots=True)
class TextQuery:
    """Parsed search text: any of the ``alternatives`` (each: all its terms), minus ``excluded``."""

    alternatives: tuple[tuple[Term, ...], ...] = ()
    excluded: tuple[Term, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not self.alternatives


@dataclass(frozen=True, slots=True)
class SearchPage:
    """One page of results; ``remaining`` is the rest of a relevance window (ids, ascending)."""

    items: list[ItemView]
    more: bool
    remaining: tuple[int, ...] = ()


# --------------------------------------------------------------------------- parsing (pure)


def _term(raw: str, *, quoted: bool) -> Term | None:
    words = tuple(w.lower() for w in _WORD.findall(raw))
    return Term(words, quoted=quoted) if words else None


def _with_prefix(group: list[Term]) -> list[Term]:
    last = group[-1]
    if last.quoted or len(last.words) != 1 or len(last.words[0]) < MIN_PREFIX_CHARS:
        return group
    return [*group[:-1], Term(last.words, prefix=True)]


def parse_query(text: str) -> TextQuery:
    """Read web-search syntax into terms; never fails (what is not a word is ignored)."""
    groups: list[list[Term]] = [[]]
    excluded: list[Term] = []
    ends_with_word = False
    for match in _TOKEN.finditer(text):
        negated, phrase, bare = match.group(1), match.group(2), match.group(3)
        ends_with_word = False
        if bare is not None and bare.lower() == "or":
            groups.append([])
            continue
        if bare is not None and bare.startswith("-") and len(bare) > 1:
            negated, bare = "-", bare[1:]
        term = _term(phrase if phrase is not None else bare, quoted=phrase is not None)
        if term is None or len(excluded) + sum(map(len, groups)) >= MAX_TERMS:
            continue
        (excluded if negated else groups[-1]).append(term)
        ends_with_word = not negated and not term.quoted
    kept = [g for g in groups if g]
    if kept and ends_with_word and groups[-1]:
        kept[-1] = _with_prefix(kept[-1])
    return TextQuery(tuple(tuple(g) for g in kept), tuple(excluded))


def _fts_phrase(term: Term) -> str:
    return '"' + " ".join(term.words) + '"' + (" *" if term.prefix else "")


def fts5_expression(query: TextQuery) -> str | None:
    """The FTS5 MATCH expression: quoted phrases joined by AND / OR / NOT; None when empty."""
    if query.is_empty:
        return None
    alternatives = " OR ".join(
        "(" + " AND ".join(_fts_phrase(t) for t in group) + ")" for group in query.alternatives
    )
    if not query.excluded:
        return alternatives
    return f"({alternatives}) NOT (" + " OR ".join(_fts_phrase(t) for t in query.excluded) + ")"


def _web_term(term: Term) -> str:
    return '"' + " ".join(term.words) + '"' if len(term.words) > 1 else term.words[0]


@dataclass(frozen=True, slots=True)
class WebGroup:
    """One alternative for PostgreSQL: ``websearch_to_tsquery`` text and a prefix word."""

    text: str
    prefix: str | None = None


def websearch_groups(query: TextQuery) -> tuple[tuple[WebGroup, ...], str]:
    """The alternatives as clean ``websearch_to_tsquery`` input (each with its prefix word, if
    any), and the excluded terms as one more such text (any of them excludes)."""
    groups = tuple(
        WebGroup(
            " ".join(_web_term(t) for t in group if not t.prefix),
            next((t.words[0] for t in group if t.prefix), None),
        )
        for group in query.alternatives
    )
    return groups, " or ".join(_web_term(t) for t in query.excluded)


# --------------------------------------------------------------------------- SQL


def _sqlite_match(expression: str) -> sa.ColumnElement[bool]:
    return sa.literal_column("item_fts").op("MATCH")(expression)


def _group_tsquery(group: WebGroup) -> sa.ColumnElement[object]:
    parts: list[sa.ColumnElement[object]] = []
    if group.text:
        parts.append(sa.func.websearch_to_tsquery(TS_CONFIG, group.text))
    if group.prefix is not None:
        # the word holds only word characters, so ``word:*`` is a valid to_tsquery input
        parts.append(sa.func.to_tsquery(TS_CONFIG, group.prefix + ":*"))
    return reduce(sa.func.tsquery_and, parts)


def _tsquery(query: TextQuery) -> sa.ColumnElement[object]:
    groups, excluded = websearch_groups(query)
    wanted = reduce(sa.func.tsquery_or, [_group_tsquery(g) for g in groups])
    if not excluded:
        return wanted
    unwanted = sa.func.tsquery_not(sa.func.websearch_to_tsquery(TS_CONFIG, excluded))
    return sa.func.tsquery_and(wanted, unwanted)


def text_match(session: Session, query: TextQuery) -> sa.ColumnElement[bool]:
    """A condition on ``item``: the item matches ``query`` (false for an empty query)."""
    if query.is_empty:
        return sa.false()
    if _is_sqlite(session):
        expression = fts5_expression(query)
        matching = sa.select(_FTS.c.rowid).where(_sqlite_match(str(expression)))
        return col(Item.id).in_(matching)
    return _SEARCH_VECTOR.op("@@")(_tsquery(query))


def _is_sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def _window(session: Session, query: TextQuery, f: ItemFilter, size: int) -> list[int]:
    """The ids of the ``size`` most recently stored items that match and pass the filters."""
    if _is_sqlite(session):
        stmt = (
            sa.select(col(Item.id))
            .select_from(_FTS.join(Item.__table__, col(Item.id) == _FTS.c.rowid))  # type: ignore[attr-defined]
            .where(_sqlite_match(str(fts5_expression(query))), *item_conditions(f))
            .order_by(_FTS.c.rowid.desc())
        )
    else:
        stmt = (
            sa.select(col(Item.id))
            .where(text_match(session, query), *item_conditions(f))
            .order_by(col(Item.id).desc())
        )
    return [int(i) for i in session.execute(stmt.limit(size)).scalars()]


def _scores(session: Session, query: TextQuery, ids: Sequence[int]) -> dict[int, float]:
    """Relevance of each of ``ids`` that still matches (higher is better).

    On SQLite the ids are reached through a rowid range (which FTS5 walks cheaply) and kept by a
    membership test it cannot use as an index (``rowid + 0``): asked for ``rowid IN (...)`` it
    would run the whole MATCH once per id, seconds for a common term.
    """
    if not ids:
        return {}
    if _is_sqlite(session):
        bm25 = sa.func.bm25(sa.literal_column("item_fts"), *BM25_WEIGHTS)
        stmt = sa.select(_FTS.c.rowid, -bm25).where(
            _sqlite_match(str(fts5_expression(query))),
            _FTS.c.rowid.between(min(ids), max(ids)),
            (_FTS.c.rowid + 0).in_(ids),
        )
    else:
        tsquery = _tsquery(query)
        stmt = sa.select(col(Item.id), sa.func.ts_rank(_SEARCH_VECTOR, tsquery)).where(
            col(Item.id).in_(ids), _SEARCH_VECTOR.op("@@")(tsquery)
        )
    return {int(i): float(score) for i, score in session.execute(stmt)}


def _relevance_page(
    session: Session,
    query: TextQuery,
    f: ItemFilter,
    *,
    limit: int,
    remaining: Sequence[int] | None,
) -> SearchPage:
    ids = _window(session, query, f, RELEVANCE_WINDOW) if remaining is None else remaining
    scores = _scores(session, query, ids)
    ranked = sorted(scores, key=lambda i: (-scores[i], -i))
    page, rest = ranked[:limit], ranked[limit:]
    return SearchPage(items_by_id(session, page), more=bool(rest), remaining=tuple(sorted(rest)))


def search_items(
    session: Session,
    text: str,
    f: ItemFilter,
    *,
    order: SearchOrder = "relevance",
    limit: int = 20,
    after: Cursor | None = None,
    remaining: Sequence[int] | None = None,
) -> SearchPage:
    """Items matching ``text`` and ``f``: newest first (resume ``after``), or by relevance
    (resume with the ``remaining`` ids of the previous page)."""
    query = parse_query(text)
    if query.is_empty:
        return SearchPage([], more=False)
    if order == "relevance":
        return _relevance_page(session, query, f, limit=limit, remaining=remaining)
    found = list_items(session, f, limit=limit + 1, after=after, extra=[text_match(session, query)])
    return SearchPage(found[:limit], more=len(found) > limit)
