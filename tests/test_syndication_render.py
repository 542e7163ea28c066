"""The renderers alone (no storage): RSS, Atom and JSON Feed read back by real parsers, the
elements each format requires, podcast tags, and hostile items made inert."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import feedparser
import pytest
from feedcheck import (
    ATOM,
    ITUNES,
    atom_problems,
    duration_seconds,
    hostile_problems,
    json_feed_problems,
    rss_problems,
    xml_tree,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.ingest.jsonfeed import read_json_feed
from service.outputs.syndication.content import entry_html, time_phrase
from service.outputs.syndication.document import (
    Action,
    Channel,
    Enclosure,
    Entry,
    FeedDocument,
    Link,
)
from service.outputs.syndication.formats import FEED_FORMATS
from service.outputs.syndication.rss import clock_duration
from service.outputs.syndication.safe import inert_title, web_url, xml_text

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
SELF = "https://feeds.example.org/v1/subscriptions/tok/feed"
HOSTILE_TITLE = '<script>alert("t")</script> Attention <img src=x onerror=alert(2)>'
HOSTILE_HTML = (
    '<p onclick="alert(1)">Hi <img src="x" onerror="alert(2)"></p>'
    '<a href="javascript:alert(3)">click</a><a href=" JaVaScRiPt:alert(4)">again</a>'
    '<script>alert(5)</script><iframe src="https://evil.example"></iframe>'
    '<svg><a xlink:href="javascript:alert(6)">x</a></svg><style>body{}</style>'
)


def make_entry(number: int = 1, **changes: Any) -> Entry:
    entry = Entry(
        guid=f"arxiv:2611.{number:05d}",
        title=f"Sparse Experts {number}",
        url=f"https://arxiv.org/abs/2611.{number:05d}",
        published=NOW - timedelta(hours=number),
        updated=None,
        authors=("Ada Lovelace", "Alan Turing"),
        summary="We study mixture-of-experts models.",
        summary_html="<p>We study <em>mixture-of-experts</em> models.</p>",
        kind="paper",
        source="arXiv cs.CL",
        minutes=25,
        why="Matches your interests: Natural language processing",
        topics=("Machine translation", "Natural language processing"),
        covered_by=(Link("How we used MoE", "https://blog.example.org/moe"),),
        actions=(
            Action("like", "Like", "https://feeds.example.org/v1/feedback/like-token"),
            Action("hide", "Hide", "https://feeds.example.org/v1/feedback/hide-token"),
        ),
    )
    return replace(entry, **changes)


def make_episode(number: int = 1, **changes: Any) -> Entry:
    episode = make_entry(
        number,
        guid=f"url:https://podcast.example.org/{number}",
        url=f"https://podcast.example.org/{number}",
        kind="podcast",
        source="Practical AI",
        minutes=62,
        enclosure=Enclosure(f"https://cdn.example.org/{number}.mp3", 1000 * number, "audio/mpeg"),
        duration_seconds=3600 + 60 * number + 5,
        episode=number,
        season=2,
        image_url=f"https://cdn.example.org/{number}.jpg",
    )
    return replace(episode, **changes)


def make_document(entries: tuple[Entry, ...], *, podcast: bool = False) -> FeedDocument:
    channel = Channel(
        feed_id="urn:uuid:0f8fad5b-d9cb-569f-a165-70867728950e",
        title="Staycurrent: ada",
        description="The ML feed of ada",
        home_url="https://feeds.example.org",
        updated=max((e.last_change for e in entries), default=NOW),
        image_url="https://feeds.example.org/v1/artwork.png",
        podcast=podcast,
    )
    return FeedDocument(channel, entries)


def render(fmt: str, document: FeedDocument) -> bytes:
    return FEED_FORMATS[fmt].render(document, self_url=f"{SELF}.{fmt}")


XML_FORMATS = ["rss", "atom"]
ALL_FORMATS = ["rss", "atom", "json"]


# --------------------------------------------------------------------------- well-formed


@pytest.mark.parametrize("fmt", XML_FORMATS)
def test_xml_feeds_parse_cleanly_and_keep_ids_titles_links_and_dates(fmt: str) -> None:
    entries = (make_entry(1), make_entry(2), make_entry(3), make_episode(9))
    parsed = feedparser.parse(render(fmt, make_document(entries)))
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert [e.id for e in parsed.entries] == [e.guid for e in entries]
    assert [e.title for e in parsed.entries] == [e.title for e in entries]
    assert [e.link for e in parsed.entries] == [e.url for e in entries]
    published = [datetime(*e.published_parsed[:6], tzinfo=UTC) for e in parsed.entries]
    assert published == [e.published for e in entries]
    assert parsed.feed.title == "Staycurrent: ada"


@pytest.mark.parametrize(
    ("fmt", "check"), [("rss", rss_problems), ("atom", atom_problems), ("json", json_feed_problems)]
)
def test_each_format_has_its_required_elements(fmt: str, check: Any) -> None:
    document = make_document((make_entry(1), make_episode(2)))
    assert check(render(fmt, document)) == []
    assert check(render(fmt, make_document(()))) == []  # an empty feed is still a valid feed


def test_the_json_feed_is_read_back_by_a_json_feed_reader() -> None:
    entries = (make_entry(1), make_episode(2))
    body = render("json", make_document(entries))
    feed = read_json_feed(body)
    assert feed.format == "json11"
    assert [e.guid for e in feed.entries] == [e.guid for e in entries]
    assert [e.title for e in feed.entries] == [e.title for e in entries]
    assert feed.entries[1].enclosures[0].url == "https://cdn.example.org/2.mp3"
    extension = json.loads(body)["items"][0]["_staycurrent"]
    assert extension["kind"] == "paper" and extension["why"].startswith("Matches")
    assert extension["feedback"] == {
        "like": "https://feeds.example.org/v1/feedback/like-token",
        "hide": "https://feeds.example.org/v1/feedback/hide-token",
    }


def test_atom_entries_carry_published_and_updated_as_the_source_gave_them() -> None:
    updated = NOW + timedelta(days=1)
    parsed = feedparser.parse(render("atom", make_document((make_entry(1, updated=updated),))))
    entry = parsed.entries[0]
    assert datetime(*entry.updated_parsed[:6], tzinfo=UTC) == updated
    assert datetime(*entry.published_parsed[:6], tzinfo=UTC) == NOW - timedelta(hours=1)


# --------------------------------------------------------------------------- entry content


def test_the_content_says_summary_source_kind_time_why_coverage_and_actions() -> None:
    html = entry_html(make_episode(3))
    text = " ".join(xml_tree(f"<div>{html}</div>".encode()).itertext())
    for words in ("We study", "podcast", "Practical AI", "62 min listen", "Why:", "Matches"):
        assert words in text
    assert "How we used MoE" in text
    links = [a.get("href") for a in xml_tree(f"<div>{html}</div>".encode()).iter("a")]
    assert "https://feeds.example.org/v1/feedback/like-token" in links
    assert "https://blog.example.org/moe" in links


@pytest.mark.parametrize(
    ("kind", "minutes", "phrase"),
    [
        ("paper", 25, "25 min read"),
        ("post", 4, "4 min read"),
        ("podcast", 62, "62 min listen"),
        ("video", 12, "12 min watch"),
        ("paper", None, None),
        ("paper", 0, None),
    ],
)
def test_time_phrase(kind: str, minutes: int | None, phrase: str | None) -> None:
    assert time_phrase(kind, minutes) == phrase


# --------------------------------------------------------------------------- podcasts


def _itunes(element: Any, name: str) -> Any:
    return element.find(f"{ITUNES}{name}")


def test_a_podcast_feed_has_the_itunes_channel_tags_and_playable_episodes() -> None:
    m4a = Enclosure("https://cdn.example.org/2.m4a", 0, "audio/mp4")
    episodes = (make_episode(1), make_episode(2, enclosure=m4a))
    body = render("rss", make_document(episodes, podcast=True))
    channel = xml_tree(body).find("channel")
    assert channel is not None
    assert _itunes(channel, "author").text == "Staycurrent"
    assert _itunes(channel, "image").get("href") == "https://feeds.example.org/v1/artwork.png"
    assert _itunes(channel, "explicit").text == "false"
    assert _itunes(channel, "category").get("text") == "Technology"
    parsed = feedparser.parse(body)
    assert parsed.bozo == 0
    for entry, episode in zip(parsed.entries, episodes, strict=True):
        assert episode.enclosure is not None and episode.duration_seconds is not None
        (enclosure,) = entry.enclosures
        assert enclosure.href == episode.enclosure.url
        assert enclosure.type == episode.enclosure.media_type
        assert int(enclosure.length) == episode.enclosure.length
        assert duration_seconds(entry.itunes_duration) == episode.duration_seconds
        assert entry.itunes_episode == str(episode.episode)


def test_itunes_tags_stay_off_a_feed_that_is_not_a_podcast() -> None:
    channel = xml_tree(render("rss", make_document((make_entry(1),)))).find("channel")
    assert channel is not None and _itunes(channel, "category") is None


@pytest.mark.parametrize(
    ("seconds", "clock"), [(0, "0:00:00"), (59, "0:00:59"), (3725, "1:02:05"), (36000, "10:00:00")]
)
def test_clock_duration(seconds: int, clock: str) -> None:
    assert clock_duration(seconds) == clock
    assert duration_seconds(clock) == seconds


# --------------------------------------------------------------------------- hostile items


def _hostile_entries() -> tuple[Entry, ...]:
    return (
        make_entry(
            1,
            title=inert_title(HOSTILE_TITLE),
            summary="onerror=alert(1) javascript:alert(1)",
            summary_html=HOSTILE_HTML,
            url="javascript:alert(1)",
            covered_by=(Link("<b onmouseover=alert(1)>x</b>", "javascript:alert(7)"),),
            actions=(Action("like", "Like", "javascript:alert(8)"),),
            why="<script>alert(9)</script>",
        ),
        make_episode(
            2,
            enclosure=Enclosure("javascript:alert(10)", 1, "audio/mpeg"),
            image_url="javascript:alert(11)",
        ),
    )


@pytest.mark.parametrize("fmt", ALL_FORMATS)
def test_hostile_titles_and_content_come_out_inert(fmt: str) -> None:
    body = render(fmt, make_document(_hostile_entries()))
    assert hostile_problems(body, fmt) == []
    assert b"alert(5)" not in body  # the script element's content is dropped, not escaped
    if fmt != "json":
        parsed = feedparser.parse(body)
        assert parsed.bozo == 0
        assert "Attention" in parsed.entries[0].title
        assert "link" not in parsed.entries[0] or "javascript" not in parsed.entries[0].link
        assert not parsed.entries[1].get("enclosures")


def test_the_hostile_check_does_find_live_markup() -> None:
    """The check above can fail: unsanitized HTML in a description is caught."""
    body = render("rss", make_document((make_entry(1),)))
    live = body.replace(b"We study", b"&lt;img src=x onerror=alert(1)&gt;We study")
    assert hostile_problems(live, "rss") == ["an event handler attribute onerror= on <img>"]


@pytest.mark.parametrize(
    ("title", "shown"),
    [
        ("Attention Is All You Need", "Attention Is All You Need"),
        ("a < b and c > d", "a < b and c > d"),
        ("Q&A: RLHF", "Q&A: RLHF"),
        ("<script>alert(1)</script>", "‹script›alert(1)‹/script›"),
        ("The <think> token", "The ‹think› token"),
        ("x<!-- y -->", "x‹!-- y --›"),
        ("line\nbreak\x00s\x1f\x85", "line breaks"),
    ],
)
def test_inert_title(title: str, shown: str) -> None:
    assert inert_title(title) == shown


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("https://arxiv.org/abs/1", True),
        ("http://example.org/a?b=c#d", True),
        ("javascript:alert(1)", False),
        (" javascript:alert(1)", False),
        ("data:text/html,<script>", False),
        ("/relative/path", False),
        ("https://exa mple.org", False),
        ("https://", False),
        ("ftp://example.org/x", False),
        (None, False),
    ],
)
def test_web_url(url: str | None, kept: bool) -> None:
    assert web_url(url) == (url if kept else None)


# --------------------------------------------------------------------------- any text


_ANY_TEXT = st.text(min_size=1, max_size=80)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(title=_ANY_TEXT, summary=_ANY_TEXT, author=_ANY_TEXT)
def test_any_text_makes_a_valid_feed_that_keeps_the_title(
    title: str, summary: str, author: str
) -> None:
    shown = inert_title(title) or "(untitled)"
    entry = make_entry(
        1, title=shown, summary=xml_text(summary), summary_html=summary, authors=(author,)
    )
    document = make_document((entry,))
    for fmt, title_path in (("rss", "channel/item/title"), ("atom", f"{ATOM}entry/{ATOM}title")):
        body = render(fmt, document)
        parsed = feedparser.parse(body)
        assert parsed.bozo == 0, (fmt, parsed.get("bozo_exception"))
        # exact, read with lxml (feedparser "repairs" text that looks double-encoded: Â¡ -> ¡)
        assert xml_tree(body).findtext(title_path) == shown
        assert hostile_problems(body, fmt) == []
    feed = json.loads(render("json", document))
    assert feed["items"][0]["title"] == shown
    assert json_feed_problems(render("json", document)) == []
