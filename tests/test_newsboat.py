"""A real feed reader on a non-default port: newsboat imports the profile's ``lenses.opml`` (its
URLs follow STAYCURRENT_PORT, BASE_URL unset), reloads every lens over HTTP and shows articles.

newsboat runs without its interface (``-i`` to import, ``-x reload`` to fetch) with a config,
URL list and cache of its own; the articles are read back from its cache (SQLite)."""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from userkit import Session, newcomer

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    if shutil.which("newsboat") is None:
        pytest.fail("newsboat is needed (.ci/run installs it: apt-get install newsboat)")
    if not (ROOT.parent / "shared" / "corpus").is_dir():
        pytest.skip("the README's Quick start ingests ../shared/corpus, which is absent")
    with newcomer(tmp_path_factory.mktemp("newsboat")) as running:
        yield running


def test_newsboat_imports_lenses_opml_and_shows_articles(session: Session) -> None:
    created = session.bash(
        "staycurrent profile create reader --interests llm-nlp,ml-core --window-days 365 --json"
    )
    assert created.returncode == 0, created.stderr
    lenses = json.loads(created.stdout)["subscriptions"]["lenses OPML"]
    assert lenses.startswith(f"{session.api}/v1/subscriptions/")  # the port served, not 8000
    home = session.clone / "reader-home"
    home.mkdir()
    script = f"""
export HOME="{home}"
cd "$HOME"
curl -sSf "{lenses}" -o lenses.opml
printf 'reload-threads 2\\ndownload-timeout 20\\n' > config
newsboat -C config -u urls -c cache.db -i lenses.opml
newsboat -C config -u urls -c cache.db -x reload
"""
    done = session.bash(script, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    urls = (home / "urls").read_text().split()
    feeds = [u for u in urls if u.startswith("http")]
    assert len(feeds) >= 4 and all(u.startswith(f"{session.api}/") for u in feeds)
    with sqlite3.connect(home / "cache.db") as cache:
        rows = list(cache.execute("select feedurl, guid, title, url from rss_item"))
        known = {feed for (feed,) in cache.execute("select rssurl from rss_feed")}
    assert set(feeds) <= known  # every lens was fetched and parsed
    # newsboat keeps an item once (by guid) even when several lenses list it
    assert len(rows) >= 5, rows
    for feed, guid, title, url in rows:
        assert feed in feeds and title and url.startswith("https://arxiv.org/abs/")
        assert guid.startswith("arxiv:")  # the item's canonical key
