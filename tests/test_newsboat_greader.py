"""A real reader app on the Google Reader API: newsboat 2.21's FeedHQ mode against
``staycurrent serve`` on a random port.

newsboat signs in with an app password made by ``staycurrent profile app-password create``,
reads ``subscription/list``, fetches every subscription as the classic Atom output, and marks
read with ``edit-tag`` and ``mark-all-as-read``. It runs without its interface for ``reload``
and ``print-unread``; to mark items read it runs its interface in a pseudo-terminal and is sent
the keys a person presses (Enter opens a feed, ``N`` toggles an item read, ``A`` marks a feed
read). Its cache (SQLite) is read back and compared with our ranked lens and the feedback table.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import shutil
import sqlite3
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, urlencode

import httpx
import pytest
from corpusgen import generate_corpus
from processkit import answers, free_port, stop_leftovers
from sqlmodel import select as sql_select
from workerprocs import start, wait_until

from service.storage.engine import Database
from service.storage.models import Feedback

ROOT = Path(__file__).resolve().parent.parent
MIN_ITEMS = 100  # feedhq-min-items: the n newsboat asks each stream for


@dataclass
class Served:
    home: Path
    env: dict[str, str]
    url: str
    db: Database
    password: str
    auth: str


def _cli(env: dict[str, str], home: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "service.cli", *args],
        env=env,
        cwd=home,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    if shutil.which("newsboat") is None:
        pytest.skip("newsboat is not installed (.ci/run installs it: apt-get install newsboat)")
    home = tmp_path_factory.mktemp("newsboat-greader")
    port = free_port()
    database_url = f"sqlite:///{home / 'staycurrent.db'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("STAYCURRENT_")}
    env |= {
        "STAYCURRENT_DATABASE_URL": database_url,
        "STAYCURRENT_PORT": str(port),
        "STAYCURRENT_DATA_DIR": str(home / "data"),
        "HOME": str(home),
    }
    (home / "feeds.yaml").symlink_to(ROOT / "feeds.yaml")  # serve reads the catalog
    _cli(env, home, "db", "upgrade")
    db = Database(database_url)
    generate_corpus(db, items=300, seed=11, now=datetime.now(UTC), span_days=10)
    _cli(env, home, "profile", "create", "reader", "--interests", "nlp", "--window-days", "30")
    made = json.loads(
        _cli(
            env,
            home,
            "profile",
            "app-password",
            "create",
            "reader",
            "--label",
            "newsboat",
            "--json",
        )
    )
    server = start(["serve"], env, home, "serve")
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: answers(f"{url}/readyz"), "the server", timeout=60)
        login = {"Email": "reader", "Passwd": made["password"]}
        signed = httpx.post(f"{url}/accounts/ClientLogin", data=login, timeout=10)
        assert signed.status_code == 200, signed.text
        auth = signed.text.split("Auth=")[1].strip()
        yield Served(home, env, url, db, made["password"], auth)
    finally:
        stop_leftovers([server])
        db.dispose()


def _config(served: Served) -> Path:
    config = served.home / "config"
    config.write_text(
        f'urls-source "feedhq"\n'
        f'feedhq-url "{served.url}"\n'
        f'feedhq-login "reader"\n'
        f'feedhq-password "{served.password}"\n'
        f"feedhq-min-items {MIN_ITEMS}\n"
        f'article-sort-order "date-desc"\n'
        f"reload-threads 2\n"
        f"download-timeout 30\n"
    )
    return config


def _newsboat(served: Served, *commands: str) -> str:
    args = ["newsboat", "-C", str(_config(served)), "-c", str(served.home / "cache.db")]
    done = subprocess.run(
        [*args, "-x", *commands],
        env=served.env,
        cwd=served.home,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _api(served: Served, path: str, **params: object) -> httpx.Response:
    headers = {"Authorization": f"GoogleLogin auth={served.auth}"}
    return httpx.get(f"{served.url}{path}", params=params, headers=headers, timeout=30)


def _subscriptions(served: Served) -> list[dict[str, object]]:
    response = _api(served, "/reader/api/0/subscription/list", output="json")
    assert response.status_code == 200, response.text
    listed: list[dict[str, object]] = response.json()["subscriptions"]
    return listed


def _stream_ids(served: Served, stream: str) -> list[int]:
    response = _api(served, "/reader/api/0/stream/items/ids", s=stream, n=MIN_ITEMS)
    return [int(ref["id"]) for ref in response.json()["itemRefs"]]


def _reads(served: Served) -> set[int]:
    with served.db.session() as session:
        rows = session.exec(sql_select(Feedback.item_id).where(Feedback.signal == "read")).all()
    return set(rows)


def _cache_rows(served: Served) -> list[tuple[str, str, str, str, int]]:
    with sqlite3.connect(served.home / "cache.db") as cache:
        return list(cache.execute("select feedurl, guid, title, url, unread from rss_item"))


def test_reload_shows_our_lenses_and_sources_with_matching_counts(served: Served) -> None:
    _newsboat(served, "reload")
    subscriptions = _subscriptions(served)
    rows = _cache_rows(served)
    with sqlite3.connect(served.home / "cache.db") as cache:
        feeds = dict(cache.execute("select rssurl, title from rss_feed"))
    expected_feeds = {
        f"{served.url}/reader/atom/{quote(str(s['id']), safe='')}?n={MIN_ITEMS}"
        for s in subscriptions
    }
    assert expected_feeds <= set(feeds)  # every subscription, lenses included, was fetched
    everything: set[int] = set()
    for subscription in subscriptions:
        everything |= set(_stream_ids(served, str(subscription["id"])))
    guids = {guid for _feed, guid, _t, _u, _unread in rows}
    assert guids == {f"tag:google.com,2005:reader/item/{i:016x}" for i in everything}
    unread = _newsboat(served, "print-unread")
    assert unread.split()[0] == str(len(everything)), unread
    lens = next(s for s in subscriptions if str(s["id"]).endswith("/reader/lens/your-feed"))
    ranked = _stream_ids(served, str(lens["id"]))
    contents = httpx.post(
        f"{served.url}/reader/api/0/stream/items/contents",
        content=urlencode([("i", str(i)) for i in ranked]),
        headers={
            "Authorization": f"GoogleLogin auth={served.auth}",
            "Content-Type": "application/x-www-form-urlencoded",
        },
        timeout=30,
    ).json()["items"]
    by_guid = {guid: (title, url) for _f, guid, title, url, _u in rows}
    for item in contents:
        title, url = by_guid[item["id"]]
        assert title == item["title"] and url == item["canonical"][0]["href"]


def _cache_rows_dated(served: Served) -> list[tuple[str, str, int]]:
    with sqlite3.connect(served.home / "cache.db") as cache:
        return list(cache.execute("select feedurl, guid, pubDate from rss_item"))


def _keys(fd: int, keys: list[str], wait: float = 1.5) -> None:
    for key in keys:  # a key's bytes go together: ESC O B alone is Down, apart it is three keys
        os.write(fd, key.encode())
        time.sleep(0.3)
    time.sleep(wait)


def _drain(fd: int, seconds: float) -> str:
    out, deadline = b"", time.monotonic() + seconds
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                out += os.read(fd, 65536)
            except OSError:
                break
    return out.decode(errors="replace")


def _interactive(served: Served, keys: list[list[str]]) -> str:
    """newsboat's interface in a pseudo-terminal, sent ``keys`` one group at a time."""
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 160, 0, 0))
    args = ["newsboat", "-C", str(_config(served)), "-c", str(served.home / "cache.db")]
    process = subprocess.Popen(
        args,
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        env=served.env | {"TERM": "xterm", "LANG": "C.UTF-8"},
        cwd=served.home,
        start_new_session=True,
    )
    os.close(terminal)
    screen = _drain(controller, 8.0)
    try:
        for group in keys:
            _keys(controller, group)
            screen += _drain(controller, 1.0)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(controller)
    return screen


def _feed_url(served: Served, stream_id: str) -> str:
    return f"{served.url}/reader/atom/{quote(stream_id, safe='')}?n={MIN_ITEMS}"


def test_reads_in_newsboat_arrive_as_feedback(served: Served) -> None:
    _newsboat(served, "reload")
    subscriptions = [str(s["id"]) for s in _subscriptions(served)]
    assert subscriptions[0].endswith("/reader/lens/your-feed")
    # newsboat keeps an item once (by guid), under one of the feeds that list it: pick the first
    # lens that holds two items in its cache, and the next subscription that holds any
    rows = _cache_rows_dated(served)
    held = {
        stream: [r for r in rows if r[0] == _feed_url(served, stream)] for stream in subscriptions
    }
    first = next(
        i for i, s in enumerate(subscriptions) if "/reader/lens/" in s and len(held[s]) >= 2
    )
    second = next(i for i in range(first + 1, len(subscriptions)) if held[subscriptions[i]])
    shown = sorted(held[subscriptions[first]], key=lambda r: r[2], reverse=True)  # date-desc
    # our dates put a lens in rank order: newsboat's dates fall along the API's order
    ranked = _stream_ids(served, subscriptions[first])
    dates = {int(guid.rsplit("/", 1)[-1], 16): date for _f, guid, date in shown}
    along = [dates[i] for i in ranked if i in dates]
    assert along == sorted(along, reverse=True)
    before = _reads(served)
    built_in = 3  # newsboat lists "People you follow", "Starred items", "Shared items" first
    down = "\x1bOB"  # the Down key, as a terminal in application mode sends it
    screen = _interactive(
        served,
        [
            [down] * (built_in + first),
            ["\r"],
            ["N"],
            ["q"],
            [down] * (second - first),
            ["A"],
            ["q"],
        ],
    )
    (served.home / "screen.txt").write_text(screen)  # what newsboat showed, for a failure
    reads = _reads(served) - before
    boundary = shown[0][2]
    toggled = {int(g.rsplit("/", 1)[-1], 16) for _f, g, d in shown if d >= boundary}
    marked_all = set(_stream_ids(served, subscriptions[second]))
    assert reads & toggled and reads <= marked_all | toggled  # "N" on the top item
    assert marked_all and marked_all <= reads  # "A": mark-all-as-read of that subscription
    unread_ids = _api(
        served,
        "/reader/api/0/stream/items/ids",
        s="user/-/state/com.google/reading-list",
        xt="user/-/state/com.google/read",
        n=1000,
    ).json()["itemRefs"]
    assert not {int(r["id"]) for r in unread_ids} & reads
    _newsboat(served, "reload")
    after = _newsboat(served, "print-unread")
    assert int(after.split()[0]) <= int(_newsboat(served, "print-unread").split()[0])
