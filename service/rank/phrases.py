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
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import compress
from operator import add, and_

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
    return [*tokens(title), "|", *opening_of(summary)]


def opening_of(summary: str) -> list[str]:
    """The tokens of the opening words of a summary (``SUMMARY_WORDS``)."""
    return tokens(" ".join(summary.split(maxsplit=SUMMARY_WORDS)[:SUMMARY_WORDS]))


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


def _singular(key: str) -> str:
    if len(key) > 3 and key.endswith("s") and not key.endswith(("ss", "us", "is")):
        return key[:-1]
    return key


@functools.lru_cache(maxsize=1 << 17)
def _forms(low: str) -> tuple[str, str, str, bool, bool]:
    """A lowercase word as phrases use it: (singular, as it follows another word, the same
    singular, may start a phrase, may end one)."""
    sing = _singular(low)
    return sing, _joined(low), _joined(sing), _starts(low), _ends(low)


def gram_keys(token_list: list[str]) -> set[str]:
    """The keys of every phrase of one item (see ``grams``), without their surface forms: fast.

    Takes the tokens of ``tokens`` or ``text_of`` (no spaces inside a token, "|" a break). The
    words of a stretch are analysed once (``_forms``) and the n-grams are built column-wise
    (every 2-gram, then every 3-gram from the 2-gram prefixes, ...) with C-level ``map`` and
    ``compress``, keeping those whose first word may start and last word may end a phrase.
    """
    keys: set[str] = set()
    for low in _stretches(token_list):
        sing, jlow, jsing, starts, ends = zip(*map(_forms, low), strict=True)
        keys.update(compress(sing, starts))
        prefix: Iterable[str] = low
        for n in range(1, min(MAX_N, len(low))):
            prefix = list(prefix)
            keys.update(compress(map(add, prefix, jsing[n:]), map(and_, starts, ends[n:])))
            prefix = map(add, prefix, jlow[n:])
    return keys


def _stretches(token_list: list[str]) -> Iterator[list[str]]:
    """The lowercase words of each stretch between "|" breaks, hyphenated tokens split."""
    # tokens are ASCII: lowercasing the joined text equals lowercasing each word
    for stretch in " ".join(token_list).replace("-", " ").lower().split("|"):
        low = stretch.split()
        if low:
            yield low


@dataclass(frozen=True, slots=True)
class WantedKeys:
    """Keys looked for in many items (``wanted_keys``), with every word-boundary beginning of
    them short of the whole key (``heads``: "test", "test time" of "test time scaling")."""

    keys: frozenset[str]
    heads: frozenset[str]

    @classmethod
    def of(cls, keys: Iterable[str]) -> WantedKeys:
        wanted = frozenset(keys)
        heads = {
            key[:cut] for key in wanted for cut in range(1, len(key)) if key[cut] in " 0123456789."
        }
        return cls(wanted, frozenset(heads))


def wanted_keys(token_list: list[str], wanted: WantedKeys) -> set[str]:
    """``gram_keys(token_list) & wanted.keys``, walking phrases only from words that begin a
    wanted phrase of several words and down known ``heads``: most words cost one lookup."""
    keys: set[str] = set()
    heads, found = wanted.heads, wanted.keys
    for low in _stretches(token_list):
        sing, jlow, jsing, starts, ends = zip(*map(_forms, low), strict=True)
        keys.update(found.intersection(compress(sing, starts)))
        size = len(low)
        for first in compress(range(size), map(heads.__contains__, low)):
            if not starts[first]:
                continue
            prefix = low[first]
            for nxt in range(first + 1, min(first + MAX_N, size)):
                if ends[nxt] and prefix + jsing[nxt] in found:
                    keys.add(prefix + jsing[nxt])
                prefix += jlow[nxt]
                if prefix not in heads:
                    break
    return keys


def grams(token_list: list[str]) -> dict[str, tuple[str, ...]]:
    """Every phrase of one item: key -> one surface form (a word sequence as written).

    Phrases do not cross the "|" between title and summary, start or end on a stopword, or
    start with a number ("Qwen 3.5" is a phrase, "3.5 times" is not).
    """
    found: dict[str, tuple[str, ...]] = {}
    for stretch in " ".join(token_list).replace("-", " ").split("|"):
        words = stretch.split()
        low = [word.lower() for word in words]
        if not low:
            continue
        sing, jlow, jsing, starts, ends = zip(*map(_forms, low), strict=True)
        size = len(low)
        for first in compress(range(size), starts):
            found.setdefault(sing[first], (words[first],))
            prefix = low[first]
            for last in range(first + 1, min(first + MAX_N, size)):
                if ends[last]:
                    found.setdefault(prefix + jsing[last], tuple(words[first : last + 1]))
                prefix += jlow[last]
    return found


def contains(longer: str, shorter: str) -> bool:
    """Whether the phrase ``shorter`` (a surface form) occurs inside ``longer`` word for word."""
    outer = [phrase_key((w,)) for w in longer.replace("-", " ").split()]
    inner = [phrase_key((w,)) for w in shorter.replace("-", " ").split()]
    size = len(inner)
    return size < len(outer) and any(
        outer[i : i + size] == inner for i in range(len(outer) - size + 1)
    )
