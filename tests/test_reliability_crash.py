"""SIGKILL a worker mid-round and restart it: it stores exactly what an undisturbed run does.

100 sources (60 blogs sharing some posts, 40 arXiv listings with cross-listed papers) on the feed
server. The undisturbed run polls them in one database; in another, a ``staycurrent worker --once``
process is killed with SIGKILL after about a third of its polls, its leases are left to expire and
a second worker finishes the round. The two databases then hold the same items (canonical keys,
titles, tag sets) seen in the same sources — none lost, none twice — and no lease is left.

The digest sender's "no period sent twice" under SIGKILL is proven in ``test_digest_delivery``
(``test_a_sender_killed_*``).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from feedgen import Paper, Post, arxiv_listing, blog, random_papers
from feedserver import FeedServer, Route
from sqlmodel import func, select
from workerprocs import cli_env, start, wait_until

from service.catalog import load_catalog
from service.config import Settings
from service.storage.catalog import sync_taxonomy
from service.storage.engine import Database
from service.storage.migrate import upgrade
from service.storage.models import HostLease, Item, ItemSource, ItemTag, PollLog, Source, Tag
from service.storage.sources import add_source
from service.worker.compose import polling

ROOT = Path(__file__).resolve().parent.parent
TAXONOMY = load_catalog(ROOT / "feeds.yaml").taxonomy
HOSTS = ("127.0.0.1", "127.0.0.2")
BLOGS, LISTINGS = 60, 40
CATEGORIES = ("cs.LG", "cs.CL", "cs.CV", "cs.AI", "stat.ML", "cs.RO", "cs.IR", "eess.AS")
POLL = {"poll_batch_size": 10, "poll_per_host": 2, "poll_lease_seconds": 1.5}
KILL_AFTER = 30  # polls stored before the SIGKILL


def blog_feed(i: int) -> bytes:
    posts = [
        Post(
            f"own-{i}-{x}",
            f"Notes on transformer training, part {i}{x}",
            f"https://blog{i}.example/{x}",
        )
        for x in "abc"
    ]
    shared = i % 6
    posts.append(
        Post(
            f"shared-{shared}",
            f"A robotics benchmark everyone links ({shared})",
            f"https://shared.example/{shared}",
        )
    )
    return blog(f"Blog {i}", f"https://blog{i}.example", posts)


PAPERS = random_papers(LISTINGS * 4 + 8, seed=11)


def listing(j: int) -> bytes:
    papers: list[Paper] = PAPERS[j * 4 : j * 4 + 10]  # six of ten shared with the next listing
    return arxiv_listing(CATEGORIES[j % len(CATEGORIES)], papers)


def documents() -> list[tuple[str, str, bytes]]:
    """(source name, kind, document) of the 100 sources."""
    return [(f"Blog {i}", "post", blog_feed(i)) for i in range(BLOGS)] + [
        (f"Listing {j}", "paper", listing(j)) for j in range(LISTINGS)
    ]


def serve(server: FeedServer, prefix: str, delay: float) -> list[str]:
    """The 100 documents served under ``prefix``, each answer ``delay`` seconds late."""
    return [
        server.route(f"/{prefix}/{n}", Route.feed(body, delay=delay), host=HOSTS[n % 2])
        for n, (_name, _kind, body) in enumerate(documents())
    ]


def seed(db: Database, urls: list[str]) -> None:
    """The taxonomy's tags and the 100 sources at ``urls``."""
    with db.write() as s:
        sync_taxonomy(s, TAXONOMY)
        for n, ((name, kind, _body), url) in enumerate(zip(documents(), urls, strict=True)):
            topics = ("robotics",) if n % 5 == 0 else ()
            add_source(s, name=name, url=url, kind=kind, topics=topics)  # type: ignore[arg-type]


def count(db: Database, table: type) -> int:
    with db.session() as s:
        return s.exec(select(func.count()).select_from(table)).one()


def stored(db: Database) -> dict[str, tuple[str, frozenset[str]]]:
    """canonical key -> (title, tag slugs) of every item."""
    with db.session() as s:
        rows = s.exec(select(Item.id, Item.canonical_key, Item.title)).all()
        tags = s.exec(select(ItemTag.item_id, Tag.slug).join(Tag, Tag.id == ItemTag.tag_id)).all()
    by_item: dict[int, set[str]] = {}
    for item_id, slug in tags:
        by_item.setdefault(item_id, set()).add(slug)
    return {key: (title, frozenset(by_item.get(item_id, ()))) for item_id, key, title in rows}


def sightings(db: Database) -> list[tuple[str, str]]:
    """(source name, canonical key) of every time an item was seen in a source."""
    with db.session() as s:
        rows = s.exec(
            select(Source.name, Item.canonical_key)
            .join(ItemSource, ItemSource.source_id == Source.id)
            .join(Item, Item.id == ItemSource.item_id)
        ).all()
    return sorted((name, key) for name, key in rows)


def live_leases(db: Database) -> list[str]:
    """Source leases and host turns that have not expired yet."""
    now = datetime.now(UTC)
    with db.session() as s:
        rows = [
            *((f"source {r.name}", r.lease_owner, r.lease_until) for r in s.exec(select(Source))),
            *((f"host {r.host}", r.owner, r.lease_until) for r in s.exec(select(HostLease))),
        ]
    return [what for what, owner, until in rows if owner and until and until > now]


def lease_owners(db: Database) -> list[str]:
    """Sources that still name a lease owner, expired or not."""
    with db.session() as s:
        return [row.name for row in s.exec(select(Source)) if row.lease_owner or row.lease_until]


@pytest.fixture
def spare_url(db_url: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A second migrated, empty database on the same engine as ``db_url``."""
    if db_url.startswith("sqlite"):
        path = tmp_path / "undisturbed.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    name = f"sc_spare_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(db_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.engine.make_url(db_url).set(database=name).render_as_string(hide_password=False)
    spare = Database(url)
    upgrade(spare)
    spare.dispose()
    yield url
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


async def one_round(settings: Settings, db: Database) -> int:
    async with polling(settings, db, TAXONOMY) as poller:
        return len((await poller.run_round()).results)


@pytest.mark.slow
def test_a_worker_killed_mid_round_and_restarted_stores_what_an_undisturbed_run_does(
    db_url: str, spare_url: str, tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    killed_db, calm_db = Database(db_url), Database(spare_url)
    settings = make_settings(database_url=spare_url, allow_private_networks=True, **POLL)
    with FeedServer.running(hosts=HOSTS) as server, ThreadPoolExecutor(1) as beside:
        seed(calm_db, serve(server, "calm", delay=0.0))
        calm_round = beside.submit(asyncio.run, one_round(settings, calm_db))

        seed(killed_db, serve(server, "killed", delay=0.1))
        env: dict[str, Any] = cli_env(db_url, http_deadline=1, http_timeout=1, **POLL)
        first = start(["worker", "--once"], env, tmp_path, "first")
        wait_until(lambda: count(killed_db, PollLog) >= KILL_AFTER, f"{KILL_AFTER} polls")
        first.process.send_signal(signal.SIGKILL)
        first.finish()
        polled_before_kill = count(killed_db, PollLog)
        serve(server, "killed", delay=0.0)  # the same documents, now without delay
        wait_until(lambda: live_leases(killed_db) == [], "the killed worker's leases to expire")
        second = start(["worker", "--once"], env, tmp_path, "second")
        assert second.finish() == 0, second.output()
        polled = count(killed_db, PollLog)
        assert calm_round.result() == BLOGS + LISTINGS
    assert KILL_AFTER <= polled_before_kill < BLOGS + LISTINGS  # killed mid-round
    assert polled == BLOGS + LISTINGS  # each source stored once: the killed batch was redone
    calm = stored(calm_db)
    assert len(calm) > 300  # the comparison is over a real corpus: shared posts, merged papers
    assert stored(killed_db) == calm  # none lost, none changed
    assert sightings(killed_db) == sightings(calm_db)  # none seen twice
    assert count(killed_db, Item) == count(calm_db, Item)
    assert (lease_owners(killed_db), live_leases(killed_db)) == ([], [])
    with killed_db.session() as s:
        assert [row.name for row in s.exec(select(Source)) if row.last_outcome != "updated"] == []
    killed_db.dispose()
    calm_db.dispose()
