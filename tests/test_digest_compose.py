"""Choosing a digest's items (pure): minutes per kind, the knapsack on value per minute
(properties against the rank-order fill and the exact optimum), sections, header, links."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from digestkit import TOPICS, ranked_item
from hypothesis import given, settings
from hypothesis import strategies as st

from service.outputs.digest.compose import (
    ABSTRACT_MINUTES,
    choose,
    compose_digest,
    fill,
    links_of,
    minutes_of,
    rank_value,
    two_lines,
    web_url,
)


@pytest.mark.parametrize(
    ("fields", "minutes"),
    [
        ({"kind": "paper", "reading_minutes": 25}, ABSTRACT_MINUTES),  # the abstract, ≈ 2 min
        ({"kind": "post", "reading_minutes": 7}, 7),
        ({"kind": "post"}, 5),
        ({"kind": "podcast", "duration_seconds": 3599}, 60),
        ({"kind": "podcast", "duration_seconds": 3600, "reading_minutes": 10}, 60),
        ({"kind": "podcast", "reading_minutes": 40}, 40),
        ({"kind": "podcast"}, 45),
        ({"kind": "video", "duration_seconds": 600}, 10),
        ({"kind": "video"}, 15),
    ],
)
def test_minutes_per_kind(fields: dict[str, object], minutes: int) -> None:
    assert minutes_of(ranked_item(1, **fields).candidate) == minutes  # type: ignore[arg-type]


def _value(picked: Sequence[int], values: Sequence[float]) -> float:
    return sum(values[i] for i in picked)


def _optimum(values: Sequence[float], minutes: Sequence[int], budget: int) -> float:
    """The best value within the budget, by dynamic programming over minutes (no item cap)."""
    best = [0.0] * (budget + 1)
    for value, cost in zip(values, minutes, strict=True):
        for spent in range(budget, cost - 1, -1):
            best[spent] = max(best[spent], best[spent - cost] + value)
    return best[budget]


minutes_lists = st.lists(st.integers(1, 120), min_size=0, max_size=30)


@settings(max_examples=300)
@given(minutes=minutes_lists, budget=st.integers(1, 300), max_items=st.integers(1, 30))
def test_the_choice_fits_and_beats_the_rank_order(
    minutes: list[int], budget: int, max_items: int
) -> None:
    values = [rank_value(rank) for rank in range(len(minutes))]
    picked = choose(values, minutes, budget=budget, max_items=max_items)
    assert list(picked) == sorted(set(picked))
    assert sum(minutes[i] for i in picked) <= budget
    assert len(picked) <= max_items
    in_rank = fill(range(len(minutes)), minutes, budget=budget, max_items=max_items)
    assert _value(picked, values) >= _value(in_rank, values) - 1e-12
    if len(picked) < max_items:  # nothing left out that would still fit
        left = budget - sum(minutes[i] for i in picked)
        assert all(minutes[i] > left for i in range(len(minutes)) if i not in picked)


@settings(max_examples=300)
@given(
    items=st.lists(st.tuples(st.floats(0.01, 10.0), st.integers(1, 60)), min_size=0, max_size=25),
    budget=st.integers(1, 200),
)
def test_the_choice_is_worth_at_least_half_the_optimum(
    items: list[tuple[float, int]], budget: int
) -> None:
    values = [value for value, _ in items]
    minutes = [cost for _, cost in items]
    picked = choose(values, minutes, budget=budget, max_items=len(items) or 1)
    assert _value(picked, values) >= _optimum(values, minutes, budget) / 2 - 1e-9


def test_value_per_minute_fits_more_than_rank_order() -> None:
    # A one-hour podcast ranked first and fifteen abstracts of 2 minutes, in 30 minutes.
    minutes = [60, *([2] * 15)]
    values = [rank_value(r) for r in range(16)]
    assert choose(values, minutes, budget=30, max_items=20) == tuple(range(1, 16))


def test_rank_order_wins_when_value_per_minute_would_waste_the_budget() -> None:
    # Best item takes the whole budget; the denser second item would leave no room for it.
    assert choose([rank_value(0), rank_value(1)], [10, 1], budget=10, max_items=5) == (0,)


def test_the_item_cap_holds() -> None:
    assert len(choose([rank_value(r) for r in range(10)], [1] * 10, budget=100, max_items=3)) == 3


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="same length"):
        choose([1.0], [1, 2], budget=5, max_items=2)
    with pytest.raises(ValueError, match="at least one minute"):
        choose([1.0], [0], budget=5, max_items=2)


def test_sections_header_and_order() -> None:
    ranked = [
        ranked_item(10, position=0, arxiv_id="2611.00010"),
        ranked_item(11, position=1, kind="podcast", duration_seconds=1200, area="audio"),
        ranked_item(12, position=2, kind="post", reading_minutes=6, area="robotics", matched=()),
        ranked_item(13, position=3, arxiv_id="2611.00013"),
    ]
    digest = compose_digest(
        ranked, topics=TOPICS, budget_minutes=60, max_items=10, areas_available=5
    )
    assert [(s.title, [e.item_id for e in s.entries]) for s in digest.sections] == [
        ("Deep in your topics", [10, 13]),
        ("The wider field", [12]),
        ("To listen", [11]),
    ]
    assert [e.item_id for e in digest.entries] == [10, 11, 12, 13]
    assert digest.minutes == 2 + 20 + 6 + 2
    assert digest.header == "4 items · 30 min · 3 of 5 areas"
    assert digest.entries[0].area == "Natural language processing"


def test_a_single_item_and_an_empty_digest() -> None:
    one = compose_digest(
        [ranked_item(1)], topics=TOPICS, budget_minutes=10, max_items=5, areas_available=0
    )
    assert one.header == "1 item · 2 min"
    empty = compose_digest([], topics=TOPICS, budget_minutes=10, max_items=5, areas_available=3)
    assert empty.empty and empty.header == "0 items · 0 min · 0 of 3 areas"


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("https://example.org/a?b=c&d=e", True),
        ("HTTP://Example.org/", True),
        ("javascript:alert(1)", False),
        (" javascript:alert(1)", False),
        ("JaVaScRiPt:alert(1)", False),
        ("data:text/html,<script>alert(1)</script>", False),
        ("vbscript:msgbox(1)", False),
        ("ftp://example.org/file", False),
        ("//example.org/x", False),
        ("https://", False),
        ("https://exa mple.org/", False),
        ("https://example.org/\nSet-Cookie: x", False),
        (None, False),
    ],
)
def test_only_web_urls_become_links(url: str | None, kept: bool) -> None:
    assert (web_url(url) is not None) is kept


def test_links_per_kind() -> None:
    paper = ranked_item(1, arxiv_id="2611.01234", pdf_url="https://arxiv.org/pdf/2611.01234v2")
    assert [(link.label, link.url) for link in links_of(paper.candidate)] == [
        ("Abstract", "https://arxiv.org/abs/2611.01234"),
        ("PDF", "https://arxiv.org/pdf/2611.01234v2"),
    ]
    podcast = ranked_item(
        2, kind="podcast", enclosure_url="https://cdn.example.org/2.mp3", url="javascript:x()"
    )
    assert [link.label for link in links_of(podcast.candidate)] == ["Listen"]
    post = ranked_item(3, kind="post", url="https://blog.example.org/p")
    assert [link.label for link in links_of(post.candidate)] == ["Read"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Short.", "Short."),
        ("  spaced \n\t out  ", "spaced out"),
        ("word " * 60, ("word " * 44).strip() + "…"),
        ("x" * 300, "x" * 220 + "…"),
        ("right\u202eto-left \x00 null", "right to-left null"),
    ],
)
def test_two_line_summaries(text: str, expected: str) -> None:
    assert two_lines(text) == expected
