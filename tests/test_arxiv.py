"""arXiv: exact ids, versions, categories and URLs from each of the three formats; id extraction."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from feed_documents import normalize_fixture

from service.ingest.arxiv import (
    extract_arxiv_ids,
    is_valid_id,
    split_id,
    strip_listing_prefix,
    strip_old_title_suffix,
)
from service.records import ArxivInfo


def test_current_rss_listing() -> None:
    items = normalize_fixture("parse_arxiv_rss.xml", kind="paper").items
    first, second = items
    assert first.canonical_key == "arxiv:2411.01234"
    assert first.kind == "paper"
    assert first.title == "Sparse Mixtures of Experts for Tabular Reinforcement Learning"
    assert first.url == "https://arxiv.org/abs/2411.01234"
    assert first.summary_text == "We study sparse mixtures of experts & their use in RL agents."
    assert first.authors == ("Ada Lovelace", "Alan Turing", "Grace Hopper")
    assert first.published_at == datetime(2024, 11, 5, 5, 0, tzinfo=UTC)
    assert first.reading_minutes == 2
    assert first.mentions == ()
    assert first.arxiv == ArxivInfo(
        arxiv_id="2411.01234",
        version=2,
        categories=("cs.LG", "cs.AI"),
        primary_category="cs.LG",
        announce_type="replace",
        abs_url="https://arxiv.org/abs/2411.01234",
        pdf_url="https://arxiv.org/pdf/2411.01234v2",
    )
    assert second.arxiv is not None
    assert (second.arxiv.announce_type, second.arxiv.primary_category) == ("cross", "cs.CV")


def test_current_atom_listing() -> None:
    (item,) = normalize_fixture("parse_arxiv_atom.xml", kind="paper").items
    assert item.canonical_key == "arxiv:2410.09876"
    assert item.summary_text == "We revisit RAG when the context window holds a million tokens."
    assert item.authors == ("Karen Sparck Jones", "Gerard Salton")
    assert item.arxiv == ArxivInfo(
        arxiv_id="2410.09876",
        version=3,
        categories=("cs.IR", "cs.CL"),
        primary_category="cs.IR",
        announce_type="replace-cross",
        abs_url="https://arxiv.org/abs/2410.09876",
        pdf_url="https://arxiv.org/pdf/2410.09876v3",
    )


def test_old_rdf_listing() -> None:
    first, second = normalize_fixture("parse_arxiv_rdf.xml", kind="paper").items
    assert first.title == "Strings on a Lattice."
    assert first.summary_text == "We put strings on a lattice and watch them vibrate."
    assert first.authors == ("Emmy Noether", "Paul Dirac")
    # No item dates in the old format: the channel's dc:date stands in.
    assert first.published_at == datetime(2018, 5, 24, 1, 30, tzinfo=UTC)
    assert first.arxiv == ArxivInfo(
        arxiv_id="1805.00001",
        version=1,
        categories=("hep-th",),
        primary_category="hep-th",
        announce_type="new",
        abs_url="https://arxiv.org/abs/1805.00001",
        pdf_url="https://arxiv.org/pdf/1805.00001v1",
    )
    assert second.title == "Branes Revisited."
    assert second.arxiv is not None
    assert second.arxiv.version == 3
    assert second.arxiv.primary_category == "gr-qc"
    assert second.arxiv.announce_type == "replace"


def test_export_api_atom() -> None:
    old, new = normalize_fixture("parse_arxiv_api.xml", kind="paper").items
    assert old.canonical_key == "arxiv:hep-th/9901001"
    assert old.summary_text == "A paper from January 1999."
    assert old.published_at == datetime(1999, 1, 4, 12, 0, tzinfo=UTC)
    assert old.updated_at == datetime(1999, 3, 1, 10, 0, tzinfo=UTC)
    assert old.arxiv == ArxivInfo(
        arxiv_id="hep-th/9901001",
        version=2,
        categories=("hep-th", "gr-qc"),
        primary_category="hep-th",
        announce_type=None,
        abs_url="https://arxiv.org/abs/hep-th/9901001",
        pdf_url="https://arxiv.org/pdf/hep-th/9901001v2",
        doi="10.1016/S0370-2693(99)00001-1",
        journal_ref="Phys. Lett. B 450 (1999) 1-10",
        comments="12 pages, 2 figures",
    )
    assert new.title == "A Five-Digit Identifier"
    assert new.authors == ("Ian Goodfellow", "Yoshua Bengio")
    assert new.arxiv is not None
    assert (new.arxiv.arxiv_id, new.arxiv.version) == ("2401.00123", 1)
    assert new.arxiv.primary_category == "stat.ML"
    assert new.arxiv.categories == ("cs.LG", "stat.ML")


def test_a_page_linking_a_paper_is_not_a_paper() -> None:
    (item, _) = normalize_fixture("parse_podcast.xml", kind="post").items
    assert item.kind == "podcast"
    assert item.arxiv is None
    assert item.mentions == ("2001.08361", "2203.15556")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("see https://arxiv.org/abs/2401.12345", ("2401.12345",)),
        ("pdf: http://arxiv.org/pdf/2401.12345v3.pdf", ("2401.12345",)),
        ("https://export.arxiv.org/abs/1706.03762v7", ("1706.03762",)),
        ("https://www.arxiv.org/html/2402.00001v1#S2", ("2402.00001",)),
        ("https://www.alphaxiv.org/abs/2501.01234", ("2501.01234",)),
        ("https://huggingface.co/papers/2504.07091", ("2504.07091",)),
        ("as shown in arXiv:2401.12345v2, and arXiv: 1312.6114", ("2401.12345", "1312.6114")),
        (
            "old style arXiv:hep-th/9901001 and https://arxiv.org/abs/math.GT/0309136",
            ("hep-th/9901001", "math.GT/0309136"),
        ),
        ("arXiv:2401.12345 then again https://arxiv.org/abs/2401.12345v1", ("2401.12345",)),
        ("it cost 1234.5678 dollars on 2023.12.01", ()),
        ("version-less 2401.12345 in prose is not a mention", ()),
        ("arXiv:2313.12345 has month 13", ()),
        ("arXiv:1412.12345 is five digits before 2015", ()),
        ("arXiv:1501.1234 is four digits after 2015", ()),
        ("arXiv:0612.1234 is before the new scheme", ()),
        ("https://tldr.takara.ai/p/2405.01234", ("2405.01234",)),
        ("https://alphaxiv.org/overview/2405.01234v3", ("2405.01234",)),
        ("https://hf.co/papers/2405.01234", ("2405.01234",)),
        ("https://doi.org/10.48550/arXiv.2405.01234", ("2405.01234",)),
        ("doi: 10.48550/ARXIV.1706.03762", ("1706.03762",)),
        ("https://paperswithcode.com/paper/arxiv/2405.01234", ("2405.01234",)),
        ("https://paperswithcode.com/api/v1/papers/?arxiv_id=2405.01234", ("2405.01234",)),
        ("https://www.semanticscholar.org/arxiv/2405.01234", ("2405.01234",)),
        ("https://api.semanticscholar.org/graph/v1/paper/arXiv:2405.01234", ("2405.01234",)),
        ("https://arxiv.org/ftp/arxiv/papers/2207/2207.01722.pdf", ("2207.01722",)),
        ("https://ar5iv.labs.arxiv.org/html/1706.03762", ("1706.03762",)),
        ("https://papers.cool/arxiv/2405.01234", ("2405.01234",)),
        ("https://arxiv.org/abs/cs/0112017v1 and arXiv:cs/0112017", ("cs/0112017",)),
        ("https://notarxiv.org/abs/2401.12345", ()),
        ("https://tldr.takara.ai/p/not-an-id", ()),
        ("https://example.org/10.48550/arXiv.2401.1234", ()),
        ("arXiv:foo-bar/9901001 names no archive", ()),
        ("https://arxiv.org/abs/2401.123456 has too many digits", ()),
    ],
)
def test_extract_arxiv_ids(text: str, expected: tuple[str, ...]) -> None:
    assert extract_arxiv_ids(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2401.12345v2", ("2401.12345", 2)),
        ("0704.0001", ("0704.0001", None)),
        ("hep-th/9901001v1", ("hep-th/9901001", 1)),
        ("math.GT/0309136", ("math.GT/0309136", None)),
        ("2401.1234", None),
        ("abc", None),
    ],
)
def test_split_id(text: str, expected: tuple[str, int | None] | None) -> None:
    assert split_id(text) == expected


@pytest.mark.parametrize(
    ("arxiv_id", "valid"),
    [("2412.99999", True), ("1412.9999", True), ("0703.1234", False), ("cond-mat/0011001", True)],
)
def test_is_valid_id(arxiv_id: str, valid: bool) -> None:
    assert is_valid_id(arxiv_id) is valid


def test_strip_prefixes() -> None:
    assert strip_listing_prefix("arXiv:2401.00001v1 Announce Type: new Abstract: Hi.") == "Hi."
    assert strip_listing_prefix("No prefix here.") == "No prefix here."
    assert strip_old_title_suffix("Title. (arXiv:1805.09166v1 [hep-ex] CROSS LISTED)") == "Title."
