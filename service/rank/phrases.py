"""The phrases of an item, and the key under which near-identical phrasings meet (pure).

Text is cut into tokens (letters and digits, with inner dots kept: "Qwen3.5", "o3"), n-grams of
one to ``MAX_N`` tokens are formed, and those that begin or end with a stopword, or are only
numbers, are dropped. Each phrase has a **key**: lowercase, hyphens and spaces removed, a plural
"s" dropped from the last word — so "test time scaling", "Test-Time Scaling" and "test-time
scalings" meet under ``testtimescaling``, and "diffusion LLMs" under ``diffusionllm``.

Only the title and the opening of the summary are read (``SUMMARY_WORDS``): what a text is about
is said there, and reading every abstract in full would make a refresh at 200k items cost seconds.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from typing import cast

MAX_N = 4
SUMMARY_WORDS = 40
_TOKEN = re.compile(r"[A-Za-z0-9]+(?:[.][0-9]+)*(?:-[A-Za-z0-9]+)*")
_HYPHEN = re.compile(r"-")

STOPWORDS = frozenset(
    """
    a about above across after again against all almost also although always am among an and
    another any are around as at be became because been before being below between both but by
    can could did do does doing done down during each either else enough even ever every few
    for from further get gets given had has have having he her here hers him his how however i
    if in into is it its itself just least less like made make makes many may me might more
    most much must my new no nor not now of off often on once one only onto or other our ours
    out over own per rather same several she should show shows shown since so some such than
    that the their them then there these they this those though through thus to too toward
    towards under until up upon us use used uses using very via was we were what when where
    whether which while who whom whose why will with within without would yet you your
    paper papers propose proposed proposes present presents approach approaches method methods
    results result work works study studies novel based first two three four five existing via
    demonstrate demonstrates introduce introduces significantly significant well model models
    task tasks data abs arxiv announce type replace cross html pdf et al episode part week today
    new news read post blog podcast listen video series full link
    """.split()
)


def tokens(text: str) -> list[str]:
    """The words of ``text`` as written (case and inner hyphens kept)."""
    return _TOKEN.findall(text)


def text_of(title: str, summary: str) -> list[str]:
    """The tokens read for an item: its title, then the opening words of its summary."""
    opening = summary.split(maxsplit=SUMMARY_WORDS)[:SUMMARY_WORDS]
    return [*tokens(title), "|", *tokens(" ".join(opening))]


def _joined(word: str) -> str:
    """A word as it follows another in a key: after a space, or attached when it is a number."""
    return word if word[:1].isdigit() or word[:1] == "." else " " + word


def phrase_key(words: Iterable[str]) -> str:
    """The key of a phrase: lowercase words, hyphens as spaces, a number joined to the word
    before it ("Qwen 3.5" = "Qwen3.5"), the last word's plural "s" dropped."""
    low = [part for word in words for part in word.lower().split("-") if part]
    if not low:
        return ""
    low[-1] = _singular(low[-1])
    return low[0] + "".join(_joined(word) for word in low[1:])


def _starts(low: str) -> bool:
    return len(low) > 1 and low not in STOPWORDS and not low[0].isdigit()


def _ends(low: str) -> bool:
    return low != "|" and low not in STOPWORDS and (len(low) > 1 or low.isdigit())


def split_words(token_list: list[str]) -> list[str]:
    """Hyphenated tokens become their parts ("test-time" -> "test", "time"); "|" stays a break."""
    out: list[str] = []
    for token in token_list:
        out.extend(token.split("-") if "-" in token else (token,))
    return out


def _singular(key: str) -> str:
    if len(key) > 3 and key.endswith("s") and not key.endswith(("ss", "us", "is")):
        return key[:-1]
    return key


@functools.lru_cache(maxsize=1 << 17)
def _forms(word: str) -> tuple[str, str, str, str, bool, bool]:
    """(lowercase, singular, both as they follow another word, may start, may end a phrase)."""
    low = word.lower()
    sing = _singular(low)
    if low == "|":
        return low, low, low, low, False, False
    return low, sing, _joined(low), _joined(sing), _starts(low), _ends(low)


Forms = list[tuple[str, str, str, str, bool, bool]]


def forms_of(token_list: list[str]) -> Forms:
    """The words of an item, each analysed once (shared tuples: cheap to keep per item)."""
    return [_forms(word) for word in split_words(token_list)]


def gram_keys(token_list: list[str] | Forms) -> set[str]:
    """The keys of every phrase of one item (see ``grams``), without their surface forms: fast.

    Takes the item's tokens, or its ``forms_of`` (what a refresh keeps between windows)."""
    forms = _as_forms(token_list)
    keys: set[str] = set()
    count = len(forms)
    for first in range(count):
        low, sing, _jl, _js, starts, _ends_here = forms[first]
        if not starts:
            continue
        keys.add(sing)
        prefix = low
        for nxt in range(first + 1, min(first + MAX_N, count)):
            low_n, _sing_n, jlow_n, jsing_n, _s, ends = forms[nxt]
            if low_n == "|":
                break
            if ends:
                keys.add(prefix + jsing_n)
            prefix += jlow_n
    return keys


def _as_forms(token_list: list[str] | Forms) -> Forms:
    if token_list and isinstance(token_list[0], tuple):
        return token_list
    return forms_of(cast(list[str], token_list))


def wanted_keys(
    token_list: list[str] | Forms, prefixes: AbstractSet[str], wanted: AbstractSet[str]
) -> set[str]:
    """The keys of ``gram_keys`` that are in ``wanted``, walking only down known ``prefixes``
    (every beginning of a wanted key): most words start nothing wanted and cost one lookup."""
    forms = _as_forms(token_list)
    keys: set[str] = set()
    count = len(forms)
    for first in range(count):
        low, sing, _jl, _js, starts, _e = forms[first]
        if not starts or low not in prefixes:
            if starts and sing in wanted:
                keys.add(sing)
            continue
        if sing in wanted:
            keys.add(sing)
        prefix = low
        for nxt in range(first + 1, min(first + MAX_N, count)):
            low_n, _sn, jlow_n, jsing_n, _s, ends = forms[nxt]
            if low_n == "|":
                break
            if ends and prefix + jsing_n in wanted:
                keys.add(prefix + jsing_n)
            prefix += jlow_n
            if prefix not in prefixes:
                break
    return keys


def prefixes_of(keys: Iterable[str]) -> frozenset[str]:
    """Every word-boundary beginning of each key ("test", "test time" of "test time scaling")."""
    found: set[str] = set()
    for key in keys:
        for cut in range(1, len(key) + 1):
            if cut == len(key) or key[cut] in " 0123456789.":
                found.add(key[:cut])
    return frozenset(found)


def grams(token_list: list[str]) -> dict[str, tuple[str, ...]]:
    """Every phrase of one item: key -> one surface form (a word sequence as written).

    Phrases do not cross the "|" between title and summary, start or end on a stopword, or
    start with a number ("Qwen 3.5" is a phrase, "3.5 times" is not).
    """
    words = split_words(token_list)
    found: dict[str, tuple[str, ...]] = {}
    count = len(words)
    for first in range(count):
        if not _starts(words[first].lower()):
            continue
        for n in range(1, MAX_N + 1):
            last = first + n - 1
            if last >= count or words[last] == "|":
                break
            if _ends(words[last].lower()):
                phrase = tuple(words[first : last + 1])
                found.setdefault(phrase_key(phrase), phrase)
    return found


def contains(longer: str, shorter: str) -> bool:
    """Whether the phrase ``shorter`` (a surface form) occurs inside ``longer`` word for word."""
    outer = [phrase_key((w,)) for w in longer.replace("-", " ").split()]
    inner = [phrase_key((w,)) for w in shorter.replace("-", " ").split()]
    size = len(inner)
    return size < len(outer) and any(
        outer[i : i + size] == inner for i in range(len(outer) - size + 1)
    )
