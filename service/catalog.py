"""The curated catalog (``feeds.yaml``): topics, their subtopics, and the sources, validated.

``read_catalog`` gives the catalog and every problem found (each naming its path in the file, e.g.
``sources[3].url``); ``load_catalog`` raises ConfigError listing them. Nothing runs at import time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from service.arxiv_categories import is_arxiv_category
from service.errors import ConfigError
from service.vocabulary import KINDS, LEVELS, Kind, Level

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
TOPIC_KEYS = {"label", "arxiv", "keywords", "subtopics", "description"}
SOURCE_KEYS = {"name", "url", "kind", "level", "topics", "poll_minutes", "weight", "site"}
MIN_POLL_MINUTES, MAX_POLL_MINUTES = 5, 7 * 24 * 60


@dataclass(frozen=True, slots=True)
class Topic:
    """An area of ML (``parent`` is None) or a subtopic of one."""

    slug: str
    label: str
    area: str  # the slug of the area this topic belongs to (itself for an area)
    parent: str | None = None
    keywords: tuple[str, ...] = ()
    arxiv: tuple[str, ...] = ()
    description: str = ""

    @property
    def is_area(self) -> bool:
        return self.parent is None


@dataclass(frozen=True, slots=True)
class Taxonomy:
    topics: tuple[Topic, ...] = ()

    def by_slug(self) -> dict[str, Topic]:
        return {t.slug: t for t in self.topics}

    @property
    def areas(self) -> tuple[Topic, ...]:
        return tuple(t for t in self.topics if t.is_area)

    def area_of(self, slug: str) -> str | None:
        topic = self.by_slug().get(slug)
        return topic.area if topic else None

    def expand(self, slugs: tuple[str, ...] | list[str]) -> frozenset[str]:
        """The topics named plus every subtopic of an area named."""
        wanted = set(slugs)
        return frozenset(t.slug for t in self.topics if t.slug in wanted or t.parent in wanted)


@dataclass(frozen=True, slots=True)
class SourceSpec:
    name: str
    url: str
    kind: Kind
    level: Level
    topics: tuple[str, ...] = ()
    poll_minutes: int | None = None
    weight: float = 1.0
    site: str | None = None


@dataclass(frozen=True, slots=True)
class Catalog:
    taxonomy: Taxonomy
    sources: tuple[SourceSpec, ...] = field(default=())

    def count_by_kind(self) -> dict[str, int]:
        counts: dict[str, int] = dict.fromkeys(KINDS, 0)
        for source in self.sources:
            counts[source.kind] += 1
        return counts


def is_http_url(value: object) -> bool:
    if not isinstance(value, str) or any(c.isspace() for c in value):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _str_list(value: object, path: str, problems: list[str]) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        problems.append(f"{path}: must be a list")
        return ()
    out: list[str] = []
    for i, entry in enumerate(value):
        if not isinstance(entry, str) or not entry.strip():
            problems.append(f"{path}[{i}]: must be a non-empty string")
        else:
            out.append(entry.strip())
    return tuple(out)


def _check_topic(
    slug: object, body: object, path: str, parent: str | None, problems: list[str]
) -> list[Topic]:
    if not isinstance(slug, str) or not SLUG_RE.match(slug):
        problems.append(f"{path}: slug must be lowercase letters, digits and dashes")
        return []
    if not isinstance(body, dict):
        problems.append(f"{path}: must be a mapping with label, arxiv, keywords")
        return []
    for key in sorted(set(body) - TOPIC_KEYS):
        problems.append(f"{path}.{key}: unknown field")
    label = body.get("label")
    if not isinstance(label, str) or not label.strip():
        problems.append(f"{path}.label: required")
        label = slug
    arxiv = _str_list(body.get("arxiv"), f"{path}.arxiv", problems)
    for i, cat in enumerate(arxiv):
        if not is_arxiv_category(cat):
            problems.append(f"{path}.arxiv[{i}]: unknown category {cat!r}")
    topic = Topic(
        slug=slug,
        label=label.strip(),
        area=parent or slug,
        parent=parent,
        keywords=_str_list(body.get("keywords"), f"{path}.keywords", problems),
        arxiv=arxiv,
        description=str(body.get("description") or ""),
    )
    found = [topic]
    subtopics = body.get("subtopics") or {}
    if parent is not None and subtopics:
        problems.append(f"{path}.subtopics: subtopics cannot have subtopics")
    elif not isinstance(subtopics, dict):
        problems.append(f"{path}.subtopics: must be a mapping of slug to topic")
    else:
        for sub_slug, sub_body in subtopics.items():
            found += _check_topic(
                sub_slug, sub_body, f"{path}.subtopics.{sub_slug}", slug, problems
            )
    return found


def _check_taxonomy(raw: object, problems: list[str]) -> Taxonomy:
    if not isinstance(raw, dict) or not raw:
        problems.append("topics: required, a mapping of area slug to topic")
        return Taxonomy()
    topics: list[Topic] = []
    for slug, body in raw.items():
        topics += _check_topic(slug, body, f"topics.{slug}", None, problems)
    seen: set[str] = set()
    for topic in topics:
        if topic.slug in seen:
            problems.append(f"topics.{topic.slug}: duplicate slug (slugs are unique across areas)")
        seen.add(topic.slug)
    return Taxonomy(tuple(topics))


def _choice(value: object, allowed: tuple[str, ...], path: str, problems: list[str]) -> str:
    if value not in allowed:
        problems.append(f"{path}: must be one of {', '.join(allowed)} (got {value!r})")
        return allowed[0]
    return str(value)


def _check_source(
    raw: object, path: str, known_topics: set[str], problems: list[str]
) -> SourceSpec | None:
    if not isinstance(raw, dict):
        problems.append(f"{path}: must be a mapping with name, url, kind, level")
        return None
    for key in sorted(set(raw) - SOURCE_KEYS):
        problems.append(f"{path}.{key}: unknown field")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.append(f"{path}.name: required")
        name = ""
    url = raw.get("url")
    if not is_http_url(url):
        problems.append(f"{path}.url: not an http(s) URL")
    topics = _str_list(raw.get("topics"), f"{path}.topics", problems)
    for i, slug in enumerate(topics):
        if slug not in known_topics:
            problems.append(f"{path}.topics[{i}]: unknown topic {slug!r}")
    poll = raw.get("poll_minutes")
    if poll is not None and (
        not isinstance(poll, int)
        or isinstance(poll, bool)
        or not poll >= MIN_POLL_MINUTES
        or poll > MAX_POLL_MINUTES
    ):
        problems.append(
            f"{path}.poll_minutes: must be a whole number from {MIN_POLL_MINUTES} "
            f"to {MAX_POLL_MINUTES}"
        )
        poll = None
    weight = raw.get("weight", 1.0)
    if not isinstance(weight, int | float) or isinstance(weight, bool) or not 0 < weight <= 5:
        problems.append(f"{path}.weight: must be a number in (0, 5]")
        weight = 1.0
    site = raw.get("site")
    if site is not None and not is_http_url(site):
        problems.append(f"{path}.site: not an http(s) URL")
    return SourceSpec(
        name=name.strip(),
        url=str(url),
        kind=_choice(raw.get("kind"), KINDS, f"{path}.kind", problems),  # type: ignore[arg-type]
        level=_choice(raw.get("level"), LEVELS, f"{path}.level", problems),  # type: ignore[arg-type]
        topics=topics,
        poll_minutes=poll,
        weight=float(weight),
        site=site,
    )


def _check_duplicates(sources: list[tuple[int, SourceSpec]], problems: list[str]) -> None:
    names: dict[str, int] = {}
    urls: dict[str, int] = {}
    for index, spec in sources:
        name_key, url_key = spec.name.casefold(), spec.url.rstrip("/").lower()
        if spec.name and name_key in names:
            problems.append(
                f"sources[{index}].name: duplicate of sources[{names[name_key]}] ({spec.name!r})"
            )
        if url_key in urls:
            problems.append(f"sources[{index}].url: duplicate of sources[{urls[url_key]}]")
        names.setdefault(name_key, index)
        urls.setdefault(url_key, index)


def check_catalog(document: object) -> tuple[Catalog, list[str]]:
    """Validate a parsed feeds.yaml document; return the catalog and every problem found."""
    problems: list[str] = []
    if not isinstance(document, dict):
        return Catalog(Taxonomy()), ["(file): must be a mapping with topics: and sources:"]
    for key in sorted(set(document) - {"topics", "sources"}):
        problems.append(f"{key}: unknown section")
    taxonomy = _check_taxonomy(document.get("topics"), problems)
    raw_sources = document.get("sources")
    checked: list[tuple[int, SourceSpec]] = []
    if not isinstance(raw_sources, list):
        problems.append("sources: required, a list of sources")
    else:
        known = {t.slug for t in taxonomy.topics}
        for i, raw in enumerate(raw_sources):
            spec = _check_source(raw, f"sources[{i}]", known, problems)
            if spec is not None:
                checked.append((i, spec))
        _check_duplicates(checked, problems)
    return Catalog(taxonomy, tuple(spec for _, spec in checked)), problems


def read_catalog(path: Path) -> tuple[Catalog, list[str]]:
    """Read and validate a catalog file; problems are returned, not raised."""
    import yaml  # here, not at import: a CLI command that reads no catalog does not pay for it

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        return Catalog(Taxonomy()), [f"{path}: cannot read ({exc.strerror or exc})"]
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        return Catalog(Taxonomy()), [f"{path}: not valid YAML{where}"]
    return check_catalog(document)


def load_catalog(path: Path) -> Catalog:
    """Read a catalog file or raise ConfigError listing every problem, one per line."""
    catalog, problems = read_catalog(path)
    if problems:
        raise ConfigError("\n".join(problems))
    return catalog
