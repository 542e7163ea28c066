"""Full-text search: the query parser (pure), its FTS5 and tsquery forms against the real engines,
and search over items ingested through the pipeline, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import sqlalchemy as sa
from clikit import cli_on
from feedgen import Paper, arxiv_listing
from hypothesis import given
from hypothesis import strategies as st

from service.catalog import load_catalog
from service.ingest.pipeline import Pipeline
from service.ingest.tag import Tagger
from service.outputs.schemas import snippet_html
from service.records import SourceForUpdate
from service.storage import search
from service.storage.catalog import sync_taxonomy
from service.storage.engine import Database
from service.storage.search import (
    Term,
    TextQuery,
    WebGroup,
    fts5_expression,
    parse_query,
    search_items,
    websearch_groups,
)
from service.storage.sources import add_source, for_update
from service.storage.views import ItemFilter

ROOT = Path(__file__).resolve().parent.parent
TAXONOMY = load_catalog(ROOT / "feeds.yaml").taxonomy
HOSTILE = ['"', "*", "NEAR", "AND", ":", "NEAR(a b)", "title:x", "^x", "-", "a OR", "(((", "'"]
HOSTILE += ["\\", "a AND NOT b", '"unclosed phrase', "-only -negations", "x* y*", "{title}: x"]
HOSTILE += ["\x00", "%_", "😀", "a" * 200, "or or or", "-", "--x", "&|!<->:*"]


# --------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", TextQuery()),
        ("   ", TextQuery()),
        ("*", TextQuery()),
        ("a", TextQuery(((Term(("a",)),),))),
        ("transf", TextQuery(((Term(("transf",), prefix=True),),))),
        ("Diffusion Models", TextQuery(((Term(("diffusion",)), Term(("models",), prefix=True)),))),
        ('"mixture of experts"', TextQuery(((Term(("mixture", "of", "experts"), quoted=True),),))),
        ("rlhf -survey", TextQuery(((Term(("rlhf",)),),), (Term(("survey",)),))),
        ("gan or vae", TextQuery(((Term(("gan",)),), (Term(("vae",), prefix=True),)))),
        ("NEAR", TextQuery(((Term(("near",), prefix=True),),))),
        ("title:attention", TextQuery(((Term(("title", "attention"), prefix=False),),))),
        ("a:b", TextQuery(((Term(("a", "b")),),))),
        ('"unclosed phrase', TextQuery(((Term(("unclosed", "phrase"), quoted=True),),))),
    ],
)
def test_parse_query(text: str, expected: TextQuery) -> None:
    assert parse_query(text) == expected


@pytest.mark.parametrize(
    ("text", "fts5", "groups", "excluded"),
    [
        ("diffusion", '("diffusion" *)', [WebGroup("", "diffusion")], ""),
        ("diffusion model", '("diffusion" AND "model" *)', [WebGroup("diffusion", "model")], ""),
        (
            '"flow matching" -survey -gan',
            '(("flow matching")) NOT ("survey" OR "gan")',
            [WebGroup('"flow matching"')],
            "survey or gan",
        ),
        (
            "gan or vae x",
            '("gan") OR ("vae" AND "x")',
            [WebGroup("gan"), WebGroup("vae x")],
            "",
        ),
        (
            "rlhf or translation",
            '("rlhf") OR ("translation" *)',
            [WebGroup("rlhf"), WebGroup("", "translation")],
            "",
        ),
        ("NEAR AND", '("near" AND "and" *)', [WebGroup("near", "and")], ""),
    ],
)
def test_query_forms(text: str, fts5: str, groups: list[WebGroup], excluded: str) -> None:
    query = parse_query(text)
    assert fts5_expression(query) == fts5
    assert websearch_groups(query) == (tuple(groups), excluded)


def test_a_term_is_never_more_than_words() -> None:
    query = parse_query('NEAR("a" b) AND c* OR {title}:d ^e')
    for group in query.alternatives:
        for term in group:
            assert all(word.isalnum() or "_" in word for word in term.words)


def test_the_number_of_terms_is_bounded() -> None:
    query = parse_query(" ".join(f"w{i}" for i in range(100)))
    assert sum(len(g) for g in query.alternatives) == search.MAX_TERMS


@pytest.fixture(scope="module")
def fts5() -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(":memory:")
    connection.execute(
        "CREATE VIRTUAL TABLE t USING fts5(a, b, tokenize='porter unicode61 remove_diacritics 2')"
    )
    connection.execute("INSERT INTO t VALUES ('near and or not', 'title: x * y')")
    yield connection
    connection.close()


@given(st.text(max_size=80))
def test_any_text_is_a_valid_fts5_query(fts5: sqlite3.Connection, text: str) -> None:
    expression = fts5_expression(parse_query(text))
    if expression is not None:
        fts5.execute("SELECT rowid FROM t WHERE t MATCH ?", (expression,)).fetchall()


# --------------------------------------------------------------------------- on both databases

PAPERS = [
    Paper(
        "2611.10001",
        "Sparse Mixture of Experts for Translation",
        abstract="We route tokens to experts and measure translation quality.",
        authors=("Grace Hopper", "Edsger Dijkstra"),
    ),
    Paper(
        "2611.10002",
        "Diffusion Models Without Noise Schedules",
        abstract="A denoising approach where the schedule is learned; it mentions experts once.",
        authors=("Barbara Liskov",),
    ),
    Paper(
        "2611.10003",
        "Reward Models for RLHF",
        abstract="Preference data and reward modeling for alignment of language models.",
        authors=("Ada Lovelace", "Alan Turing"),
    ),
]


@pytest.fixture
def ingest(db: Database) -> tuple[Pipeline, SourceForUpdate]:
    with db.write() as s:
        sync_taxonomy(s, TAXONOMY)
        source = for_update(
            add_source(s, name="arXiv cs.LG", url="https://rss.arxiv.org/rss/cs.LG", kind="paper")
        )
    return Pipeline(db=db, tagger=Tagger(TAXONOMY)), source


def _titles(db: Database, text: str, **options: object) -> list[str]:
    with db.session() as s:
        page = search_items(s, text, ItemFilter(), limit=100, **options)  # type: ignore[arg-type]
        return [view.item.title for view in page.items]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mixture experts", {"Sparse Mixture of Experts for Translation"}),  # title words
        ("denoising", {"Diffusion Models Without Noise Schedules"}),  # summary word
        ("Liskov", {"Diffusion Models Without Noise Schedules"}),  # an author's name
        ("grace hopper", {"Sparse Mixture of Experts for Translation"}),  # a full name
        ('"reward modeling"', {"Reward Models for RLHF"}),  # a phrase
        ("transl", {"Sparse Mixture of Experts for Translation"}),  # the last word as a prefix
        ("models", {"Diffusion Models Without Noise Schedules", "Reward Models for RLHF"}),
        ("models -diffusion", {"Reward Models for RLHF"}),  # an exclusion
        (
            "rlhf or translation",
            {"Reward Models for RLHF", "Sparse Mixture of Experts for Translation"},
        ),
        ("quantum", set()),
    ],
)
def test_search_finds_ingested_items_by_title_summary_and_authors(
    db: Database, ingest: tuple[Pipeline, SourceForUpdate], text: str, expected: set[str]
) -> None:
    pipeline, source = ingest
    pipeline.ingest_bytes(source, arxiv_listing("cs.LG", PAPERS))
    for order in ("relevance", "newest"):
        assert set(_titles(db, text, order=order)) == expected, order


def test_an_updated_item_is_found_by_its_new_words_only(
    db: Database, ingest: tuple[Pipeline, SourceForUpdate]
) -> None:
    pipeline, source = ingest
    source = replace(source, content_hash=None)
    pipeline.ingest_bytes(source, arxiv_listing("cs.LG", PAPERS))
    revised = replace(
        PAPERS[0],
        version=2,
        title="Sparse Routing for Translation",
        abstract="Tokens go to specialists.",
    )
    pipeline.ingest_bytes(source, arxiv_listing("cs.LG", [revised, *PAPERS[1:]]))
    assert _titles(db, "specialists") == ["Sparse Routing for Translation"]
    assert _titles(db, "mixture") == []
    assert _titles(db, "experts") == ["Diffusion Models Without Noise Schedules"]


def test_a_title_match_ranks_above_a_summary_match(
    db: Database, ingest: tuple[Pipeline, SourceForUpdate]
) -> None:
    pipeline, source = ingest
    pipeline.ingest_bytes(source, arxiv_listing("cs.LG", PAPERS))
    ranked = _titles(db, "experts", order="relevance")
    assert ranked == [
        "Sparse Mixture of Experts for Translation",
        "Diffusion Models Without Noise Schedules",
    ]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_query_text_never_errors(
    db: Database, ingest: tuple[Pipeline, SourceForUpdate], text: str
) -> None:
    pipeline, source = ingest
    pipeline.ingest_bytes(source, arxiv_listing("cs.LG", PAPERS))
    for order in ("relevance", "newest"):
        titles = _titles(db, text, order=order)
        assert len(titles) <= len(PAPERS)


def test_relevance_ranks_only_the_newest_window_of_matches(
    db: Database, ingest: tuple[Pipeline, SourceForUpdate], monkeypatch: pytest.MonkeyPatch
) -> None:
    pipeline, source = ingest
    papers = [
        Paper(f"2611.2{n:04d}", f"Benchmarks number {n}", authors=("Ada Lovelace",))
        for n in range(12)
    ]
    pipeline.ingest_bytes(source, arxiv_listing("cs.LG", papers))
    monkeypatch.setattr(search, "RELEVANCE_WINDOW", 5)
    with db.session() as s:
        newest_ids = sorted(
            s.execute(sa.text("SELECT id FROM item ORDER BY id DESC LIMIT 5")).scalars()
        )
        first = search_items(s, "benchmarks", ItemFilter(), limit=3)
        second = search_items(s, "benchmarks", ItemFilter(), limit=3, remaining=first.remaining)
    shown = [v.item.id for v in first.items + second.items]
    assert sorted(shown) == newest_ids  # the window, each item once
    assert first.more and not second.more


def test_filters_are_applied_inside_the_window_not_after_it(
    db: Database, ingest: tuple[Pipeline, SourceForUpdate], monkeypatch: pytest.MonkeyPatch
) -> None:
    pipeline, source = ingest
    older = [Paper(f"2611.3{n:04d}", f"Benchmarks for learning {n}") for n in range(6)]
    newer = [
        Paper(f"2611.4{n:04d}", f"Benchmarks for vision {n}", categories=("cs.CV",))
        for n in range(6)
    ]
    pipeline.ingest_bytes(source, arxiv_listing("cs.LG", older))
    pipeline.ingest_bytes(replace(source, content_hash=None), arxiv_listing("cs.LG", newer))
    monkeypatch.setattr(search, "RELEVANCE_WINDOW", 5)
    only_lg = ItemFilter(arxiv_category="cs.LG")
    with db.session() as s:
        page = search_items(s, "benchmarks", only_lg, limit=10)
    titles = sorted(view.item.title for view in page.items)
    # the five newest matches among cs.LG papers (the six cs.CV ones are newer still)
    assert len(titles) == 5 and all("learning" in t for t in titles)
    assert not page.more


def test_each_item_of_a_page_has_a_snippet_with_the_matched_words_marked(
    db: Database, ingest: tuple[Pipeline, SourceForUpdate]
) -> None:
    pipeline, source = ingest
    pipeline.ingest_bytes(source, arxiv_listing("cs.LG", PAPERS))
    for order in ("relevance", "newest"):
        with db.session() as s:
            page = search_items(s, "denoising schedule", ItemFilter(), order=order)  # type: ignore[arg-type]
        (view,) = page.items
        snippet = page.snippets[view.item.id or 0]
        marked = re.findall(f"{search.MARK_START}(.*?){search.MARK_END}", snippet)
        assert {word.lower() for word in marked} >= {"denoising", "schedule"}, snippet
        plain = snippet.replace(search.MARK_START, "").replace(search.MARK_END, "")
        assert plain.strip(" …") in view.item.summary_text  # a passage of the summary, as is


def test_a_snippet_becomes_escaped_html_with_mark_elements() -> None:
    marked = f"a <b>&amp; {search.MARK_START}Experts{search.MARK_END} …"
    assert snippet_html(marked) == "a &lt;b&gt;&amp;amp; <mark>Experts</mark> …"
    assert snippet_html("") is None and snippet_html(None) is None


def test_the_cli_searches_too(
    db: Database,
    ingest: tuple[Pipeline, SourceForUpdate],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pipeline, source = ingest
    pipeline.ingest_bytes(source, arxiv_listing("cs.LG", PAPERS))
    with cli_on(db.url, tmp_path, monkeypatch) as cli:
        result = cli("items", "list", "--query", "liskov", "--json")
        assert result.exit_code == 0, result.output
        [item] = json.loads(result.stdout)["items"]
        assert item["title"] == "Diffusion Models Without Noise Schedules"
        assert item["authors"] == ["Barbara Liskov"] and "arxiv" in item
