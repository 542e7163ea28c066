"""feeds.yaml validation: each kind of bad input gets its precise, path-named message."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from service.catalog import check_catalog, load_catalog, read_catalog
from service.errors import ConfigError

GOOD: dict[str, Any] = {
    "topics": {
        "nlp": {
            "label": "Language",
            "arxiv": ["cs.CL"],
            "keywords": ["language model", "LLM"],
            "subtopics": {"rag": {"label": "Retrieval-augmented generation", "keywords": ["RAG"]}},
        },
        "vision": {"label": "Vision", "arxiv": ["cs.CV"], "keywords": ["image"]},
    },
    "sources": [
        {
            "name": "arXiv cs.CL",
            "url": "https://rss.arxiv.org/rss/cs.CL",
            "kind": "paper",
            "level": "research",
            "topics": ["nlp"],
        },
        {
            "name": "A podcast",
            "url": "https://feeds.example.org/pod.xml",
            "kind": "podcast",
            "level": "overview",
            "topics": ["rag", "vision"],
            "poll_minutes": 120,
        },
    ],
}


def problems_of(mutate: Any) -> list[str]:
    document = copy.deepcopy(GOOD)
    mutate(document)
    return check_catalog(document)[1]


def test_a_good_catalog_has_no_problems_and_resolves_areas() -> None:
    catalog, problems = check_catalog(copy.deepcopy(GOOD))
    assert problems == []
    by_slug = catalog.taxonomy.by_slug()
    assert by_slug["rag"].area == "nlp"
    assert by_slug["rag"].parent == "nlp"
    assert catalog.taxonomy.expand(["nlp"]) == frozenset({"nlp", "rag"})
    assert catalog.count_by_kind() == {"paper": 1, "podcast": 1, "post": 0, "video": 0}


def _set(path: list[Any], value: Any) -> Any:
    def mutate(document: dict[str, Any]) -> None:
        target = document
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return mutate


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (_set(["sources", 1, "url"], "ftp://x.org/feed"), "sources[1].url: not an http(s) URL"),
        (_set(["sources", 1, "url"], "not a url"), "sources[1].url: not an http(s) URL"),
        (
            _set(["topics", "vision", "arxiv"], ["cs.XX"]),
            "topics.vision.arxiv[0]: unknown category 'cs.XX'",
        ),
        (
            _set(["topics", "nlp", "subtopics", "rag", "arxiv"], ["cs.CL", "stat.XY"]),
            "topics.nlp.subtopics.rag.arxiv[1]: unknown category 'stat.XY'",
        ),
        (
            _set(["sources", 0, "kind"], "newsletter"),
            "sources[0].kind: must be one of paper, podcast, post, video (got 'newsletter')",
        ),
        (
            _set(["sources", 0, "level"], None),
            "sources[0].level: must be one of research, practitioner, overview (got None)",
        ),
        (
            _set(["sources", 0, "topics"], ["nlp", "quantum"]),
            "sources[0].topics[1]: unknown topic 'quantum'",
        ),
        (
            _set(["sources", 1, "poll_minutes"], 2),
            "sources[1].poll_minutes: must be a whole number from 5",
        ),
        (_set(["sources", 1, "colour"], "red"), "sources[1].colour: unknown field"),
        (_set(["sources", 0, "name"], ""), "sources[0].name: required"),
        (
            _set(["sources", 1, "name"], "arXiv cs.CL"),
            "sources[1].name: duplicate of sources[0] ('arXiv cs.CL')",
        ),
        (
            _set(["sources", 1, "url"], "https://rss.arxiv.org/rss/cs.CL/"),
            "sources[1].url: duplicate of sources[0]",
        ),
        (
            _set(["topics", "Vision!"], {"label": "x"}),
            "topics.Vision!: slug must be lowercase letters",
        ),
        (_set(["topics", "vision", "label"], ""), "topics.vision.label: required"),
        (_set(["topics", "vision", "keywords"], "image"), "topics.vision.keywords: must be a list"),
        (
            _set(["topics", "vision", "keywords"], ["image", ""]),
            "topics.vision.keywords[1]: must be a non-empty string",
        ),
        (
            _set(["topics", "vision", "subtopics"], {"rag": {"label": "again"}}),
            "topics.rag: duplicate slug (slugs are unique across areas)",
        ),
        (
            _set(["topics", "nlp", "subtopics", "rag", "subtopics"], {"deeper": {"label": "x"}}),
            "topics.nlp.subtopics.rag.subtopics: subtopics cannot have subtopics",
        ),
        (_set(["extra"], 1), "extra: unknown section"),
        (_set(["sources"], {}), "sources: required, a list of sources"),
        (_set(["topics"], []), "topics: required, a mapping of area slug to topic"),
    ],
)
def test_each_problem_has_a_precise_message(mutate: Any, expected: str) -> None:
    problems = problems_of(mutate)
    assert any(p.startswith(expected) for p in problems), problems


def test_every_problem_is_reported_not_just_the_first() -> None:
    def mutate(document: dict[str, Any]) -> None:
        document["sources"][0]["url"] = "gopher://x"
        document["sources"][1]["kind"] = "tv"

    problems = problems_of(mutate)
    assert problems[0].startswith("sources[0].url")
    assert problems[1].startswith("sources[1].kind")
    assert len(problems) == 2


def test_broken_yaml_and_missing_files_are_problems_not_crashes(tmp_path: Path) -> None:
    bad = tmp_path / "feeds.yaml"
    bad.write_text("topics: [unclosed\n")
    assert read_catalog(bad)[1] == [f"{bad}: not valid YAML at line 2"]
    missing = tmp_path / "nope.yaml"
    assert read_catalog(missing)[1][0].startswith(f"{missing}: cannot read")
    with pytest.raises(ConfigError):
        load_catalog(bad)


def _run_check(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "service.cli", "sources", "check", str(path)],
        capture_output=True,
        text=True,
        check=False,
        cwd=path.parent,
    )


def test_sources_check_exits_1_with_each_problem_on_its_own_line(tmp_path: Path) -> None:
    document = copy.deepcopy(GOOD)
    document["sources"][1]["url"] = "mailto:x@y"
    document["topics"]["vision"]["arxiv"] = ["cs.ZZ"]
    path = tmp_path / "feeds.yaml"
    path.write_text(yaml.safe_dump(document))
    done = _run_check(path)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert "topics.vision.arxiv[0]: unknown category 'cs.ZZ'" in lines
    assert "sources[1].url: not an http(s) URL" in lines
    assert lines[-1] == f"{path}: 2 problem(s)"


def test_sources_check_counts_sources_by_kind(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text(yaml.safe_dump(GOOD))
    done = _run_check(path)
    assert done.returncode == 0, done.stderr
    assert "2 sources (1 paper, 1 podcast)" in done.stdout
    assert "2 areas, 1 subtopics" in done.stdout
