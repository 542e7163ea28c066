"""The digest as a letter and an email (pure): hostile feed text comes out inert in the HTML
part, both parts are there, and the headers a mail client needs (RFC 8058) survive folding."""

from __future__ import annotations

import email
from datetime import UTC, date, datetime
from email import policy
from email.message import EmailMessage
from email.utils import parsedate_to_datetime

import lxml.html
from digestkit import TOPICS, ranked_item

from service.outputs.digest.compose import Digest, compose_digest
from service.outputs.digest.message import build_message
from service.outputs.digest.render import Letter, Letterhead, render_letter

BASE = "https://feeds.example.org"
UNSUBSCRIBE = f"{BASE}/v1/unsubscribe/" + "eyJkIjp7InBpZCI6MX19" * 6 + ".c2lnbmF0dXJl" * 3
HOSTILE_TITLE = '<script>alert("title")</script>Attention Is <b>All</b>'
HOSTILE_SUMMARY = (
    '<img src=x onerror="alert(1)"> <a href="javascript:alert(2)">click</a> '
    '<svg onload=alert(3)></svg> " onmouseover="alert(4)" \'><iframe src=//evil.example>'
)


def _head(cadence: str = "daily") -> Letterhead:
    return Letterhead(
        profile_name="ada <admin>",
        local_date=date(2026, 11, 24),
        cadence=cadence,
        unsubscribe_url=UNSUBSCRIBE,
        feedback_url=lambda item_id, signal: f"{BASE}/v1/feedback/{item_id}-{signal}.sig",
    )


def _hostile_digest() -> Digest:
    ranked = [
        ranked_item(
            1,
            title=HOSTILE_TITLE,
            summary=HOSTILE_SUMMARY,
            url="javascript:alert(5)",
            arxiv_id=None,
            why='Mentions "<script>"',
            source="<b onclick=alert(6)>Evil blog</b>",
        ),
        ranked_item(
            2,
            position=1,
            kind="podcast",
            title="Episode 7 \u202e gnp.exe",
            enclosure_url="data:audio/mpeg;base64,AAAA",
            url=" javascript:alert(7)",
            duration_seconds=600,
            area="audio",
        ),
        ranked_item(
            3,
            position=2,
            arxiv_id="2611.00003",
            pdf_url="JaVaScRiPt:alert(8)",
            title="A safe paper",
        ),
    ]
    return compose_digest(ranked, topics=TOPICS, budget_minutes=60, max_items=10, areas_available=3)


def _document(letter: Letter) -> lxml.html.HtmlElement:
    return lxml.html.document_fromstring(letter.html)


def test_hostile_items_are_inert_in_the_html_part() -> None:
    letter = render_letter(_hostile_digest(), _head())
    document = _document(letter)
    assert document.xpath("//script | //iframe | //svg | //img | //object | //embed") == []
    for element in document.iter():
        for name, value in element.attrib.items():
            assert not name.lower().startswith("on"), (element.tag, name)
            assert "javascript:" not in value.lower() and "data:" not in value.lower()
    hrefs = [a.get("href") for a in document.iter("a")]
    assert hrefs and all(h.startswith(("https://", "http://")) for h in hrefs)
    text = document.text_content()
    assert HOSTILE_TITLE in text  # shown as the text it is, not as markup
    assert "<b onclick=alert(6)>Evil blog</b>" in text
    assert "\u202e" not in letter.html and "\u202e" not in letter.text


def test_the_html_is_an_email_layout_without_scripts_or_outside_resources() -> None:
    letter = render_letter(_hostile_digest(), _head())
    document = _document(letter)
    assert document.xpath("//table[@role='presentation']")
    assert document.xpath("//link | //style | //form | //base") == []
    styled = [e for e in document.iter() if e.get("style")]
    assert len(styled) > 10  # inline CSS, no stylesheet


def test_the_text_part_carries_every_item_and_link() -> None:
    digest = _hostile_digest()
    letter = render_letter(digest, _head())
    assert "3 items · 14 min · 2 of 3 areas" in letter.text
    for entry in digest.entries:
        assert entry.title[:20] in letter.text
        for link in entry.links:
            assert link.url in letter.text
        for signal in ("like", "dislike", "save"):
            assert f"{BASE}/v1/feedback/{entry.item_id}-{signal}.sig" in letter.text
    assert f"Unsubscribe: {UNSUBSCRIBE}" in letter.text
    assert "DEEP IN YOUR TOPICS" in letter.text and "TO LISTEN" in letter.text


def test_each_item_gets_signed_feedback_links_in_the_html() -> None:
    digest = _hostile_digest()
    hrefs = [a.get("href") for a in _document(render_letter(digest, _head())).iter("a")]
    for entry in digest.entries:
        for signal in ("like", "dislike", "save"):
            assert f"{BASE}/v1/feedback/{entry.item_id}-{signal}.sig" in hrefs
    assert UNSUBSCRIBE in hrefs


def test_an_empty_digest_renders_a_note() -> None:
    empty = compose_digest([], topics=TOPICS, budget_minutes=30, max_items=5, areas_available=0)
    letter = render_letter(empty, _head("weekly"))
    assert letter.subject == "Staycurrent, week of Tue 24 Nov: nothing new"
    assert "Nothing new matched your digest" in letter.text
    assert "Nothing new matched your digest" in _document(letter).text_content()


def _parsed(message: EmailMessage) -> EmailMessage:
    parsed = email.message_from_bytes(message.as_bytes(), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def test_the_message_has_both_parts_and_the_list_headers() -> None:
    letter = render_letter(_hostile_digest(), _head())
    sent_at = datetime(2026, 11, 24, 6, 30, tzinfo=UTC)
    message = build_message(
        letter,
        sender="Staycurrent <digest@example.org>",
        recipient="ada@example.org",
        message_id="<digest.7.2026-11-24@example.org>",
        date=sent_at,
        unsubscribe_url=UNSUBSCRIBE,
    )
    raw = message.as_bytes()
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    assert b"\r\n" in raw and raw.isascii()
    parsed = _parsed(message)
    assert parsed.get_content_type() == "multipart/alternative"
    parts = [part.get_content_type() for part in parsed.iter_parts()]
    assert parts == ["text/plain", "text/html"]
    html = parsed.get_body(("html",))
    assert html is not None and html.get_content().replace("\r\n", "\n") == letter.html
    assert parsed["Subject"] == letter.subject
    assert parsed["List-Unsubscribe"] == f"<{UNSUBSCRIBE}>"  # one URL, not an encoded-word
    assert b"List-Unsubscribe: <https://" in raw
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert parsed["Message-ID"] == "<digest.7.2026-11-24@example.org>"
    assert parsedate_to_datetime(parsed["Date"]) == sent_at
    assert parsed["To"] == "ada@example.org" and parsed["Auto-Submitted"] == "auto-generated"
