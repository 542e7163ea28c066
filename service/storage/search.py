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
  inside the database in one statement: BM25 of the FTS5 index (SQLite, column weights title 10 :
  authors 5 : summary 2) or ``ts_rank`` over the GIN-matched rows (PostgreSQL, the same weights on
  the A / B / C labels of ``search_vector``). Ranking cost grows with the window, never with how
  common a term is. A page returns the best ``limit`` of the window and the ids of the window still
  to show; the next page ranks only those, so every item of the window appears exactly once
  however the data changes in between.

Each item of a page comes with a snippet: a passage of its summary with the matched words between
``MARK_START`` and ``MARK_END`` (FTS5 ``snippet()``, PostgreSQL ``ts_headline``), computed for the
page's items only, after the page is cut.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import reduce
from typing import Any, Literal

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
# ts_rank's weights for the labels D, C (summary), B (authors), A (title): BM25_WEIGHTS, scaled
_TITLE, _SUMMARY, _AUTHORS = BM25_WEIGHTS
TS_WEIGHTS = f"{{0.1, {_SUMMARY / _TITLE}, {_AUTHORS / _TITLE}, 1.0}}"
MARK_START, MARK_END = "\ue000", "\ue001"  # around matched words in snippets (private use)
SNIPPET_TOKENS = 24  # words of context in a snippet (FTS5); PostgreSQL: MaxWords below
_HEADLINE_OPTIONS = (
    f"StartSel={MARK_START}, StopSel={MARK_END}, MinWords=12, MaxWords={SNIPPET_TOKENS}, "
    'MaxFragments=2, FragmentDelimiter=" … "'
)
_SUMMARY_COLUMN = 1  # the FTS5 column snippets are cut from

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
    """One page of results; ``remaining`` is the rest of a relevance window (ids, ascending);
    ``snippets``: item id -> a passage with the matched words marked (``MARK_START`` ...)."""

    items: list[ItemView]
    more: bool
    remaining: tuple[int, ...] = ()
    snippets: Mapping[int, str] = field(default_factory=dict)


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


def _rowid_among(
    ids: Sequence[int] | sa.Select[Any], low: object, high: object
) -> list[sa.ColumnElement[bool]]:
    """FTS5 rows among ``ids``: reached through a rowid range (which FTS5 walks cheaply) and kept
    by a membership test it cannot use as an index (``rowid + 0``): asked for ``rowid IN (...)``
    it would run the whole MATCH once per id, seconds for a common term."""
    return [_FTS.c.rowid.between(low, high), (_FTS.c.rowid + 0).in_(ids)]


def _ranked_sqlite(
    query: TextQuery, f: ItemFilter, remaining: Sequence[int] | None
) -> sa.Select[Any]:
    match = _sqlite_match(str(fts5_expression(query)))
    bm25 = sa.func.bm25(sa.literal_column("item_fts"), *BM25_WEIGHTS)
    if remaining is not None:
        among = _rowid_among(remaining, min(remaining), max(remaining))
    else:
        window = (
            sa.select(_FTS.c.rowid.label("id"))
            .select_from(_FTS.join(Item.__table__, col(Item.id) == _FTS.c.rowid))  # type: ignore[attr-defined]
            .where(match, *item_conditions(f))
            .order_by(_FTS.c.rowid.desc())
            .limit(RELEVANCE_WINDOW)
            .cte("search_window")
        )
        low = sa.select(sa.func.min(window.c.id)).scalar_subquery()
        high = sa.select(sa.func.max(window.c.id)).scalar_subquery()
        among = _rowid_among(sa.select(window.c.id), low, high)
    return sa.select(_FTS.c.rowid).where(match, *among).order_by(bm25, _FTS.c.rowid.desc())


def _ranked_postgres(
    query: TextQuery, f: ItemFilter, remaining: Sequence[int] | None
) -> sa.Select[Any]:
    tsquery = _tsquery(query)
    matching = _SEARCH_VECTOR.op("@@")(tsquery)
    if remaining is not None:
        among: sa.ColumnElement[bool] = sa.and_(col(Item.id).in_(remaining), matching)
    else:
        window = (
            sa.select(col(Item.id))
            .where(matching, *item_conditions(f))
            .order_by(col(Item.id).desc())
            .limit(RELEVANCE_WINDOW)
            .cte("search_window")
        )
        among = col(Item.id).in_(sa.select(window.c.id))
    weights: sa.ColumnElement[object] = sa.literal_column(f"'{TS_WEIGHTS}'::real[]")
    rank = sa.func.ts_rank(weights, _SEARCH_VECTOR, tsquery)
    return sa.select(col(Item.id)).where(among).order_by(rank.desc(), col(Item.id).desc())


def ranked_window(
    session: Session, query: TextQuery, f: ItemFilter, remaining: Sequence[int] | None = None
) -> list[int]:
    """The window's ids, best first, ranked by the database in one statement: the
    ``RELEVANCE_WINDOW`` newest matches passing ``f``, or ``remaining`` (those still matching)."""
    build = _ranked_sqlite if _is_sqlite(session) else _ranked_postgres
    return [int(i) for i in session.execute(build(query, f, remaining)).scalars()]


def snippets(session: Session, query: TextQuery, ids: Sequence[int]) -> dict[int, str]:
    """A passage of each item's summary with the matched words between ``MARK_START`` and
    ``MARK_END`` (items with an empty summary are left out); for a page's ids only."""
    if not ids or query.is_empty:
        return {}
    if _is_sqlite(session):
        snippet = sa.func.snippet(
            sa.literal_column("item_fts"),
            _SUMMARY_COLUMN,
            MARK_START,
            MARK_END,
            "…",
            SNIPPET_TOKENS,
        )
        stmt = sa.select(_FTS.c.rowid, snippet).where(
            _sqlite_match(str(fts5_expression(query))),
            *_rowid_among(ids, min(ids), max(ids)),
        )
    else:
        headline = sa.func.ts_headline(
            TS_CONFIG, col(Item.summary_text), _tsquery(query), _HEADLINE_OPTIONS
        )
        stmt = sa.select(col(Item.id), headline).where(col(Item.id).in_(ids))
    return {int(i): text for i, text in session.execute(stmt) if text}


def _relevance_page(
    session: Session,
    query: TextQuery,
    f: ItemFilter,
    *,
    limit: int,
    remaining: Sequence[int] | None,
) -> SearchPage:
    ranked = ranked_window(session, query, f, remaining)
    page, rest = ranked[:limit], ranked[limit:]
    return SearchPage(
        items_by_id(session, page),
        more=bool(rest),
        remaining=tuple(sorted(rest)),
        snippets=snippets(session, query, page),
    )


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
    page = found[:limit]
    shown = [view.item.id for view in page if view.item.id is not None]
    return SearchPage(page, more=len(found) > limit, snippets=snippets(session, query, shown))
