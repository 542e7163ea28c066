"""The one ranker: the two ends, the broad tour, the interleave, learned preferences,
explanations, and ranking invariants (pure pools from ``rankbuild``)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from rankbuild import AREAS, NOW, TOPIC_ROWS, candidate, pool, source, tag

from service.rank.dial import deep_slot, dial_order, interleaved, rank_feed
from service.rank.model import Candidate, FeedbackEvent, Preferences


@pytest.mark.parametrize("depth", [0.0, 0.15, 0.25, 0.5, 0.75, 0.85, 1.0])
def test_deep_slots_take_a_share_depth_and_lead_from_one_half(depth: float) -> None:
    slots = [deep_slot(position, depth) for position in range(100)]
    assert sum(slots) == round(100 * depth)
    assert slots[0] == (depth >= 0.5)
    for size in (4, 20):  # evenly spread: every prefix is within one of its share
        assert abs(sum(slots[:size]) - size * depth) <= 1


def test_interleave_takes_each_item_once_in_the_shares_asked() -> None:
    deep = iter([(n, 10.0 - n) for n in range(8)])
    broad = iter([(7 - n, float(n)) for n in range(8)])
    picks = list(interleaved(deep, broad, 0.5))
    assert sorted(index for index, _, _ in picks) == list(range(8))
    assert [index for index, _, _ in picks[:4]] == [0, 7, 1, 6]  # deep, broad, deep, broad
    assert [side for _, _, side in picks[:4]] == [True, False, True, False]


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
    assert first[0].kind == "podcast"  # overviews first
    assert 3 <= sum(1 for c in first if c.kind == "podcast") <= 4  # from one source: at most 4
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


# --------------------------------------------------------------------------- the broad tour


def _ids(feed_items: object) -> list[int]:
    return [item.candidate.id for item in feed_items]  # type: ignore[attr-defined]


def _aggregated_pool() -> list[Candidate]:
    """One aggregator carries 60 fresh overview posts over every area; seven other sources a
    few items each (posts, papers, a podcast, a video); ten fresh untagged items."""
    items = []
    for n in range(60):
        area = AREAS[n % len(AREAS)]
        aggregator = source(1, level="overview", kind="post")
        items.append(
            candidate(
                1000 + n, kind="post", tags=[tag(area, 0.9)], sources=[aggregator], hours_old=1
            )
        )
    for n in range(18):
        kind, level = ("paper", "research") if n % 2 else ("post", "practitioner")
        items.append(
            candidate(
                2000 + n,
                kind=kind,
                tags=[tag(AREAS[n % len(AREAS)], 0.8)],
                sources=[source(10 + n % 5, level=level, kind=kind)],
                summary="What changed and why it matters.",
                hours_old=20,
            )
        )
    items.append(
        candidate(
            3000,
            kind="podcast",
            tags=[tag("audio", 0.9)],
            sources=[source(20, kind="podcast", level="overview")],
            hours_old=30,
        )
    )
    items.append(
        candidate(
            3001,
            kind="video",
            tags=[tag("vision", 0.9)],
            sources=[source(21, kind="video", level="practitioner")],
            hours_old=30,
        )
    )
    items += [
        candidate(4000 + n, kind="post", title=f"Untagged story {n}", hours_old=0)
        for n in range(10)
    ]
    return items


def test_depth_zero_is_a_tour_of_areas_sources_and_kinds() -> None:
    items = _aggregated_pool()
    feed = rank_feed(pool(items), Preferences(depth=0.0), now=NOW)
    top = [item.candidate for item in feed.items[:20]]
    per_source: dict[int, int] = {}
    for c in top:
        per_source[c.sources[0].id] = per_source.get(c.sources[0].id, 0) + 1
    assert max(per_source.values()) <= 4, per_source
    assert {c.kind for c in top} >= {"paper", "post", "podcast", "video"}
    assert all(c.tags for c in top), "an untagged item took a breadth slot"
    assert feed.metrics.coverage == 1.0
    assert feed.metrics.max_per_source <= 4 and feed.metrics.kinds_covered == 4
    assert feed.metrics.kinds_available == 4 and feed.metrics.sources_covered >= 5
    untagged = [n for n, item in enumerate(feed.items) if not item.candidate.tags]
    assert min(untagged) >= len(items) - 10  # they come last


def test_without_the_tour_one_aggregator_would_fill_the_top() -> None:
    """The baseline the tour is measured against: the broad score alone, best first."""
    items = _aggregated_pool()
    scores = dial_order(pool(items), Preferences(depth=0.0), now=NOW).scores
    best = np.argsort(-scores.broad, kind="stable")[:20]
    from_aggregator = sum(1 for n in best if items[n].sources[0].id == 1)
    assert from_aggregator > 4


def test_a_weekly_round_up_is_an_overview_whatever_its_source() -> None:
    items = [
        candidate(
            1,
            kind="post",
            tags=[tag("nlp")],
            sources=[source(1, level="research", kind="post")],
            title="This week in NLP: agents, evals and more",
            summary="A round-up.",
        ),
        candidate(
            2,
            kind="post",
            tags=[tag("nlp")],
            sources=[source(2, level="research", kind="post")],
            title="Scaling sparse attention to long documents",
            summary="New work.",
        ),
    ]
    scores = dial_order(pool(items), Preferences(depth=0.0), now=NOW).scores
    assert scores.columns.level.tolist() == [0, 2]  # overview, research
    assert rank_feed(pool(items), Preferences(depth=0.0), now=NOW).items[0].candidate.id == 1
    assert (
        rank_feed(pool(items), Preferences(interests={"nlp": 1.0}, depth=1.0), now=NOW)
        .items[0]
        .candidate.id
        == 2
    )


def test_a_thin_item_is_demoted_at_both_ends() -> None:
    items = [
        candidate(1, kind="post", tags=[tag("nlp")], title="Link", summary=""),
        candidate(
            2,
            kind="post",
            tags=[tag("nlp")],
            title="Link two",
            summary="What it says.",
            hours_old=5,
        ),
    ]
    for depth in (0.0, 1.0):
        prefs = Preferences(interests={"nlp": 1.0}, depth=depth)
        assert _ids(rank_feed(pool(items), prefs, now=NOW).items) == [2, 1]


# --------------------------------------------------------------------------- what the reader likes


def _one_interest_pool() -> list[Candidate]:
    """Twenty NLP papers (ten on translation), equally relevant to an interest in NLP; four
    vision papers outside it."""
    items = [candidate(n, tags=[tag("llm", 0.9)], hours_old=n) for n in range(1, 11)]
    items += [candidate(n, tags=[tag("translation", 0.9)], hours_old=n) for n in range(11, 21)]
    items += [candidate(n, tags=[tag("detection", 0.9)], hours_old=n) for n in range(21, 25)]
    return items


def test_likes_reorder_items_within_the_interests() -> None:
    items = _one_interest_pool()
    prefs = Preferences(interests={"nlp": 1.0}, depth=1.0)
    before = _ids(rank_feed(pool(items), prefs, now=NOW).items[:10])
    assert sum(1 for i in before if i > 10) < 10  # freshness alone mixes them
    liked = [FeedbackEvent(sign=1, at=NOW, topics=(("translation", 0.9),)) for _ in range(5)]
    after = _ids(rank_feed(pool(items, liked), prefs, now=NOW).items[:10])
    assert sorted(after) == list(range(11, 21))


def test_a_learned_affinity_reorders_within_and_brings_neighbours_from_outside() -> None:
    items = _one_interest_pool()
    prefs = Preferences(interests={"nlp": 1.0}, depth=1.0)
    learned = np.zeros(len(items))
    learned[[c.id in (5, 6, 22) for c in items]] = 0.9
    order = dial_order(
        pool(items),
        prefs,
        now=NOW,
        learned=learned,
        note=lambda c: f"because you liked item {c.id - 1}",
    )
    top = order.items(0, 5)
    assert {item.candidate.id for item in top[:2]} == {5, 6}
    assert 22 in _ids(order.items(0, 10))  # a vision paper, outside the interests
    assert (
        "because you liked item 4" in top[0].why.summary
        or "because you liked item 5" in top[0].why.summary
    )
    assert top[0].why.parts["learned"] == pytest.approx(0.9)


def test_a_learned_dislike_sinks_what_it_resembles() -> None:
    items = _one_interest_pool()
    learned = np.where([c.id <= 10 for c in items], -0.8, 0.0)
    order = dial_order(
        pool(items), Preferences(interests={"nlp": 1.0}, depth=1.0), now=NOW, learned=learned
    )
    assert all(i > 10 for i in _ids(order.items(0, 10)))


def test_learned_must_give_one_value_per_candidate() -> None:
    with pytest.raises(ValueError, match="one value per candidate"):
        dial_order(pool(_one_interest_pool()), Preferences(), now=NOW, learned=np.zeros(3))


def test_a_liked_aggregator_does_not_fill_the_top() -> None:
    """Five liked papers on translation all came through one aggregator that carries every
    area: with no interests, the top 10 is translation, not the aggregator's other areas."""
    items = [
        candidate(n, tags=[tag("translation", 0.9)], sources=[source(2)], hours_old=n)
        for n in range(1, 11)
    ]
    items += [
        candidate(100 + n, tags=[tag(AREAS[n % len(AREAS)], 0.9)], sources=[source(1)], hours_old=0)
        for n in range(30)
        if AREAS[n % len(AREAS)] != "nlp"
    ]
    liked = [
        FeedbackEvent(sign=1, at=NOW, topics=(("translation", 0.9),), source_ids=(1,))
        for _ in range(5)
    ]
    top = _ids(rank_feed(pool(items, liked), Preferences(depth=1.0), now=NOW).items[:10])
    assert sorted(top) == list(range(1, 11))


def test_the_same_data_and_now_give_the_same_order() -> None:
    items = _aggregated_pool()
    for depth in (0.0, 0.4, 1.0):
        prefs = Preferences(interests={"vision": 1.0}, depth=depth)
        first = _ids(rank_feed(pool(items), prefs, now=NOW).items)
        assert _ids(rank_feed(pool(items), prefs, now=NOW).items) == first
        assert _ids(rank_feed(pool(items[::-1]), prefs, now=NOW).items) == first
