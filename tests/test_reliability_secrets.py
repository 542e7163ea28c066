"""Credentials stay where they belong: each token opens only its own door, none reaches a log.

One scenario, run in-process (the app under TestClient, every log record at DEBUG written through
Staycurrent's JSON and text formatters) and against real processes (``staycurrent serve`` and
``digest send`` with ``STAYCURRENT_LOG_FORMAT=json`` at DEBUG, a PostgreSQL URL with a password,
an SMTP server that requires a login): profiles created with the admin token, feeds read with API
tokens in headers and feed tokens in subscription URLs, every kind of token offered where it does
not belong, tokens rotated, signed unsubscribe and feedback links opened and used, a digest sent
with an SMTP password. Then not one token, password or the secret key appears in what was logged
or printed.
"""

from __future__ import annotations

import json
import logging
import signal
import socket
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from apikit import ADMIN, ADMIN_TOKEN, make_api
from corpusgen import generate_corpus
from secretwatch import DB_PASSWORD, SMTP_PASSWORD, SMTP_USER, SecretBook, formatted
from smtpserver import smtp_server
from workerprocs import SECRET, cli_env, start, wait_until

from service.cli.settings_cmd import without_password
from service.config import Settings
from service.outputs.digest.run import send_now
from service.outputs.links import feedback_url, link_generation, unsubscribe_url
from service.storage.engine import Database
from service.storage.profiles import get_profile, token_digest

BOGUS = "bogus-token-that-nobody-has-0123456789"
DOCUMENTS = ("feed.rss", "feed.atom", "feed.json", "sources.opml", "lenses.opml", "trends.rss")
EXPECTED = {
    "create ada": 201,
    "create bob": 201,
    "feed with ada's API token": 200,
    "bob reads his profile": 200,
    **{f"{doc} with ada's feed token": 200 for doc in DOCUMENTS},
    "feed.rss with ada's API token": 404,
    "profile with ada's feed token": 401,
    "feed with a bogus token": 401,
    "create a profile with ada's API token": 403,
    "rotate ada's API token": 200,
    "profile with ada's old API token": 401,
    "profile with ada's new API token": 200,
    "rotate ada's feed token": 200,
    "feed.rss with ada's old feed token": 404,
    "feed.rss with ada's new feed token": 200,
    "open ada's unsubscribe link": 200,
    "unsubscribe token as an API token": 401,
    "unsubscribe token as a feed token": 404,
    "open a feedback link": 200,
    "use the feedback link": 200,
    "feedback token as an API token": 401,
    "use ada's unsubscribe link": 200,
}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _path(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def exercise(
    client: httpx.Client, book: SecretBook, *, secret: bytes, now: datetime
) -> dict[str, int]:
    """Every way a token is used or misused; the status of each step, by its name."""
    got: dict[str, int] = {}

    def step(name: str, response: httpx.Response) -> httpx.Response:
        got[name] = response.status_code
        return response

    def profile(name: str) -> tuple[int, str, str]:
        body = {"name": name, "interests": {"nlp": 1.0}, "email": f"{name}@example.org"}
        made = step(f"create {name}", client.post("/v1/profiles", json=body, headers=ADMIN)).json()
        book.add(f"{name}'s API token", made["api_token"])
        book.add(f"{name}'s feed token", made["feed_token"])
        return made["profile"]["id"], made["api_token"], made["feed_token"]

    ada_id, ada_api, ada_feed = profile("ada")
    _, bob_api, _ = profile("bob")
    feed = step("feed with ada's API token", client.get("/v1/feed", headers=bearer(ada_api)))
    step("bob reads his profile", client.get("/v1/profiles/me", headers=bearer(bob_api)))
    for doc in DOCUMENTS:
        step(f"{doc} with ada's feed token", client.get(f"/v1/subscriptions/{ada_feed}/{doc}"))
    step("feed.rss with ada's API token", client.get(f"/v1/subscriptions/{ada_api}/feed.rss"))
    step("profile with ada's feed token", client.get("/v1/profiles/me", headers=bearer(ada_feed)))
    step("feed with a bogus token", client.get("/v1/feed", headers=bearer(BOGUS)))
    step(
        "create a profile with ada's API token",
        client.post("/v1/profiles", json={"name": "eve"}, headers=bearer(ada_api)),
    )
    rotate = "/v1/profiles/me/rotate"
    new_api = step(
        "rotate ada's API token",
        client.post(rotate, json={"token": "api"}, headers=bearer(ada_api)),
    ).json()["token"]
    book.add("ada's rotated API token", new_api)
    step("profile with ada's old API token", client.get("/v1/profiles/me", headers=bearer(ada_api)))
    step("profile with ada's new API token", client.get("/v1/profiles/me", headers=bearer(new_api)))
    new_feed = step(
        "rotate ada's feed token",
        client.post(rotate, json={"token": "feed"}, headers=bearer(new_api)),
    ).json()["token"]
    book.add("ada's rotated feed token", new_feed)
    step("feed.rss with ada's old feed token", client.get(f"/v1/subscriptions/{ada_feed}/feed.rss"))
    step("feed.rss with ada's new feed token", client.get(f"/v1/subscriptions/{new_feed}/feed.rss"))

    unsubscribe = _path(unsubscribe_url("http://x", secret, profile_id=ada_id, now=now))
    unsubscribe_token = book.add("ada's unsubscribe token", unsubscribe.rsplit("/", 1)[1])
    step("open ada's unsubscribe link", client.get(unsubscribe))
    step(
        "unsubscribe token as an API token",
        client.get("/v1/profiles/me", headers=bearer(unsubscribe_token)),
    )
    step(
        "unsubscribe token as a feed token",
        client.get(f"/v1/subscriptions/{unsubscribe_token}/feed.rss"),
    )
    item_id = feed.json()["items"][0]["id"]
    link = feedback_url(
        "http://x",
        secret,
        profile_id=ada_id,
        item_id=item_id,
        signal="save",
        generation=link_generation(token_digest(new_feed)),
        now=now,
    )
    feedback_token = book.add("a feedback link's token", link.rsplit("/", 1)[1])
    step("open a feedback link", client.get(_path(link)))
    step("use the feedback link", client.post(_path(link)))
    step(
        "feedback token as an API token",
        client.get("/v1/profiles/me", headers=bearer(feedback_token)),
    )
    step("use ada's unsubscribe link", client.post(unsubscribe))
    return got


def base_book(secret_key: str) -> SecretBook:
    book = SecretBook()
    book.add("admin token", ADMIN_TOKEN)
    book.add("secret key", secret_key)
    book.add("SMTP password", SMTP_PASSWORD)
    return book


# --------------------------------------------------------------------------- in-process

SMTP_AUTH_WITHOUT_TLS = pytest.mark.filterwarnings(
    "ignore:Requiring AUTH while not requiring TLS:UserWarning"
)


@SMTP_AUTH_WITHOUT_TLS
def test_each_token_opens_only_its_own_door_and_none_is_logged(
    db: Database, make_settings: Callable[..., Settings], caplog: pytest.LogCaptureFixture
) -> None:
    for name in (None, "httpx", "httpcore", "staycurrent"):
        caplog.set_level(logging.DEBUG, logger=name)
    with smtp_server(login=(SMTP_USER, SMTP_PASSWORD)) as smtp:
        api = make_api(
            db,
            make_settings,
            items=40,
            smtp_host="127.0.0.1",
            smtp_port=smtp.port,
            smtp_starttls=False,
            smtp_username=SMTP_USER,
            smtp_password=SMTP_PASSWORD,
        )
        secret_key = api.settings.secret_key_bytes()
        book = base_book(secret_key.decode())
        got = exercise(api.client, book, secret=secret_key, now=api.now)
        with db.session() as session:
            ada = get_profile(session, 1)
        result = send_now(db, api.settings, ada, api.now)
        delivered = len(smtp.messages)
    assert got == EXPECTED
    assert result is not None and (result.outcome, delivered) == ("sent", 1)
    output = formatted(caplog.records)
    assert "/v1/subscriptions/***/feed.rss" in output  # lines that carried a token were logged
    assert book.leaks(output) == []


# --------------------------------------------------------------------------- real processes


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def with_password(url: str, password: str, port: int | None = None) -> str:
    parsed = sa.engine.make_url(url).set(password=password)
    if port is not None:
        parsed = parsed.set(port=port)
    return parsed.render_as_string(hide_password=False)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (f"postgresql://ada:{DB_PASSWORD}@db:5432/sc", "postgresql://ada:***@db:5432/sc"),
        ("postgresql+psycopg://ada@db/sc", "postgresql+psycopg://ada@db/sc"),
        ("sqlite:///data/staycurrent.db", "sqlite:///data/staycurrent.db"),
    ],
)
def test_settings_show_hides_the_database_password(url: str, shown: str) -> None:
    assert without_password(url) == shown


@SMTP_AUTH_WITHOUT_TLS
@pytest.mark.postgres
@pytest.mark.slow
def test_no_secret_reaches_the_output_of_real_processes(postgres_url: str, tmp_path: Path) -> None:
    seeded = Database(postgres_url)
    # The server ranks as of the real clock: the corpus must be recent now, not on a fixed day.
    corpus = generate_corpus(seeded, items=40, seed=5, now=datetime.now(UTC))
    seeded.dispose()
    port = free_port()
    book = base_book(SECRET)
    book.add("database password", DB_PASSWORD)
    with smtp_server(login=(SMTP_USER, SMTP_PASSWORD)) as smtp:
        env = cli_env(
            with_password(postgres_url, DB_PASSWORD),
            port=port,
            base_url=f"http://127.0.0.1:{port}",
            admin_token=ADMIN_TOKEN,
            smtp_host="127.0.0.1",
            smtp_port=smtp.port,
            smtp_starttls=False,
            smtp_username=SMTP_USER,
            smtp_password=SMTP_PASSWORD,
            log_format="json",
            log_level="DEBUG",
            data_dir=tmp_path / "data",
        )
        unreachable = env | {
            "STAYCURRENT_DATABASE_URL": with_password(postgres_url, DB_PASSWORD, 1)
        }
        serving = start(["serve"], env, tmp_path, "serve")
        beside = [  # meanwhile: the settings shown, and a database that cannot be reached
            start(["settings", "show"], env, tmp_path, "show"),
            start(["db", "upgrade"], unreachable, tmp_path, "unreachable"),
        ]
        wait_until(lambda: _answers(f"http://127.0.0.1:{port}/healthz"), "the API to answer")
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            got = exercise(client, book, secret=SECRET.encode(), now=corpus.now)
        serving.process.send_signal(signal.SIGTERM)
        assert serving.finish(timeout=20) == 0, serving.output()
        at = corpus.now.isoformat()
        sent = start(["digest", "send", "--profile", "bob", "--at", at], env, tmp_path, "send")
        assert sent.finish() == 0, sent.output()
        delivered = len(smtp.messages)
    shown, failing = beside
    assert (shown.finish(), failing.finish() != 0) == (0, True)
    outputs = [process.output() for process in (serving, sent, shown, failing)]

    assert got == EXPECTED
    assert delivered == 1
    log_lines = [line for line in serving.stderr.read_text().splitlines() if line.startswith("{")]
    assert [json.loads(line)["level"] for line in log_lines]  # JSON lines were written
    assert "STAYCURRENT_DATABASE_URL=postgresql+psycopg://postgres:***@" in shown.output()
    assert book.leaks("\n".join(outputs)) == []
