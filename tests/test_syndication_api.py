"""Subscription feeds and OPML through the API, on SQLite and PostgreSQL, with a generated corpus.

Every document is read back by a real parser (feedparser, listparser, lxml); lens results are
compared with the ranked feed of ``/v1/feed`` and with the database, never with themselves.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import feedparser
import listparser
import pytest
from apikit import Api, bearer, make_api
from feedcheck import (
    ITUNES,
    atom_problems,
    duration_seconds,
    hostile_problems,
    json_feed_problems,
    rss_problems,
    xml_tree,
)
from sqlmodel import col, select

from service.config import Settings
from service.ingest.jsonfeed import read_json_feed
from service.outputs.subscriptions import LENS_TICK, tick_start
from service.storage.engine import Database
from service.storage.models import Item, ItemSource, ItemTag, Source, Tag

BASE = "http://testserver"
CHECKS: dict[str, Callable[[bytes], list[str]]] = {
    "rss": rss_problems,
    "atom": atom_problems,
    "json": json_feed_problems,
}
MEDIA_TYPES = {
    "rss": "application/rss+xml",
    "atom": "application/atom+xml",
    "json": "application/feed+json",
}


@pytest.fixture
def api(db: Database, make_settings: Callable[..., Settings]) -> Api:
    return make_api(db, make_settings, base_url=BASE)


def _feed_url(token: str, fmt: str = "rss") -> str:
    return f"/v1/subscriptions/{token}/feed.{fmt}"


def _get(api: Api, url: str, **params: Any) -> Any:
    response = api.client.get(url, params=params)
    assert response.status_code == 200, response.text
    return response


def _guids(body: bytes, fmt: str = "rss") -> list[str]:
    if fmt == "json":
        return [item["id"] for item in json.loads(body)["items"]]
    return [entry.id for entry in feedparser.parse(body).entries]


def _ranked(api: Api, token: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of /v1/feed in rank order (all pages)."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, "limit": 100, **({"cursor": cursor} if cursor else {})}
        page = api.client.get("/v1/feed", params=query, headers=bearer(token)).json()
        items += page["items"]
        cursor = page.get("next_cursor")
        if not cursor:
            return items


def _keys_by_url(api: Api) -> dict[str, str]:
    with api.db.session() as session:
        return {url: key for url, key in session.exec(select(Item.url, Item.canonical_key)) if url}


def add_item(api: Api, *, source: str, minutes_ago: int = 60, **fields: Any) -> int:
    """Store an item (as ingest would, but with whatever text a test needs), tagged nlp."""
    when = api.now - timedelta(minutes=minutes_ago)
    with api.db.write() as session:
        values = {"kind": "post", "reading_minutes": 7, **fields}
        item = Item(published_at=when, first_seen_at=when, changed_at=when, **values)
        session.add(item)
        session.flush()
        assert item.id is not None
        session.add(ItemSource(item_id=item.id, source_id=api.corpus.source_ids[source]))
        for slug in ("nlp", "llm"):
            tag = session.exec(select(Tag).where(Tag.slug == slug)).one()
            session.add(ItemTag(item_id=item.id, tag_id=tag.id or 0, score=1.0, origin="keyword"))
        return item.id


# --------------------------------------------------------------------------- the three formats


@pytest.mark.parametrize("fmt", ["rss", "atom", "json"])
def test_each_format_is_valid_and_lists_the_ranked_items(api: Api, fmt: str) -> None:
    _, token, feed_token = api.profile("ada", preset="researcher")
    response = _get(api, _feed_url(feed_token, fmt))
    assert response.headers["content-type"].startswith(MEDIA_TYPES[fmt])
    assert CHECKS[fmt](response.content) == []
    if fmt == "json":
        entries = read_json_feed(response.content).entries
        links = [e.link for e in entries]
    else:
        parsed = feedparser.parse(response.content)
        assert parsed.bozo == 0, parsed.get("bozo_exception")
        links = [e.link for e in parsed.entries]
    top = [item["url"] for item in _ranked(api, token)[:30]]
    assert len(links) == 30 and set(links) == set(top)


def test_entries_say_source_kind_time_why_and_their_links_work(api: Api) -> None:
    _, token, feed_token = api.profile("ada", preset="researcher")
    parsed = feedparser.parse(_get(api, _feed_url(feed_token)).content)
    ranked = {item["url"]: item for item in _ranked(api, token)}
    for entry in parsed.entries:
        item = ranked[entry.link]
        text = " ".join(xml_tree(f"<div>{entry.description}</div>".encode()).itertext())
        assert item["kind"] in text and item["source"] in text
        assert f"{item['reading_minutes']} min" in text
        assert item["why"]["summary"] in text
    first = xml_tree(f"<div>{parsed.entries[0].description}</div>".encode())
    hide = next(a.get("href") for a in first.iter("a") if a.text == "Hide")
    assert api.client.post(urlsplit(hide).path).status_code == 200  # the signed link records
    api.advance(LENS_TICK)
    again = feedparser.parse(_get(api, _feed_url(feed_token)).content)
    assert parsed.entries[0].id not in {e.id for e in again.entries}  # hidden items leave


def test_guids_are_canonical_keys_and_stay_when_the_ranking_moves(api: Api) -> None:
    _, _, feed_token = api.profile("ada")
    deep = feedparser.parse(_get(api, _feed_url(feed_token), depth=1, limit=100).content)
    broad = feedparser.parse(_get(api, _feed_url(feed_token), depth=0, limit=100).content)
    keys = _keys_by_url(api)
    for entry in deep.entries + broad.entries:
        assert entry.id == keys[entry.link]
    assert len({e.id for e in deep.entries}) == len(deep.entries)  # no item twice
    both = {e.link for e in deep.entries} & {e.link for e in broad.entries}
    assert both  # the same items, ranked differently, keep their ids in every format
    atom = feedparser.parse(_get(api, _feed_url(feed_token, "atom"), depth=0, limit=100).content)
    assert {e.link: e.id for e in atom.entries} == {e.link: e.id for e in broad.entries}


# --------------------------------------------------------------------------- caching


def test_unchanged_output_answers_304_to_etag_and_to_last_modified(api: Api) -> None:
    _, _, feed_token = api.profile("ada")
    for url in (_feed_url(feed_token, "atom"), f"/v1/subscriptions/{feed_token}/lenses.opml"):
        first = _get(api, url)
        etag, modified = first.headers["etag"], first.headers["last-modified"]
        assert first.headers["cache-control"].startswith("private")
        for headers in ({"If-None-Match": etag}, {"If-Modified-Since": modified}):
            again = api.client.get(url, headers=headers)
            assert again.status_code == 304 and again.content == b""
            assert again.headers["etag"] == etag
        assert api.client.get(url, headers={"If-None-Match": '"stale"'}).status_code == 200


def test_an_item_stored_mid_tick_is_in_the_feed_at_once_and_304s_still_work(api: Api) -> None:
    api.moments.append(tick_start(api.now) + timedelta(minutes=37))  # 7 minutes into a tick
    _, _, feed_token = api.profile("ada")
    url, params = _feed_url(feed_token), {"topics": "nlp", "depth": 1, "limit": 100}
    first = api.client.get(url, params=params)
    assert first.headers["cache-control"] == "private, no-cache"  # readers always revalidate
    key = "arxiv:2611.99998"
    add_item(
        api,
        source="arXiv cs.CL",
        minutes_ago=1,  # after the tick started: the quarter-hour feed left it out
        kind="paper",
        canonical_key=key,
        arxiv_id="2611.99998",
        title="Retrieval-augmented generation for large language models, again",
        url="https://arxiv.org/abs/2611.99998",
    )
    second = api.client.get(url, params=params, headers={"If-None-Match": first.headers["etag"]})
    assert second.status_code == 200 and key in _guids(second.content)
    assert second.headers["last-modified"] != first.headers["last-modified"]
    again = api.client.get(url, params=params, headers={"If-None-Match": second.headers["etag"]})
    assert again.status_code == 304  # keyed on the data: unchanged data, unchanged document


def test_new_content_changes_the_etag_and_last_modified(api: Api) -> None:
    _, _, feed_token = api.profile("ada")
    url = _feed_url(feed_token)
    first = _get(api, url, topics="nlp", depth=1, limit=100)
    key = "arxiv:2611.99999"
    add_item(
        api,
        source="arXiv cs.CL",
        minutes_ago=-10,  # first seen after the first request
        kind="paper",
        canonical_key=key,
        arxiv_id="2611.99999",
        title="Retrieval-augmented generation for large language models",
        url="https://arxiv.org/abs/2611.99999",
    )
    assert _get(api, url, topics="nlp", depth=1, limit=100).content == first.content  # same tick
    api.advance(LENS_TICK)
    headers = {"If-None-Match": first.headers["etag"]}
    second = api.client.get(
        url, params={"topics": "nlp", "depth": 1, "limit": 100}, headers=headers
    )
    assert second.status_code == 200 and second.headers["etag"] != first.headers["etag"]
    assert key in _guids(second.content)
    stale = {"If-Modified-Since": first.headers["last-modified"]}
    assert (
        api.client.get(
            url, params={"topics": "nlp", "depth": 1, "limit": 100}, headers=stale
        ).status_code
        == 200
    )


# --------------------------------------------------------------------------- tokens


def test_a_rotated_feed_token_gives_404_like_an_unknown_one(api: Api) -> None:
    _, token, old = api.profile("ada")
    assert _get(api, _feed_url(old)).status_code == 200
    rotated = api.client.post(
        "/v1/profiles/me/rotate", json={"token": "feed"}, headers=bearer(token)
    )
    new = rotated.json()["token"]
    gone = api.client.get(_feed_url(old))
    unknown = api.client.get(_feed_url("x" * 43))
    assert gone.status_code == unknown.status_code == 404
    assert gone.headers["content-type"] == "application/problem+json"
    assert gone.json() == unknown.json()  # nothing tells a replaced token from a made-up one
    assert old not in gone.text
    assert _get(api, _feed_url(new)).status_code == 200
    for name in ("sources.opml", "lenses.opml"):
        assert api.client.get(f"/v1/subscriptions/{old}/{name}").status_code == 404
    assert api.client.get(_feed_url(token)).status_code == 404  # the API token is not a feed token


# --------------------------------------------------------------------------- lenses


def test_max_per_day_keeps_the_best_ranked_of_each_first_seen_day(api: Api) -> None:
    _, token, feed_token = api.profile("ada")
    response = _get(api, _feed_url(feed_token, "json"), max_per_day=2, limit=100)
    assert (
        _get(api, _feed_url(feed_token, "json"), max_per_day=2, limit=100).content
        == response.content
    )
    with api.db.session() as session:
        seen = {
            url: first_seen.date()
            for url, first_seen in session.exec(select(Item.url, Item.first_seen_at))
        }
    kept = [item["url"] for item in json.loads(response.content)["items"]]
    per_day = Counter(seen[url] for url in kept)
    assert per_day and max(per_day.values()) == 2
    expected: list[str] = []
    taken: Counter[Any] = Counter()
    for item in _ranked(api, token):  # the best two of each day, in the ranking's order
        day = seen[item["url"]]
        if taken[day] < 2:
            taken[day] += 1
            expected.append(item["url"])
    assert sorted(kept) == sorted(expected)


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"depth": 2}, "query.depth"),
        ({"depth": "deep"}, "query.depth"),
        ({"limit": 0}, "query.limit"),
        ({"limit": 101}, "query.limit"),
        ({"max_per_day": 0}, "query.max_per_day"),
        ({"kinds": "paper,tweet"}, "kinds: must be among"),
        ({"topics": "astrology"}, "topics: unknown topic 'astrology'"),
    ],
)
def test_bad_lens_parameters_are_problems(api: Api, params: dict[str, Any], words: str) -> None:
    _, _, feed_token = api.profile("ada")
    response = api.client.get(_feed_url(feed_token), params=params)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert words in response.json()["detail"]


def test_the_podcast_lens_is_a_feed_podcast_apps_can_play(api: Api) -> None:
    _, _, feed_token = api.profile("ada")
    body = _get(api, _feed_url(feed_token), kinds="podcast", limit=100).content
    channel = xml_tree(body).find("channel")
    assert channel is not None
    for name in ("author", "explicit", "category", "image"):
        assert channel.find(f"{ITUNES}{name}") is not None, name
    artwork = channel.find(f"{ITUNES}image")
    assert artwork is not None
    art = api.client.get(urlsplit(artwork.get("href") or "").path)
    assert art.status_code == 200 and art.headers["content-type"] == "image/png"
    parsed = feedparser.parse(body)
    assert parsed.bozo == 0 and parsed.entries
    with api.db.session() as session:
        stored = {
            i.enclosure_url: i for i in session.exec(select(Item).where(Item.kind == "podcast"))
        }
    for entry in parsed.entries:
        (enclosure,) = entry.enclosures
        item = stored[enclosure.href]
        assert enclosure.type == item.enclosure_type and int(enclosure.length) >= 0
        assert duration_seconds(entry.itunes_duration) == item.duration_seconds


# --------------------------------------------------------------------------- hostile items


@pytest.mark.parametrize("fmt", ["rss", "atom", "json"])
def test_hostile_stored_items_come_out_inert(api: Api, fmt: str) -> None:
    _, _, feed_token = api.profile("ada")
    add_item(
        api,
        source="Hugging Face Blog",
        canonical_key="url:https://huggingface.example.org/evil",
        title='<script>alert("x")</script> Attention <img src=x onerror=alert(1)>',
        url="javascript:alert(2)",
        summary_text="onerror=alert(3) javascript:alert(4)",
        summary_html='<p onmouseover="alert(5)">Hi</p><img src=x onerror="alert(6)">'
        '<a href="javascript:alert(7)">x</a><script>alert(8)</script>',
    )
    body = _get(api, _feed_url(feed_token, fmt), topics="nlp", depth=1, limit=100).content
    assert "url:https://huggingface.example.org/evil" in _guids(body, fmt)
    assert hostile_problems(body, fmt) == []
    assert b"alert(8)" not in body


# --------------------------------------------------------------------------- OPML


def _area_of(api: Api) -> dict[str, tuple[str, str]]:
    """Source URL -> (kind, area of its first topic, or general), from the database."""
    with api.db.session() as session:
        areas = dict(session.exec(select(Tag.slug, Tag.area)).all())
        sources = session.exec(select(Source).where(col(Source.active).is_(True))).all()
        return {
            s.url: (s.kind, next((areas[t] for t in s.topics if t in areas), "general"))
            for s in sources
        }


def test_the_public_opml_lists_every_active_source_by_kind_and_area(api: Api) -> None:
    _, token, feed_token = api.profile("ada")
    response = _get(api, "/v1/opml")
    assert response.headers["content-type"].startswith("text/x-opml")
    assert response.headers["cache-control"].startswith("public")
    assert token not in response.text and feed_token not in response.text
    parsed = listparser.parse(response.content)
    assert parsed.bozo == 0
    expected = _area_of(api)
    assert {feed.url for feed in parsed.feeds} == set(expected)
    for feed in parsed.feeds:
        kind, area = expected[feed.url]
        assert [kind, area] in feed.categories  # the category attribute: /kind/area
    folders = [o.get("title") for o in xml_tree(response.content).findall("body/outline")]
    assert folders == ["Papers", "Podcasts", "Posts", "Videos"]
    with api.db.write() as session:
        gone = session.exec(select(Source).where(Source.name == "Practical AI")).one()
        gone.active = False
        session.add(gone)
    urls = {f.url for f in listparser.parse(_get(api, "/v1/opml").content).feeds}
    assert gone.url not in urls and len(urls) == len(expected) - 1


def _robotics_sources(api: Api) -> tuple[set[str], set[str]]:
    """(sources declaring a robotics topic, sources of a robotics item of the last 7 days)."""
    since = api.now - timedelta(days=7)
    with api.db.session() as session:
        robotics = set(session.exec(select(Tag.slug).where(Tag.area == "robotics")).all())
        declared = {s.name for s in session.exec(select(Source)).all() if robotics & set(s.topics)}
        rows = session.exec(
            select(Source.name, Tag.slug)
            .join(ItemSource, col(ItemSource.source_id) == col(Source.id))
            .join(Item, col(Item.id) == col(ItemSource.item_id))
            .join(ItemTag, col(ItemTag.item_id) == col(Item.id))
            .join(Tag, col(Tag.id) == col(ItemTag.tag_id))
            .where(col(Item.published_at) >= since)
        ).all()
    return declared, {name for name, slug in rows if slug in robotics}


def test_sources_opml_lists_the_sources_of_the_profile(api: Api) -> None:
    _, _, feed_token = api.profile(
        "ada",
        interests={"robotics": 1.0},
        muted_sources=[api.corpus.source_ids["Robot Talk"]],
        kind_weights={"video": 0},
    )
    parsed = listparser.parse(_get(api, f"/v1/subscriptions/{feed_token}/sources.opml").content)
    assert parsed.bozo == 0
    listed = {feed.title for feed in parsed.feeds}
    declared, recent = _robotics_sources(api)
    with api.db.session() as session:
        kinds = dict(session.exec(select(Source.name, Source.kind)).all())
    expected = {n for n in declared | recent if kinds[n] != "video"} - {"Robot Talk"}
    assert listed == expected
    assert {"arXiv cs.RO", "BAIR Blog"} <= listed  # declared for robotics
    assert "Robot Talk" in declared  # but muted
    assert len(listed) < len(listparser.parse(_get(api, "/v1/opml").content).feeds)


def test_every_lens_of_lenses_opml_is_a_working_feed(api: Api) -> None:
    _, _, feed_token = api.profile("ada", kind_weights={"podcast": 0})
    response = _get(api, f"/v1/subscriptions/{feed_token}/lenses.opml")
    parsed = listparser.parse(response.content)
    assert parsed.bozo == 0
    urls = [feed.url for feed in parsed.feeds]
    assert len(urls) == 5  # yours, deep, broad, papers (podcasts are off), and what is rising
    lenses = [url for url in urls if url.startswith(f"{BASE}/v1/subscriptions/{feed_token}/")]
    assert len(lenses) == 5
    assert sum("/feed.rss" in url for url in urls) == 4
    assert urls[-1] == f"{BASE}/v1/subscriptions/{feed_token}/trends.rss"
    for url in urls:
        feed = api.client.get(url)
        assert feed.status_code == 200, url
        document = feedparser.parse(feed.content)
        assert document.bozo == 0, url
        assert document.entries or url.endswith("/trends.rss"), url  # no trends computed here


# --------------------------------------------------------------------------- OpenAPI


def test_openapi_documents_the_documents_media_types(api: Api) -> None:
    paths = api.client.get("/openapi.json").json()["paths"]
    expected = {
        "/v1/subscriptions/{token}/feed.rss": "application/rss+xml",
        "/v1/subscriptions/{token}/feed.atom": "application/atom+xml",
        "/v1/subscriptions/{token}/feed.json": "application/feed+json",
        "/v1/subscriptions/{token}/sources.opml": "text/x-opml",
        "/v1/subscriptions/{token}/lenses.opml": "text/x-opml",
        "/v1/subscriptions/{token}/trends.rss": "application/rss+xml",
        "/v1/opml": "text/x-opml",
    }
    for path, media_type in expected.items():
        operation = paths[path]["get"]
        assert operation["summary"] and operation["description"]
        assert list(operation["responses"]["200"]["content"]) == [media_type]
        assert operation["responses"]["200"]["content"][media_type]["example"]
        assert "304" in operation["responses"]
