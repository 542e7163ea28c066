"""The trend radar: which phrases and topics are rising, against their own past (pure).

    items (TrendItem, from storage) + now  ->  detect_themes  ->  TrendReport of frozen Themes

**The test.** Each phrase (see ``phrases``) and each topic is counted in the *window* (the last
``window_days``) and in the *baseline* before it (``baseline_days``). Its expected count in the
window is its baseline rate, smoothed by a prior of ``prior`` sightings and scaled by how much was
published in each stretch (so a busy week of arXiv raises no phrase on its own):

    expected = (baseline + prior) * window_volume / baseline_volume

Papers and everything else are counted apart (*strata*): a phrase's expectation is the sum over
strata of its baseline there times that stratum's volume ratio, so a listing day of papers is
compared with the papers before it, not with a month of blog posts; a stratum with no history
(fewer than ``MIN_STRATUM_ITEMS`` baseline items) is not judged at all.

The score is the Poisson deviance of what was seen against that expectation, as a one-sided
z-value, ``sqrt(2 * (seen * ln(seen / expected) - (seen - expected)))`` when seen > expected.
A theme must score ``min_score`` and rise ``min_ratio`` times over its expectation.

Why a smoothed rate ratio and not Kleinberg's burst automaton: the automaton finds bursts along a
term's whole history (a state sequence per term, each refresh over every day again) and its
states say little a reader can check. The rate ratio needs two counts per phrase, so a refresh
is one pass over the window and the baseline; the prior keeps a phrase never seen before from
dividing by zero and makes a new phrase need several sightings; and its terms are the evidence
shown to the reader ("12 items from 7 sources in 3 days; usually 1 a week").

**Spread.** A *voice* is who says something: the lead author of a paper (an arXiv listing is a
conduit, not a speaker), the feed of anything else. Each voice counts at most ``voice_cap`` times
in the window (and proportionally in the baseline), and a theme needs ``min_voices`` voices: one
feed's boilerplate or one prolific author is not a trend.

**Merging.** Phrasings that differ in case, hyphens, spaces or a plural share a key and are one
phrase. Phrases whose items are largely the same ("GRPO" and "group relative policy
optimization"; "time scaling" inside "test time scaling") are one theme, named by the longer
phrase when it covers most of the shorter one's items, and the others kept as its aliases.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from service.rank.phrases import (
    Forms,
    contains,
    forms_of,
    gram_keys,
    grams,
    phrase_key,
    prefixes_of,
    text_of,
    tokens,
    wanted_keys,
)
from service.records import TrendItem

__all__ = ["Theme", "TrendItem", "TrendParams", "TrendReport", "detect_themes"]

TOPIC_PREFIX = "topic:"
OVERLAP_MERGE = 0.6  # share of the smaller theme's items that makes two themes one
COVER_RENAME = 0.8  # share of a theme's items a longer phrase must cover to name it
MAX_CONSIDERED = 400  # candidate phrases clustered, by score (the rest cannot reach the top)
MIN_BASELINE_ITEMS = 20
MIN_STRATUM_ITEMS = 10
SCREEN_EVERY = 8  # the screening pass reads every 8th baseline item
SCREEN_MIN_ITEMS = 400  # below this the baseline is counted in one pass
MAX_ALIASES = 3


@dataclass(frozen=True, slots=True)
class TrendParams:
    window_days: float = 7.0
    baseline_days: float = 28.0
    min_voices: int = 3
    min_items: int = 4
    voice_cap: int = 2
    min_score: float = 3.0
    min_ratio: float = 4.0
    min_title_share: float = 0.25
    prior: float = 1.0
    limit: int = 20
    representatives: int = 3


@dataclass(frozen=True, slots=True)
class Theme:
    """One rising theme, with the numbers behind it and what they mean in words."""

    key: str
    label: str
    kind: str  # phrase | topic
    score: float
    ratio: float
    items: int
    voices: int
    feeds: int
    seen: float  # voice-capped count in the window
    expected: float
    baseline_per_week: float
    first_seen: datetime
    latest_seen: datetime
    areas: tuple[str, ...]
    representative: tuple[int, ...]
    item_ids: tuple[int, ...]
    aliases: tuple[str, ...]
    evidence: str


@dataclass(frozen=True, slots=True)
class TrendReport:
    now: datetime
    window_days: float
    themes: tuple[Theme, ...]
    window_items: int
    baseline_items: int
    note: str  # why there are no themes, in words ("" when there are)


class FormsMemo:
    """Each item's analysed words (``phrases.forms_of``), read once however many windows ask."""

    def __init__(self) -> None:
        self._forms: dict[int, Forms] = {}
        self._titles: dict[int, set[str]] = {}

    def title_keys(self, item: TrendItem) -> set[str]:
        found = self._titles.get(item.id)
        if found is None:
            found = self._titles[item.id] = gram_keys(tokens(item.title))
        return found

    def forms(self, item: TrendItem) -> Forms:
        found = self._forms.get(item.id)
        if found is None:
            found = self._forms[item.id] = forms_of(text_of(item.title, item.summary))
        return found


@dataclass(slots=True)
class _Candidate:
    key: str
    members: list[int]  # indices into the window's (judged) items
    seen_by: dict[str, float]  # voice-capped count in the window, per stratum
    voices: int
    baseline_by: dict[str, float] = field(default_factory=dict)
    expected: float = 0.0
    score: float = 0.0

    @property
    def seen(self) -> float:
        return sum(self.seen_by.values())

    @property
    def baseline(self) -> float:
        return sum(self.baseline_by.values())


def detect_themes(
    items: Sequence[TrendItem],
    *,
    now: datetime,
    params: TrendParams = TrendParams(),
    topic_labels: Mapping[str, str] | None = None,
    memo: FormsMemo | None = None,
) -> TrendReport:
    """The rising themes of ``items`` as of ``now``, best first (at most ``params.limit``).

    ``memo`` keeps each item's analysed words between calls (several windows of one refresh).
    """
    window_start = now - timedelta(days=params.window_days)
    baseline_start = window_start - timedelta(days=params.baseline_days)
    window = [item for item in items if window_start < item.published_at <= now]
    baseline = [item for item in items if baseline_start < item.published_at <= window_start]
    note = _shortfall(window, baseline, params)
    if note:
        return TrendReport(now, params.window_days, (), len(window), len(baseline), note)
    scales = _scales(window, baseline)
    judged = [item for item in window if stratum(item) in scales]
    memo = memo if memo is not None else FormsMemo()
    window_keys = [_keys(item, memo) for item in judged]
    candidates = _window_candidates(judged, window_keys, params)
    _count_baseline(candidates, baseline, scales, params, memo, judged)
    _score(candidates, scales, params)
    rising = [
        c for c in candidates.values() if _rises(c, params) and _named(c, judged, params, memo)
    ]
    rising.sort(key=lambda c: (-c.score, -len(c.key), c.key))
    clusters = _cluster(rising[:MAX_CONSIDERED])
    themes = tuple(
        _theme(cluster, judged, params, _Labeller(judged, topic_labels or {}))
        for cluster in clusters[: params.limit]
    )
    quiet = "" if themes else "nothing in the window rises clearly above its usual rate"
    return TrendReport(now, params.window_days, themes, len(window), len(baseline), quiet)


def _shortfall(window: Sequence[TrendItem], baseline: Sequence[TrendItem], p: TrendParams) -> str:
    if not window:
        return "nothing was published in the window"
    if len(baseline) < MIN_BASELINE_ITEMS:
        return (
            f"too little history to tell what is rising: {len(baseline)} items in the "
            f"{p.baseline_days:g} days before the window (at least {MIN_BASELINE_ITEMS} needed)"
        )
    voices = len({item.voice for item in window})
    if voices < p.min_voices:
        return (
            f"a theme needs {p.min_voices} independent sources and the window has "
            f"{voices}: nothing can be called a trend yet"
        )
    return ""


def stratum(item: TrendItem) -> str:
    """Papers and everything else are counted apart: a listing day of papers in the window is
    compared with the papers of the baseline, not with a month of blog posts."""
    return "paper" if item.kind == "paper" else "other"


def _scales(window: Sequence[TrendItem], baseline: Sequence[TrendItem]) -> dict[str, float]:
    """Per stratum with history enough: window volume / baseline volume. A stratum without
    (``MIN_STRATUM_ITEMS`` in the baseline) cannot be judged, and its items are left out."""
    ahead = Counter(stratum(item) for item in window)
    behind = Counter(stratum(item) for item in baseline)
    return {s: ahead[s] / behind[s] for s in ahead if behind[s] >= MIN_STRATUM_ITEMS}


def _keys(item: TrendItem, memo: FormsMemo) -> set[str]:
    keys = gram_keys(memo.forms(item))
    keys.update(TOPIC_PREFIX + topic for topic in item.topics)
    return keys


def _window_candidates(
    window: Sequence[TrendItem], window_keys: Sequence[set[str]], p: TrendParams
) -> dict[str, _Candidate]:
    counts: Counter[str] = Counter()
    for keys in window_keys:
        counts.update(keys)
    frequent = {key for key, count in counts.items() if count >= p.min_items}
    members: defaultdict[str, list[int]] = defaultdict(list)
    for index, keys in enumerate(window_keys):
        for key in keys & frequent:
            members[key].append(index)
    # until _cap_voices, ``seen_by`` holds the raw count: an upper bound of the capped one
    return {key: _Candidate(key, found, {"raw": len(found)}, 0) for key, found in members.items()}


def _cap_voices(
    candidates: dict[str, _Candidate], window: Sequence[TrendItem], p: TrendParams
) -> None:
    """Each candidate's voice-capped count per stratum; too few voices and it is dropped."""
    for key in list(candidates):
        c = candidates[key]
        per_voice = Counter((stratum(window[i]), window[i].voice) for i in c.members)
        if len(per_voice) < p.min_voices:
            del candidates[key]
            continue
        seen: defaultdict[str, float] = defaultdict(float)
        for (part, _voice), n in per_voice.items():
            seen[part] += min(n, p.voice_cap)
        c.seen_by, c.voices = dict(seen), len(per_voice)


def _count_baseline(  # noqa: PLR0917 - private, called once
    candidates: dict[str, _Candidate],
    baseline: Sequence[TrendItem],
    scales: Mapping[str, float],
    p: TrendParams,
    memo: FormsMemo,
    window: Sequence[TrendItem],
) -> None:
    """Each candidate's voice-capped count in the baseline; those that cannot rise are dropped.

    A phrase can rise only while ``seen >= min_ratio * expected``, and its expectation is at
    least its capped baseline times the smallest stratum scale (``allowed`` is the most baseline
    it may have). Two passes keep this cheap at scale:

    1. *screen*: every ``SCREEN_EVERY``-th baseline item is read for every candidate; a phrase
       whose sampled count is, by three standard deviations, above its share of ``allowed`` is
       dropped (the steady, common phrases: most candidates);
    2. the survivors' voices are counted in the window (capped; too few voices: dropped);
    3. *count*: the whole baseline, for the survivors only, walking a prefix set of them; a
       phrase is also given up as soon as its exact capped count passes ``allowed``.
    """
    least = min(scales.values())
    cap = p.voice_cap * p.baseline_days / p.window_days
    allowed = {k: c.seen / (p.min_ratio * least) for k, c in candidates.items()}  # raw: upper
    if len(baseline) >= SCREEN_MIN_ITEMS:
        alive = set(candidates)
        # each voice capped at its share, so one flooding voice cannot make a phrase look common
        share = max(1.0, cap / SCREEN_EVERY)
        sampled = _capped(baseline[::SCREEN_EVERY], alive, scales, memo, allowed, share, 0)
        for key, hits in sampled.items():
            if hits - 3.0 * math.sqrt(hits) - 1.0 > allowed[key] / SCREEN_EVERY:
                del candidates[key]
    _cap_voices(candidates, window, p)
    allowed = {k: c.seen / (p.min_ratio * least) for k, c in candidates.items()}
    alive = set(candidates)
    counted = _capped(baseline, alive, scales, memo, allowed, cap, 1)
    for key in [key for key in candidates if key not in alive]:
        del candidates[key]
    for (key, part), total in counted.items():
        if key in candidates:
            candidates[key].baseline_by[part] = total


def _capped(  # noqa: PLR0917 - private, one pass of _count_baseline
    items: Sequence[TrendItem],
    alive: set[str],
    scales: Mapping[str, float],
    memo: FormsMemo,
    allowed: Mapping[str, float],
    cap: float,
    give_up: int,
) -> Counter[Any]:
    """Voice-capped counts of the ``alive`` keys in ``items``: by key when ``give_up`` is 0 (the
    screen); by (key, stratum) when 1, discarding from ``alive`` each key past ``allowed``."""
    prefixes = prefixes_of(key for key in alive if not key.startswith(TOPIC_PREFIX))
    pairs: Counter[tuple[str, str, str]] = Counter()
    totals: Counter[Any] = Counter()
    running: Counter[str] = Counter()
    for item in items:
        part = stratum(item)
        if not alive:
            break
        if part not in scales:
            continue
        voice = item.voice
        keys = wanted_keys(memo.forms(item), prefixes, alive)
        keys.update(key for key in (TOPIC_PREFIX + t for t in item.topics) if key in alive)
        for key in keys:
            pair = (key, part, voice)
            pairs[pair] += 1
            if pairs[pair] > cap:
                continue
            totals[(key, part) if give_up else key] += 1
            if give_up:
                running[key] += 1
                if running[key] > allowed[key]:
                    alive.discard(key)
    return totals


def _score(candidates: dict[str, _Candidate], scales: Mapping[str, float], p: TrendParams) -> None:
    """expected = sum over strata of (baseline + its share of the prior) * the stratum's scale."""
    for c in candidates.values():
        seen = c.seen
        c.expected = sum(
            (c.baseline_by.get(part, 0.0) + p.prior * c.seen_by.get(part, 0.0) / seen) * scale
            for part, scale in scales.items()
        )
        c.score = poisson_z(seen, c.expected)


def _named(c: _Candidate, window: Sequence[TrendItem], p: TrendParams, memo: FormsMemo) -> bool:
    """Whether enough of the phrase's items carry it in their title (``min_title_share``): what
    people name their work after, not words that happen to meet in summaries."""
    if c.key.startswith(TOPIC_PREFIX):
        return True
    titled = sum(c.key in memo.title_keys(window[i]) for i in c.members)
    return titled >= p.min_title_share * len(c.members)


def poisson_z(seen: float, expected: float) -> float:
    """How surprising ``seen`` is for a Poisson count expecting ``expected`` (0 when not above)."""
    if seen <= expected or expected <= 0:
        return 0.0
    deviance = 2.0 * (seen * math.log(seen / expected) - (seen - expected))
    return math.sqrt(max(deviance, 0.0))


def _rises(c: _Candidate, p: TrendParams) -> bool:
    return c.score >= p.min_score and c.seen >= p.min_ratio * c.expected


def _cluster(rising: Sequence[_Candidate]) -> list[list[_Candidate]]:
    """Greedy by score: a phrase sharing most items with a stronger theme joins it."""
    clusters: list[tuple[set[int], list[_Candidate]]] = []
    for c in rising:
        members = set(c.members)
        for items, cluster in clusters:
            overlap = len(members & items) / min(len(members), len(items))
            if overlap >= OVERLAP_MERGE:
                cluster.append(c)
                break
        else:
            clusters.append((members, [c]))
    return [cluster for _items, cluster in clusters]


def _theme(
    cluster: list[_Candidate],
    window: Sequence[TrendItem],
    p: TrendParams,
    labeller: _Labeller,
) -> Theme:
    head = cluster[0]
    members = [window[i] for i in head.members]
    labels = {c.key: labeller.label(c.key, c.members) for c in cluster}
    name = _name(head, cluster, labels)
    first = min(item.published_at for item in members)
    latest = max(item.published_at for item in members)
    per_week = head.baseline * 7.0 / p.baseline_days
    return Theme(
        key=head.key,
        label=labels[name.key],
        kind="topic" if head.key.startswith(TOPIC_PREFIX) else "phrase",
        score=round(head.score, 3),
        ratio=round(head.seen / head.expected, 3),
        items=len(members),
        voices=head.voices,
        feeds=len({s for item in members for s in item.source_ids}),
        seen=head.seen,
        expected=round(head.expected, 3),
        baseline_per_week=round(per_week, 3),
        first_seen=first,
        latest_seen=latest,
        areas=_areas(members),
        representative=_representative(members, labels[name.key], p.representatives),
        item_ids=tuple(sorted(item.id for item in members)),
        aliases=_aliases(labels[name.key], [labels[c.key] for c in cluster]),
        evidence=evidence(len(members), head.voices, first, latest, per_week),
    )


def _name(head: _Candidate, cluster: list[_Candidate], labels: Mapping[str, str]) -> _Candidate:
    """The longest phrase of the cluster that contains the head and covers most of its items."""
    best = head
    head_items = set(head.members)
    for c in cluster[1:]:
        covers = len(head_items & set(c.members)) / len(head_items)
        if covers >= COVER_RENAME and contains(labels[c.key], labels[best.key]):
            best = c
    return best


def _aliases(name: str, labels: Sequence[str]) -> tuple[str, ...]:
    """Other names of the theme ("group relative policy optimization" for "GRPO").

    Fragments are not names: a phrase sharing a word with the name, or inside a longer member.
    """
    named = {phrase_key((word,)) for word in name.replace("-", " ").split()}
    others = {
        label
        for label in labels
        if not named & {phrase_key((word,)) for word in label.replace("-", " ").split()}
    }
    maximal = [label for label in others if not any(contains(o, label) for o in others)]
    return tuple(sorted(maximal)[:MAX_ALIASES])


class _Labeller:
    """Names phrases as the items write them most often ("test-time scaling", "GRPO").

    Each item's phrases (with their surface forms) are read once, however many themes ask.
    """

    def __init__(self, window: Sequence[TrendItem], topic_labels: Mapping[str, str]) -> None:
        self.window = window
        self.topic_labels = topic_labels
        self.surfaces: dict[int, dict[str, tuple[str, ...]]] = {}

    def _grams(self, index: int) -> dict[str, tuple[str, ...]]:
        if index not in self.surfaces:
            item = self.window[index]
            self.surfaces[index] = grams(text_of(item.title, item.summary))
        return self.surfaces[index]

    def label(self, key: str, members: Sequence[int]) -> str:
        if key.startswith(TOPIC_PREFIX):
            slug = key.removeprefix(TOPIC_PREFIX)
            return self.topic_labels.get(slug, slug)
        forms: Counter[str] = Counter()
        for index in members:
            words = self._grams(index).get(key)
            if words:
                forms[_as_written(words, self.window[index])] += 1
        return forms.most_common(1)[0][0] if forms else key


def _as_written(words: tuple[str, ...], item: TrendItem) -> str:
    pattern = r"[\s-]*".join(re.escape(word) for word in words)
    found = re.search(pattern, item.title) or re.search(pattern, item.summary)
    return found.group(0) if found else " ".join(words)


def _areas(members: Sequence[TrendItem]) -> tuple[str, ...]:
    counts = Counter(area for item in members for area in set(item.areas))
    floor = max(1, len(members) // 4)
    return tuple(area for area, n in counts.most_common(3) if n >= floor)


def _representative(members: Sequence[TrendItem], label: str, limit: int) -> tuple[int, ...]:
    """A paper, a post, an episode: the best of each kind first (the phrase in its title)."""
    needle = _squeezed(label)

    def rank(item: TrendItem) -> tuple[bool, int, datetime]:
        return (needle in _squeezed(item.title), len(item.source_ids), item.published_at)

    ordered = sorted(members, key=rank, reverse=True)
    chosen: list[TrendItem] = []
    for item in ordered:
        if item.kind not in {c.kind for c in chosen}:
            chosen.append(item)
    chosen += [item for item in ordered if item not in chosen]
    return tuple(item.id for item in chosen[:limit])


def _squeezed(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def evidence(items: int, voices: int, first: datetime, latest: datetime, per_week: float) -> str:
    """The theme in words: "12 items from 7 sources in 3 days; usually 1 a week"."""
    days = max(1, math.ceil((latest - first).total_seconds() / 86400))
    span = "1 day" if days == 1 else f"{days} days"
    plural = "item" if items == 1 else "items"
    return f"{items} {plural} from {voices} sources in {span}; {usual_rate(per_week)}"


def usual_rate(per_week: float) -> str:
    if per_week >= 0.95:
        return f"usually {round(per_week)} a week"
    per_month = round(per_week * 30 / 7)
    if per_month >= 1:
        return f"usually {per_month} a month"
    return "rarely seen before"
