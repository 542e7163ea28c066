"""The reading page without a browser (TestClient): signing in and out, the one-time email link,
CSRF on every form, one session reaching one profile only, feed text rendered inert, the session
cookie never logged, settings saved through the profile's own checks."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from html import unescape
from urllib.parse import parse_qs, urlsplit

import lxml.html
import pytest
from apikit import Api, make_api
from fastapi.testclient import TestClient
from feedserver import FeedServer
from livemarkup import live_markup
from smtpserver import smtp_server
from sqlmodel import select
from test_reliability_output import MARKER, ingest_hostile_feed

from service.config import Settings
from service.outputs.web.session import COOKIE
from service.storage.engine import Database
from service.storage.models import Feedback, Profile, WebSession

PAGES = (
    "/app/",
    "/app/saved",
    "/app/trends",
    "/app/search?q=model",
    "/app/sources",
    "/app/settings",
)


@pytest.fixture
def api(sqlite_url: str, make_settings: Callable[..., Settings]) -> Iterator[Api]:
    db = Database(sqlite_url)
    yield make_api(db, make_settings, items=120)
    db.dispose()


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF field in the page"
    return found.group(1)


def sign_in(client: TestClient, token: str) -> str:
    """Sign in through the form; returns the session's CSRF token (from the feed page)."""
    form = client.get("/app/login")
    assert form.status_code == 200
    answer = client.post(
        "/app/login", data={"token": token, "csrf": csrf_of(form.text)}, follow_redirects=False
    )
    assert answer.status_code == 303, answer.text
    feed = client.get("/app/")
    assert feed.status_code == 200
    return csrf_of(feed.text)


def feed_ids(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<li class="item" id="item-(\d+)"', html)]


def signals(db: Database, profile_id: int) -> set[tuple[int, str]]:
    with db.session() as s:
        rows = s.exec(select(Feedback).where(Feedback.profile_id == profile_id)).all()
    return {(r.item_id, r.signal) for r in rows}


@pytest.mark.parametrize("path", [*PAGES, "/app/items/1", "/app/settings/digest-preview"])
def test_nothing_is_readable_without_signing_in(api: Api, path: str) -> None:
    answer = api.client.get(path, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/app/login"
    assert api.client.get("/app/login").status_code == 200


def test_signing_in_gives_a_safe_cookie_and_every_page_renders(api: Api) -> None:
    profile, token, _feed = api.profile("ada")
    client = api.client
    form = client.get("/app/login")
    answer = client.post(
        "/app/login", data={"token": token, "csrf": csrf_of(form.text)}, follow_redirects=False
    )
    set_cookie = [v for k, v in answer.headers.multi_items() if k == "set-cookie"]
    session = next(v for v in set_cookie if v.startswith(f"{COOKIE}="))
    flags = {part.strip().lower() for part in session.split(";")[1:]}
    assert {"httponly", "samesite=lax", "path=/app"} <= flags
    for path in PAGES:
        page = client.get(path)
        assert page.status_code == 200, (path, page.text[:300])
        assert "Content-Security-Policy" in page.headers
        assert f"Sign out ({profile['name']})" in page.text
    feed = client.get("/app/")
    assert len(feed_ids(feed.text)) == 20
    assert "Focus" in feed.text and "Coverage" in feed.text


def test_a_wrong_token_is_refused_and_a_stale_form_too(api: Api) -> None:
    _profile, token, _feed = api.profile("ada")
    form = api.client.get("/app/login")
    wrong = api.client.post("/app/login", data={"token": "nope" * 10, "csrf": csrf_of(form.text)})
    assert wrong.status_code == 401
    assert "no profile's API token" in unescape(wrong.text)
    stranger = TestClient(api.client.app)  # no login cookie: the form did not come from us
    forged = stranger.post("/app/login", data={"token": token, "csrf": csrf_of(form.text)})
    assert forged.status_code == 403
    assert COOKIE not in stranger.cookies


def test_forms_without_the_session_csrf_token_change_nothing(api: Api) -> None:
    profile, token, _feed = api.profile("ada")
    csrf = sign_in(api.client, token)
    item = feed_ids(api.client.get("/app/").text)[0]
    for bad in ("", "x" * 43, csrf[:-1] + ("A" if csrf[-1] != "A" else "B")):
        data = {"signal": "like", "back": "/app/"} | ({"csrf": bad} if bad else {})
        refused = api.client.post(f"/app/items/{item}/feedback", data=data)
        assert refused.status_code in (400, 403), refused.status_code
    for path, data in (
        ("/app/settings", {"keywords": "evil"}),
        ("/app/settings/feed-addresses", {}),
        ("/app/logout", {}),
    ):
        assert api.client.post(path, data={**data, "csrf": "forged"}).status_code == 403, path
    assert signals(api.db, profile["id"]) == set()
    with api.db.session() as s:
        assert s.get(Profile, profile["id"]).keywords == []  # type: ignore[union-attr]
    done = api.client.post(
        f"/app/items/{item}/feedback",
        data={"signal": "like", "csrf": csrf, "back": "https://evil.example/"},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/app/"  # never elsewhere
    assert signals(api.db, profile["id"]) == {(item, "like")}


def test_a_session_reaches_its_own_profile_only(api: Api) -> None:
    ada, ada_token, _ = api.profile("ada")
    bob, bob_token, _ = api.profile("bob", interests={"computer-vision": 1.0})
    ada_client, bob_client = api.client, TestClient(api.client.app)
    ada_csrf = sign_in(ada_client, ada_token)
    bob_csrf = sign_in(bob_client, bob_token)
    item = feed_ids(ada_client.get("/app/").text)[0]
    # Bob's CSRF token does not work in Ada's session, nor the reverse.
    assert (
        ada_client.post(
            f"/app/items/{item}/feedback", data={"signal": "save", "csrf": bob_csrf}
        ).status_code
        == 403
    )
    ada_client.post(f"/app/items/{item}/feedback", data={"signal": "save", "csrf": ada_csrf})
    assert signals(api.db, ada["id"]) == {(item, "save")}
    assert signals(api.db, bob["id"]) == set()
    assert f"item-{item}" in ada_client.get("/app/saved").text
    assert f"item-{item}" not in bob_client.get("/app/saved").text
    assert "Sign out (bob)" in bob_client.get("/app/settings").text
    # A cookie copied after signing out opens nothing.
    copied = ada_client.cookies.get(COOKIE)
    ada_client.post("/app/logout", data={"csrf": ada_csrf}, follow_redirects=False)
    thief = TestClient(api.client.app, cookies={COOKIE: copied or ""})
    assert thief.get("/app/", follow_redirects=False).status_code == 303
    assert bob_client.get("/app/").status_code == 200  # Bob is still signed in


def test_hiding_removes_an_item_and_saving_can_be_undone(api: Api) -> None:
    profile, token, _ = api.profile("ada")
    csrf = sign_in(api.client, token)
    first, second = feed_ids(api.client.get("/app/").text)[:2]
    api.client.post(f"/app/items/{first}/feedback", data={"signal": "hide", "csrf": csrf})
    assert first not in feed_ids(api.client.get("/app/").text)
    api.client.post(f"/app/items/{second}/feedback", data={"signal": "save", "csrf": csrf})
    api.client.post(f"/app/items/{second}/feedback", data={"signal": "-save", "csrf": csrf})
    assert signals(api.db, profile["id"]) == {(first, "hide")}


def test_the_dial_reorders_the_list_the_slider_fetches(api: Api) -> None:
    _profile, token, _ = api.profile("ada", depth=0.5)
    sign_in(api.client, token)
    deep = api.client.get("/app/feed/list?depth=1")
    broad = api.client.get("/app/feed/list?depth=0")
    assert deep.status_code == broad.status_code == 200
    assert "<html" not in deep.text  # the list alone, for the script to swap in
    assert feed_ids(deep.text) != feed_ids(broad.text)
    focus = re.search(r'id="metric-focus">(\d+)%', deep.text)
    broad_focus = re.search(r'id="metric-focus">(\d+)%', broad.text)
    assert focus and broad_focus and int(focus.group(1)) >= int(broad_focus.group(1))
    paper_only = api.client.get("/app/?kind=paper&window=14")
    assert set(re.findall(r'class="kind kind-(\w+)"', paper_only.text)) == {"paper"}
    assert api.client.get("/app/?kind=sermon").status_code == 400


def test_hostile_feed_text_renders_inert(api: Api) -> None:
    with FeedServer.running() as server:
        assert ingest_hostile_feed(api, server) > 0
    _profile, token, _ = api.profile("ada", keywords=["language model"], window_days=30)
    sign_in(api.client, token)
    pages = [api.client.get("/app/?window=30").text, api.client.get("/app/search?q=Hostile").text]
    ids = set(re.findall(r'/app/items/(\d+)"', pages[1]))
    assert ids, "the hostile entries are searchable"
    pages += [api.client.get(f"/app/items/{n}").text for n in sorted(ids)]
    shown = 0
    for html in pages:
        tree = lxml.html.document_fromstring(html)
        for node in tree.xpath("//main//*[contains(@class, 'item')] | //main//article"):
            for form in node.xpath(".//form[@class='actions']"):
                form.drop_tree()  # our own buttons
            fragment = lxml.html.tostring(node, encoding="unicode")
            assert live_markup(fragment) == [], fragment[:400]
            shown += MARKER in node.text_content()
        for a in tree.xpath("//a[@href]"):
            assert urlsplit(a.get("href")).scheme in ("", "http", "https"), a.get("href")
    assert shown > 3
    link_item = re.search(r'/app/items/(\d+)">Hostile entry link', pages[1])
    assert link_item, "the entry whose link is javascript: is listed"
    heading = lxml.html.document_fromstring(api.client.get(f"/app/items/{link_item.group(1)}").text)
    title = heading.xpath("//article/h1")[0]
    assert "Hostile entry link" in title.text_content() and title.xpath(".//a") == []


def test_the_session_cookie_and_token_never_reach_the_logs(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    _profile, token, _ = api.profile("ada")
    with caplog.at_level(logging.DEBUG):
        csrf = sign_in(api.client, token)
        item = feed_ids(api.client.get("/app/").text)[0]
        api.client.post(f"/app/items/{item}/feedback", data={"signal": "like", "csrf": csrf})
        api.client.get("/app/settings")
        api.client.post("/app/logout", data={"csrf": csrf})
    cookie = api.client.cookies.get(COOKIE) or ""
    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert "/app/" in logged  # the requests were logged
    for secret in (token, csrf, cookie.partition(".")[0] or token):
        assert secret not in logged


def test_a_one_time_link_by_email_signs_in_once(
    sqlite_url: str, make_settings: Callable[..., Settings]
) -> None:
    db = Database(sqlite_url)
    with smtp_server() as server:
        api = make_api(
            db,
            make_settings,
            items=60,
            base_url="http://reader.example",
            smtp_host="127.0.0.1",
            smtp_port=server.port,
            smtp_starttls=False,
            smtp_from="Staycurrent <digest@example.org>",
        )
        api.profile("ada", email="Ada@Example.org")
        form = api.client.get("/app/login")
        for address in ("ada@example.org", "nobody@example.org"):
            sent = api.client.post(
                "/app/login/email", data={"email": address, "csrf": csrf_of(form.text)}
            )
            assert sent.status_code == 200 and "sign-in link is on its way" in sent.text
        assert len(server.messages) == 1  # the answer is the same; only Ada gets mail
        body = server.messages[0].message.get_content()
    link = re.search(r"http://reader\.example(/app/signin\?link=\S+)", body)
    assert link, body
    path = link.group(1)
    secret = parse_qs(urlsplit(path).query)["link"][0]
    confirm = api.client.get(path)
    assert confirm.status_code == 200 and "Sign in with this link?" in confirm.text
    with db.session() as s:
        assert len(s.exec(select(WebSession)).all()) == 1  # opening it changed nothing
    data = {"link": secret, "csrf": csrf_of(confirm.text)}
    used = api.client.post("/app/signin", data=data, follow_redirects=False)
    assert used.status_code == 303 and COOKIE in api.client.cookies
    assert api.client.get("/app/settings").status_code == 200
    again = TestClient(api.client.app)
    form = again.get(path)
    assert (
        again.post("/app/signin", data={"link": secret, "csrf": csrf_of(form.text)}).status_code
        == 401
    )
    db.dispose()


def test_settings_are_saved_through_the_profile_checks(api: Api) -> None:
    profile, token, _ = api.profile("ada")
    csrf = sign_in(api.client, token)
    page = api.client.get("/app/settings").text
    assert 'value="nlp" checked' in page
    data = {
        "csrf": csrf,
        "interest": ["nlp", "computer-vision"],
        "keywords": "diffusion\n-survey",
        "authors": "Ada Lovelace",
        "kind_paper": "1.5",
        "kind_post": "1",
        "kind_podcast": "0",
        "kind_video": "1",
        "depth": "0.8",
        "window_days": "14",
        "email": "ada@example.org",
        "digest_enabled": "on",
        "digest_time": "06:30",
        "timezone": "Europe/Paris",
        "digest_cadence": "weekly",
        "digest_weekday": "2",
        "digest_max_items": "10",
        "digest_budget_minutes": "25",
    }
    saved = api.client.post("/app/settings", data=data, follow_redirects=False)
    assert saved.status_code == 303
    with api.db.session() as s:
        stored = s.get(Profile, profile["id"])
    assert stored is not None
    assert stored.interests == {"nlp": 1.0, "computer-vision": 1.0}
    assert stored.keywords == ["diffusion", "-survey"] and stored.authors == ["Ada Lovelace"]
    assert stored.kind_weights == {"paper": 1.5, "podcast": 0.0}
    assert (stored.depth, stored.window_days, stored.timezone) == (0.8, 14, "Europe/Paris")
    assert (stored.digest_cadence, stored.digest_weekday, stored.digest_enabled) == (
        "weekly",
        2,
        True,
    )
    refused = api.client.post("/app/settings", data={**data, "timezone": "Mars/Olympus"})
    assert refused.status_code == 400 and "timezone" in refused.text
    preview = api.client.get("/app/settings/digest-preview")
    assert preview.status_code == 200 and "Nothing was sent" in preview.text
    fresh = api.client.post("/app/settings/feed-addresses", data={"csrf": csrf})
    urls = lxml.html.document_fromstring(fresh.text).xpath("//dl[@id='feed-urls']//input/@value")
    assert any(u.endswith("/feed.rss") for u in urls)
    assert api.client.get(urlsplit(urls[0]).path).status_code == 200  # the new address works


def test_guessing_tokens_is_throttled_per_client(
    sqlite_url: str, make_settings: Callable[..., Settings]
) -> None:
    db = Database(sqlite_url)
    api = make_api(db, make_settings, items=30, api_auth_failures_per_minute=3)
    _profile, token, _ = api.profile("ada")
    form = api.client.get("/app/login")
    guesses = [
        api.client.post("/app/login", data={"token": f"guess-{n}", "csrf": csrf_of(form.text)})
        for n in range(4)
    ]
    assert [g.status_code for g in guesses] == [401, 401, 401, 429]
    assert int(guesses[-1].headers["Retry-After"]) > 0
    right = api.client.post("/app/login", data={"token": token, "csrf": csrf_of(form.text)})
    assert right.status_code == 429  # even the right token waits: the budget is spent
    api.advance(timedelta(minutes=1))
    assert (
        "Sign out (ada)"
        in api.client.post("/app/login", data={"token": token, "csrf": csrf_of(form.text)}).text
    )
    db.dispose()


def client_login(api: Api, login: str, password: str) -> int:
    answer = api.client.post("/accounts/ClientLogin", data={"Email": login, "Passwd": password})
    if answer.status_code == 200:
        assert "Auth=" in answer.text
    return answer.status_code


def make_app_password(client: TestClient, csrf: str, label: str) -> tuple[str, str]:
    """Make one on the settings page: (the page's text, the password it shows)."""
    made = client.post("/app/settings/app-passwords", data={"label": label, "csrf": csrf})
    assert made.status_code == 200, made.text[:300]
    shown = lxml.html.document_fromstring(made.text).xpath("//input[@id='app-password']/@value")
    assert len(shown) == 1
    return made.text, str(shown[0])


def test_app_passwords_are_made_shown_once_listed_and_revoked(api: Api) -> None:
    _profile, token, _ = api.profile("ada")
    csrf = sign_in(api.client, token)
    assert "No app passwords yet" in api.client.get("/app/settings").text
    made, password = make_app_password(api.client, csrf, "Read You on the tablet")
    tree = lxml.html.document_fromstring(made)
    assert tree.xpath("//input[@id='app-login']/@value") == ["ada"]
    assert tree.xpath("//input[@id='app-server']/@value") == [api.settings.base_url]
    assert client_login(api, "ada", password) == 200
    listed = api.client.get("/app/settings").text
    assert "Read You on the tablet" in listed
    assert password not in listed and 'id="app-password"' not in listed  # shown only once
    row = lxml.html.document_fromstring(listed).xpath("//tr[starts-with(@id,'app-password-')]")
    assert len(row) == 1 and "never" not in row[0].text_content()  # last used: the sign-in
    app_password_id = int(row[0].get("id").rsplit("-", 1)[1])
    revoked = api.client.post(
        f"/app/settings/app-passwords/{app_password_id}/revoke",
        data={"csrf": csrf},
        follow_redirects=False,
    )
    assert revoked.status_code == 303
    assert client_login(api, "ada", password) == 401
    after = api.client.get("/app/settings").text
    assert "Read You on the tablet" not in after and "No app passwords yet" in after


def test_app_password_forms_need_the_csrf_token_and_escape_labels(api: Api) -> None:
    _profile, token, _ = api.profile("ada")
    csrf = sign_in(api.client, token)
    for data in ({"label": "forged"}, {"label": "forged", "csrf": "forged"}):
        refused = api.client.post("/app/settings/app-passwords", data=data)
        assert refused.status_code == 403
    assert "forged" not in api.client.get("/app/settings").text
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    made, password = make_app_password(api.client, csrf, hostile)
    for text in (made, api.client.get("/app/settings").text):
        assert "<script>alert" not in text and "<img src=x" not in text
        assert "&lt;script&gt;alert" in text
    row = lxml.html.document_fromstring(made).xpath("//tr[starts-with(@id,'app-password-')]")[0]
    path = f"/app/settings/app-passwords/{row.get('id').rsplit('-', 1)[1]}/revoke"
    assert api.client.post(path, data={"csrf": "forged"}).status_code == 403
    assert api.client.post(path, data={}).status_code == 403
    assert client_login(api, "ada", password) == 200  # still there


def test_another_profiles_app_password_cannot_be_revoked(api: Api) -> None:
    _ada, ada_token, _ = api.profile("ada")
    _bob, bob_token, _ = api.profile("bob")
    ada_client, bob_client = api.client, TestClient(api.client.app)
    ada_csrf = sign_in(ada_client, ada_token)
    bob_csrf = sign_in(bob_client, bob_token)
    made, password = make_app_password(ada_client, ada_csrf, "Ada tablet app")
    row = lxml.html.document_fromstring(made).xpath("//tr[starts-with(@id,'app-password-')]")[0]
    path = f"/app/settings/app-passwords/{row.get('id').rsplit('-', 1)[1]}/revoke"
    assert bob_client.post(path, data={"csrf": bob_csrf}).status_code == 404
    assert bob_client.post(path, data={"csrf": ada_csrf}).status_code == 403
    assert "Ada tablet app" not in bob_client.get("/app/settings").text
    assert client_login(api, "ada", password) == 200
    assert "Ada tablet app" in ada_client.get("/app/settings").text
