"""Paper titles quoted in posts (ingest.quotes, pure): what counts as a quote, and its key."""

from __future__ import annotations

import pytest

from service.ingest.quotes import paper_key, quoted_title_keys
from service.vocabulary import title_key


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<p>We read “Attention Is All You Need.” today</p>", ("attention is all you need",)),
        (
            '<p>see "Scaling Laws for Neural Language Models"</p>',
            ("scaling laws for neural language models",),
        ),
        (
            "<a href='x'>Denoising Diffusion Probabilistic Models</a>",
            ("denoising diffusion probabilistic models",),
        ),
        (
            "<cite>Language Models are Few-Shot Learners</cite>",
            ("language models are few-shot learners",),
        ),
        (
            "<p>&ldquo;Deep Residual Learning for Image Recognition&rdquo;</p>",
            ("deep residual learning for image recognition",),
        ),
        ('<p>a "short quote" and <em>two words</em></p>', ()),
        ("<p>no quotes at all in this long paragraph of text</p>", ()),
    ],
)
def test_quoted_title_keys(html: str, expected: tuple[str, ...]) -> None:
    assert quoted_title_keys(html) == expected


def test_near_exact_titles_share_a_key() -> None:
    assert title_key("Attention Is All You Need.") == title_key("attention  is all you need")
    assert (
        title_key("GPT-5.5: what's new?")
        == title_key("GPT-5.5 — What’s New")
        == "gpt-5.5 what s new"
    )


def test_a_paper_title_too_short_to_quote_alone_has_no_key() -> None:
    assert paper_key("Mamba") is None
    assert paper_key("Attention Is All You Need") == "attention is all you need"
