"""The Google Reader API against the request sequences reader apps send (as FreshRSS and miniflux
document them for NetNewsWire, Reeder and Read You): ClientLogin -> token -> tag/list ->
subscription/list -> stream/items/ids -> stream/items/contents -> edit-tag, on SQLite and
PostgreSQL; read and starred land in the feedback table the ranker and the digest read."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

import pytest
from apikit import Api, make_api
from greaderkit import ReaderApp, sign_in
from sqlmodel import col, select

from service.config import Settings
from service.outputs.greader.ids import long_item_id
from service.outputs.outlines import profile_lenses
from service.outputs.subscriptions import lens_feed
from service.outputs.trends import DEFAULT_WINDOW
from service.storage.engine import Database
from service.storage.models import (
    Feedback,
    Item,
    ItemSource,
    Profile,
    Source,
    Tag,
    Trend,
    TrendRefresh,
)
from service.storage.trends import replace_trends

READING_LIST = "user/-/state/com.google/reading-list"
READ = "user/-/state/com.google/read"
STARRED = "user/-/state/com.google/starred"


@pytest.fixture
def api(db: Database, make_settings: Callable[..., Settings]) -> Api:
    return make_api(db, make_settings, items=400)


def _signals(db: Database, profile_id: int) -> set[tuple[int, str]]:
    with db.session() as session:
        rows = session.exec(
            select(Feedback.item_id, Feedback.signal).where(Feedback.profile_id == profile_id)
        ).all()
    return set(rows)


def _feed_ranked_urls(api: Api, token: str, depth: float | None = None) -> list[str]:
    params = {"limit": 100} | ({"depth": depth} if depth is not None else {})
    response = api.client.get(
        "/v1/feed", params=params, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.text
    return [item["url"] for item in response.json()["items"]]


def test_netnewswire_sync_sequence(api: Api) -> None:
    app, profile_id, _token = sign_in(api, "ada", window_days=30)
    edit_token = app.edit_token()
    assert len(edit_token) == 57
    info = app.json("/reader/api/0/user-info")
    assert info["userName"] == "ada" and info["userId"] == str(profile_id)
    tags = {t["id"] for t in app.json("/reader/api/0/tag/list")["tags"]}
    assert {STARRED, "user/-/label/Your feed", "user/-/label/Deep", "user/-/label/Broad"} <= tags
    subscriptions = app.json("/reader/api/0/subscription/list")["subscriptions"]
    lens_ids = [s["id"] for s in subscriptions if "/reader/lens/" in s["id"]]
    assert len(lens_ids) >= 3 and all(s["categories"] for s in subscriptions)
    assert any("/reader/lens/" not in s["id"] for s in subscriptions)  # the sources too
    unread = app.json("/reader/api/0/stream/items/ids", s=READING_LIST, xt=READ, n=1000)
    ids = [ref["id"] for ref in unread["itemRefs"]]
    assert len(ids) == len(set(ids)) > 20
    starred = app.json("/reader/api/0/stream/items/ids", s=STARRED, n=1000)
    assert starred["itemRefs"] == []
    contents = app.post(
        "/reader/api/0/stream/items/contents?output=json", [("i", i) for i in ids[:50]]
    )
    assert contents.status_code == 200, contents.text
    items = contents.json()["items"]
    assert [item["id"] for item in items] == [long_item_id(int(i)) for i in ids[:50]]
    assert all(item["title"] and READING_LIST in item["categories"] for item in items)
    first = items[0]
    edited = app.post("/reader/api/0/edit-tag", {"i": first["id"], "a": READ, "T": edit_token})
    assert (edited.status_code, edited.text) == (200, "OK")
    starred_edit = app.post("/reader/api/0/edit-tag", {"i": ids[1], "a": STARRED, "T": edit_token})
    assert starred_edit.text == "OK"
    assert _signals(api.db, profile_id) == {(int(ids[0]), "read"), (int(ids[1]), "save")}
    again = app.json("/reader/api/0/stream/items/ids", s=READING_LIST, xt=READ, n=1000)
    assert ids[0] not in {ref["id"] for ref in again["itemRefs"]}
    now_starred = app.json("/reader/api/0/stream/items/ids", s=STARRED, n=1000)
    assert [ref["id"] for ref in now_starred["itemRefs"]] == [ids[1]]
    read_ids = app.json("/reader/api/0/stream/items/ids", s=READ, n=1000)
    assert [ref["id"] for ref in read_ids["itemRefs"]] == [ids[0]]


def test_lens_label_is_the_ranked_lens_in_rank_order_with_why_and_feedback_links(api: Api) -> None:
    app, profile_id, _token = sign_in(api, "bo", window_days=30)
    stream = app.json("/reader/api/0/stream/contents/user/-/label/Deep", n=100)
    ids = [int(item["id"].rsplit("/", 1)[-1], 16) for item in stream["items"]]
    with api.db.session() as session:
        profile = session.get(Profile, profile_id)
    assert profile is not None
    ranks: dict[str, dict[int, int]] = {}
    for label, lens in profile_lenses(profile):
        ranked = lens_feed(
            api.db,
            profile=profile,
            lens=replace(lens, limit=100),
            secret=api.settings.secret_key_bytes(),
            base_url=api.settings.base_url,
            now=api.now,
        )
        ranks[label] = {item_id: rank for rank, (item_id, _e) in enumerate(ranked.by_rank, 1)}
    deep = ranks["deep: your interests first"]
    best = {i: min(r[i] for r in ranks.values() if i in r) for i in deep}
    # each item is dated by its best rank over the lenses: rank order, ties by id
    assert ids == sorted(deep, key=lambda i: (best[i], -i)) and ids
    only_deep = [i for i in ids if best[i] == deep[i]]
    assert only_deep == sorted(only_deep, key=lambda i: deep[i])
    times = [int(item["timestampUsec"]) for item in stream["items"]]
    assert times == sorted(times, reverse=True)  # newest first = best ranked first
    assert [item["published"] for item in stream["items"]] == sorted(
        (item["published"] for item in stream["items"]), reverse=True
    )
    content = stream["items"][0]["summary"]["content"]
    assert "Why: " in content and "/v1/feedback/" in content
    assert "user/-/label/Deep" in stream["items"][0]["categories"]


def test_continuation_pages_through_the_reading_list_once(api: Api) -> None:
    app, _id, _token = sign_in(api, "cy", window_days=30)
    seen: list[str] = []
    params: dict[str, object] = {"s": READING_LIST, "n": 25}
    for _ in range(100):
        page = app.json("/reader/api/0/stream/items/ids", **params)
        seen += [ref["id"] for ref in page["itemRefs"]]
        if "continuation" not in page:
            break
        params["c"] = page["continuation"]
    everything = app.json("/reader/api/0/stream/items/ids", s=READING_LIST, n=1000)
    assert seen == [ref["id"] for ref in everything["itemRefs"]]
    assert len(seen) == len(set(seen)) > 25
    oldest = app.json("/reader/api/0/stream/items/ids", s=READING_LIST, n=1000, r="o")
    assert [ref["id"] for ref in oldest["itemRefs"]] == seen[::-1]


def test_reads_are_idempotent_unread_withdraws_and_unstar_withdraws(api: Api) -> None:
    app, profile_id, _token = sign_in(api, "di", window_days=30)
    ids = [r["id"] for r in app.json("/reader/api/0/stream/items/ids", s=READING_LIST)["itemRefs"]]
    short, long = ids[0], long_item_id(int(ids[1]))
    hex_form = f"{int(ids[2]):016x}"
    for _ in range(2):
        body = [("i", short), ("i", long), ("i", hex_form), ("a", READ), ("a", STARRED)]
        assert app.post("/reader/api/0/edit-tag", body).text == "OK"
    got = _signals(api.db, profile_id)
    assert got == {(int(i), s) for i in ids[:3] for s in ("read", "save")}
    assert app.post("/reader/api/0/edit-tag", {"i": short, "r": READ}).text == "OK"
    kept = {"i": long, "a": "user/-/state/com.google/kept-unread", "r": READ}
    assert app.post("/reader/api/0/edit-tag", kept).text == "OK"
    assert app.post("/reader/api/0/edit-tag", {"i": hex_form, "r": STARRED}).text == "OK"
    assert _signals(api.db, profile_id) == {
        (int(ids[0]), "save"),
        (int(ids[1]), "save"),
        (int(ids[2]), "read"),
    }


def test_mark_all_as_read_of_a_lens_marks_exactly_its_items_up_to_ts(api: Api) -> None:
    app, profile_id, _token = sign_in(api, "ed", window_days=30)
    stream = app.json("/reader/api/0/stream/contents/user/-/label/Broad", n=100)
    keys = [(int(i["timestampUsec"]), int(i["id"].rsplit("/", 1)[-1], 16)) for i in stream["items"]]
    cut = keys[len(keys) // 2][0]
    body = {"s": "user/-/label/Broad", "ts": str(cut)}
    assert app.post("/reader/api/0/mark-all-as-read", body).text == "OK"
    expected = {(item_id, "read") for usec, item_id in keys if usec <= cut}
    assert _signals(api.db, profile_id) == expected and expected
    assert app.post("/reader/api/0/mark-all-as-read", body).text == "OK"  # idempotent
    assert _signals(api.db, profile_id) == expected


def test_unread_counts_follow_reads(api: Api) -> None:
    app, _id, _token = sign_in(api, "fa", window_days=30)

    def counts() -> dict[str, int]:
        found = app.json("/reader/api/0/unread-count")["unreadcounts"]
        return {c["id"]: c["count"] for c in found}

    before = counts()
    unread = app.json("/reader/api/0/stream/items/ids", s=READING_LIST, xt=READ, n=1000)
    assert before[READING_LIST] == len(unread["itemRefs"])  # each item once
    deep = app.json("/reader/api/0/stream/items/ids", s="user/-/label/Deep", n=100)["itemRefs"]
    assert before["user/-/label/Deep"] == len(deep) > 0
    app.post("/reader/api/0/edit-tag", [("i", deep[0]["id"]), ("a", READ)])
    after = counts()
    assert after["user/-/label/Deep"] == before["user/-/label/Deep"] - 1
    assert after[READING_LIST] == before[READING_LIST] - 1


def test_a_read_item_leaves_the_ranked_lenses_and_the_digest_pool(api: Api) -> None:
    app, _id, token = sign_in(api, "gu", window_days=30)
    top = app.json("/reader/api/0/stream/items/ids", s="user/-/label/Your feed", n=3)["itemRefs"]
    item = app.json("/reader/api/0/stream/contents/user/-/label/Your feed", n=1)["items"][0]
    app.post("/reader/api/0/edit-tag", {"i": top[0]["id"], "a": READ})
    url = item["canonical"][0]["href"]
    assert url not in _feed_ranked_urls(api, token)  # /v1/feed (what the digest ranks) drops it


def test_subscription_edit_unsubscribes_a_source_by_muting_it(api: Api) -> None:
    app, _id, token = sign_in(api, "ha", window_days=30)
    subscriptions = app.json("/reader/api/0/subscription/list")["subscriptions"]
    source = next(s for s in subscriptions if "/reader/lens/" not in s["id"])
    done = app.post("/reader/api/0/subscription/edit", {"ac": "unsubscribe", "s": source["id"]})
    assert done.text == "OK"
    after = {s["id"] for s in app.json("/reader/api/0/subscription/list")["subscriptions"]}
    assert source["id"] not in after
    me = api.client.get("/v1/profiles/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert me["muted_sources"]
    back = app.post("/reader/api/0/subscription/edit", {"ac": "subscribe", "s": source["id"]})
    assert back.text == "OK"
    assert source["id"] in {
        s["id"] for s in app.json("/reader/api/0/subscription/list")["subscriptions"]
    }
    lens = next(s for s in subscriptions if "/reader/lens/" in s["id"])
    refused = app.post("/reader/api/0/subscription/edit", {"ac": "unsubscribe", "s": lens["id"]})
    assert refused.status_code == 400
    unknown = app.post(
        "/reader/api/0/subscription/quickadd", {"quickadd": "https://new.example/rss"}
    )
    assert unknown.status_code == 404 and "admin" in unknown.text
    with api.db.session() as session:
        urls = set(session.exec(select(Source.url)).all())
    elsewhere = sorted(urls - {s["id"].removeprefix("feed/") for s in subscriptions})
    if elsewhere:  # a catalog source behind none of the profile's interests
        outside = app.post("/reader/api/0/subscription/quickadd", {"quickadd": elsewhere[0]})
        assert outside.status_code == 400 and "interests" in outside.text


def test_two_profiles_see_only_their_own_state(api: Api) -> None:
    first, first_id, _t = sign_in(api, "ia", window_days=30)
    second, second_id, _t2 = sign_in(api, "jo", window_days=30)
    ids = [
        r["id"] for r in first.json("/reader/api/0/stream/items/ids", s=READING_LIST)["itemRefs"]
    ]
    first.post("/reader/api/0/edit-tag", {"i": ids[0], "a": STARRED})
    assert second.json("/reader/api/0/stream/items/ids", s=STARRED)["itemRefs"] == []
    assert _signals(api.db, second_id) == set()
    assert _signals(api.db, first_id) == {(int(ids[0]), "save")}
    wrong_token = second.post(
        "/reader/api/0/edit-tag", {"i": ids[0], "a": READ, "T": first.edit_token()}
    )
    assert wrong_token.status_code == 401
    assert wrong_token.headers["X-Reader-Google-Bad-Token"] == "true"
    assert _signals(api.db, second_id) == set()


def test_atom_output_has_google_reader_ids_and_the_gr_namespace(api: Api) -> None:
    app: ReaderApp
    app, _id, _token = sign_in(api, "ka", window_days=30)
    lens = next(
        s["id"]
        for s in app.json("/reader/api/0/subscription/list")["subscriptions"]
        if s["id"].endswith("/reader/lens/deep")
    )
    from urllib.parse import quote

    response = app.get(f"/reader/atom/{quote(lens, safe='')}", n=100)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/atom+xml")
    text = response.text
    assert 'xmlns:gr="http://www.google.com/schemas/reader/atom/"' in text
    assert "<id gr:original-id=" in text and "tag:google.com,2005:reader/item/" in text
    deep = app.json("/reader/api/0/stream/items/ids", s="user/-/label/Deep", n=100)["itemRefs"]
    assert text.count("<entry ") == len(deep)


def test_new_items_show_in_source_subscriptions_at_once_lenses_keep_their_tick(api: Api) -> None:
    app, _id, _token = sign_in(api, "la", window_days=30)
    subscriptions = app.json("/reader/api/0/subscription/list")["subscriptions"]
    source = next(s for s in subscriptions if "/reader/lens/" not in s["id"])
    deep_before = app.json("/reader/api/0/stream/items/ids", s="user/-/label/Deep", n=100)
    with api.db.write() as session:
        source_id = session.exec(select(Source.id).where(Source.url == source["url"])).one()
        item = Item(
            canonical_key="url:https://new.example/fresh",
            kind="post",
            title="A fresh post",
            url="https://new.example/fresh",
            published_at=api.now,
            first_seen_at=api.now,
            changed_at=api.now,
        )
        session.add(item)
        session.flush()
        assert item.id is not None and source_id is not None
        session.add(
            ItemSource(
                item_id=item.id, source_id=source_id, first_seen_at=api.now, last_seen_at=api.now
            )
        )
    fresh = app.json("/reader/api/0/stream/items/ids", s=source["id"], n=5)["itemRefs"]
    assert fresh[0]["id"] == str(item.id)  # the newest of its subscription, at once
    reading = app.json("/reader/api/0/stream/items/ids", s=READING_LIST, n=1000)["itemRefs"]
    assert str(item.id) in {r["id"] for r in reading}
    deep_after = app.json("/reader/api/0/stream/items/ids", s="user/-/label/Deep", n=100)
    assert deep_after == deep_before  # the lens is the same ranking for the whole tick


def _store_trends(api: Api, themes: list[tuple[str, str, list[int]]]) -> None:
    """The radar's stored themes of the default window: (kind, label, representative ids), in
    rank order (themes and papers ranked apart, as a refresh stores them), in every area (so a
    deep profile sees them too)."""
    with api.db.session() as session:
        areas = sorted(set(session.exec(select(Tag.area)).all()))
    ranks: dict[str, int] = {}
    rows = []
    for kind, label, shown in themes:
        ranked_as = "paper" if kind == "paper" else "theme"
        rank = ranks[ranked_as] = ranks.get(ranked_as, -1) + 1
        rows.append(
            Trend(
                window_days=DEFAULT_WINDOW,
                rank=rank,
                key=f"{kind}:{label}",
                label=label,
                kind=kind,
                score=10.0 - rank,
                ratio=5.0,
                items=12,
                voices=7,
                feeds=7,
                baseline_per_week=1.0,
                evidence=f"{12 - rank} items from 7 sources in 3 days; usually 1 a week",
                first_seen_at=api.now - timedelta(days=3),
                latest_seen_at=api.now,
                areas=areas,
                aliases=[],
                item_ids=shown,
                representative=shown,
            )
        )
    refresh = TrendRefresh(
        window_days=DEFAULT_WINDOW,
        computed_at=api.now,
        newest_item_id=0,
        window_items=100,
        baseline_items=100,
        note="",
    )
    with api.db.write() as session:
        replace_trends(session, refresh=refresh, trends=rows)


def test_trends_label_lists_the_rising_themes_items_in_rank_order_and_takes_reads(
    api: Api,
) -> None:
    with api.db.session() as session:
        stored = list(session.exec(select(Item.id).order_by(col(Item.id))).all())
    a, b, c, d, e = (i for i in stored[::37][:5] if i is not None)
    _store_trends(
        api,
        [
            ("paper", "A paper everyone covers", [e]),
            ("phrase", "GRPO", [c, a]),
            ("topic", "Agents", [a, d, b]),  # a is GRPO's already: shown once, for GRPO
        ],
    )
    app, profile_id, _token = sign_in(api, "ma", window_days=30)
    tags = {t["id"] for t in app.json("/reader/api/0/tag/list")["tags"]}
    assert "user/-/label/Trends" in tags
    subscriptions = app.json("/reader/api/0/subscription/list")["subscriptions"]
    trends = next(s for s in subscriptions if s["id"].endswith("/reader/lens/trends"))
    assert trends["title"] == "Staycurrent: Trends"
    assert trends["categories"] == [{"id": "user/-/label/Trends", "label": "Trends"}]
    for stream_id in ("user/-/label/Trends", trends["id"]):
        stream = app.json(f"/reader/api/0/stream/contents/{stream_id}", n=100)
        ids = [int(item["id"].rsplit("/", 1)[-1], 16) for item in stream["items"]]
        assert ids == [c, a, d, b, e]  # the themes' rank, then the papers
        times = [int(item["timestampUsec"]) for item in stream["items"]]
        assert times == sorted(times, reverse=True) and len(set(times)) == len(times)
        summaries = [item["summary"]["content"] for item in stream["items"]]
        assert summaries[0].startswith(
            "<p>part of a rising theme: GRPO — 12 items from 7 sources in 3 days; usually 1 a"
        )
        assert "part of a rising theme: GRPO" in summaries[1]
        assert "part of a rising theme: Agents — 11 items" in summaries[2]
        assert "papers everyone covers: A paper everyone covers — 12 items" in summaries[4]
        assert all("user/-/label/Trends" in item["categories"] for item in stream["items"])
        with api.db.session() as session:
            paper = session.get(Item, e)
        assert paper is not None and stream["items"][4]["title"] == paper.title
    counts = {c["id"]: c["count"] for c in app.json("/reader/api/0/unread-count")["unreadcounts"]}
    assert counts["user/-/label/Trends"] == counts[trends["id"]] == 5
    assert app.post("/reader/api/0/edit-tag", {"i": long_item_id(d), "a": READ}).text == "OK"
    assert (d, "read") in _signals(api.db, profile_id)
    unread = app.json("/reader/api/0/stream/items/ids", s="user/-/label/Trends", xt=READ, n=100)
    assert [int(ref["id"]) for ref in unread["itemRefs"]] == [c, a, b, e]
    after = {c["id"]: c["count"] for c in app.json("/reader/api/0/unread-count")["unreadcounts"]}
    assert after["user/-/label/Trends"] == 4


def test_trends_label_is_there_and_empty_before_the_radar_has_run(api: Api) -> None:
    app, _id, _token = sign_in(api, "na", window_days=30)
    assert "user/-/label/Trends" in {t["id"] for t in app.json("/reader/api/0/tag/list")["tags"]}
    stream = app.json("/reader/api/0/stream/contents/user/-/label/Trends", n=100)
    assert stream["items"] == []
