"""/v1/sources on SQLite and PostgreSQL: listing with health, one source, and the admin's add (URL
vetting against the SSRF guard, the probe against a real local feed server), change, deactivate."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from ipaddress import ip_address
from typing import Any

import pytest
from apikit import ADMIN, Api, make_api
from feedgen import Post, blog
from feedserver import FeedServer, Route
from sqlmodel import col, func, select

from service.config import Settings
from service.ingest.netguard import IPAddress, parse_ip
from service.storage.engine import Database
from service.storage.models import Item, ItemSource, Source

PUBLIC = "93.184.216.34"  # a public address: literal IPs need no DNS


@pytest.fixture(scope="module")
def server() -> Iterator[FeedServer]:
    with FeedServer.running(hosts=("127.0.0.1",)) as running:
        yield running


@pytest.fixture
def api(db: Database, make_settings: Callable[..., Settings]) -> Api:
    return make_api(db, make_settings, items=60)


def _resolver(answers: dict[str, str]) -> Any:
    async def resolve(host: str, port: int) -> list[IPAddress]:
        literal = parse_ip(host)
        if literal is not None:
            return [literal]
        if host not in answers:
            raise OSError(-2, "Name or service not known")
        return [ip_address(answers[host])]

    return resolve


def _source(db: Database, source_id: int) -> Source:
    with db.session() as s:
        row = s.get(Source, source_id)
        assert row is not None
        return row


def _count(db: Database, model: type[Any]) -> int:
    with db.session() as s:
        return int(s.exec(select(func.count()).select_from(model)).one())


# --------------------------------------------------------------------------- reading


def test_sources_are_listed_with_their_health_and_item_counts(api: Api) -> None:
    with api.db.write() as s:
        row = s.get(Source, api.corpus.source_ids["arXiv cs.CL"])
        assert row is not None
        row.state, row.last_outcome, row.consecutive_errors = "error", "error", 3
        row.last_error = "the server answered 503 Service Unavailable"
        row.last_attempt_at = api.now - timedelta(minutes=5)
        row.next_poll_at = api.now + timedelta(hours=3)
    page = api.client.get("/v1/sources").json()
    by_name = {s["name"]: s for s in page["sources"]}
    failing = by_name["arXiv cs.CL"]["health"]
    assert failing["state"] == "error" and failing["consecutive_errors"] == 3
    assert failing["last_error"] == "the server answered 503 Service Unavailable"
    assert failing["sentence"].startswith(
        "backing off after 3 errors: the server answered 503 Service Unavailable"
    )
    one = api.client.get(f"/v1/sources/{api.corpus.source_ids['arXiv cs.CL']}").json()
    health = api.client.get(f"/v1/sources/{one['id']}/health").json()
    assert one["health"]["sentence"] == health["sentence"]
    with api.db.session() as s:
        grouped = select(ItemSource.source_id, func.count()).group_by(col(ItemSource.source_id))
        counts = dict(s.exec(grouped).all())
    assert {s["id"]: s["items"] for s in page["sources"]} == {
        s["id"]: counts.get(s["id"], 0) for s in page["sources"]
    }


@pytest.mark.parametrize(
    ("params", "keep"),
    [
        ({"kind": "podcast"}, lambda s: s.kind == "podcast"),
        ({"active": "false"}, lambda s: not s.active),
        ({"active": "true"}, lambda s: s.active),
        ({"state": "error"}, lambda s: s.state == "error"),
    ],
)
def test_source_filters(api: Api, params: dict[str, str], keep: Callable[[Source], bool]) -> None:
    with api.db.write() as s:
        rows = s.exec(select(Source).order_by(col(Source.id))).all()
        rows[0].active = False
        rows[1].state = "error"
    with api.db.session() as s:
        expected = {r.id for r in s.exec(select(Source)) if keep(r)}
    got = {s["id"] for s in api.client.get("/v1/sources", params=params).json()["sources"]}
    assert got == expected and expected


def test_source_pages_show_each_source_once(api: Api) -> None:
    ids: list[int] = []
    cursor = None
    while True:
        params = {"limit": 4, **({"cursor": cursor} if cursor else {})}
        page = api.client.get("/v1/sources", params=params).json()
        ids += [s["id"] for s in page["sources"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(ids) == len(set(ids)) == _count(api.db, Source)
    stale = api.client.get("/v1/sources", params={"kind": "post", "cursor": "x.y"})
    assert stale.status_code == 422


def test_one_source_and_clear_404s(api: Api) -> None:
    source_id = api.corpus.source_ids["arXiv cs.CL"]
    source = api.client.get(f"/v1/sources/{source_id}").json()
    assert source["name"] == "arXiv cs.CL" and source["items"] > 0
    missing = api.client.get("/v1/sources/999999")
    assert missing.status_code == 404
    assert missing.json()["detail"] == "no source has id 999999"
    assert api.client.get("/v1/sources/0").status_code == 422


# --------------------------------------------------------------------------- adding


def _post(api: Api, **body: Any) -> Any:
    return api.client.post("/v1/sources", json=body, headers=ADMIN)


def test_a_source_is_added_with_its_fields(api: Api) -> None:
    response = _post(
        api,
        url=f"http://{PUBLIC}/feed.xml",
        name="Example",
        kind="podcast",
        level="overview",
        topics=["nlp", "robotics"],
        poll_minutes=60,
        weight=2.5,
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["probe"] is None
    source = created["source"]
    assert source["origin"] == "api" and source["active"] and source["health"]["state"] == "new"
    row = _source(api.db, source["id"])
    assert (row.name, row.kind, row.level, row.topics) == (
        "Example",
        "podcast",
        "overview",
        ["nlp", "robotics"],
    )
    assert (row.poll_minutes, row.weight) == (60, 2.5)


def test_defaults_name_from_the_url_and_kind_post(api: Api) -> None:
    source = _post(api, url=f"https://{PUBLIC}/blog/rss/").json()["source"]
    assert source["name"] == f"{PUBLIC}/blog/rss/" and source["kind"] == "post"
    with api.db.write() as s:
        s.add(Source(name=f"{PUBLIC}/other.xml", url="https://elsewhere.example/feed", kind="post"))
    second = _post(api, url=f"http://{PUBLIC}/other.xml").json()["source"]
    assert second["name"] == f"{PUBLIC}/other.xml ({PUBLIC})"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/feed",
        "http://10.1.2.3/feed",
        "http://192.168.1.1/feed",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/feed",
        "http://[::ffff:127.0.0.1]/feed",
        "http://[fd00::1]/feed",
        "http://0.0.0.0/feed",
        "http://localhost/feed",
        "http://feeds.localhost:8080/feed",
        "ftp://example.org/feed",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "//example.org/feed",
        "http:///no-host",
        f"http://user:secret@{PUBLIC}/feed",
        f"http://{PUBLIC}:99999/feed",
        f"http://{PUBLIC}/a b",
        "http://[::1",
    ],
)
def test_urls_that_are_unusable_or_inside_the_network_are_refused(api: Api, url: str) -> None:
    before = _count(api.db, Source)
    response = _post(api, url=url)
    assert response.status_code == 422, response.text
    assert response.json()["detail"].startswith("url: ")
    assert _count(api.db, Source) == before


@pytest.mark.parametrize(
    ("answer", "status", "words"),
    [
        ("10.0.0.7", 422, "resolves to 10.0.0.7, a private address"),
        ("127.0.0.1", 422, "a loopback address"),
        (None, 422, "could not resolve feeds.example.net"),
        (PUBLIC, 201, ""),
    ],
)
def test_a_host_name_is_resolved_and_every_address_vetted(
    api: Api, answer: str | None, status: int, words: str
) -> None:
    answers = {"feeds.example.net": answer} if answer else {}
    api.client.app.state.resolver = _resolver(answers)  # type: ignore[attr-defined]
    response = _post(api, url="https://feeds.example.net/rss")
    assert response.status_code == status, response.text
    if words:
        assert words in response.json()["detail"]


def test_private_addresses_pass_when_allowed(
    db: Database, make_settings: Callable[..., Settings]
) -> None:
    api = make_api(db, make_settings, items=5, allow_private_networks=True)
    assert _post(api, url="http://127.0.0.1:9/feed").status_code == 201


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"topics": ["no-such-topic"]}, 422, "unknown topic 'no-such-topic'"),
        ({"topics": ["Bad Slug"]}, 422, "not a topic slug"),
        ({"weight": 0}, 422, "greater than 0"),
        ({"poll_minutes": 1}, 422, "greater than or equal to 5"),
        ({"kind": "tweet"}, 422, "body.kind"),
        ({"colour": "red"}, 422, "body.colour"),
        ({"name": "bad\x00name"}, 422, "printable"),
    ],
)
def test_bad_source_fields_are_refused_by_name(
    api: Api, body: dict[str, Any], status: int, words: str
) -> None:
    response = _post(api, url=f"http://{PUBLIC}/f.xml", **body)
    assert response.status_code == status, response.text
    assert words in response.json()["detail"]


def test_a_feed_is_added_once_whatever_its_spelling(api: Api) -> None:
    assert _post(api, url=f"http://{PUBLIC}/Feed.xml", name="One").status_code == 201
    again = _post(api, url=f"HTTP://{PUBLIC}/Feed.xml/", name="Two")
    assert again.status_code == 409 and "already polls this feed" in again.json()["detail"]
    name_taken = _post(api, url=f"http://{PUBLIC}/other.xml", name="one")
    assert name_taken.status_code == 409 and "already named 'One'" in name_taken.json()["detail"]


# --------------------------------------------------------------------------- the probe


@pytest.fixture
def local_api(db: Database, make_settings: Callable[..., Settings]) -> Api:
    return make_api(db, make_settings, items=5, allow_private_networks=True, http_deadline=5.0)


def test_the_probe_reports_what_the_feed_holds_and_stores_no_item(
    local_api: Api, server: FeedServer
) -> None:
    posts = [Post(f"p{n}", f"Post {n}", f"https://blog.example/{n}") for n in range(3)]
    url = server.route(
        "/probe/blog.xml", Route.feed(blog("The Gradient", "https://g.example", posts))
    )
    items_before = _count(local_api.db, Item)
    response = local_api.client.post("/v1/sources", json={"url": url, "probe": True}, headers=ADMIN)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["probe"]["ok"] and created["probe"]["entries"] == 3
    assert created["probe"]["title"] == "The Gradient" and created["probe"]["format"] == "rss20"
    assert created["probe"]["kind_guess"] == "post"
    assert created["source"]["name"] == "The Gradient"
    assert created["source"]["feed_title"] == "The Gradient"
    assert _count(local_api.db, Item) == items_before


def test_the_probe_guesses_a_podcast(local_api: Api, server: FeedServer) -> None:
    episodes = [
        Post(
            "e1",
            "Episode 1",
            "https://pod.example/1",
            enclosure=("https://pod.example/1.mp3", "audio/mpeg", 100),
        )
    ]
    url = server.route(
        "/probe/pod.xml", Route.feed(blog("A Podcast", "https://pod.example", episodes))
    )
    created = local_api.client.post(
        "/v1/sources", json={"url": url, "probe": True}, headers=ADMIN
    ).json()
    assert created["probe"]["kind_guess"] == "podcast"
    assert created["source"]["kind"] == "podcast"


@pytest.mark.parametrize(
    ("route", "words"),
    [
        (Route.feed(b"<html><body>Hello</body></html>", content_type="text/html"), "HTML page"),
        (Route(status=404, body=b"nope", content_type="text/plain"), "404"),
    ],
)
def test_a_failed_probe_is_reported_in_words(
    local_api: Api, server: FeedServer, route: Route, words: str
) -> None:
    url = server.route(f"/probe/fail-{route.status}.xml", route)
    response = local_api.client.post(
        "/v1/sources", json={"url": url, "probe": True, "name": "Broken"}, headers=ADMIN
    )
    assert response.status_code == 201
    probe = response.json()["probe"]
    assert not probe["ok"] and words in probe["error"]


# --------------------------------------------------------------------------- changing and removing


def _patch(api: Api, source_id: int, **body: Any) -> Any:
    return api.client.patch(f"/v1/sources/{source_id}", json=body, headers=ADMIN)


def test_a_source_is_changed_field_by_field(api: Api) -> None:
    source_id = api.corpus.source_ids["arXiv cs.CL"]
    before = _source(api.db, source_id)
    response = _patch(api, source_id, weight=3, topics=["nlp"], poll_minutes=30, level="overview")
    assert response.status_code == 200, response.text
    after = _source(api.db, source_id)
    assert (after.weight, after.topics, after.poll_minutes, after.level) == (
        3.0,
        ["nlp"],
        30,
        "overview",
    )
    assert (after.name, after.kind, after.url) == (before.name, before.kind, before.url)
    assert _patch(api, source_id, poll_minutes=None).json()["poll_minutes"] is None


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"weight": 0}, 422),
        ({"weight": 6}, 422),
        ({"poll_minutes": 4}, 422),
        ({"topics": ["nope"]}, 422),
        ({"url": "http://x/"}, 422),
        ({"name": "arXiv cs.LG"}, 409),
    ],
)
def test_bad_changes_are_refused(api: Api, body: dict[str, Any], status: int) -> None:
    source_id = api.corpus.source_ids["arXiv cs.CL"]
    assert _patch(api, source_id, **body).status_code == status
    assert _patch(api, 999999, weight=1).status_code == 404


def test_deleting_deactivates_and_keeps_the_items(api: Api) -> None:
    source_id = api.corpus.source_ids["arXiv cs.CL"]
    items = {
        i["id"]
        for i in api.client.get("/v1/items", params={"source": source_id, "limit": 100}).json()[
            "items"
        ]
    }
    assert items
    first = api.client.delete(f"/v1/sources/{source_id}", headers=ADMIN)
    assert first.status_code == 204 and first.content == b""
    assert api.client.delete(f"/v1/sources/{source_id}", headers=ADMIN).status_code == 204
    assert not _source(api.db, source_id).active
    after = {
        i["id"]
        for i in api.client.get("/v1/items", params={"source": source_id, "limit": 100}).json()[
            "items"
        ]
    }
    assert after == items
    assert api.client.delete("/v1/sources/999999", headers=ADMIN).status_code == 404


def test_reactivating_polls_soon(api: Api) -> None:
    source_id = api.corpus.source_ids["arXiv cs.CL"]
    with api.db.write() as s:
        row = s.get(Source, source_id)
        assert row is not None
        row.active = False
        row.next_poll_at = datetime.now(UTC) + timedelta(days=3)
    response = _patch(api, source_id, active=True)
    assert response.json()["active"] is True
    assert _source(api.db, source_id).next_poll_at <= datetime.now(UTC)
