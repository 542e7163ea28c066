"""The tagger with the shipped topic model: model evidence, keywords that need the model's
support, passing mentions, source defaults, bad input, and rules alone when there is no model."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from service.catalog import load_catalog
from service.ingest.tag import SHORT_SUMMARY, Tagger
from service.ingest.topiclearn import load_topic_model
from service.records import NormalizedItem

ROOT = Path(__file__).resolve().parent.parent
TAXONOMY = load_catalog(ROOT / "feeds.yaml").taxonomy
MODEL = load_topic_model(None).model
WITH_MODEL = Tagger(TAXONOMY, MODEL)
RULES = Tagger(TAXONOMY, None, fallback="the topic model is missing")

TESTING = (
    "We propose a search-based method to generate test cases for software systems. Our "
    "approach finds faults in industrial controllers and compares favourably to random "
    "testing, fuzzing and model checking on twelve benchmark programs written in C. Such "
    "systems include, for example, autonomous driving stacks, whose failures are costly. We "
    "release our tool and the benchmark suite and discuss threats to validity in detail."
)
FORECASTING = (
    "Forecasting electricity demand is hard when calendars shift. We study the misalignment "
    "between weekly and daily seasonal patterns and propose a model that re-aligns them, "
    "improving accuracy on six public load datasets over strong statistical and neural "
    "baselines across horizons from one hour to one week. We analyse the errors per season "
    "and per region, and show where the gains come from, with code and data released."
)
IMAGING = (
    "Deep networks for MRI super-resolution can produce hallucinations: structures absent from "
    "the scan. We propose a reconstruction network with a data-consistency term that "
    "suppresses them, and evaluate it on knee and brain datasets with radiologist reading "
    "studies, showing fewer false structures and sharper images at four-fold acceleration, "
    "and we release the trained weights together with the reader study protocol."
)


def test_the_abstracts_above_are_long_enough_for_a_mention_to_be_passing() -> None:
    assert min(len(TESTING), len(FORECASTING), len(IMAGING)) > SHORT_SUMMARY


def item(title: str, summary: str = "") -> NormalizedItem:
    return NormalizedItem(
        canonical_key="k",
        kind="post",
        title=title,
        url=None,
        summary_text=summary,
        summary_html="",
        published_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


def tags(
    tagger: Tagger, title: str, summary: str = "", sources: tuple[str, ...] = ()
) -> dict[str, str]:
    return {t.slug: t.origin for t in tagger.tag(item(title, summary), source_topics=sources)}


def test_the_shipped_model_is_there_and_named() -> None:
    assert MODEL is not None
    assert WITH_MODEL.model_version == MODEL.version
    assert RULES.model_version is None and RULES.fallback


def test_the_model_tags_a_post_with_no_keyword_at_all() -> None:
    title = "Dexterous in-hand manipulation with tactile sensing"
    assert tags(WITH_MODEL, title).get("robotics") == "model"
    assert tags(RULES, title) == {}


def test_a_title_keyword_needs_no_support_from_the_model() -> None:
    found = tags(WITH_MODEL, "Teaching a quadruped to climb stairs")
    assert found["locomotion-navigation"] == found["robotics"] == "keyword"


@pytest.mark.parametrize(
    ("title", "summary", "false_area"),
    [
        ("Search-based test generation for controllers", TESTING, "robotics"),
        ("Seasonal re-alignment for electricity load forecasting", FORECASTING, "safety-alignment"),
        ("Fewer false structures in MRI super-resolution", IMAGING, "llm-nlp"),
    ],
)
def test_a_passing_mention_gives_no_area(title: str, summary: str, false_area: str) -> None:
    assert false_area not in tags(WITH_MODEL, title, summary)


def test_the_rules_alone_still_fall_for_a_mention_the_model_does_not_support() -> None:
    # "hallucinations" in an imaging abstract: repeated keyword hits without the model
    summary = IMAGING + " Hallucinations are measured per scan."
    assert "llm-nlp" in tags(RULES, "Fewer false structures in MRI", summary)
    assert "llm-nlp" not in tags(WITH_MODEL, "Fewer false structures in MRI", summary)


def test_scores_combine_into_one_with_the_origin_that_weighed_most() -> None:
    assigned = WITH_MODEL.tag(item("Diffusion models for video generation", "A diffusion model."))
    by_slug = {t.slug: t for t in assigned}
    assert by_slug["diffusion-models"].origin == "keyword"
    assert all(0 < t.score <= 1 for t in assigned)
    assert list(assigned) == sorted(assigned, key=lambda t: (-t.score, t.slug))


def test_a_source_default_holds_for_a_title_that_says_nothing() -> None:
    assert tags(WITH_MODEL, "Introducing our new office", sources=("llm-nlp",)) == {
        "llm-nlp": "source"
    }


def test_a_source_default_the_text_contradicts_is_left_out() -> None:
    found = tags(
        WITH_MODEL, "Speech recognition for low-resource accents", sources=("computer-vision",)
    )
    assert "speech-audio" in found
    assert "computer-vision" not in found


@pytest.mark.parametrize("tagger", [WITH_MODEL, RULES], ids=["model", "rules"])
@pytest.mark.parametrize(
    ("title", "summary"),
    [
        ("", ""),
        ("", "An abstract without a title about speech recognition."),
        ("Big", "speech recognition and robots " * 40_000),  # over 1 MB
        ("混合 scripts: 大规模语言模型 and Кириллица", "Ünïcödé ⚙️ \u200b\x00 text, RTL: مرحبا"),
        ("\ud800 lone surrogate", "\ufffd" * 50),
    ],
    ids=["empty", "no-title", "1MB", "mixed-scripts", "surrogate"],
)
def test_bad_input_never_breaks_tagging(tagger: Tagger, title: str, summary: str) -> None:
    assigned = tagger.tag(item(title, summary), source_topics=("llm-nlp",))
    assert all(0 < t.score <= 1 and t.slug for t in assigned)
    slugs = [t.slug for t in assigned]
    assert len(slugs) == len(set(slugs))


def paper(categories: tuple[str, ...], title: str, summary: str = "") -> NormalizedItem:
    from service.records import ArxivInfo

    info = ArxivInfo("2601.00001", 1, categories, categories[0], "new", "a", "p")
    return NormalizedItem(
        canonical_key="arxiv:2601.00001",
        kind="paper",
        title=title,
        url=None,
        summary_text=summary,
        summary_html="",
        published_at=datetime(2026, 1, 1, tzinfo=UTC),
        arxiv=info,
    )


def test_a_paper_whose_categories_name_an_area_needs_no_model() -> None:
    title = "Dexterous in-hand manipulation with tactile sensing"
    origins = {t.slug: t.origin for t in WITH_MODEL.tag(paper(("cs.CV",), title))}
    assert origins == {"computer-vision": "category"}


def test_a_paper_listed_only_in_general_categories_gets_the_models_areas() -> None:
    title = "Dexterous in-hand manipulation with tactile sensing"
    origins = {t.slug: t.origin for t in WITH_MODEL.tag(paper(("cs.LG", "cs.AI"), title))}
    assert origins["ml-core"] == "category"
    assert origins["robotics"] == "model"
