"""Tag (pure): a ``NormalizedItem`` -> topic assignments from the taxonomy in feeds.yaml.

Three kinds of evidence, each with a score in (0, 1] and an origin:

- ``category``: the paper's arXiv categories mapped to topics; the primary category scores
  higher than cross-lists;
- ``keyword``: a topic's keywords in the title (scores higher) or the summary and feed terms.
  Keywords match whole words, case-insensitively, plurals included; an ALL-CAPS acronym (RL, GAN,
  LLM, RAG) matches case-sensitively, plural ``LLMs`` included, never inside another word
  ("WORLD", "ORGANIC", "Gandhi");
- ``source``: the source's default topics, with a low score.

A subtopic implies its area. Each slug is assigned once, with its best score and that score's
origin. The taxonomy is compiled once into a single regular expression (``Tagger``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from service.config import Taxonomy, Topic
from service.records import NormalizedItem, TagAssignment, TagOrigin

PRIMARY_CATEGORY_SCORE = 1.0
CROSS_LIST_SCORE = 0.7
TITLE_KEYWORD_SCORE = 0.8
SUMMARY_KEYWORD_SCORE = 0.5
SUMMARY_REPEAT_BONUS = 0.05
SUMMARY_KEYWORD_CAP = 0.65
SOURCE_SCORE = 0.3
MATCHED_MEMORY = 10_000  # spellings of keywords remembered by a Tagger
_ORIGIN_RANK: dict[TagOrigin, int] = {"category": 3, "keyword": 2, "source": 1}
_ACRONYM = re.compile(r"[A-Z][A-Z0-9]*[A-Z][A-Z0-9]*")
_SEPARATORS = re.compile(r"[\s\-]+")


def is_acronym(keyword: str) -> bool:
    """ALL-CAPS keywords (two or more capitals, digits allowed) match case-sensitively."""
    return _ACRONYM.fullmatch(keyword) is not None


def keyword_key(text: str) -> str:
    """How a keyword or a matched phrase is looked up: lowercase, one space between words."""
    return _SEPARATORS.sub(" ", text.strip()).lower()


class Tagger:
    """A taxonomy compiled for tagging: category map, keyword index and one combined regex."""

    def __init__(self, taxonomy: Taxonomy) -> None:
        self._area: dict[str, str] = {topic.slug: topic.area for topic in taxonomy.topics}
        self._categories: dict[str, list[str]] = {}
        self._words: dict[str, list[str]] = {}
        self._acronyms: dict[str, list[str]] = {}
        self._matched: dict[str, list[str]] = {}
        for topic in taxonomy.topics:
            self._index(topic)
        self._pattern = _compile(self._words, self._acronyms)

    def _index(self, topic: Topic) -> None:
        for category in topic.arxiv:
            self._categories.setdefault(category, []).append(topic.slug)
        for keyword in topic.keywords:
            if is_acronym(keyword):
                self._acronyms.setdefault(keyword, []).append(topic.slug)
            elif keyword_key(keyword):
                self._words.setdefault(keyword_key(keyword), []).append(topic.slug)

    def tag(
        self, item: NormalizedItem, *, source_topics: tuple[str, ...] = ()
    ) -> tuple[TagAssignment, ...]:
        """The item's topics, one assignment per slug, best score first."""
        best: dict[str, tuple[float, TagOrigin]] = {}
        for slug, score, origin in self._evidence(item, source_topics):
            _keep_best(best, slug, score, origin)
            area = self._area[slug]
            if area != slug:
                _keep_best(best, area, score, origin)
        ordered = sorted(best.items(), key=lambda pair: (-pair[1][0], pair[0]))
        return tuple(
            TagAssignment(slug=slug, area=self._area[slug], score=round(score, 3), origin=origin)
            for slug, (score, origin) in ordered
        )

    def _evidence(
        self, item: NormalizedItem, source_topics: tuple[str, ...]
    ) -> Iterable[tuple[str, float, TagOrigin]]:
        if item.arxiv is not None:
            for category in item.arxiv.categories:
                primary = category == item.arxiv.primary_category
                score = PRIMARY_CATEGORY_SCORE if primary else CROSS_LIST_SCORE
                for slug in self._categories.get(category, ()):
                    yield slug, score, "category"
        for slug in self.keyword_topics(item.title):
            yield slug, TITLE_KEYWORD_SCORE, "keyword"
        summary = " ".join((item.summary_text, *item.terms))
        for slug, hits in self._keyword_counts(summary).items():
            bonus = SUMMARY_REPEAT_BONUS * (hits - 1)
            yield slug, min(SUMMARY_KEYWORD_CAP, SUMMARY_KEYWORD_SCORE + bonus), "keyword"
        for slug in source_topics:
            if slug in self._area:
                yield slug, SOURCE_SCORE, "source"

    def keyword_topics(self, text: str) -> tuple[str, ...]:
        """The slugs whose keywords occur in ``text`` (in order of first hit)."""
        return tuple(self._keyword_counts(text))

    def _keyword_counts(self, text: str) -> dict[str, int]:
        counts: dict[str, int] = {}
        if self._pattern is None or not text:
            return counts
        for match in self._pattern.finditer(text):
            for slug in self._slugs_for(match.group()):
                counts[slug] = counts.get(slug, 0) + 1
        return counts

    def _slugs_for(self, matched: str) -> list[str]:
        """The slugs of the keyword ``matched`` spells (remembered: the same few recur)."""
        slugs = self._matched.get(matched)
        if slugs is None:
            if len(self._matched) >= MATCHED_MEMORY:
                self._matched.clear()
            slugs = self._matched[matched] = self._lookup(matched)
        return slugs

    def _lookup(self, matched: str) -> list[str]:
        if matched in self._acronyms:
            return self._acronyms[matched]
        if matched.endswith("s") and matched[:-1] in self._acronyms:
            return self._acronyms[matched[:-1]]
        key = keyword_key(matched)
        for candidate in (key, key.removesuffix("s"), key.removesuffix("es")):
            if candidate in self._words:
                return self._words[candidate]
        return []


def _keep_best(
    best: dict[str, tuple[float, TagOrigin]], slug: str, score: float, origin: TagOrigin
) -> None:
    current = best.get(slug)
    if current is None or (score, _ORIGIN_RANK[origin]) > (current[0], _ORIGIN_RANK[current[1]]):
        best[slug] = (score, origin)


def _compile(words: dict[str, list[str]], acronyms: dict[str, list[str]]) -> re.Pattern[str] | None:
    """One expression for every keyword: whole words only, plurals allowed, phrases as a trie.

    Python's ``re`` tries each branch of an alternation at every position; factoring the
    phrases into a trie (shared prefixes once) keeps a taxonomy of hundreds of keywords fast.
    """
    alternatives: list[str] = []
    if words:
        alternatives.append(
            f"(?i:{_trie_pattern([p.split(' ') for p in words], _SEPARATOR)})(?:e?s)?"
        )
    if acronyms:
        alternatives.append(f"{_trie_pattern([[a] for a in acronyms], _SEPARATOR)}s?")
    if not alternatives:
        return None
    return re.compile(rf"(?<!\w)(?:{'|'.join(alternatives)})(?!\w)")


_SEPARATOR = r"[\s\-]+"
_END = ""


def _trie_pattern(phrases: list[list[str]], separator: str) -> str:
    """A regular expression matching exactly the phrases (words joined by ``separator``)."""
    trie: dict[str, Any] = {}
    for words in phrases:
        node = trie
        for atom in _atoms(words):
            node = node.setdefault(atom, {})
        node[_END] = {}
    return _node_pattern(trie, separator)


def _atoms(words: list[str]) -> Iterable[str]:
    for index, word in enumerate(words):
        if index:
            yield " "
        yield from word


def _node_pattern(node: dict[str, Any], separator: str) -> str:
    branches = [
        (separator if atom == " " else re.escape(atom)) + _node_pattern(child, separator)
        for atom, child in sorted(node.items())
        if atom != _END
    ]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else f"(?:{'|'.join(branches)})"
    if _END in node:
        return f"(?:{body})?"
    return body
