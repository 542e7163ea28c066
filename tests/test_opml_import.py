"""OPML import through the API and the CLI: every corpus file, folders as topics, kinds, refusals
with reasons, and hostile documents (XXE, billion laughs, external DTDs) that stay inert.

listparser (a dev dependency) is the independent reader the results are checked against.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import listparser
import pytest
from apikit import ADMIN, Api, make_api
from clikit import cli_on
from feedserver import FeedServer, Route
from sqlmodel import select

from service.config import Settings
from service.errors import InvalidInputError
from service.ingest import subscribe
from service.ingest.subscribe import import_opml, match_topics, read_opml, read_opml_isolated
from service.storage.engine import Database
from service.storage.models import Source
from service.storage.source_registry import url_key

RAW = {**ADMIN, "content-type": "text/x-opml"}


def opml(body: str, title: str = "Test feeds") -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0"><head><title>{title}'
        f"</title></head><body>\n{body}\n</body></opml>"
    ).encode()


@pytest.fixture
def api(db: Database, make_settings: Callable[..., Settings]) -> Api:
    return make_api(db, make_settings, items=5)


def _import(api: Api, body: bytes, **params: str) -> dict[str, Any]:
    response = api.client.post("/v1/sources/import", content=body, headers=RAW, params=params)
    assert response.status_code == 200, response.text
    return dict(response.json())


def _sources(db: Database) -> dict[str, Source]:
    with db.session() as s:
        return {url_key(row.url): row for row in s.exec(select(Source))}


# --------------------------------------------------------------------------- the corpus


def corpus_opml() -> list[Path]:
    folder = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus" / "opml"
    return sorted(folder.glob("*.opml")) if folder.is_dir() else []


@pytest.mark.corpus
@pytest.mark.parametrize("path", corpus_opml(), ids=lambda p: p.name)
def test_every_corpus_file_imports(api: Api, corpus: Path, path: Path) -> None:
    body = path.read_bytes()
    expected = {feed.url for feed in listparser.parse(body).feeds}
    report = _import(api, body)
    assert report["invalid"] == 0, [o for o in report["outlines"] if o["status"] == "invalid"]
    assert {o["url"] for o in report["outlines"]} == expected
    stored = _sources(api.db)
    assert all(url_key(url) in stored for url in expected)
    assert report["added"] + report["duplicates"] == len(report["outlines"])
    again = _import(api, body)
    assert again["added"] == 0 and again["duplicates"] == len(again["outlines"])


@pytest.mark.corpus
def test_the_cli_imports_every_corpus_file(
    db: Database, corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with cli_on(db.url, tmp_path, monkeypatch) as cli:
        for path in corpus_opml():
            result = cli("sources", "import", str(path), "--json")
            assert result.exit_code == 0, result.output
            report = json.loads(result.stdout)
            assert report["invalid"] == 0
            assert {o["url"] for o in report["outlines"]} == {
                f.url for f in listparser.parse(path.read_bytes()).feeds
            }
        text = cli("sources", "import", str(corpus_opml()[0]))
        assert text.exit_code == 0 and "0 added" in text.stdout
        missing = cli("sources", "import", str(tmp_path / "nope.opml"))
        assert missing.exit_code == 1 and "cannot read" in missing.output
        html = tmp_path / "page.opml"
        html.write_bytes(b"<html><body/></html>")
        refused = cli("sources", "import", str(html))
        assert refused.exit_code == 1 and "not an OPML document" in refused.output


# --------------------------------------------------------------------------- outlines


FOLDERS = opml(
    """
  <outline text="Robotics">
    <outline text="Robo Blog" type="rss" xmlUrl="https://robots.example/feed"/>
    <outline title="nlp">
      <outline text="Both" xmlUrl="https://both.example/rss" htmlUrl="https://both.example"/>
    </outline>
  </outline>
  <outline text="Misc stuff">
    <outline text="Elsewhere" xmlUrl="https://misc.example/atom.xml" category="/llm,Unknown"/>
  </outline>
  <outline text="My Podcasts">
    <outline text="A show" xmlUrl="https://shows.example/pod.rss"/>
  </outline>
  <outline text="Papers" xmlUrl="https://rss.arxiv.org/rss/cs.LG"/>
  <outline text="Talks" xmlUrl="https://www.youtube.com/feeds/videos.xml?channel_id=X"/>
"""
)


def test_folders_become_topics_and_kinds_are_guessed(api: Api) -> None:
    report = _import(api, FOLDERS)
    got = {o["title"]: (o["status"], o["kind"], o["topics"]) for o in report["outlines"]}
    assert got == {
        "Robo Blog": ("added", "post", ["robotics"]),
        "Both": ("added", "post", ["robotics", "nlp"]),
        "Elsewhere": ("added", "post", ["llm"]),
        "A show": ("added", "podcast", []),
        "Papers": ("added", "paper", []),
        "Talks": ("added", "video", []),
    }
    stored = _sources(api.db)
    both = stored[url_key("https://both.example/rss")]
    assert both.origin == "opml" and both.site_url == "https://both.example"
    assert both.topics == ["robotics", "nlp"]


def test_kind_and_level_can_be_set_for_every_feed(api: Api) -> None:
    report = _import(api, FOLDERS, kind="podcast", level="overview")
    assert {o["kind"] for o in report["outlines"]} == {"podcast"}
    assert {s.level for s in _sources(api.db).values() if s.origin == "opml"} == {"overview"}


@pytest.mark.parametrize(
    ("outline", "status", "reason"),
    [
        ('<outline text="No URL"/>', "invalid", "no xmlUrl"),
        ('<outline text="FTP" xmlUrl="ftp://example.org/feed"/>', "invalid", "not an absolute"),
        ('<outline text="Intranet" xmlUrl="http://10.0.0.5/feed"/>', "invalid", "private address"),
        ('<outline text="Meta" xmlUrl="http://169.254.169.254/x"/>', "invalid", "link-local"),
        ('<outline text="Local" xmlUrl="http://localhost:8000/x"/>', "invalid", "loopback"),
        ('<outline text="JS" xmlUrl="javascript:alert(1)"/>', "invalid", "not an absolute"),
        ('<outline text="Lower" xmlurl="https://lower.example/feed"/>', "added", ""),
        ('<outline TEXT="Upper" XMLURL="https://upper.example/feed"/>', "added", ""),
        ('<outline xmlUrl="https://untitled.example/feed.xml"/>', "added", ""),
    ],
)
def test_each_outline_gets_a_status_and_a_reason(
    api: Api, outline: str, status: str, reason: str
) -> None:
    report = _import(api, opml(outline))
    [result] = report["outlines"]
    assert result["status"] == status, result
    assert reason in result["reason"]
    if status == "added":
        assert result["source_id"] and result["name"]


def test_duplicates_are_reported_within_the_file_and_against_the_database(api: Api) -> None:
    first = _import(api, opml('<outline text="A" xmlUrl="https://dup.example/feed"/>'))
    assert first["added"] == 1
    body = opml(
        '<outline text="Again" xmlUrl="HTTPS://DUP.example/feed/"/>'
        '<outline text="New" xmlUrl="https://new.example/feed"/>'
        '<outline text="New twice" xmlUrl="https://new.example/feed"/>'
    )
    report = _import(api, body)
    statuses = [(o["title"], o["status"]) for o in report["outlines"]]
    assert statuses == [("Again", "duplicate"), ("New", "added"), ("New twice", "duplicate")]
    assert "already a source: 'A'" in report["outlines"][0]["reason"]
    assert "listed twice" in report["outlines"][2]["reason"]


def test_a_taken_name_gets_the_host_added(api: Api) -> None:
    body = opml(
        '<outline text="Blog" xmlUrl="https://one.example/feed"/>'
        '<outline text="Blog" xmlUrl="https://two.example/feed"/>'
    )
    names = [o["name"] for o in _import(api, body)["outlines"]]
    assert names == ["Blog", "Blog (two.example)"]


def test_multipart_upload(api: Api) -> None:
    files = {"file": ("feeds.opml", opml('<outline text="M" xmlUrl="https://m.example/f"/>'))}
    response = api.client.post("/v1/sources/import", files=files, headers=ADMIN)
    assert response.status_code == 200 and response.json()["added"] == 1
    wrong = api.client.post(
        "/v1/sources/import", files={"other": ("x.opml", b"<opml/>")}, headers=ADMIN
    )
    assert wrong.status_code == 422 and "`file`" in wrong.json()["detail"]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"", "empty"),
        (b"not xml at all", "not an OPML document"),
        (b'<?xml version="1.0"?><rss version="2.0"><channel/></rss>', "root element is <rss>"),
        (b"\xff\xfe\x00garbage", "not an OPML document"),
    ],
)
def test_what_is_not_opml_is_refused(api: Api, body: bytes, words: str) -> None:
    response = api.client.post("/v1/sources/import", content=body, headers=RAW)
    assert response.status_code == 422
    assert words in response.json()["detail"]


def test_the_number_of_feeds_per_import_is_bounded(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(subscribe, "MAX_FEEDS", 3)
    body = opml("".join(f'<outline xmlUrl="https://f{n}.example/x"/>' for n in range(4)))
    response = api.client.post("/v1/sources/import", content=body, headers=RAW)
    assert response.status_code == 422 and "at most 3" in response.json()["detail"]


def test_a_body_over_the_limit_is_413(api: Api) -> None:
    padding = "<!--" + "x" * (1024 * 1024) + "-->"
    response = api.client.post("/v1/sources/import", content=opml(padding), headers=RAW)
    assert response.status_code == 413


# --------------------------------------------------------------------------- hostile documents


@pytest.fixture(scope="module")
def server() -> Iterator[FeedServer]:
    with FeedServer.running(hosts=("127.0.0.1",)) as running:
        yield running


def test_external_entities_are_never_read(api: Api, server: FeedServer, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    remote = server.route("/xxe.txt", Route.feed(b"REMOTE-CONTENT", content_type="text/plain"))
    dtd = server.route(
        "/evil.dtd", Route.feed(b'<!ENTITY x "DTD-CONTENT">', content_type="text/plain")
    )
    body = (
        '<?xml version="1.0"?>\n'
        f'<!DOCTYPE opml [<!ENTITY file SYSTEM "file://{secret}">'
        f'<!ENTITY remote SYSTEM "{remote}"><!ENTITY % dtd SYSTEM "{dtd}"> %dtd;]>\n'
        '<opml version="2.0"><head><title>&file;</title></head><body>'
        '<outline text="&file;&remote;" xmlUrl="https://x.example/feed"/></body></opml>'
    ).encode()
    response = api.client.post("/v1/sources/import", content=body, headers=RAW)
    assert response.status_code in (200, 422)
    for marker in ("TOP-SECRET-CONTENT", "REMOTE-CONTENT", "DTD-CONTENT"):
        assert marker not in response.text
    assert server.hits("/xxe.txt") == 0 and server.hits("/evil.dtd") == 0


def test_billion_laughs_is_inert() -> None:
    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{n} "{("&lol" + str(n - 1) + ";") * 10 if n > 1 else "&lol;" * 10}">'
        for n in range(1, 10)
    )
    body = (
        f'<?xml version="1.0"?>\n<!DOCTYPE opml [{entities}]>\n'
        '<opml version="2.0"><head><title>&lol9;</title></head><body>'
        '<outline text="&lol9;" xmlUrl="https://laughs.example/feed"/></body></opml>'
    ).encode()
    document = read_opml(body)
    assert len(document.outlines) == 1
    assert len(document.outlines[0].title or "") < 1000
    assert len(document.title or "") < 1000


def test_a_quadratic_blowup_is_inert() -> None:
    big = "A" * 20_000
    body = (
        f'<?xml version="1.0"?>\n<!DOCTYPE opml [<!ENTITY a "{big}">]>\n'
        '<opml version="2.0"><body><outline text="'
        + "&a;"
        * 8_000
        + '" xmlUrl="https://q.example/f"/>'
        "</body></opml>"
    ).encode()
    document = read_opml(body)
    assert all(len(o.title or "") <= 200 for o in document.outlines)


def test_an_attribute_flood_is_refused_before_its_attributes_are_read(api: Api) -> None:
    attributes = " ".join(f'a{n}="v"' for n in range(50_000))  # 27 s to read with lxml's items()
    body = opml(f'<outline text="flood" xmlUrl="https://flood.example/f" {attributes}/>')
    response = api.client.post("/v1/sources/import", content=body, headers=RAW)
    assert response.status_code == 422
    assert "has 50,002 attributes (at most 256 are read)" in response.json()["detail"]
    assert url_key("https://flood.example/f") not in _sources(api.db)


def test_a_file_over_the_parse_budget_is_refused_and_its_reader_stopped() -> None:
    outlines = "".join(
        f'<outline text="Feed {n}" xmlUrl="https://f{n}.example/x"/>' for n in range(200_000)
    )  # seconds of reading, against a budget of a twentieth of one
    with pytest.raises(InvalidInputError) as refused:
        read_opml_isolated(opml(outlines), budget_seconds=0.05)
    assert "took more than 0.05 s" in refused.value.reason
    small = read_opml_isolated(FOLDERS, budget_seconds=10.0)
    assert small == read_opml(FOLDERS)  # within the budget: what reading in place gives


def test_import_opml_is_one_function_for_api_and_cli(db: Database, make_settings: Any) -> None:
    from service.catalog import load_catalog
    from service.storage.catalog import sync_taxonomy

    with db.write() as s:
        sync_taxonomy(
            s, load_catalog(Path(__file__).resolve().parent.parent / "feeds.yaml").taxonomy
        )
    report = import_opml(db, FOLDERS, make_settings(parse_budget_seconds=10.0))
    assert report.added == 6 and report.title == "Test feeds"


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (["Robotics"], ("robotics",)),
        (["robotics", "ROBOTICS"], ("robotics",)),
        (["Natural language processing"], ("nlp",)),
        (["Large Language Models"], ("llm",)),
        (["llm"], ("llm",)),
        (["Misc", ""], ()),
    ],
)
def test_match_topics(names: list[str], expected: tuple[str, ...]) -> None:
    labels = {
        "robotics": "Robotics",
        "nlp": "Natural language processing",
        "llm": "Large language models",
    }
    assert match_topics(names, labels) == expected
