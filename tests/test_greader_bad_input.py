"""Bad input to the Google Reader API: a clear 4xx with a short text body, never a 500, nothing
recorded, and never another profile's data."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from urllib.parse import quote

import pytest
from apikit import Api, bearer, make_api
from greaderkit import ReaderApp, app_password, client_login, sign_in
from sqlmodel import select

from service.config import Settings
from service.storage.engine import Database
from service.storage.models import Feedback

READING_LIST = "user/-/state/com.google/reading-list"
READ = "user/-/state/com.google/read"


@pytest.fixture
def api(sqlite_url: str, make_settings: Callable[..., Settings]) -> Api:
    return make_api(Database(sqlite_url), make_settings, items=200, api_auth_failures_per_minute=5)


def _feedback_rows(db: Database) -> int:
    with db.session() as session:
        return len(session.exec(select(Feedback.id)).all())


def test_wrong_password_is_401_and_rate_limited_like_the_rest_of_auth(api: Api) -> None:
    _profile, token, _feed = api.profile("ada")
    password = app_password(api, token)["password"]
    for attempt in range(5):
        wrong = client_login(api, "ada", f"not-it-{attempt}")
        assert wrong.status_code == 401 and "BadAuthentication" in wrong.text
    blocked = client_login(api, "ada", password)  # even the right one waits now
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) >= 1
    assert password not in blocked.text
    api.advance(timedelta(minutes=2))
    assert client_login(api, "ada", password).status_code == 200


def test_other_secrets_do_not_sign_in_and_unknown_names_answer_the_same(api: Api) -> None:
    _profile, token, feed_token = api.profile("bo")
    for login, secret in [("bo", token), ("bo", feed_token), ("nobody", "x" * 32), ("", "")]:
        response = client_login(api, login, secret)
        assert (response.status_code, response.text) == (401, "Error=BadAuthentication\n")


def test_calls_without_a_valid_auth_header_are_401_unauthorized(api: Api) -> None:
    app, _id, _token = sign_in(api, "cy")
    for header in [None, "GoogleLogin auth=", "Bearer abc", "GoogleLogin auth=1/" + "0" * 64]:
        headers = {"Authorization": header} if header else {}
        response = api.client.get("/reader/api/0/subscription/list", headers=headers)
        assert (response.status_code, response.text) == (401, "Unauthorized")
    tampered = app.auth[:-1] + ("0" if app.auth[-1] != "0" else "1")
    response = api.client.get(
        "/reader/api/0/tag/list", headers={"Authorization": f"GoogleLogin auth={tampered}"}
    )
    assert response.status_code == 401


def test_an_app_password_and_its_auth_token_are_refused_on_v1(api: Api) -> None:
    _profile, token, _feed = api.profile("di")
    password = app_password(api, token)["password"]
    auth = client_login(api, "di", password).text.split("Auth=")[1].strip()
    for headers in [bearer(password), bearer(auth), {"Authorization": f"GoogleLogin auth={auth}"}]:
        assert api.client.get("/v1/profiles/me", headers=headers).status_code == 401
    assert api.client.get("/v1/feed", headers=bearer(password)).status_code == 401


def test_a_revoked_app_password_signs_the_app_out(api: Api) -> None:
    app, _id, token = sign_in(api, "ed")
    listed = api.client.get("/v1/profiles/me/app-passwords", headers=bearer(token)).json()
    assert [p["label"] for p in listed] == ["NetNewsWire"] and "password" not in listed[0]
    assert listed[0]["last_used_at"] is not None
    gone = api.client.delete(
        f"/v1/profiles/me/app-passwords/{listed[0]['id']}", headers=bearer(token)
    )
    assert gone.status_code == 204
    assert app.get("/reader/api/0/tag/list").status_code == 401


def test_another_profiles_app_password_cannot_be_listed_or_revoked(api: Api) -> None:
    _a, token_a, _f = api.profile("fa")
    _b, token_b, _g = api.profile("gu")
    made = app_password(api, token_a)
    other = api.client.delete(
        f"/v1/profiles/me/app-passwords/{made['id']}", headers=bearer(token_b)
    )
    assert other.status_code == 404
    assert api.client.get("/v1/profiles/me/app-passwords", headers=bearer(token_b)).json() == []
    assert client_login(api, "gu", made["password"]).status_code == 401  # a's password, b's name


@pytest.mark.parametrize(
    "stream",
    [
        "feed/https://nowhere.example/rss",
        "user/-/label/No such folder",
        "feed/http://testserver/reader/lens/nope",
    ],
)
def test_unknown_streams_are_404(api: Api, stream: str) -> None:
    app, _id, _token = sign_in(api, "ha")
    assert app.get(f"/reader/api/0/stream/contents/{quote(stream, safe='')}").status_code == 404
    assert app.get("/reader/api/0/stream/items/ids", s=stream).status_code == 404
    assert app.get(f"/reader/atom/{quote(stream, safe='')}").status_code == 404
    assert app.post("/reader/api/0/mark-all-as-read", {"s": stream}).status_code == 404


@pytest.mark.parametrize(
    "params",
    [
        {"s": "user/-/state/com.google/bogus"},
        {"s": "sneaky/../../etc"},
        {"s": ""},
        {"s": READING_LIST, "n": "ten"},
        {"s": READING_LIST, "n": "0"},
        {"s": READING_LIST, "ot": "yesterday"},
        {"s": READING_LIST, "nt": "-5"},
        {"s": READING_LIST, "c": "not-a-continuation"},
        {"s": READING_LIST, "xt": "user/-/label/Deep"},
        {"s": READING_LIST, "it": "garbage"},
    ],
)
def test_malformed_stream_parameters_are_400(api: Api, params: dict[str, str]) -> None:
    app, _id, _token = sign_in(api, "ia")
    response = app.get("/reader/api/0/stream/items/ids", **params)
    assert response.status_code == 400 and response.text.startswith("Bad Request")


@pytest.mark.parametrize(
    "item_id",
    [
        "tag:google.com,2005:reader/item/xyz",  # long form, not hex
        "tag:google.com,2005:reader/item/0000000000000000000001",  # long form, too long
        "tag:google.com,2005:reader/item/0000000000000000",  # long form, zero
        "00000000000000zz",  # bare hex form, not hex
        "ffffffffffffffff",  # bare hex form, beyond 63 bits
        "12abc",  # short form, not decimal
        "99999999999999999999999",  # short form, too long
        "0",  # short form, zero
        "",
    ],
)
def test_malformed_item_ids_are_400_and_record_nothing(api: Api, item_id: str) -> None:
    app, _id, _token = sign_in(api, "jo")
    good = app.json("/reader/api/0/stream/items/ids", s=READING_LIST)["itemRefs"][0]["id"]
    edit = app.post("/reader/api/0/edit-tag", [("i", good), ("i", item_id), ("a", READ)])
    assert edit.status_code == 400 and "item id" in edit.text
    contents = app.post("/reader/api/0/stream/items/contents", [("i", item_id)])
    assert contents.status_code == 400
    assert _feedback_rows(api.db) == 0  # the good id in the same request was not recorded either


def test_unknown_but_wellformed_ids_are_left_out(api: Api) -> None:
    app, _id, _token = sign_in(api, "ka")
    missing = str(10**12)
    assert app.post("/reader/api/0/edit-tag", {"i": missing, "a": READ}).text == "OK"
    contents = app.post("/reader/api/0/stream/items/contents?output=json", {"i": missing})
    assert contents.status_code == 200 and contents.json()["items"] == []
    assert _feedback_rows(api.db) == 0


def test_ten_thousand_ids_in_one_post_are_413_and_a_large_n_is_paged(api: Api) -> None:
    app, _id, _token = sign_in(api, "li")
    many = [("i", f"tag:google.com,2005:reader/item/{i:016x}") for i in range(1, 10_001)]
    for path in ("/reader/api/0/stream/items/contents", "/reader/api/0/edit-tag"):
        response = app.post(path, [*many, ("a", READ)])
        assert response.status_code == 413 and "at most 1000" in response.text
    assert _feedback_rows(api.db) == 0
    paged = app.json("/reader/api/0/stream/items/ids", s=READING_LIST, n=10_000)
    assert len(paged["itemRefs"]) <= 1000


def test_edits_need_post_and_a_right_edit_token_when_one_is_sent(api: Api) -> None:
    app: ReaderApp
    app, _id, _token = sign_in(api, "mo")
    good = app.json("/reader/api/0/stream/items/ids", s=READING_LIST)["itemRefs"][0]["id"]
    assert app.get("/reader/api/0/edit-tag", i=good, a=READ).status_code == 405
    bad = app.post("/reader/api/0/edit-tag", {"i": good, "a": READ, "T": "x" * 57})
    assert bad.status_code == 401 and bad.headers["X-Reader-Google-Bad-Token"] == "true"
    assert app.post("/reader/api/0/edit-tag", {"a": READ}).status_code == 400  # no ids
    assert app.post("/reader/api/0/edit-tag", {"i": good, "a": "nonsense"}).status_code == 400
    assert _feedback_rows(api.db) == 0


GARBAGE = [
    "x" * 5000,
    "\x00\x01",
    "ünïcödé/../%2F",
    "9223372036854775807",  # the largest 63-bit id: well formed, beyond any row
    "tag:google.com,2005:reader/item/7fffffffffffffff",
    "feed/",
    "user/-/label/" + "L" * 2000,
    "ffffffffffffffff.1",  # a continuation past the year 9999
    "99999999999999999",  # seconds or microseconds past the year 9999
]
ENDPOINTS = [
    ("GET", "/reader/api/0/stream/items/ids", "s"),
    ("GET", "/reader/api/0/stream/contents", "s"),
    ("POST", "/reader/api/0/stream/items/contents", "i"),
    ("POST", "/reader/api/0/edit-tag", "i"),
    ("POST", "/reader/api/0/edit-tag", "a"),
    ("POST", "/reader/api/0/mark-all-as-read", "s"),
    ("POST", "/reader/api/0/mark-all-as-read", "ts"),
    ("POST", "/reader/api/0/subscription/edit", "s"),
    ("POST", "/reader/api/0/subscription/quickadd", "quickadd"),
    ("GET", "/reader/api/0/stream/items/ids", "c"),
    ("GET", "/reader/api/0/stream/items/ids", "ot"),
    ("GET", "/reader/api/0/stream/items/ids", "nt"),
    ("GET", "/reader/api/0/unread-count", "n"),
]


def test_garbage_anywhere_is_never_a_server_error(
    db: Database, make_settings: Callable[..., Settings]
) -> None:
    api = make_api(db, make_settings, items=60, api_auth_failures_per_minute=100)
    app, _id, _token = sign_in(api, "zz", window_days=30)
    good = app.json("/reader/api/0/stream/items/ids", s=READING_LIST)["itemRefs"][0]["id"]
    for method, path, name in ENDPOINTS:
        for value in GARBAGE:
            base = {"s": READING_LIST, "i": good, "a": READ, "ac": "subscribe"}
            params = base | {name: value}
            get = method == "GET"
            response = app.get(path, **params) if get else app.post(path, params)
            assert response.status_code < 500, (path, name, value[:40], response.text)
    assert (
        api.client.get(
            "/reader/api/0/tag/list",
            headers={"Authorization": "GoogleLogin auth=9999999999999999999/" + "0" * 64},
        ).status_code
        == 401
    )
    for value in GARBAGE:  # ClientLogin: 401 for any name and password, never a 500
        assert client_login(api, value, value).status_code == 401
        assert client_login(api, "zz", value).status_code == 401
