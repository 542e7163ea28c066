"""Tagger: categories, keywords (acronyms without false hits), source topics, one per slug."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from service.catalog import Taxonomy, Topic
from service.ingest.tag import TITLE_KEYWORD_SCORE, Tagger, is_acronym
from service.records import ArxivInfo, NormalizedItem, TagAssignment

TAXONOMY = Taxonomy(
    (
        Topic(
            "rl", "Reinforcement learning", "rl", None, ("RL", "reinforcement learning"), ("cs.LG",)
        ),
        Topic("rlhf", "RLHF", "rl", "rl", ("RLHF", "reward model")),
        Topic("generative", "Generative models", "generative", None, ("GAN", "diffusion model")),
        Topic("nlp", "Language", "nlp", None, ("LLM", "language model"), ("cs.CL",)),
        Topic("rag", "RAG", "nlp", "nlp", ("RAG", "retrieval-augmented generation")),
        Topic("vision", "Vision", "vision", None, ("vision transformer", "C++"), ("cs.CV",)),
    )
)
TAGGER = Tagger(TAXONOMY)


def item(title: str = "", summary: str = "", arxiv: ArxivInfo | None = None) -> NormalizedItem:
    return NormalizedItem(
        canonical_key="k",
        kind="paper" if arxiv else "post",
        title=title,
        url=None,
        summary_text=summary,
        summary_html="",
        published_at=datetime(2024, 1, 1, tzinfo=UTC),
        arxiv=arxiv,
    )


def slugs(title: str, summary: str = "") -> set[str]:
    return {tag.slug for tag in TAGGER.tag(item(title, summary))}


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Offline RL at scale", {"rl"}),
        ("A WORLD of ORGANIC food and Gandhi's legacy", set()),
        ("GANs are back", {"generative"}),
        ("Why LLMs hallucinate", {"nlp"}),
        ("RAG in production", {"rag", "nlp"}),
        ("rag dolls and llm lowercase", set()),
        ("Reinforcement Learning from scratch", {"rl"}),
        ("Diffusion-models, explained", {"generative"}),
        ("Training reward models", {"rlhf", "rl"}),
        ("Retrieval augmented generation", {"rag", "nlp"}),
        ("Vision Transformers for video", {"vision"}),
        ("Modern C++ for ML", {"vision"}),
        ("Unrelated gardening notes", set()),
        ("URL shorteners and BURL", set()),
    ],
)
def test_keywords(title: str, expected: set[str]) -> None:
    assert slugs(title) == expected


def test_title_scores_higher_than_summary() -> None:
    (in_title,) = TAGGER.tag(item("Diffusion models"))
    (in_summary,) = TAGGER.tag(item("Untitled", "about a diffusion model"))
    assert in_title.score > in_summary.score
    assert in_title.origin == in_summary.origin == "keyword"


def test_primary_category_scores_higher_than_cross_list() -> None:
    info = ArxivInfo("2401.00001", 1, ("cs.CL", "cs.CV"), "cs.CL", "new", "a", "p")
    tags = {tag.slug: tag for tag in TAGGER.tag(item("Untitled", arxiv=info))}
    assert tags["nlp"].origin == tags["vision"].origin == "category"
    assert tags["nlp"].score > tags["vision"].score


def test_subtopic_implies_area_and_a_source_topic_the_text_contradicts_is_left_out() -> None:
    tags = TAGGER.tag(item("RLHF"), source_topics=("generative", "unknown-slug"))
    assert tags == (
        TagAssignment("rl", "rl", 0.8, "keyword"),
        TagAssignment("rlhf", "rl", 0.8, "keyword"),
    )


def test_source_topics_score_low_and_hold_when_the_text_says_nothing() -> None:
    tags = TAGGER.tag(item("Our new office in Paris"), source_topics=("rag", "unknown-slug"))
    assert tags == (
        TagAssignment("nlp", "nlp", 0.3, "source"),
        TagAssignment("rag", "nlp", 0.3, "source"),
    )


def test_a_source_topic_the_text_also_mentions_adds_to_its_score() -> None:
    (tag,) = TAGGER.tag(item("GANs are back"), source_topics=("generative",))
    assert tag.slug == "generative"
    assert tag.score > TITLE_KEYWORD_SCORE
    assert tag.origin == "keyword"


def test_a_passing_mention_in_a_long_summary_is_not_enough() -> None:
    long_summary = "We study crop yields across regions. " * 20
    assert slugs("Crop yields", long_summary + "A GAN was not used.") == set()
    assert slugs("Crop yields", long_summary + "A GAN here, a GAN there.") == {"generative"}
    assert slugs("Crop yields", "A GAN for crop yields.") == {"generative"}


def test_a_passing_mention_still_refines_an_area_the_title_gives() -> None:
    long_summary = "We study language models. " * 20 + "Retrieval-augmented generation helps."
    assert slugs("Why LLMs hallucinate", long_summary) == {"nlp", "rag"}


def test_one_assignment_per_slug_with_the_best_score() -> None:
    info = ArxivInfo("2401.00001", 1, ("cs.LG",), "cs.LG", "new", "a", "p")
    tags = TAGGER.tag(item("RL agents", "RL RL RL", arxiv=info), source_topics=("rl",))
    assert [(t.slug, t.score, t.origin) for t in tags] == [("rl", 1.0, "category")]


def test_scores_are_in_the_unit_interval() -> None:
    text = "RL GAN LLM RAG " * 50
    for tag in TAGGER.tag(item(text, text), source_topics=("vision",)):
        assert 0 < tag.score <= 1


def test_an_empty_taxonomy_tags_nothing() -> None:
    assert Tagger(Taxonomy()).tag(item("RL")) == ()


@pytest.mark.parametrize(
    ("keyword", "acronym"), [("RL", True), ("GPT4", True), ("Rl", False), ("C++", False)]
)
def test_is_acronym(keyword: str, acronym: bool) -> None:
    assert is_acronym(keyword) is acronym


def test_remembered_spellings_give_what_a_fresh_tagger_gives(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("service.ingest.tag.MATCHED_MEMORY", 3)  # forget often
    tagger = Tagger(TAXONOMY)
    texts = [
        "Reinforcement  Learning with RLHF and a reward-model",
        "LLMs, RAG and retrieval augmented generation",
        "GANS or GANs? diffusion models and a Vision Transformer in C++",
    ] * 3
    for text in texts:
        assert tagger.tag(item(text, text)) == Tagger(TAXONOMY).tag(item(text, text))
    assert len(tagger._matched) <= 3
