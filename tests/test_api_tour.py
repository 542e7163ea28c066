"""The API tour (docs/api-tour.md) runs: each curl line of its snippet is sent to the real app, on
a database prepared as ``make run`` prepares it (migrated, the catalog synced) with items ingested
through the pipeline. A line expects a 2xx unless it ends with ``# -> STATUS``.

The tour is read as a tiny subset of shell: ``NAME=value``, ``NAME=$(curl … | jq -r PATH)`` and
``curl`` with -s, -X, -H, -d, --data-binary, -o and -w.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from apikit import ADMIN_TOKEN
from fastapi.testclient import TestClient
from feedgen import Paper, Post, arxiv_listing, blog

from service.config import Settings, load_catalog
from service.ingest.netguard import IPAddress
from service.ingest.pipeline import Pipeline
from service.ingest.tag import Tagger
from service.outputs.api.app import create_app
from service.storage.catalog import sync_catalog
from service.storage.engine import Database
from service.storage.sources import add_source, for_update

ROOT = Path(__file__).resolve().parent.parent
TOUR = ROOT / "docs" / "api-tour.md"
MARKER = "<!-- api-tour -->"
BASE = "http://127.0.0.1:8000"
_STATUS = re.compile(r"\s+#\s*->\s*(\d{3})\s*$")
_CAPTURE = re.compile(r"^(\w+)=\$\((.*)\s*\|\s*jq -r\s+(.+)\)$")
_ASSIGN = re.compile(r"^(\w+)=(.*)$")
_VARIABLE = re.compile(r"\$\{?(\w+)\}?")


def tour_lines(text: str) -> list[str]:
    """The lines of the bash block after the marker, without blank lines and comments."""
    block = text.split(MARKER, 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    return [
        line.strip() for line in block.splitlines() if line.strip() and not line.startswith("#")
    ]


@dataclass
class Shell:
    """Runs tour lines against a TestClient, keeping the variables the lines set."""

    client: TestClient
    variables: dict[str, str] = field(default_factory=dict)
    ran: list[tuple[str, int]] = field(default_factory=list)

    def expand(self, text: str) -> str:
        return _VARIABLE.sub(lambda m: self.variables.get(m.group(1), ""), text)

    def run(self, line: str) -> None:
        expected = _STATUS.search(line)
        line = _STATUS.sub("", line)
        capture, assign = _CAPTURE.match(line), _ASSIGN.match(line)
        if capture:
            body = self.curl(capture.group(2), None)
            self.variables[capture.group(1)] = jq(
                json.loads(body), shlex.split(capture.group(3))[0]
            )
        elif assign and not line.startswith("curl"):
            self.variables[assign.group(1)] = self.expand(shlex.split(assign.group(2))[0])
        else:
            self.curl(line, int(expected.group(1)) if expected else None)

    def curl(self, command: str, expected: int | None) -> str:
        words = [self.expand(w) for w in shlex.split(command)]
        assert words[0] == "curl", command
        request = parse_curl(words[1:])
        response = self.client.request(
            request.method,
            request.url.removeprefix(BASE),
            headers=request.headers,
            content=request.data,
        )
        status = response.status_code
        self.ran.append((command, status))
        if expected is None:
            assert 200 <= status < 300, f"{command}\n-> {status} {response.text}"
        else:
            assert status == expected, f"{command}\n-> {status} {response.text}"
        return response.text


@dataclass
class CurlRequest:
    url: str = ""
    method: str = "GET"
    headers: dict[str, str] = field(default_factory=dict)
    data: bytes | None = None


def parse_curl(args: list[str]) -> CurlRequest:
    request = CurlRequest()
    words = iter(args)
    for word in words:
        if word == "-s":
            continue
        if word in ("-o", "-w"):
            next(words)
        elif word == "-X":
            request.method = next(words)
        elif word == "-H":
            name, _, value = next(words).partition(":")
            request.headers[name.strip()] = value.strip()
        elif word in ("-d", "--data-binary"):
            request.data = next(words).encode()
            if request.method == "GET":
                request.method = "POST"
        elif word.startswith("http"):
            request.url = word
        else:
            raise AssertionError(f"the tour uses a curl option this runner does not know: {word}")
    return request


def jq(document: Any, path: str) -> str:
    """``jq -r`` for the paths the tour uses: .a, .a.b, .a[0].b."""
    value = document
    for key, index in re.findall(r"\.(\w+)|\[(\d+)\]", path):
        value = value[key] if key else value[int(index)]
    return "null" if value is None else str(value)


# --------------------------------------------------------------------------- the run


PAPERS = [
    Paper(
        f"2611.3000{n}",
        title,
        abstract=f"We study large language models; {title.lower()}.",
        categories=("cs.CL", "cs.LG"),
    )
    for n, title in enumerate(
        [
            "Reward model overoptimization in language models",
            "Scaling laws for instruction tuning",
            "A survey of reward model design",
        ]
    )
]
POSTS = [Post("t1", "What 2611.30000 means for RLHF", "https://blog.example/t1")]


async def no_dns(host: str, port: int) -> list[IPAddress]:
    raise OSError(-2, "Name or service not known")


@pytest.fixture
def shell(db: Database, make_settings: Callable[..., Settings]) -> Shell:
    settings = make_settings(admin_token=ADMIN_TOKEN, allow_private_networks=True)
    catalog = load_catalog(ROOT / "feeds.yaml")
    sync_catalog(db, catalog)  # what `make run` does before serving
    pipeline = Pipeline(db=db, tagger=Tagger(catalog.taxonomy))
    with db.write() as s:
        arxiv = for_update(
            add_source(s, name="tour cs.CL", url="https://t.example/cl", kind="paper")
        )
        posts = for_update(
            add_source(s, name="tour blog", url="https://t.example/blog", kind="post")
        )
    pipeline.ingest_bytes(arxiv, arxiv_listing("cs.CL", PAPERS))
    pipeline.ingest_bytes(posts, blog("Tour blog", "https://blog.example", POSTS))
    app = create_app(settings, db=db, resolver=no_dns)
    return Shell(TestClient(app), {"STAYCURRENT_ADMIN_TOKEN": ADMIN_TOKEN})


def test_the_api_tour_runs(shell: Shell) -> None:
    lines = tour_lines(TOUR.read_text())
    assert len(lines) >= 25
    for line in lines:
        shell.run(line)
    assert shell.variables["ITEM"].isdigit() and shell.variables["SOURCE"].isdigit()
    assert len(shell.variables["TOKEN"]) > 20 and shell.variables["NEXT"] != "null"
    statuses = [status for _, status in shell.ran]
    assert {401, 404, 422, 201, 204} <= set(statuses)


def test_the_readme_tour_is_the_tested_one() -> None:
    """Every curl line of the README that calls the API is a line of the tested tour."""
    tour = set(tour_lines(TOUR.read_text()))
    readme = (ROOT / "README.md").read_text()
    for line in readme.splitlines():
        if "curl" in line and "$API/" in line:
            assert line.strip() in tour, line


@pytest.mark.parametrize(
    ("path", "expected"),
    [(".api_token", "abc"), (".source.id", "7"), (".items[0].id", "3"), (".next_cursor", "null")],
)
def test_jq_paths(path: str, expected: str) -> None:
    document = {"api_token": "abc", "source": {"id": 7}, "items": [{"id": 3}], "next_cursor": None}
    assert jq(document, path) == expected
