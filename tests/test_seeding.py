"""Cold start: arXiv ids, BibTeX and OPML parsed (bounded, clear errors), seeds stored as likes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from apikit import Api, bearer, make_api
from sqlmodel import col, select

from service.config import Settings
from service.errors import InvalidInputError
from service.outputs.seeding import (
    MAX_SEEDS,
    Seeds,
    parse_arxiv_list,
    parse_bibtex,
    parse_opml,
    seed_profile,
)
from service.rank.preference import profile_model
from service.storage.engine import Database
from service.storage.models import Feedback, Item, Source
from service.storage.profiles import create_profile

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
BIB = r"""
@article{yao2023tree,
  title = {Tree of {T}houghts: Deliberate Problem Solving with Large Language Models},
  author = {Yao, Shunyu and others},
  eprint = {2305.10601},
  archivePrefix = {arXiv},
}
@inproceedings{wei2022chain, title = "Chain-of-Thought Prompting Elicits Reasoning",
  url = {https://arxiv.org/abs/2201.11903v6}}
@article{doi-only, title = {Something in a journal}, doi = {10.1000/XYZ.123}}
@comment{ignored}
@misc{empty, author = {Nobody}}
"""


def test_arxiv_ids_in_any_common_form() -> None:
    seeds = parse_arxiv_list("2405.01234, arXiv:2305.10601v2 https://arxiv.org/abs/2201.11903 x")
    assert [p.arxiv_id for p in seeds.papers] == ["2405.01234", "2305.10601", "2201.11903"]
    assert seeds.problems == ("'x': not an arXiv id",)


def test_too_many_ids_or_none_at_all_are_refused_clearly() -> None:
    with pytest.raises(InvalidInputError, match="at most 1,000"):
        parse_arxiv_list(",".join(f"2401.{n:05d}" for n in range(10_000)))
    with pytest.raises(InvalidInputError, match="nothing to seed"):
        parse_arxiv_list("not-an-id")
    with pytest.raises(InvalidInputError, match="bytes"):
        parse_arxiv_list("2401.00001 " * 300_000)


def test_bibtex_entries_give_arxiv_ids_dois_and_titles() -> None:
    seeds = parse_bibtex(BIB)
    found = {p.label: p for p in seeds.papers}
    assert found["@article{yao2023tree}"].arxiv_id == "2305.10601"
    assert found["@article{yao2023tree}"].title is not None
    assert found["@article{yao2023tree}"].title.startswith("Tree of Thoughts")
    assert found["@inproceedings{wei2022chain}"].arxiv_id == "2201.11903"
    assert found["@article{doi-only}"].doi == "10.1000/xyz.123"
    assert seeds.problems == ("@misc{empty}: no arXiv id, DOI or title",)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("just some words", "no @entry"),
        ("@article{broken, title = {never closed", "unbalanced braces from line 1"),
        ("@article{a, title={x}}\n" * (MAX_SEEDS + 1), "more than 1,000 BibTeX entries"),
    ],
)
def test_malformed_bibtex_is_refused_with_a_reason(text: str, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        parse_bibtex(text)


def test_opml_feeds_are_read_and_bad_opml_refused() -> None:
    body = b"""<opml version="2.0"><head><title>Blogs</title></head><body>
      <outline text="A blog" xmlUrl="https://blog.example.org/feed.xml"/></body></opml>"""
    seeds = parse_opml(body)
    assert seeds.feeds == (("A blog", "https://blog.example.org/feed.xml"),)
    with pytest.raises(InvalidInputError, match="not an OPML"):
        parse_opml(b"<html><body>no</body></html>")


def _paper(db: Database, arxiv_id: str, title: str) -> int:
    with db.write() as session:
        item = Item(
            canonical_key=f"arxiv:{arxiv_id}",
            kind="paper",
            title=title,
            arxiv_id=arxiv_id,
            published_at=NOW,
            first_seen_at=NOW,
            vector=None,
        )
        session.add(item)
        session.flush()
        assert item.id is not None
        return item.id


def test_known_papers_become_likes_once_and_unknown_ones_are_reported(db: Database) -> None:
    profile = create_profile(db, name="seeded", changes={}).profile
    assert profile.id is not None
    known = _paper(db, "2305.10601", "Tree of Thoughts")
    seeds = parse_arxiv_list("2305.10601,2405.99999")
    report = seed_profile(db, profile_id=profile.id, seeds=seeds, now=NOW)
    assert (report.liked, report.known, report.unknown) == (1, 1, 1)
    assert [(line.seed, line.status) for line in report.lines] == [
        ("arXiv:2305.10601", "liked"),
        ("arXiv:2405.99999", "unknown"),
    ]
    again = seed_profile(db, profile_id=profile.id, seeds=seeds, now=NOW)
    assert again.liked == 0 and again.lines[0].status == "already"
    with db.session() as session:
        rows = session.exec(select(Feedback.item_id, Feedback.signal)).all()
        assert rows == [(known, "like")]
        assert profile_model(session, profile.id, NOW) is None  # the paper has no vector yet


def test_a_seed_of_nothing_known_changes_nothing(db: Database) -> None:
    profile = create_profile(db, name="empty", changes={}).profile
    assert profile.id is not None
    report = seed_profile(db, profile_id=profile.id, seeds=Seeds(), now=NOW)
    assert report.liked == 0 and report.lines == []


@pytest.fixture
def api(db: Database, make_settings: Callable[..., Settings]) -> Api:
    return make_api(db, make_settings, items=40)


def test_seeding_through_the_api_reports_each_seed(api: Api) -> None:
    _profile, token, _feed = api.profile("ada")
    with api.db.session() as session:
        paper = session.exec(select(Item).where(col(Item.arxiv_id).is_not(None))).first()
    assert paper is not None and paper.arxiv_id is not None
    body = {"arxiv": [paper.arxiv_id, "2401.99999"]}
    response = api.client.post("/v1/profiles/me/seed", json=body, headers=bearer(token))
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["liked"], report["unknown"]) == (1, 1)
    assert report["lines"][0] == {
        "seed": f"arXiv:{paper.arxiv_id}",
        "status": "liked",
        "item_id": paper.id,
        "title": paper.title,
        "note": None,
    }


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"bibtex": "@article{x, title = {open"}, "unbalanced braces"),
        ({"arxiv": [f"2401.{n:05d}" for n in range(10_000)]}, "body.arxiv"),
        ({"arxiv": "2401.00001", "bibtex": "@misc{a, title={b}}"}, "exactly one"),
        ({}, "exactly one"),
        ({"opml": "<opml><body><outline"}, "the OPML lists no feed"),
    ],
)
def test_bad_seeds_are_refused_with_a_reason_not_a_500(
    api: Api, body: dict[str, object], words: str
) -> None:
    _profile, token, _feed = api.profile("bob")
    response = api.client.post("/v1/profiles/me/seed", json=body, headers=bearer(token))
    assert response.status_code == 422, response.text
    assert words in response.json()["detail"]


def test_seeds_found_by_doi_or_title_and_opml_feeds_that_are_sources(api: Api) -> None:
    _profile, token, _feed = api.profile("cy")
    with api.db.write() as session:
        paper = session.exec(select(Item).order_by(col(Item.id))).first()
        assert paper is not None
        paper.doi = "10.1000/Mixed.Case"
        session.add(paper)
        source = session.exec(select(Source).order_by(col(Source.id))).first()
        assert source is not None
    bib = "@article{a, doi = {10.1000/mixed.case}}\n@article{b, title = {A title nobody has}}"
    report = api.client.post(
        "/v1/profiles/me/seed", json={"bibtex": bib}, headers=bearer(token)
    ).json()
    assert [(line["seed"], line["status"]) for line in report["lines"]] == [
        ("@article{a}", "liked"),
        ("@article{b}", "unknown"),
    ]
    opml = (
        f'<opml version="2.0"><body><outline text="known" xmlUrl="{source.url}"/>'
        '<outline text="stranger" xmlUrl="https://elsewhere.example.net/feed"/></body></opml>'
    )
    report = api.client.post(
        "/v1/profiles/me/seed", json={"opml": opml}, headers=bearer(token)
    ).json()
    assert [(line["seed"], line["status"]) for line in report["lines"]] == [
        ("known", "subscribed"),
        ("stranger", "unknown"),
    ]
    assert report["liked"] >= 1


def test_a_huge_file_is_refused_before_it_is_read(api: Api) -> None:
    _profile, token, _feed = api.profile("dee")
    body = {"bibtex": "@misc{a, title={x}}\n" * 70_000}  # ~1.4 MB
    response = api.client.post("/v1/profiles/me/seed", json=body, headers=bearer(token))
    assert response.status_code == 413, response.text
    with pytest.raises(InvalidInputError, match="at most 1,000,000 per seeding"):
        parse_bibtex("%" * 1_000_001)
