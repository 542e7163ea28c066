"""Tag (pure): a ``NormalizedItem`` -> topic assignments from the taxonomy in feeds.yaml.

Four kinds of evidence, each with a score in (0, 1] and an origin:

- ``category``: the paper's arXiv categories mapped to topics; the primary category scores
  higher than cross-lists;
- ``model``: the topic model (``service.ingest.topicmodel``), learned from arXiv's own labels,
  reads the title and summary of every item (posts, episodes, title-only items, and papers whose
  categories name no area but ml-core) and gives a
  calibrated probability per topic that arXiv categories map to; a topic at or above its tuned
  threshold is assigned with that probability; when nothing in the text gives an area and the
  source has no default topic, the model's best guess is kept if it is likely enough;
- ``keyword``: a topic's keywords in the title (scores higher) or the summary and feed terms.
  Keywords match whole words, case-insensitively, plurals included; an ALL-CAPS acronym (RL, GAN,
  LLM, RAG) matches case-sensitively, plural ``LLMs`` included, never inside another word
  ("WORLD", "ORGANIC", "Gandhi"). A single mention in a long summary is a passing clause: it
  scores below ``MIN_SCORE`` and only refines an area the item already has. Where the model
  covers a topic, a keyword in the summary needs some support from it (``MODEL_SUPPORT`` of its
  threshold): "autonomous driving" in a software-testing abstract does not make it robotics.
  A keyword in the title needs none (a title is what the item is about, and the model reads
  a bare title poorly);
- ``source``: the source's default topics, with a low score, only when the text gives no
  evidence against them: the text found no area at all (a title-only news item), or the topic
  has some support in the text.

A subtopic implies its area. The evidence for a slug combines into one score (1 - the product of
(1 - score) over its kinds of evidence) whose origin is the kind that weighed most. The taxonomy
is compiled once into a single regular expression (``Tagger``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from service.catalog import Taxonomy, Topic
from service.ingest.topicmodel import TopicModel, assigned_labels
from service.records import NormalizedItem, TagAssignment, TagOrigin

PRIMARY_CATEGORY_SCORE = 1.0
CROSS_LIST_SCORE = 0.7
TITLE_KEYWORD_SCORE = 0.8
SUMMARY_KEYWORD_SCORE = 0.5
SUMMARY_REPEAT_BONUS = 0.05
SUMMARY_KEYWORD_CAP = 0.65
PASSING_MENTION_SCORE = 0.3  # one mention in a long summary
SHORT_SUMMARY = 400  # characters: a summary this short has no passing clauses
KEYWORD_CHARS = 20_000  # the summary read for keywords (a 1 MB abstract costs no more)
MIN_SCORE = 0.35  # text evidence below this only refines an area the item already has
MODEL_SUPPORT = 0.5  # a keyword on a topic the model covers needs this share of its threshold
SOURCE_SCORE = 0.3
GENERAL_AREA = "ml-core"  # cs.LG, cs.AI, stat.ML: says a paper is ML, not which area
MATCHED_MEMORY = 10_000  # spellings of keywords remembered by a Tagger
_ORIGIN_RANK: dict[TagOrigin, int] = {"category": 4, "model": 3, "keyword": 2, "source": 1}
Scores = dict[str, tuple[float, float]]  # a model label -> (probability, threshold)
_ACRONYM = re.compile(r"[A-Z][A-Z0-9]*[A-Z][A-Z0-9]*")
_SEPARATORS = re.compile(r"[\s\-]+")


def is_acronym(keyword: str) -> bool:
    """ALL-CAPS keywords (two or more capitals, digits allowed) match case-sensitively."""
    return _ACRONYM.fullmatch(keyword) is not None


def keyword_key(text: str) -> str:
    """How a keyword or a matched phrase is looked up: lowercase, one space between words."""
    return _SEPARATORS.sub(" ", text.strip()).lower()


class Tagger:
    """A taxonomy compiled for tagging: category map, keyword index, one combined regex, and the
    topic model when there is one (``model`` None: keyword rules only, ``fallback`` says why)."""

    def __init__(
        self, taxonomy: Taxonomy, model: TopicModel | None = None, *, fallback: str = ""
    ) -> None:
        self._area: dict[str, str] = {topic.slug: topic.area for topic in taxonomy.topics}
        self._categories: dict[str, list[str]] = {}
        self._words: dict[str, list[str]] = {}
        self._acronyms: dict[str, list[str]] = {}
        self._matched: dict[str, list[str]] = {}
        for topic in taxonomy.topics:
            self._index(topic)
        self._pattern = _compile(self._words, self._acronyms)
        self.model = model
        self.fallback = fallback
        labels = set(model.labels) & set(self._area) if model else set()
        # the model's labels this taxonomy knows, by column; and their thresholds
        self._known_labels = [
            (i, label) for i, label in enumerate(model.labels if model else ()) if label in labels
        ]
        self._thresholds: list[float] = model.thresholds.tolist() if model else []
        # the model label that covers a slug: the slug itself, or its area
        self._covered = {
            slug: slug if slug in labels else area
            for slug, area in self._area.items()
            if slug in labels or area in labels
        }

    def _index(self, topic: Topic) -> None:
        for category in topic.arxiv:
            self._categories.setdefault(category, []).append(topic.slug)
        for keyword in topic.keywords:
            if is_acronym(keyword):
                self._acronyms.setdefault(keyword, []).append(topic.slug)
            elif keyword_key(keyword):
                self._words.setdefault(keyword_key(keyword), []).append(topic.slug)

    @property
    def model_version(self) -> str | None:
        """The version recorded on the items this tagger tags (None: keyword rules only)."""
        return self.model.version if self.model else None

    def area(self, slug: str) -> str:
        """The area of a topic slug (an area is its own area)."""
        return self._area[slug]

    def category_topics(self, categories: Iterable[str]) -> tuple[str, ...]:
        """The topics arXiv categories map to through feeds.yaml (in order, each once)."""
        found: dict[str, None] = {}
        for category in categories:
            found.update(dict.fromkeys(self._categories.get(category, ())))
        return tuple(found)

    def tag(
        self, item: NormalizedItem, *, source_topics: tuple[str, ...] = ()
    ) -> tuple[TagAssignment, ...]:
        """The item's topics, one assignment per slug, best score first."""
        return self.tag_all((item,), source_topics=source_topics)[0]

    def tag_all(
        self, items: Sequence[NormalizedItem], *, source_topics: tuple[str, ...] = ()
    ) -> list[tuple[TagAssignment, ...]]:
        """``tag`` for each of ``items`` (a document's), the model run once for all of them."""
        return [
            self._tagged(item, scores, source_topics)
            for item, scores in zip(items, self._model_scores(items), strict=True)
        ]

    def _tagged(
        self, item: NormalizedItem, scores: Scores, source_topics: tuple[str, ...]
    ) -> tuple[TagAssignment, ...]:
        evidence: dict[str, dict[TagOrigin, float]] = {}
        for slug, score, origin in self._text_evidence(item, scores):
            _add(evidence, slug, score, origin)
            _add(evidence, self._area[slug], score, origin)
        areas = {
            self._area[slug]
            for slug, kinds in evidence.items()
            if max(kinds.values()) >= MIN_SCORE or kinds.keys() - {"keyword"}
        }
        defaults = [slug for slug in source_topics if slug in self._area]
        guess = None if areas or defaults else self._best_guess(scores)
        if guess is not None:
            _add(evidence, guess, scores[guess][0], "model")
            _add(evidence, self._area[guess], scores[guess][0], "model")
            areas.add(self._area[guess])
        kept = {slug: kinds for slug, kinds in evidence.items() if self._area[slug] in areas}
        for slug in defaults:
            if self._source_applies(slug, areas, evidence, scores):
                _add(kept, slug, SOURCE_SCORE, "source")
                _add(kept, self._area[slug], SOURCE_SCORE, "source")
        combined = {slug: _combine(kinds) for slug, kinds in kept.items()}
        ordered = sorted(combined.items(), key=lambda pair: (-pair[1][0], pair[0]))
        return tuple(
            TagAssignment(slug=slug, area=self._area[slug], score=score, origin=origin)
            for slug, (score, origin) in ordered
        )

    def _model_scores(self, items: Sequence[NormalizedItem]) -> list[Scores]:
        """The model's scores of each item (one batch), unless arXiv's own categories already
        name an area (the model learned from them; they are the better evidence, and skipping
        it halves a paper's cost)."""
        scored = [i for i, item in enumerate(items) if self._needs_model(item)]
        found: list[Scores] = [{} for _ in items]
        if self.model is None or not scored:
            return found
        texts = [_model_text(items[i]) for i in scored]
        for i, row in zip(scored, self.model.probability_rows(texts).tolist(), strict=True):
            found[i] = {label: (row[j], self._thresholds[j]) for j, label in self._known_labels}
        return found

    def _needs_model(self, item: NormalizedItem) -> bool:
        if self.model is None or not (item.title or item.summary_text):
            return False
        return item.arxiv is None or all(
            slug == GENERAL_AREA for slug in self.category_topics(item.arxiv.categories)
        )

    def _text_evidence(
        self, item: NormalizedItem, scores: Scores
    ) -> Iterable[tuple[str, float, TagOrigin]]:
        if item.arxiv is not None:
            for category in item.arxiv.categories:
                primary = category == item.arxiv.primary_category
                score = PRIMARY_CATEGORY_SCORE if primary else CROSS_LIST_SCORE
                for slug in self._categories.get(category, ()):
                    yield slug, score, "category"
        yield from self._model_evidence(scores)
        for slug in self.keyword_topics(item.title):
            yield slug, TITLE_KEYWORD_SCORE, "keyword"
        summary = " ".join((item.summary_text[:KEYWORD_CHARS], *item.terms))
        for slug, hits in self._keyword_counts(summary).items():
            if self._supported(slug, scores):
                yield slug, _summary_score(hits, len(item.summary_text)), "keyword"

    def _model_evidence(self, scores: Scores) -> Iterable[tuple[str, float, TagOrigin]]:
        for slug, (probability, threshold) in scores.items():
            if probability >= threshold:
                yield slug, probability, "model"

    def _best_guess(self, scores: Scores) -> str | None:
        """The model's most likely topic when nothing in the text gave an area (if likely
        enough: ``assigned_labels``, the rule the model is evaluated with)."""
        if not scores:
            return None
        probabilities = np.array([p for p, _ in scores.values()], dtype=np.float32)
        thresholds = np.array([t for _, t in scores.values()], dtype=np.float32)
        chosen = assigned_labels(list(scores), probabilities, thresholds)
        return chosen[0] if chosen else None

    def _supported(self, slug: str, scores: Scores) -> bool:
        """A keyword on a topic the model covers counts only if the model leans that way too."""
        label = self._covered.get(slug)
        if label is None or label not in scores:
            return True
        probability, threshold = scores[label]
        return probability >= MODEL_SUPPORT * threshold

    def _source_applies(
        self,
        slug: str,
        areas: set[str],
        evidence: dict[str, dict[TagOrigin, float]],
        scores: Scores,
    ) -> bool:
        """A source's default topic holds unless the text found areas and none of them is it."""
        if not areas or self._area[slug] in areas or slug in evidence:
            return True
        label = self._covered.get(slug)
        return label is not None and label in scores and self._supported(slug, scores)

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


def _model_text(item: NormalizedItem) -> str:
    return f"{item.title}. {item.summary_text}" if item.summary_text else item.title


def _summary_score(hits: int, summary_chars: int) -> float:
    """A keyword in the summary: a single mention in a long summary is a passing clause."""
    if hits == 1 and summary_chars > SHORT_SUMMARY:
        return PASSING_MENTION_SCORE
    return min(SUMMARY_KEYWORD_CAP, SUMMARY_KEYWORD_SCORE + SUMMARY_REPEAT_BONUS * (hits - 1))


def _add(
    evidence: dict[str, dict[TagOrigin, float]], slug: str, score: float, origin: TagOrigin
) -> None:
    kinds = evidence.setdefault(slug, {})
    kinds[origin] = max(score, kinds.get(origin, 0.0))


def _combine(kinds: dict[TagOrigin, float]) -> tuple[float, TagOrigin]:
    """One score from independent kinds of evidence (1 - product of misses), and the origin
    that weighed most (ties: category, model, keyword, source)."""
    miss = 1.0
    for score in kinds.values():
        miss *= 1.0 - score
    origin = max(kinds, key=lambda o: (kinds[o], _ORIGIN_RANK[o]))
    return round(min(1.0, 1.0 - miss), 3), origin


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
