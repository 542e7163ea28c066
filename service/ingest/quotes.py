"""Paper titles a post quotes without giving an arXiv id (pure).

A post often names a paper only by its title: in quotation marks ("…", “…”, ‘…’), as the text of a
link, or in ``<em>``/``<i>``/``<cite>``. Each candidate becomes a **title key** — the text without
case, punctuation or spacing differences — and a paper whose own title has the same key is the one
quoted (exact or near-exact: "Attention Is All You Need." and “attention is all you need” match).
Short phrases name no paper: a key needs ``MIN_WORDS`` words and ``MIN_CHARS`` characters.
"""

from __future__ import annotations

import html
import re

from service.vocabulary import title_key

MIN_WORDS = 4
MIN_CHARS = 20
MAX_QUOTES = 20
_QUOTED = re.compile(r'"([^"<>]{20,300})"|“([^”<>]{20,300})”|‘([^’<>]{20,300})’')
_MARKED = re.compile(
    r"<(a|em|i|cite|strong|b)\b[^>]*>(.{20,300}?)</\1\s*>", re.IGNORECASE | re.DOTALL
)
_TAG = re.compile(r"<[^>]*>")


def paper_key(title: str) -> str | None:
    """The key a paper is found by, or None when its title is too short to be quoted alone."""
    key = title_key(title)
    return key if _long_enough(key) else None


def quoted_title_keys(summary_html: str, summary_text: str = "") -> tuple[str, ...]:
    """The keys of every phrase the post quotes or marks that could be a paper's title."""
    found: dict[str, None] = {}
    for match in _QUOTED.finditer(html.unescape(_TAG.sub(" ", summary_html)) or summary_text):
        found.setdefault(title_key(next(g for g in match.groups() if g)))
    for match in _MARKED.finditer(summary_html):
        found.setdefault(title_key(html.unescape(_TAG.sub(" ", match.group(2)))))
    return tuple(key for key in found if _long_enough(key))[:MAX_QUOTES]


def _long_enough(key: str) -> bool:
    return len(key) >= MIN_CHARS and key.count(" ") + 1 >= MIN_WORDS
