"""GET /v1/items, /v1/items/{id} and /v1/topics on SQLite and PostgreSQL.

Expected results are computed here from the stored rows by plain Python (not by the code under
test): which items a filter keeps, how many items a topic had, which sources saw an item.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from apikit import Api, link_generation_of, make_api
from corpusgen import generate_corpus
from sqlmodel import select

from service.config import Settings
from service.outputs.links import feedback_url
from service.storage.engine import Database
from service.storage.models import Item, ItemLink, ItemSource, ItemTag, Tag


@pytest.fixture
def api(db: Database, make_settings: Callable[..., Settings]) -> Api:
    return make_api(db, make_settings, items=240)


@dataclass(frozen=True)
class Row:
    """An item as stored, with what the filters look at."""

    id: int
    kind: str
    published: datetime
    tags: frozenset[str]
    areas: frozenset[str]
    sources: frozenset[int]
    categories: frozenset[str]
    arxiv_id: str | None


def _rows(db: Database) -> list[Row]:
    with db.session() as s:
        tags = {t.id: t for t in s.exec(select(Tag))}
        tagged: dict[int, set[int]] = {}
        for it in s.exec(select(ItemTag)):
            tagged.setdefault(it.item_id, set()).add(it.tag_id)
        seen: dict[int, set[int]] = {}
        for row in s.exec(select(ItemSource)):
            seen.setdefault(row.item_id, set()).add(row.source_id)
        return [
            Row(
                id=i.id or 0,
                kind=i.kind,
                published=i.published_at,
                tags=frozenset(tags[t].slug for t in tagged.get(i.id or 0, ())),
                areas=frozenset(tags[t].area for t in tagged.get(i.id or 0, ())),
                sources=frozenset(seen.get(i.id or 0, ())),
                categories=frozenset(i.arxiv_categories),
                arxiv_id=i.arxiv_id,
            )
            for i in s.exec(select(Item))
        ]


def _linked(db: Database) -> set[str]:
    with db.session() as s:
        return set(s.exec(select(ItemLink.arxiv_id)))


def _all_ids(api: Api, **params: Any) -> list[int]:
    """Every item id the listing gives, following the cursors."""
    ids: list[int] = []
    cursor = None
    for _ in range(100):
        query = {**params, "limit": 100, **({"cursor": cursor} if cursor else {})}
        response = api.client.get("/v1/items", params=query)
        assert response.status_code == 200, response.text
        page = response.json()
        ids += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return ids
    raise AssertionError("the cursor never ended")


def test_items_come_newest_first_with_every_field(api: Api) -> None:
    page = api.client.get("/v1/items").json()
    assert page["order"] == "newest" and len(page["items"]) == 20 and page["next_cursor"]
    keys = [(i["published"], i["id"]) for i in page["items"]]
    assert keys == sorted(keys, reverse=True)
    first = page["items"][0]
    for key in ("title", "url", "kind", "summary", "authors", "tags", "sources", "covered_by"):
        assert key in first
    assert all(t["origin"] in {"category", "model", "keyword", "source"} for t in first["tags"])


def test_every_item_is_listed_once_across_pages(api: Api) -> None:
    ids = _all_ids(api)
    assert len(ids) == len(set(ids)) == len(_rows(api.db))


def _expected(api: Api, name: str, value: Any) -> set[int]:
    rows = _rows(api.db)
    linked = _linked(api.db)
    keep: dict[str, Callable[[Row], bool]] = {
        "kind": lambda r: r.kind == value,
        "topic": lambda r: value in r.tags or value in r.areas,
        "source": lambda r: value in r.sources,
        "arxiv_category": lambda r: value in r.categories,
        "since": lambda r: r.published >= value,
        "until": lambda r: r.published < value,
        "covered": lambda r: r.arxiv_id is not None and (r.arxiv_id in linked) == value,
    }
    return {r.id for r in rows if keep[name](r)}


FILTERS: list[tuple[str, Callable[[Api], Any]]] = [
    ("kind", lambda api: "podcast"),
    ("topic", lambda api: "nlp"),  # an area: its subtopics count
    ("topic", lambda api: "diffusion-models"),
    ("source", lambda api: api.corpus.source_ids["arXiv cs.CL"]),
    ("arxiv_category", lambda api: "cs.CV"),
    ("since", lambda api: api.now - timedelta(days=3)),
    ("until", lambda api: api.now - timedelta(days=10)),
    ("covered", lambda api: True),
    ("covered", lambda api: False),
]


@pytest.mark.parametrize(("name", "value_of"), FILTERS, ids=[f[0] for f in FILTERS])
def test_each_filter_keeps_exactly_the_matching_items(
    api: Api, name: str, value_of: Callable[[Api], Any]
) -> None:
    value = value_of(api)
    param = value.isoformat() if isinstance(value, datetime) else value
    if isinstance(param, bool):
        param = str(param).lower()
    ids = _all_ids(api, **{name: param})
    expected = _expected(api, name, value)
    assert expected, "the corpus should hold matching items"
    assert len(ids) == len(set(ids))
    assert set(ids) == expected


def test_filters_combine(api: Api) -> None:
    ids = set(_all_ids(api, kind="paper", topic="nlp", covered="true"))
    expected = (
        _expected(api, "kind", "paper")
        & _expected(api, "topic", "nlp")
        & _expected(api, "covered", True)
    )
    assert ids == expected


@pytest.mark.parametrize(
    ("params", "path", "words"),
    [
        ({"limit": 101}, "query.limit", "less than or equal to 100"),
        ({"limit": 0}, "query.limit", "greater than or equal to 1"),
        ({"kind": "tweet"}, "query.kind", "paper"),
        ({"topic": "Not A Slug"}, "query.topic", "pattern"),
        ({"topic": "no-such-topic"}, None, "unknown topic 'no-such-topic'"),
        ({"source": 999999}, None, "no source has id 999999"),
        ({"source": 2**40}, "query.source", "less than or equal to"),
        ({"arxiv_category": "cs.XX"}, None, "not an arXiv category"),
        ({"since": "yesterday"}, "query.since", "datetime"),
        ({"since": "1700000000"}, "query.since", "ISO 8601"),
        ({"until": "0001-01-01T00:00:00+14:00"}, "query.until", "out of range"),
        ({"order": "relevance"}, None, "relevance needs a search text"),
        ({"q": "x" * 201}, "query.q", "at most 200"),
        ({"cursor": "garbage"}, None, "cursor"),
        ({"topics": "nlp"}, "query.topics", "unknown parameter"),
    ],
)
def test_bad_parameters_are_clear_422s(
    api: Api, params: dict[str, Any], path: str | None, words: str
) -> None:
    response = api.client.get("/v1/items", params=params)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert words in problem["detail"]
    if path is not None:
        assert path in [e["path"] for e in problem["errors"]]


def test_a_cursor_belongs_to_its_query(api: Api) -> None:
    page = api.client.get("/v1/items", params={"kind": "paper", "limit": 5}).json()
    other = api.client.get("/v1/items", params={"kind": "post", "cursor": page["next_cursor"]})
    assert other.status_code == 422
    assert "another query" in other.json()["detail"]
    body, mac = page["next_cursor"].split(".")
    tampered = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1] + "." + mac
    altered = api.client.get("/v1/items", params={"kind": "paper", "cursor": tampered})
    assert altered.status_code == 422


# --------------------------------------------------------------------------- pages as items arrive


def _arrive(api: Api, round_: int) -> None:
    """New items arrive: some newer than everything, some backdated into the pages."""
    generate_corpus(api.db, items=15, seed=100 + round_, now=api.now + timedelta(hours=round_))


def _page_through_while_items_arrive(api: Api, params: dict[str, Any]) -> list[int]:
    ids: list[int] = []
    cursor = None
    for round_ in range(1, 100):
        query = {**params, "limit": 7, **({"cursor": cursor} if cursor else {})}
        page = api.client.get("/v1/items", params=query).json()
        ids += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return ids
        _arrive(api, round_)
    raise AssertionError("the cursor never ended")


@pytest.mark.parametrize(
    "params",
    [{}, {"kind": "paper"}, {"q": "study", "order": "newest"}],
    ids=["all", "papers", "search-newest"],
)
def test_keyset_pages_show_each_item_once_while_new_items_arrive(
    api: Api, params: dict[str, Any]
) -> None:
    before = set(_all_ids(api, **params))
    ids = _page_through_while_items_arrive(api, params)
    assert len(ids) == len(set(ids)), "an item appeared twice"
    assert before <= set(ids), "an item that was there all along was skipped"


def test_relevance_pages_show_each_item_of_the_window_once_while_new_items_arrive(
    api: Api,
) -> None:
    ids = _page_through_while_items_arrive(api, {"q": "results benchmarks"})
    assert len(ids) == len(set(ids)) > 7
    first_page = api.client.get("/v1/items", params={"q": "results benchmarks", "limit": 7})
    assert first_page.json()["order"] == "relevance"


# --------------------------------------------------------------------------- one item


def test_one_item_has_everything_known(api: Api) -> None:
    with api.db.session() as s:
        covered = s.exec(
            select(Item).join(ItemLink, ItemLink.arxiv_id == Item.arxiv_id)  # type: ignore[arg-type]
        ).first()
        assert covered is not None and covered.id is not None
        seen = {
            r.source_id for r in s.exec(select(ItemSource).where(ItemSource.item_id == covered.id))
        }
        tag_count = len(s.exec(select(ItemTag).where(ItemTag.item_id == covered.id)).all())
        linking = set(s.exec(select(ItemLink.item_id).where(ItemLink.arxiv_id == covered.arxiv_id)))
    response = api.client.get(f"/v1/items/{covered.id}")
    assert response.status_code == 200
    item = response.json()
    assert item["arxiv"]["id"] == covered.arxiv_id
    assert {s["id"] for s in item["seen_in"]} == seen == {s["id"] for s in item["sources"]}
    assert all(s["first_seen"] <= s["last_seen"] for s in item["seen_in"])
    assert len(item["tags"]) == tag_count
    assert {c["id"] for c in item["covered_by"]} == linking
    version = item["arxiv"]["version"] or 0
    assert [v["version"] for v in item["versions"]] == list(range(1, version + 1))


def test_a_post_lists_the_papers_it_mentions(api: Api) -> None:
    with api.db.session() as s:
        link = s.exec(select(ItemLink)).first()
        assert link is not None
    item = api.client.get(f"/v1/items/{link.item_id}").json()
    assert link.arxiv_id in item["mentions"]
    assert item["versions"] == [] or item["arxiv"] is not None


@pytest.mark.parametrize(("item_id", "status"), [(999999, 404), (0, 422), (2**40, 422)])
def test_a_missing_item_is_a_clear_problem(api: Api, item_id: int, status: int) -> None:
    response = api.client.get(f"/v1/items/{item_id}")
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    if status == 404:
        assert response.json()["detail"] == f"no item has id {item_id}"


# --------------------------------------------------------------------------- topics


def _counts(api: Api, days: int) -> dict[str, int]:
    """Distinct items per topic (an area: with its subtopics) published in the last ``days``."""
    since = api.now - timedelta(days=days)
    out: dict[str, set[int]] = {}
    for row in _rows(api.db):
        if row.published >= since:
            for slug in row.tags | row.areas:
                out.setdefault(slug, set()).add(row.id)
    return {slug: len(ids) for slug, ids in out.items()}


def test_topics_are_the_taxonomy_with_recent_counts(api: Api) -> None:
    topics = api.client.get("/v1/topics").json()
    week, month = _counts(api, 7), _counts(api, 30)
    areas = {a["slug"]: a for a in topics["areas"]}
    assert set(areas) == {t.slug for t in api.corpus.taxonomy.areas}
    for area in topics["areas"]:
        assert area["items"] == {
            "last_7_days": week.get(area["slug"], 0),
            "last_30_days": month.get(area["slug"], 0),
        }
        for sub in area["subtopics"]:
            assert api.corpus.taxonomy.area_of(sub["slug"]) == area["slug"]
            assert sub["items"]["last_7_days"] == week.get(sub["slug"], 0)
    assert any(a["items"]["last_7_days"] < a["items"]["last_30_days"] for a in areas.values())


def test_topic_counts_move_with_the_clock(api: Api) -> None:
    before = api.client.get("/v1/topics").json()
    api.advance(timedelta(days=60))
    after = api.client.get("/v1/topics").json()
    assert sum(a["items"]["last_30_days"] for a in before["areas"]) > 0
    assert sum(a["items"]["last_30_days"] for a in after["areas"]) == 0


@pytest.mark.parametrize(
    "q", ['"', "*", "NEAR", "AND", ":", "NEAR(a b)", "title:x", "a OR", "-", "'", "\\", "%", "\x00"]
)
def test_search_text_is_never_syntax(api: Api, q: str) -> None:
    for order in ("relevance", "newest"):
        response = api.client.get("/v1/items", params={"q": q, "order": order})
        assert response.status_code == 200, response.text
        assert response.json()["order"] == order


def test_tracking_parameters_are_ignored_but_typos_are_not(api: Api) -> None:
    tracked = api.client.get("/v1/items", params={"utm_source": "newsletter", "fbclid": "x"})
    assert tracked.status_code == 200
    typo = api.client.get("/v1/items", params={"topics": "nlp", "limits": 3})
    assert typo.status_code == 422
    assert [e["path"] for e in typo.json()["errors"]] == ["query.limits", "query.topics"]


def test_a_one_click_link_survives_what_mailers_append(api: Api) -> None:
    profile, _, _ = api.profile("ada")
    item_id = _rows(api.db)[0].id
    url = feedback_url(
        api.settings.base_url,
        api.settings.secret_key_bytes(),
        profile_id=profile["id"],
        item_id=item_id,
        signal="save",
        generation=link_generation_of(api.db, profile["id"]),
        now=api.now,
    )
    path = url.removeprefix(api.settings.base_url)
    response = api.client.get(path, params={"utm_campaign": "digest", "mc_eid": "x", "ref": "y"})
    assert response.status_code == 200
    assert "Save" in response.text
