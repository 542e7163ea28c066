"""The radar's shared work: several windows detected at once, and phrases looked for by key."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from trendgen import generate_stream

from service.rank.phrases import WantedKeys, gram_keys, grams, text_of, wanted_keys
from service.rank.trends import TrendParams, detect_themes, detect_windows

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)

TEXTS = [
    ("Qwen 3.5 and Qwen3.5-Instruct: test-time scaling", "It does what Test Time Scalings do."),
    ("GPT4o vs GPT 4o on 3D scenes", "v2.5 beats v 2.5; diffusion LLMs and a diffusion LLM"),
    ("A doe does it", "the doe's does, our models' model, gaussian processes"),
    ("", "only a summary: mixture-of-experts routing with sparse attention heads"),
    ("Only a title about GRPO", ""),
]


@pytest.mark.parametrize(("title", "summary"), TEXTS)
def test_wanted_keys_are_the_items_keys_among_those_wanted(title: str, summary: str) -> None:
    words = text_of(title, summary)
    every = gram_keys(words)
    assert set(grams(words)) == every
    others = {
        "qwen3.5 and",
        "test time scaling",
        "gpt4o",
        "v2.5",
        "diffusion llm",
        "doe",
        "doe doe",
        "nothing",
    }
    for wanted in (every, set(sorted(every)[::3]), others, set()):
        assert wanted_keys(words, WantedKeys.of(wanted)) == every & wanted


@pytest.mark.parametrize(("seed", "per_day"), [(2, 60), (4, 25)])
def test_windows_detected_together_are_those_detected_one_by_one(seed: int, per_day: int) -> None:
    stream = generate_stream(seed=seed, now=NOW, per_day=per_day, baseline_days=35)
    items = [replace(item, summary=item.summary[:400]) for item in stream.items]
    params = [TrendParams(window_days=w, baseline_days=28, limit=30) for w in (3, 7, 14)]
    together = detect_windows(items, now=NOW, windows=params)
    alone = [detect_themes(items, now=NOW, params=p) for p in params]
    assert together == alone
    assert sum(len(report.themes) for report in together) > 0
