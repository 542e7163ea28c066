"""Why an item is where it is (pure): its score parts and one sentence, for the page only.

Scoring (``score.py``) keeps every part of every candidate as arrays; a page's items are read
back from them here, with what each matched: the interests (strongest first), the keywords,
the followed authors, the leaning from likes (or what a learned model says of it), and for a
breadth pick the area it brings to the feed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from service.rank.model import Candidate, RankedItem, ScoreParts, TopicIndex, Why
from service.rank.score import FULL_MATCH, Scores
from service.rank.window import author_key

AFFINITY_NOTE = 0.1


def _interests(scores: Scores, index: int) -> tuple[str, ...]:
    row, column = int(scores.rows[index]), scores.columns.column
    found: list[tuple[float, str]] = []
    for slug, weight in scores.asks.interests:
        if slug in column and (score := float(scores.columns.topics[row, column[slug]])) > 0:
            found.append((weight * min(score / FULL_MATCH, 1.0), slug))
    return tuple(slug for _, slug in sorted(found, key=lambda p: (-p[0], p[1])))


def _keywords(scores: Scores, index: int) -> tuple[str, ...]:
    row, phrases = int(scores.rows[index]), scores.columns.phrases
    return tuple(
        phrase
        for phrase, pattern in scores.asks.keywords.positives
        if phrases.codes_of(phrase, pattern)[row] > 1
    )


def _authors(candidate: Candidate, followed: Sequence[str]) -> tuple[str, ...]:
    def same(key: str, author: str) -> bool:
        return bool(author) and (
            author.split(" ", 1)[0] == key if " " not in key else author == key
        )

    return tuple(a for a in candidate.authors if any(same(k, author_key(a)) for k in followed))


def parts_of(scores: Scores, index: int) -> ScoreParts:
    """Every part of the score of the candidate at ``index`` of the pool."""
    row, columns = int(scores.rows[index]), scores.columns
    return ScoreParts(
        topic=float(scores.topic[index]),
        keyword=float(scores.keyword[index]),
        author=float(scores.author[index]),
        affinity=float(scores.affinity[index]),
        relevance=float(scores.relevance[index]),
        technical=float(columns.technical[row]),
        freshness=float(scores.freshness[index]),
        source=float(columns.source_weight[row]),
        coverage=float(columns.coverage[row]),
        kind_weight=float(scores.kind_weight[index]),
        learned=float(scores.learned[index]),
        matched_interests=_interests(scores, index),
        matched_keywords=_keywords(scores, index),
        matched_authors=_authors(scores.pool.candidates[index], scores.asks.followed),
    )


def _labels(slugs: Sequence[str], topics: TopicIndex) -> str:
    return ", ".join(topics.label(slug) for slug in slugs)


def sentence(
    parts: ScoreParts, brings: str | None, area: str | None, topics: TopicIndex, liked: str | None
) -> str:
    """What the reader reads: the matches first, then the leaning, the area, the coverage."""
    reasons: list[str] = []
    if parts.matched_interests:
        reasons.append(f"matches your interests: {_labels(parts.matched_interests, topics)}")
    if parts.matched_keywords:
        reasons.append("mentions " + ", ".join(f'"{k}"' for k in parts.matched_keywords))
    if parts.matched_authors:
        reasons.append(f"by {', '.join(parts.matched_authors)}, whom you follow")
    lean = parts.affinity + parts.learned
    if liked is not None:
        reasons.append(liked)
    elif lean >= AFFINITY_NOTE:
        reasons.append("similar to items you liked")
    elif lean <= -AFFINITY_NOTE:
        reasons.append("similar to items you disliked")
    if brings is not None:
        reasons.append(f"covers {topics.label(brings)}, outside your interests")
    if parts.coverage > 0:
        reasons.append("discussed by posts or podcasts")
    if not reasons:
        reasons.append(f"recent in {topics.label(area)}" if area else "recent")
    text = "; ".join(reasons)
    return text[0].upper() + text[1:]


def ranked_item(
    scores: Scores,
    index: int,
    position: int,
    score: float,
    *,
    breadth: bool,
    note: Callable[[Candidate], str | None] | None,
) -> RankedItem:
    """The candidate at ``index`` of the pool as the item at ``position`` of the feed, with its
    why (``breadth``: picked by the tour as the first of its area)."""
    candidate = scores.pool.candidates[index]
    parts = parts_of(scores, index)
    columns, row = scores.columns, int(scores.rows[index])
    area_index = int(columns.area[row])
    area = columns.area_slugs[area_index] if area_index >= 0 else candidate.area
    brings = area if breadth and area_index >= 0 and parts.topic == 0 else None
    liked = note(candidate) if note is not None and parts.learned >= AFFINITY_NOTE else None
    shown = {
        **parts.as_dict(),
        "deep_score": round(float(scores.deep[index]), 4),
        "broad_score": round(float(scores.broad[index]), 4),
    }
    why = Why(
        interests=parts.matched_interests,
        keywords=parts.matched_keywords,
        authors=parts.matched_authors,
        parts=shown,
        brings_area=brings,
        summary=sentence(parts, brings, area, scores.pool.topics, liked),
    )
    return RankedItem(candidate, position, round(score, 6), why)
