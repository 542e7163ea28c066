"""A hostile feed, ingested for real, comes out inert on every output path.

The feed server serves a blog whose entries carry every classic payload (script, event handlers,
``javascript:`` / ``data:`` / ``vbscript:`` URLs plain, entity-encoded and tab-split, iframe,
object, embed, SVG with onload, CSS expressions, ``<meta http-equiv=refresh>``, forms, base,
mutation-XSS nesting) in escaped HTML and in CDATA content, plus a ``javascript:`` link and
enclosure. It is fetched and ingested through the real pipeline; then the API's JSON
(``/v1/feed``, and any other item listing the API documents, for every ``*_html`` field and the
summaries), the RSS, Atom and JSON Feed subscriptions, and the digest email as received by an
SMTP server are read with lxml: nothing live survives, and the hostile entries are in each.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest
from apikit import Api, bearer, make_api
from feedcheck import hostile_problems, xml_tree
from feedserver import FeedServer, Route
from livemarkup import live_markup, live_url
from smtpserver import smtp_server
from sqlmodel import select

from service.catalog import load_catalog
from service.config import Settings
from service.ingest.fetch import Fetcher, FetchLimits
from service.ingest.pipeline import Pipeline
from service.ingest.tag import Tagger
from service.outputs.digest.run import send_now
from service.storage.engine import Database
from service.storage.models import Item, Profile
from service.storage.sources import add_source, load_for_update

ROOT = Path(__file__).resolve().parent.parent
TAXONOMY = load_catalog(ROOT / "feeds.yaml").taxonomy
PAYLOADS = (
    '<script>alert("s1")</script>',
    '<img src="x" onerror="alert(\'s2\')">',
    "<a href=\"javascript:alert('s3')\">plain</a>",
    "<a href=\"&#106;avascript:alert('s4')\">encoded</a>",
    "<a href=\"jav&#x09;ascript:alert('s5')\">tab-split</a>",
    '<a href="  JaVaScRiPt:alert(6)">cased</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCg3KTwvc2NyaXB0Pg==">data</a>',
    '<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoOCk+PC9zdmc+">',
    '<a href="vbscript:msgbox(9)">vb</a>',
    '<iframe src="https://evil.example/frame"></iframe>',
    '<object data="https://evil.example/x.swf"></object><embed src="https://evil.example/y">',
    '<svg onload="alert(\'s12\')"><circle r="1"/></svg>',
    "<p style=\"width: expression(alert('s13')); background: url(javascript:alert(1))\">css</p>",
    "<style>body { background: url(javascript:alert(14)) }</style>",
    '<meta http-equiv="refresh" content="0;url=javascript:alert(\'s15\')">',
    '<form action="javascript:alert(16)"><button formaction="javascript:alert(17)">go</button>'
    "</form>",
    '<base href="javascript:alert(18)//"><link rel="stylesheet" href="javascript:alert(19)">',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(20)></style></mglyph>"
    "</table></mtext></math>",
    '<div onmouseover="alert(21)">hover</div>',
)
MARKER = "Hostile entry"


def hostile_feed(published: datetime) -> bytes:
    """An RSS blog: one entry per payload (escaped description, CDATA content), and oddities."""
    items = []
    for n, payload in enumerate(PAYLOADS):
        items.append(
            f"<item><title>{MARKER} {n}: large language model &lt;script&gt;alert({n})"
            f"&lt;/script&gt;</title><link>https://hostile.example.org/{n}</link>"
            f"<guid>hostile-{n}</guid><pubDate>{format_datetime(published)}</pubDate>"
            f"<description>{escape(f'<p>About language models.</p>{payload}')}</description>"
            f"<content:encoded><![CDATA[<p>Language models.</p>{payload}]]></content:encoded>"
            "</item>"
        )
    items.append(
        f"<item><title>{MARKER} link: language model</title><link>javascript:alert(22)</link>"
        f"<guid>hostile-link</guid><pubDate>{format_datetime(published)}</pubDate>"
        '<enclosure url="javascript:alert(23)" type="audio/mpeg" length="1"/>'
        "<description>A link that runs.</description></item>"
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
        "<title>Hostile blog</title><link>https://hostile.example.org/</link>"
        f"<description>d</description>{''.join(items)}</channel></rss>"
    ).encode()


def ingest_hostile_feed(api: Api, server: FeedServer) -> int:
    url = server.route(f"/hostile/{api.db.dialect}", Route.feed(hostile_feed(api.now)))
    with api.db.write() as s:
        source_id = add_source(s, name="Hostile blog", url=url, kind="post", topics=["nlp"]).id

    async def poll() -> int:
        async with Fetcher(FetchLimits(allow_private_networks=True)) as fetcher:
            pipeline = Pipeline(
                db=api.db, tagger=Tagger(TAXONOMY), fetcher=fetcher, clock=lambda: api.now
            )
            with api.db.session() as s:
                sources = load_for_update(s, [source_id or 0], api.now)
            (result,) = await pipeline.poll(sources)
            return result.items_new

    return asyncio.run(poll())


def html_fields(value: Any, name: str = "") -> list[str]:
    """Every ``*_html`` string (and every summary) in a JSON value, however deep."""
    if isinstance(value, dict):
        return [text for key, inner in value.items() for text in html_fields(inner, key)]
    if isinstance(value, list):
        return [text for inner in value for text in html_fields(inner, name)]
    if isinstance(value, str) and (name.endswith("_html") or name == "summary"):
        return [value]
    return []


def api_item_listings(api: Api) -> list[str]:
    """The item listings the API documents: /v1/feed, and /v1/items where it exists."""
    paths = api.client.get("/openapi.json").json()["paths"]
    return [path for path in ("/v1/feed", "/v1/items") if "get" in paths.get(path, {})]


def xml_texts(body: bytes) -> list[str]:
    return [e.text or "" for e in xml_tree(body).iter() if isinstance(e.tag, str)]


def feed_texts(body: bytes, fmt: str) -> list[str]:
    if fmt != "json":
        return xml_texts(body)
    items = json.loads(body)["items"]
    return [item.get(key, "") for item in items for key in ("content_html", "summary", "title")]


@pytest.fixture
def api(db: Database, make_settings: Callable[..., Settings]) -> Api:
    return make_api(db, make_settings, items=30, smtp_host="127.0.0.1")


def test_a_hostile_feed_comes_out_inert_on_every_output_path(api: Api) -> None:
    with FeedServer.running() as server:
        assert ingest_hostile_feed(api, server) == len(PAYLOADS) + 1
    with api.db.session() as s:
        stored = s.exec(select(Item).where(Item.title.startswith(MARKER))).all()  # type: ignore[attr-defined]
    assert [row.title for row in stored if row.url and live_url(row.url)] == []
    assert [p for row in stored for p in live_markup(row.summary_html)] == []
    profile, token, feed_token = api.profile("ada", email="ada@example.org", depth=1.0)

    checked = api_item_listings(api)
    assert "/v1/feed" in checked
    for path in checked:
        listing = api.client.get(path, params={"limit": 100}, headers=bearer(token)).json()
        assert MARKER in json.dumps(listing), path
        assert [p for text in html_fields(listing) for p in live_markup(text)] == [], path

    for fmt in ("rss", "atom", "json"):
        response = api.client.get(
            f"/v1/subscriptions/{feed_token}/feed.{fmt}",
            params={"topics": "nlp", "depth": 1, "limit": 100},
        )
        assert response.status_code == 200 and MARKER in response.text, fmt
        assert hostile_problems(response.content, fmt) == [], fmt
        assert [p for text in feed_texts(response.content, fmt) for p in live_markup(text)] == []

    with smtp_server() as smtp:
        settings = api.settings.model_copy(update={"smtp_port": smtp.port, "smtp_starttls": False})
        with api.db.session() as s:
            ada = s.get(Profile, profile["id"])
        assert ada is not None
        result = send_now(api.db, settings, ada, api.now + timedelta(minutes=1))
        assert result is not None and result.outcome == "sent", result
        (received,) = smtp.messages
    html = received.message.get_body(("html",))
    assert html is not None and MARKER in html.get_content()
    assert live_markup(html.get_content(), document=True) == []
