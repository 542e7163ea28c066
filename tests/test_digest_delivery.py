"""Digests end to end on SQLite and PostgreSQL, over a real SMTP server (aiosmtpd): what arrives,
links that work, unsubscribing, never an item twice, empty periods, retries, and exactly once
with two concurrent senders and with a sender killed between its claim and the server's answer.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import lxml.html
import pytest
import sqlalchemy as sa
from corpusgen import GeneratedCorpus, generate_corpus
from fastapi.testclient import TestClient
from smtpserver import Received, SMTPServer, smtp_server
from sqlmodel import select

from service.config import Settings
from service.outputs.api.app import create_app
from service.outputs.digest.run import DigestResult, gather, run_due_digests, send_now
from service.outputs.feed import FeedOptions, build_feed
from service.storage.deliveries import (
    OUTCOME_UNKNOWN,
    begin_sending,
    claim_delivery,
    get_delivery,
    mark_sent,
)
from service.storage.engine import Database
from service.storage.models import Delivery, DeliveryItem, Feedback, Item, Profile
from service.storage.profiles import create_profile, get_profile

BASE_URL = "https://feeds.example.org"
TESTS = Path(__file__).resolve().parent
# The corpus ends on Friday 20 November 2026, 12:00 UTC; 07:30 in Berlin is 06:30 UTC, so at
# that moment every profile below is 5.5 hours past its send time: due.
PERIOD = "2026-11-20"


@dataclass
class Rig:
    db: Database
    settings: Settings
    server: SMTPServer
    corpus: GeneratedCorpus
    moments: list[datetime]

    @property
    def now(self) -> datetime:
        return self.moments[-1]

    def at(self, delta: timedelta) -> datetime:
        self.moments.append(self.corpus.now + delta)
        return self.now

    def run(self, delta: timedelta = timedelta(0)) -> list[DigestResult]:
        return run_due_digests(self.db, self.settings, self.at(delta))

    def publish(self, delta: timedelta, *, items: int = 60) -> None:
        """More items, published in the day before ``corpus.now + delta``."""
        generate_corpus(self.db, items=items, seed=12, now=self.corpus.now + delta, span_days=1)

    def profile(self, name: str, **fields: Any) -> Profile:
        changes = {
            "interests": {"nlp": 1.0},
            "email": f"{name}@example.org",
            "digest_enabled": True,
            "digest_time": "07:30",
            "timezone": "Europe/Berlin",
            **fields,
        }
        return create_profile(self.db, name=name, changes=changes).profile

    def client(self) -> TestClient:
        app = create_app(self.settings, db=self.db, clock=lambda: self.now)
        return TestClient(app)

    def inbox(self, name: str) -> list[Received]:
        return self.server.received_by(f"{name}@example.org")

    def delivery(self, profile: Profile, period: str = PERIOD) -> Delivery:
        assert profile.id is not None
        with self.db.session() as session:
            row = get_delivery(session, profile_id=profile.id, period=period)
        assert row is not None
        return row

    def sent_items(self, profile: Profile, period: str = PERIOD) -> set[int]:
        delivery_id = self.delivery(profile, period).id
        with self.db.session() as session:
            rows = session.exec(
                select(DeliveryItem.item_id).where(DeliveryItem.delivery_id == delivery_id)
            )
            return set(rows.all())


@pytest.fixture
def rig(db: Database, make_settings: Callable[..., Settings]) -> Iterator[Rig]:
    corpus = generate_corpus(db, items=160, seed=11)
    with smtp_server() as server:
        settings = make_settings(
            base_url=BASE_URL,
            smtp_host="127.0.0.1",
            smtp_port=server.port,
            smtp_starttls=False,
            smtp_timeout=10.0,
            smtp_from="Staycurrent <digest@example.org>",
        )
        yield Rig(db, settings, server, corpus, [corpus.now])


def _html_links(received: Received) -> list[str]:
    body = received.message.get_body(("html",))
    assert body is not None
    document = lxml.html.document_fromstring(body.get_content())
    return [a.get("href") for a in document.iter("a")]


def test_a_due_digest_arrives_with_both_parts_and_its_header_line(rig: Rig) -> None:
    ada = rig.profile("ada", digest_budget_minutes=20, digest_max_items=8)
    [result] = rig.run()
    assert (result.profile, result.period, result.outcome) == ("ada", PERIOD, "sent")
    [received] = rig.inbox("ada")
    message = received.message
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    header = f"{result.items} items · {result.minutes} min · "
    assert header in text and header in str(message["Subject"])
    assert 0 < result.items <= 8 and result.minutes <= 20
    row = rig.delivery(ada)
    assert (row.status, row.item_count, row.minutes, row.attempts) == (
        "sent",
        result.items,
        result.minutes,
        1,
    )
    assert message["Message-ID"] == row.message_id == result.message_id
    assert len(rig.sent_items(ada)) == result.items
    assert rig.run() == []  # the period is done
    assert len(rig.inbox("ada")) == 1


def test_the_links_in_the_email_work(rig: Rig) -> None:
    ada = rig.profile("ada")
    rig.run()
    [received] = rig.inbox("ada")
    ours = [href for href in _html_links(received) if href.startswith(BASE_URL)]
    feedback = [href for href in ours if "/v1/feedback/" in href]
    assert len(feedback) == 3 * rig.delivery(ada).item_count
    client = rig.client()
    for href in feedback[:6]:
        page = client.get(urlsplit(href).path)
        assert page.status_code == 200 and "<form" in page.text
    with rig.db.session() as session:
        assert session.exec(select(Feedback)).all() == []  # opening a link records nothing
    assert client.post(urlsplit(feedback[0]).path).status_code == 200
    with rig.db.session() as session:
        [recorded] = session.exec(select(Feedback)).all()
    assert recorded.profile_id == ada.id and recorded.signal == "like"
    assert recorded.item_id in rig.sent_items(ada)


def test_one_click_unsubscribe_stops_the_digest(rig: Rig) -> None:
    ada = rig.profile("ada")
    rig.profile("bob")
    rig.run()
    [received] = rig.inbox("ada")
    header = str(received.message["List-Unsubscribe"])
    assert received.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = header.strip("<>")
    assert url.startswith(f"{BASE_URL}/v1/unsubscribe/") and url in _html_links(received)
    client = rig.client()
    page = client.get(urlsplit(url).path)
    assert page.status_code == 200 and "<form" in page.text
    with rig.db.session() as session:
        assert get_profile(session, ada.id or 0).digest_enabled  # a GET changes nothing
    # what a mail client sends for RFC 8058 one-click
    done = client.post(
        urlsplit(url).path,
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert done.status_code == 200 and "Unsubscribed" in done.text
    with rig.db.session() as session:
        assert not get_profile(session, ada.id or 0).digest_enabled
    assert client.post(urlsplit(url).path).status_code == 200  # twice is harmless
    rig.publish(timedelta(days=1))
    rig.run(timedelta(days=1))
    assert len(rig.inbox("ada")) == 1 and len(rig.inbox("bob")) == 2


def test_no_item_is_sent_twice(rig: Rig) -> None:
    ada = rig.profile("ada", digest_budget_minutes=30, digest_max_items=15)
    rig.run()
    first = rig.sent_items(ada)
    # 30 hours later the window reaches 2 days back: it covers most of the first digest's.
    later = rig.corpus.now + timedelta(hours=30)
    feed = build_feed(
        rig.db,
        profile=ada,
        options=FeedOptions(window_days=2, limit=100),
        secret=rig.settings.secret_key_bytes(),
        now=later,
    )
    assert first & {item.candidate.id for item in feed.items}  # a repeat was possible
    [result] = rig.run(timedelta(hours=30))
    assert result.outcome == "sent" and result.period == "2026-11-21"
    second = rig.sent_items(ada, "2026-11-21")
    assert second and not first & second


def test_hostile_feed_text_arrives_inert(rig: Rig) -> None:
    rig.profile("ada")
    with rig.db.write() as session:
        session.execute(
            sa.update(Item).values(
                title=sa.literal('<script>alert("t")</script><img src=x onerror=alert(1)> ')
                + Item.title,
                summary_text='<a href="javascript:alert(2)" onclick="x()">read</a> <iframe>',
                url="javascript:alert(3)",
                pdf_url=" JaVaScRiPt:alert(4)",
                enclosure_url="data:text/html,<script>alert(5)</script>",
            )
        )
    rig.run()
    [received] = rig.inbox("ada")
    body = received.message.get_body(("html",))
    assert body is not None
    document = lxml.html.document_fromstring(body.get_content())
    assert document.xpath("//script | //img | //iframe") == []
    for element in document.iter():
        assert not any(name.lower().startswith("on") for name in element.attrib)
    hrefs = [a.get("href") for a in document.iter("a")]
    assert all(h.startswith(("https://", "http://")) for h in hrefs)
    assert '<script>alert("t")</script>' in document.text_content()  # shown, as text


def test_items_sent_before_are_skipped_across_feed_pages(rig: Rig) -> None:
    ada = rig.profile("ada", digest_max_items=20)  # asks for 80 candidates: more than a page
    two_weeks_ago = rig.corpus.now - timedelta(days=14)
    secret = rig.settings.secret_key_bytes()
    options = FeedOptions(window_days=14, limit=100)
    feed = build_feed(rig.db, profile=ada, options=options, secret=secret, now=rig.now)
    assert feed.next_cursor is not None and feed.total > 100
    already = [item.candidate.id for item in feed.items[:90]]
    claim = claim_delivery(
        rig.db,
        profile_id=ada.id or 0,
        period="2026-11-06",
        claimant="earlier",
        now=two_weeks_ago,
        lease=timedelta(minutes=5),
    )
    assert claim is not None
    begin_sending(
        rig.db,
        claim=claim,
        item_ids=already,
        minutes=180,
        message_id="<old@example.org>",
        now=two_weeks_ago,
        lease=timedelta(minutes=5),
    )
    mark_sent(rig.db, claim=claim, now=two_weeks_ago)
    found, _topics, _areas = gather(rig.db, ada, now=rig.now)
    assert len(found) == feed.total - 90
    assert not {item.candidate.id for item in found} & set(already)
    ranks = [item.position for item in found]
    assert ranks == sorted(ranks) and ranks[-1] >= 100  # in rank order, into the second page


def test_an_empty_period_sends_nothing_unless_a_note_was_asked_for(rig: Rig) -> None:
    quiet = rig.profile("quiet")
    noted = rig.profile("noted", digest_empty_note=True)
    # three days after the corpus ends: nothing was published in the window
    results = {r.profile: r for r in rig.run(timedelta(days=3))}
    assert results["quiet"].outcome == "skipped" and rig.inbox("quiet") == []
    assert rig.delivery(quiet, "2026-11-23").status == "skipped"
    assert results["noted"].outcome == "sent" and results["noted"].items == 0
    [note] = rig.inbox("noted")
    assert "nothing new" in str(note.message["Subject"])
    assert rig.delivery(noted, "2026-11-23").status == "sent"


def test_a_transient_refusal_is_retried_with_backoff(rig: Rig) -> None:
    ada = rig.profile("ada")
    rig.server.refuse("RCPT", "451 4.2.0 Mailbox temporarily unavailable")
    [first] = rig.run()
    assert first.outcome == "retry" and first.reason and "451 4.2.0" in first.reason
    # five minutes after the attempt (the run's clock moves on from ``now`` while it works)
    assert first.retry_at is not None
    assert rig.now + timedelta(minutes=5) <= first.retry_at < rig.now + timedelta(minutes=6)
    row = rig.delivery(ada)
    assert (row.status, row.attempts) == ("pending", 1)
    assert rig.run(timedelta(minutes=4)) == []  # not yet
    [second] = rig.run(timedelta(minutes=6))
    assert second.outcome == "sent"
    assert len(rig.inbox("ada")) == 1 and rig.delivery(ada).attempts == 2


def test_a_permanent_refusal_is_recorded_with_the_reply(rig: Rig) -> None:
    ada = rig.profile("ada")
    rig.server.refuse("RCPT", "550 5.1.1 <ada@example.org>: Recipient address rejected")
    [result] = rig.run()
    assert result.outcome == "failed"
    row = rig.delivery(ada)
    assert row.status == "failed" and row.error
    assert "550 5.1.1 <ada@example.org>: Recipient address rejected" in row.error
    assert rig.run(timedelta(hours=1)) == [] and rig.inbox("ada") == []


def test_sending_by_hand_counts_as_the_period(rig: Rig) -> None:
    ada = rig.profile("ada", digest_time="18:00")  # not due yet at 12:00 UTC
    assert rig.run() == []
    result = send_now(rig.db, rig.settings, ada, rig.now)
    assert result is not None and result.outcome == "sent" and result.period == PERIOD
    assert send_now(rig.db, rig.settings, ada, rig.now) is None  # once
    assert rig.run(timedelta(hours=6)) == []  # 18:00 Berlin: the period is already sent
    assert len(rig.inbox("ada")) == 1


def test_one_unreadable_schedule_does_not_stop_the_others(rig: Rig) -> None:
    broken = rig.profile("broken")
    rig.profile("ada")
    with rig.db.write() as session:  # a value written behind the checks' back
        session.execute(
            sa.update(Profile).where(Profile.id == broken.id).values(timezone="Nowhere/Land")
        )
    assert [r.profile for r in rig.run()] == ["ada"]
    assert rig.inbox("broken") == [] and len(rig.inbox("ada")) == 1


def test_two_concurrent_senders_send_each_period_once(rig: Rig) -> None:
    names = [f"p{n}" for n in range(4)]
    for name in names:
        rig.profile(name)
    start = threading.Barrier(2)
    results: list[DigestResult] = []
    errors: list[BaseException] = []

    def worker() -> None:
        own = Database(rig.db.url, pool_size=2)
        try:
            start.wait()
            results.extend(run_due_digests(own, rig.settings, rig.now))
        except BaseException as exc:
            errors.append(exc)
        finally:
            own.dispose()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(r.profile for r in results if r.outcome == "sent") == names
    assert sorted(m.recipients[0] for m in rig.server.messages) == [
        f"{name}@example.org" for name in names
    ]


# --------------------------------------------------------------------------- killed senders


def _doomed(rig: Rig, tmp_path: Path, **job: Any) -> subprocess.Popen[str]:
    """Start digest_crash.py and wait until it reports the stage it must be killed at."""
    settings = {
        "database_url": rig.db.url,
        "secret_key": rig.settings.secret_key_bytes().decode(),
        "base_url": BASE_URL,
        "smtp_host": "127.0.0.1",
        "smtp_port": rig.server.port,
        "smtp_starttls": False,
        "smtp_timeout": 60.0,
        "smtp_from": rig.settings.smtp_from,
        "data_dir": str(tmp_path / "data"),
    }
    document = {"database_url": rig.db.url, "now": rig.now.isoformat(), "settings": settings}
    process = subprocess.Popen(
        [sys.executable, str(TESTS / "digest_crash.py"), json.dumps({**document, **job})],
        stdout=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(TESTS.parent)},
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "ready"
    return process


def _kill(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGKILL)
    assert process.wait(timeout=30) == -signal.SIGKILL
    assert process.stdout is not None
    process.stdout.close()


def test_a_sender_killed_after_its_claim_is_replaced_and_sends_once(
    rig: Rig, tmp_path: Path
) -> None:
    ada = rig.profile("ada")
    _kill(_doomed(rig, tmp_path, mode="claimed", profile_id=ada.id, period=PERIOD))
    assert rig.run(timedelta(minutes=1)) == []  # its lease still holds the period
    [result] = rig.run(timedelta(minutes=6))  # the lease ran out; nothing had been sent
    assert result.outcome == "sent"
    assert len(rig.inbox("ada")) == 1 and rig.delivery(ada).attempts == 2


def test_a_sender_killed_while_sending_is_never_repeated(rig: Rig, tmp_path: Path) -> None:
    ada = rig.profile("ada")
    process = _doomed(
        rig, tmp_path, mode="sending", profile_id=ada.id, period=PERIOD, item_ids=[1, 2, 3]
    )
    _kill(process)
    assert rig.run(timedelta(hours=1)) == []
    row = rig.delivery(ada)
    assert (row.status, row.error) == ("failed", OUTCOME_UNKNOWN)
    assert rig.run(timedelta(hours=2)) == [] and rig.inbox("ada") == []
    assert rig.sent_items(ada) == {1, 2, 3} and row.sent_at is None


def test_a_sender_killed_after_handing_over_the_message_is_delivered_once(
    rig: Rig, tmp_path: Path
) -> None:
    ada = rig.profile("ada")
    rig.server.hold_data()
    process = _doomed(rig, tmp_path, mode="smtp")
    assert rig.server.data_arrived.wait(timeout=60)
    _kill(process)  # the server queued the message; the sender never heard back
    rig.server.release()
    assert rig.run(timedelta(hours=1)) == []  # not sent again: the outcome is unknown
    row = rig.delivery(ada)
    assert (row.status, row.error) == ("failed", OUTCOME_UNKNOWN)
    assert rig.run(timedelta(hours=2)) == []
    assert len(rig.inbox("ada")) == 1
