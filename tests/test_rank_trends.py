"""The trend radar (rank/trends.py, rank/phrases.py): ground truth, spread, merging, bad input."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from trendgen import Stream, generate_stream, matches

from service.rank.phrases import contains, gram_keys, grams, phrase_key, text_of
from service.rank.trends import (
    Theme,
    TrendItem,
    TrendParams,
    detect_themes,
    evidence,
    poisson_z,
    usual_rate,
)

NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def stream() -> Stream:
    return generate_stream(seed=3, now=NOW, per_day=50)


@pytest.fixture(scope="module")
def themes(stream: Stream) -> tuple[Theme, ...]:
    return detect_themes(stream.items, now=NOW, params=TrendParams(limit=30)).themes


def _burst_of(stream: Stream, theme: Theme) -> str | None:
    hits = [b.key for b in stream.bursts if matches(b.key, theme.label, theme.aliases)]
    return hits[0] if hits else None


def test_the_top_ten_are_injected_bursts(stream: Stream, themes: tuple[Theme, ...]) -> None:
    top = themes[:10]
    assert len(top) == 10
    true = [theme for theme in top if _burst_of(stream, theme)]
    assert len(true) / len(top) >= 0.9, [t.label for t in top]


def test_most_injected_bursts_are_found(stream: Stream, themes: tuple[Theme, ...]) -> None:
    found = {_burst_of(stream, theme) for theme in themes} - {None}
    assert len(found) / len(stream.bursts) >= 0.8, found


def test_no_decoy_reaches_the_top_ten(stream: Stream, themes: tuple[Theme, ...]) -> None:
    for theme in themes[:10]:
        assert not [d for d in stream.decoys if matches(d.key, theme.label, theme.aliases)], theme


def test_each_found_burst_has_its_dates_right_within_a_day(
    stream: Stream, themes: tuple[Theme, ...]
) -> None:
    bursts = {b.key: b for b in stream.bursts}
    checked = 0
    for theme in themes:
        key = _burst_of(stream, theme)
        if key is None:
            continue
        assert abs(theme.first_seen - bursts[key].first) <= timedelta(days=1), theme
        assert abs(theme.latest_seen - bursts[key].latest) <= timedelta(days=1), theme
        checked += 1
    assert checked >= 8


def test_phrasings_merge_and_the_theme_says_what_it_means(
    stream: Stream, themes: tuple[Theme, ...]
) -> None:
    (theme,) = [
        t for t in themes if _burst_of(stream, t) == phrase_key(["test", "time", "scaling"])
    ]
    assert theme.label.lower().replace("-", " ") == "test time scaling"
    assert theme.items == 18
    assert theme.voices == 9
    assert theme.evidence.startswith("18 items from 9 sources in 4 days; ")
    assert len(theme.representative) == 3
    kinds = {i.kind for i in stream.items if i.id in theme.representative}
    assert kinds == {"paper", "post", "podcast"}
    assert set(theme.representative) <= set(theme.item_ids)
    assert theme.areas


def _item(n: int, title: str, *, source: int, author: str | None = None, days: float) -> TrendItem:
    kind = "paper" if author else "post"
    when = NOW - timedelta(days=days)
    return TrendItem(n, kind, title, "", when, (source,), author, ("nlp",), ())


def _background(count: int = 120) -> list[TrendItem]:
    """Four weeks of ordinary posts from twelve blogs, none about anything in particular."""
    words = "graph kernel vision speech audio robot planning retrieval memory sparse".split()
    return [
        _item(
            10_000 + n,
            f"{words[n % 10]} notes {words[(n * 3) % 10]} item{n}",
            source=100 + n % 12,
            days=1 + 34 * n / count,
        )
        for n in range(count)
    ]


def test_two_names_of_one_thing_are_one_theme_with_an_alias() -> None:
    rising = [
        _item(n, f"GRPO with group relative policy optimization, part {n}", source=n, days=n / 3)
        for n in range(1, 9)
    ]
    report = detect_themes([*_background(), *rising], now=NOW)
    assert len(report.themes) == 1
    (theme,) = report.themes
    assert {theme.label, *theme.aliases} == {"GRPO", "group relative policy optimization"}
    assert theme.items == 8


def test_one_feed_or_one_author_flooding_a_phrase_is_no_trend() -> None:
    flood = [_item(n, f"Sponsored digest number {n}", source=7, days=n / 10) for n in range(1, 41)]
    author = [
        _item(100 + n, f"Koopman lattices {n}", source=1, author="A. Prolific", days=n / 5)
        for n in range(1, 21)
    ]
    report = detect_themes([*_background(), *flood, *author], now=NOW)
    assert report.themes == ()
    assert report.note == "nothing in the window rises clearly above its usual rate"


def test_an_empty_window_is_a_note_not_an_error() -> None:
    old = [item for item in _background() if item.published_at < NOW - timedelta(days=8)]
    for items in ([], old):
        report = detect_themes(items, now=NOW)
        assert report.themes == ()
        assert report.window_items == 0
        assert report.note == "nothing was published in the window"


def test_a_single_source_cannot_make_a_trend() -> None:
    items = [_item(n, f"GRPO results {n}", source=1, days=n / 4) for n in range(1, 120)]
    report = detect_themes(items, now=NOW)
    assert report.themes == ()
    assert report.note.startswith("a theme needs 3 independent sources and the window has 1")


def test_no_history_says_so() -> None:
    items = [_item(n, f"GRPO results {n}", source=n, days=n / 10) for n in range(1, 30)]
    report = detect_themes(items, now=NOW)
    assert report.themes == ()
    assert "too little history" in report.note


def test_items_after_now_are_not_counted() -> None:
    future = [_item(n, f"Mamba three {n}", source=n, days=-1 - n / 10) for n in range(1, 12)]
    without = detect_themes(_background(), now=NOW)
    report = detect_themes([*_background(), *future], now=NOW)
    assert report.window_items == without.window_items > 0
    assert report.themes == ()


def test_a_rising_topic_is_a_theme_with_its_label() -> None:
    tagged = [
        TrendItem(n, "post", f"note {n}", "", NOW - timedelta(days=n / 3), (n,), None, (), ("rl",))
        for n in range(1, 10)
    ]
    report = detect_themes([*_background(), *tagged], now=NOW, topic_labels={"rl": "RL"})
    assert [(t.kind, t.label) for t in report.themes] == [("topic", "RL")]


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("test-time scaling", "Test Time Scaling"),
        ("diffusion LLMs", "diffusion LLM"),
        ("Qwen3.5", "Qwen 3.5"),
    ],
)
def test_near_identical_phrasings_share_a_key(a: str, b: str) -> None:
    assert gram_keys(text_of(a, "")) & gram_keys(text_of(b, "")) >= {
        phrase_key(a.replace("-", " ").split())
    }


def test_phrases_skip_stopwords_and_leading_numbers_and_fast_keys_match() -> None:
    words = text_of("A survey of 3D reconstruction with Qwen 3.5", "We study the thing. More text")
    found = grams(words)
    assert "ofthe" not in found and "3dreconstruction" not in found
    assert "qwen3.5" in found and "survey" in found
    assert set(found) == gram_keys(words)
    assert contains("efficient test time scaling", "test-time scaling")
    assert not contains("test time scaling", "test time scaling")


@pytest.mark.parametrize(
    ("per_week", "words"),
    [
        (3.2, "usually 3 a week"),
        (1.0, "usually 1 a week"),
        (0.5, "usually 2 a month"),
        (0.05, "rarely seen before"),
    ],
)
def test_the_usual_rate_in_words(per_week: float, words: str) -> None:
    assert usual_rate(per_week) == words


def test_evidence_and_the_score() -> None:
    first = NOW - timedelta(days=3)
    assert evidence(12, 7, first, NOW, 1.0) == "12 items from 7 sources in 3 days; usually 1 a week"
    assert poisson_z(3, 3) == 0.0
    assert poisson_z(12, 1) > poisson_z(6, 1) > 3


def test_papers_are_judged_against_papers_not_against_blog_posts() -> None:
    listing_day = [
        _item(n, f"Neural architecture, part {n}", source=1, author=f"Author {n}", days=1)
        for n in range(1, 9)
    ]
    report = detect_themes([*_background(), *listing_day], now=NOW)
    assert report.themes == ()  # no papers in the baseline: papers cannot be judged yet
    earlier_papers = [
        _item(500 + n, f"Kernel study {n}", source=1, author=f"Writer {n}", days=8 + n)
        for n in range(12)
    ]
    (theme,) = detect_themes([*_background(), *earlier_papers, *listing_day], now=NOW).themes
    assert theme.label == "Neural architecture" and theme.items == 8


def test_words_that_only_meet_in_summaries_are_no_theme() -> None:
    def post(n: int, summary: str) -> TrendItem:
        when = NOW - timedelta(days=n / 3)
        return TrendItem(n, "post", f"entry{n}", summary, when, (n,), None, ("nlp",), ())

    in_summaries = [post(n, f"we also tried quorin baselines, run {n}") for n in range(1, 9)]
    assert detect_themes([*_background(), *in_summaries], now=NOW).themes == ()
    in_titles = [replace(p, title=f"Quorin baselines {p.id}") for p in in_summaries[:3]]
    (theme,) = detect_themes([*_background(), *in_titles, *in_summaries[3:]], now=NOW).themes
    assert theme.label.lower() == "quorin baselines" and theme.items == 8


def test_one_voice_flooding_the_baseline_does_not_hide_a_later_rise() -> None:
    history = _background(600)  # large enough for the baseline to be screened on a sample
    flood = [
        _item(2000 + n, f"Quorin baselines digest {n}", source=7, days=8 + n / 8)
        for n in range(200)
    ]
    rise = [
        _item(3000 + n, f"Quorin baselines, part {n}", source=200 + n, days=n / 3)
        for n in range(12)
    ]
    report = detect_themes([*history, *flood, *rise], now=NOW)
    assert [t.label for t in report.themes] == ["Quorin baselines"]
    assert report.themes[0].voices == 12
