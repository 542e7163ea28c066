"""Selection by the dial: the two ends, the interleave, explanations, and ranking invariants."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rankbuild import AREAS, NOW, TOPIC_ROWS, candidate, pool, source, tag

from service.rank.model import Candidate, Preferences, ScoreParts
from service.rank.select import (
    Scored,
    broad_score,
    deep_score,
    deep_slot,
    interleave,
    rank_feed,
    spread,
)


def _parts(**values: float) -> ScoreParts:
    base = {
        "topic": 0.0,
        "keyword": 0.0,
        "author": 0.0,
        "affinity": 0.0,
        "relevance": 0.0,
        "technical": 0.5,
        "freshness": 1.0,
        "source": 0.0,
        "coverage": 0.0,
        "kind_weight": 1.0,
    }
    base.update(values)
    return ScoreParts(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("better", "worse"),
    [
        # deep end: any real match beats the best unmatched item
        (_parts(relevance=0.2, technical=0.0, freshness=0.0), _parts(technical=1.0, coverage=0.99)),
        # deep end: equally relevant, the technical one first
        (_parts(relevance=0.8, technical=1.0), _parts(relevance=0.8, technical=0.2)),
        (_parts(relevance=0.8, coverage=0.5), _parts(relevance=0.8)),
        (_parts(relevance=0.8, kind_weight=1.0), _parts(relevance=0.8, kind_weight=0.5)),
    ],
)
def test_deep_score_orders(better: ScoreParts, worse: ScoreParts) -> None:
    assert deep_score(better) > deep_score(worse)


@pytest.mark.parametrize(
    ("better", "worse"),
    [
        # broad end: an overview beats a technical item of the same freshness
        (_parts(technical=0.1), _parts(technical=1.0)),
        # broad end: interests are only a mild boost — a stale match loses to a fresh overview
        (_parts(technical=0.2, freshness=1.0), _parts(relevance=1.0, technical=1.0, freshness=0.2)),
        (_parts(relevance=0.5), _parts()),
    ],
)
def test_broad_score_orders(better: ScoreParts, worse: ScoreParts) -> None:
    assert broad_score(better) > broad_score(worse)


@pytest.mark.parametrize("depth", [0.0, 0.15, 0.25, 0.5, 0.75, 0.85, 1.0])
def test_deep_slots_take_a_share_depth_and_lead_from_one_half(depth: float) -> None:
    slots = [deep_slot(position, depth) for position in range(100)]
    assert sum(slots) == round(100 * depth)
    assert slots[0] == (depth >= 0.5)
    for size in (4, 20):  # evenly spread: every prefix is within one of its share
        assert abs(sum(slots[:size]) - size * depth) <= 1


def _scored(item_id: int, area: str, broad: float, deep: float = 0.0) -> Scored:
    return Scored(candidate(item_id), _parts(), deep, broad, area)


def test_spread_spans_every_area_before_repeating_one() -> None:
    entries = [_scored(i, "nlp", 1.0 - i / 100) for i in range(1, 6)]
    entries += [_scored(10, "vision", 0.2), _scored(11, "audio", 0.05)]
    order = [entry.candidate.id for entry, _ in spread(entries, penalty=1.2)]
    assert order[:3] == [1, 10, 11]
    assert sorted(order) == [1, 2, 3, 4, 5, 10, 11]


def test_spread_without_penalty_is_by_score_then_id() -> None:
    entries = [_scored(3, "nlp", 0.5), _scored(2, "vision", 0.5), _scored(1, "nlp", 0.9)]
    assert [e.candidate.id for e, _ in spread(entries, penalty=0.0)] == [1, 2, 3]


def test_interleave_takes_each_item_once_in_the_shares_asked() -> None:
    entries = [_scored(i, "nlp", broad=i, deep=-i) for i in range(1, 9)]
    deep = sorted(((e, e.deep) for e in entries), key=lambda pair: -pair[1])
    broad = sorted(((e, e.broad) for e in entries), key=lambda pair: -pair[1])
    picks = interleave(deep, broad, 0.5)
    ids = [pick.entry.candidate.id for pick in picks]
    assert sorted(ids) == list(range(1, 9))
    assert ids[:4] == [1, 8, 2, 7]  # deep, broad, deep, broad
    assert [pick.deep for pick in picks[:4]] == [True, False, True, False]


def _mixed_pool() -> list[Candidate]:
    items = []
    for n, area in enumerate(AREAS):
        base = 10 * (n + 1)
        items.append(candidate(base, tags=[tag(area, 0.9)], hours_old=5))
        items.append(
            candidate(
                base + 1,
                kind="podcast",
                tags=[tag(area, 0.9)],
                sources=[source(2, level="overview", kind="podcast")],
                hours_old=5,
            )
        )
    items += [candidate(100 + i, tags=[tag("llm", 0.95)], hours_old=2 + i) for i in range(8)]
    return items


def test_depth_one_is_the_interests_technical_first() -> None:
    prefs = Preferences(interests={"nlp": 1.0}, depth=1.0)
    feed = rank_feed(pool(_mixed_pool()), prefs, now=NOW, k=10)
    top = [item.candidate for item in feed.items[:10]]
    assert all(c.area == "nlp" for c in top)
    nlp_kinds = [c.kind for c in top]
    assert nlp_kinds.index("podcast") == len(nlp_kinds) - 1  # the overview podcast comes last
    assert feed.metrics.focus == 1.0


def test_depth_zero_spans_every_area_overviews_first() -> None:
    feed = rank_feed(pool(_mixed_pool()), Preferences(interests={"nlp": 1.0}, depth=0.0), now=NOW)
    first = [item.candidate for item in feed.items[: len(AREAS)]]
    assert {c.area for c in first} == set(AREAS)
    assert all(c.kind == "podcast" for c in first)
    assert feed.metrics.coverage == 1.0
    breadth = [item for item in feed.items[: len(AREAS)] if item.why.brings_area]
    assert {item.why.brings_area for item in breadth} == set(AREAS) - {"nlp"}
    robotics = next(item for item in breadth if item.why.brings_area == "robotics")
    assert robotics.why.summary == "Covers Robotics, outside your interests"


def test_why_names_what_matched_and_the_score_parts() -> None:
    items = [
        candidate(1, tags=[tag("llm")], title="Sparse experts", authors=["Y. Bengio"]),
        candidate(2, tags=[tag("vision")]),
    ]
    prefs = Preferences(
        interests={"nlp": 1.0}, keywords=("experts",), authors=("Yoshua Bengio",), depth=1.0
    )
    why = rank_feed(pool(items), prefs, now=NOW).items[0].why
    assert (why.interests, why.keywords, why.authors) == (("nlp",), ("experts",), ("Y. Bengio",))
    assert why.summary == (
        'Matches your interests: NLP; mentions "experts"; by Y. Bengio, whom you follow'
    )
    for part in ("relevance", "technical", "freshness", "source", "coverage", "deep_score"):
        assert part in why.parts


def test_excluded_items_never_appear() -> None:
    items = [
        candidate(1, tags=[tag("llm")]),
        candidate(2, tags=[tag("robotics")]),
        candidate(3, tags=[tag("llm")], feedback=frozenset({"hide"})),
        candidate(4, kind="podcast", tags=[tag("llm")]),
        candidate(5, tags=[tag("llm")], feedback=frozenset({"save", "like"})),
    ]
    prefs = Preferences(keywords=("-robotics",), kind_weights={"podcast": 0.0})
    feed = rank_feed(pool(items), prefs, now=NOW)
    assert sorted(item.candidate.id for item in feed.items) == [1, 5]
    assert feed.excluded == 3


# --------------------------------------------------------------------------- invariants

_SLUGS = [row[0] for row in TOPIC_ROWS]


@st.composite
def _candidates(draw: st.DrawFn) -> list[Candidate]:
    ids = draw(st.lists(st.integers(1, 10_000), min_size=0, max_size=40, unique=True))
    items = []
    for item_id in ids:
        slugs = draw(st.lists(st.sampled_from(_SLUGS), max_size=3, unique=True))
        scores = draw(st.lists(st.floats(0.05, 1.0), min_size=len(slugs), max_size=len(slugs)))
        kind = draw(st.sampled_from(["paper", "post", "podcast", "video"]))
        level = draw(st.sampled_from(["research", "practitioner", "overview"]))
        items.append(
            candidate(
                item_id,
                kind=kind,
                tags=[tag(s, sc) for s, sc in zip(slugs, scores, strict=True)],
                sources=[source(item_id % 5, level=level, weight=draw(st.floats(0.2, 3.0)))],
                hours_old=draw(st.floats(-2, 300)),
                covered_by=draw(st.integers(0, 3)),
                feedback=frozenset(draw(st.sets(st.sampled_from(["hide", "like", "save"])))),
            )
        )
    return items


_preferences = st.builds(
    Preferences,
    interests=st.dictionaries(st.sampled_from(_SLUGS), st.floats(0.1, 5.0), max_size=3),
    keywords=st.lists(st.sampled_from(["item", "-robotics", "detection"]), max_size=2).map(tuple),
    depth=st.floats(0.0, 1.0),
)


@given(_candidates(), _preferences)
def test_ranking_invariants(items: list[Candidate], prefs: Preferences) -> None:
    feed = rank_feed(pool(items), prefs, now=NOW)
    ids = [item.candidate.id for item in feed.items]
    assert len(ids) == len(set(ids)), "an item appears twice"
    hidden = {c.id for c in items if "hide" in c.feedback}
    assert not hidden & set(ids), "a hidden item is shown"
    assert len(ids) + feed.excluded == len(items)
    assert [item.position for item in feed.items] == list(range(len(ids)))
    again = rank_feed(pool(list(reversed(items))), prefs, now=NOW)
    assert [item.candidate.id for item in again.items] == ids, "order depends on input order"
    assert 0.0 <= feed.metrics.focus <= 1.0
    assert 0.0 <= feed.metrics.coverage <= 1.0


@given(_candidates(), _preferences, st.floats(0.0, 1.0))
def test_the_dial_only_reorders(items: list[Candidate], prefs: Preferences, depth: float) -> None:
    one = rank_feed(pool(items), prefs, now=NOW)
    other = rank_feed(pool(items), replace(prefs, depth=depth), now=NOW)
    assert sorted(i.candidate.id for i in one.items) == sorted(i.candidate.id for i in other.items)
