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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from service.rank.phrases import (
    WantedKeys,
    contains,
    gram_keys,
    grams,
    opening_of,
    phrase_key,
    text_of,
    tokens,
    wanted_keys,
)
from service.records import TrendItem

__all__ = ["Theme", "TrendItem", "TrendParams", "TrendReport", "detect_themes", "detect_windows"]

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


class _ItemKeys:
    """Each item's phrase and topic keys, found once however many windows and passes ask: for
    the items of a window, those in the title of some window's item (``keys``: only such a
    phrase can be named), and only those still wanted for the rest (``baseline``)."""

    def __init__(self) -> None:
        self._titles: dict[int, frozenset[str]] = {}
        self._named: set[str] = set()
        self._keys: dict[int, frozenset[str]] = {}
        self._wanted: dict[int, frozenset[str]] = {}
        self._looked_for = WantedKeys.of(())
        self._voices: dict[int, str] = {}

    def name(self, windows: Iterable[Sequence[TrendItem]]) -> None:
        """Keep of the windows' items (``keys``) only the phrases in some window's titles."""
        for window in windows:
            for item in window:
                self._named.update(self.title(item))

    def want(self, keys: Iterable[str]) -> None:
        """Look for ``keys`` from now on: fewer each time (a key set found earlier for more
        keys still holds every one of them)."""
        self._looked_for = WantedKeys.of(k for k in keys if not k.startswith(TOPIC_PREFIX))

    def voice(self, item: TrendItem) -> str:
        found = self._voices.get(item.id)
        if found is None:
            found = self._voices[item.id] = item.voice
        return found

    def title(self, item: TrendItem) -> frozenset[str]:
        found = self._titles.get(item.id)
        if found is None:
            found = self._titles[item.id] = frozenset(gram_keys(tokens(item.title)))
        return found

    def keys(self, item: TrendItem) -> frozenset[str]:
        """The keys of its phrases (title and summary opening) in some window's titles, and
        of its topics."""
        found = self._keys.get(item.id)
        if found is None:
            rest = gram_keys(opening_of(item.summary)) & self._named
            rest.update(TOPIC_PREFIX + topic for topic in item.topics)
            found = self._keys[item.id] = self.title(item).union(rest)
        return found

    def baseline(self, item: TrendItem) -> frozenset[str]:
        """Its keys among those wanted (and its topics): what a baseline pass may count."""
        found = self._keys.get(item.id)
        if found is None:
            found = self._wanted.get(item.id)
        if found is None:
            keys = wanted_keys(text_of(item.title, item.summary), self._looked_for)
            keys.update(TOPIC_PREFIX + topic for topic in item.topics)
            found = self._wanted[item.id] = frozenset(keys)
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


@dataclass(slots=True)
class _Window:
    """One window between the stages of ``detect_windows``: its items and its candidates."""

    params: TrendParams
    window: list[TrendItem]
    baseline: list[TrendItem]
    note: str
    scales: dict[str, float] = field(default_factory=dict)
    judged: list[TrendItem] = field(default_factory=list)
    candidates: dict[str, _Candidate] = field(default_factory=dict)


def detect_themes(
    items: Sequence[TrendItem],
    *,
    now: datetime,
    params: TrendParams = TrendParams(),
    topic_labels: Mapping[str, str] | None = None,
) -> TrendReport:
    """The rising themes of ``items`` as of ``now``, best first (at most ``params.limit``)."""
    return detect_windows(items, now=now, windows=(params,), topic_labels=topic_labels)[0]


def detect_windows(
    items: Sequence[TrendItem],
    *,
    now: datetime,
    windows: Sequence[TrendParams],
    topic_labels: Mapping[str, str] | None = None,
) -> list[TrendReport]:
    """``detect_themes`` for several windows (and their baselines) of the same items at once.

    The windows go through each stage together, so each item's phrases are found once for all
    of them: for the items of a window, those in some window's titles (``_window_candidates``:
    no other phrase can be named); in the baselines, only those still a candidate of some
    window, first for the screens' samples (``_screen``), then for the whole baselines
    (``_count_baseline``), by then for fewer phrases. The same themes as one window at a time.
    """
    memo = _ItemKeys()
    opened = [_open(items, now, params) for params in windows]
    judged = [w for w in opened if not w.note]
    memo.name(w.judged for w in judged)
    for w in judged:
        w.candidates = _window_candidates(w.judged, memo, w.params)
    memo.want(key for w in judged for key in w.candidates)
    for w in judged:
        _screen(w, memo)
    memo.want(key for w in judged for key in w.candidates)  # fewer: baselines are read faster
    for w in judged:
        _count_baseline(w, memo)
    return [_close(w, now, topic_labels or {}) for w in opened]


def _open(items: Sequence[TrendItem], now: datetime, p: TrendParams) -> _Window:
    """A window's items, its baseline's, and which of them can be judged."""
    window_start = now - timedelta(days=p.window_days)
    baseline_start = window_start - timedelta(days=p.baseline_days)
    window = [item for item in items if window_start < item.published_at <= now]
    baseline = [item for item in items if baseline_start < item.published_at <= window_start]
    opened = _Window(p, window, baseline, _shortfall(window, baseline, p))
    if opened.note:
        return opened
    opened.scales = _scales(window, baseline)
    opened.judged = [item for item in window if stratum(item) in opened.scales]
    return opened


def _close(w: _Window, now: datetime, labels: Mapping[str, str]) -> TrendReport:
    p = w.params
    if w.note:
        return TrendReport(now, p.window_days, (), len(w.window), len(w.baseline), w.note)
    candidates = w.candidates
    _score(candidates, w.scales, p)
    rising = [c for c in candidates.values() if _rises(c, p)]
    rising.sort(key=lambda c: (-c.score, -len(c.key), c.key))
    clusters = _cluster(rising[:MAX_CONSIDERED])
    themes = tuple(
        _theme(cluster, w.judged, p, _Labeller(w.judged, labels)) for cluster in clusters[: p.limit]
    )
    quiet = "" if themes else "nothing in the window rises clearly above its usual rate"
    return TrendReport(now, p.window_days, themes, len(w.window), len(w.baseline), quiet)


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


def _window_candidates(
    window: Sequence[TrendItem], memo: _ItemKeys, p: TrendParams
) -> dict[str, _Candidate]:
    """The phrases and topics of at least ``min_items`` items of the window whose phrase is in
    the titles of ``min_title_share`` of them: what people name their work after, not words
    that happen to meet in summaries. (A title's phrases are among its item's, so a phrase's
    items with it in their title are the items whose title has it.)"""
    titled: Counter[str] = Counter()
    for item in window:
        titled.update(memo.title(item))
    window_keys = [memo.keys(item) for item in window]
    counts: Counter[str] = Counter()
    for keys in window_keys:
        counts.update(keys)
    frequent = {  # a phrase in none of this window's titles has ``titled`` 0: never named
        key
        for key, count in counts.items()
        if count >= p.min_items
        and (key.startswith(TOPIC_PREFIX) or titled[key] >= p.min_title_share * count)
    }
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


def _screen(w: _Window, memo: _ItemKeys) -> None:
    """Drop the candidates that cannot rise (the steady, common phrases: most of them), first on
    a sample of the baseline, then on their voices in the window.

    A phrase can rise only while ``seen >= min_ratio * expected``, and its expectation is at
    least its capped baseline times the smallest stratum scale (``allowed`` is the most baseline
    it may have). Every ``SCREEN_EVERY``-th baseline item is read for every candidate; a phrase
    whose sampled count is, by three standard deviations, above its share of ``allowed`` is
    dropped. Then the survivors' voices are counted in the window (capped; too few: dropped).
    """
    p, candidates = w.params, w.candidates
    if len(w.baseline) >= SCREEN_MIN_ITEMS:
        allowed = _allowed(w)  # with the raw window counts: an upper bound
        alive = set(candidates)
        # each voice capped at its share, so one flooding voice cannot make a phrase look common
        share = max(1.0, _baseline_cap(p) / SCREEN_EVERY)
        sample = _Tally(alive, w.scales, allowed, share, by_part=False)
        for item in w.baseline[::SCREEN_EVERY]:
            sample.add(item, memo)
        for key, hits in sample.totals.items():
            if hits - 3.0 * math.sqrt(hits) - 1.0 > allowed[key] / SCREEN_EVERY:
                del candidates[key]
    _cap_voices(candidates, w.judged, p)


def _count_baseline(w: _Window, memo: _ItemKeys) -> None:
    """Each screened candidate's voice-capped count in the whole baseline; a phrase is given up
    as soon as its count passes ``allowed`` (it cannot rise)."""
    candidates = w.candidates
    tally = _Tally(set(candidates), w.scales, _allowed(w), _baseline_cap(w.params), by_part=True)
    for item in w.baseline:
        tally.add(item, memo)
    for key in [key for key in candidates if key not in tally.alive]:
        del candidates[key]
    for (key, part), total in tally.totals.items():
        if key in candidates:
            candidates[key].baseline_by[part] = total


def _allowed(w: _Window) -> dict[str, float]:
    least = min(w.scales.values())
    return {k: c.seen / (w.params.min_ratio * least) for k, c in w.candidates.items()}


def _baseline_cap(p: TrendParams) -> float:
    """How often one voice counts in the baseline: ``voice_cap`` per window length."""
    return p.voice_cap * p.baseline_days / p.window_days


@dataclass(slots=True)
class _Tally:
    """Voice-capped counts of the ``alive`` keys in the items ``add``-ed, in their order: by key
    (``by_part`` False: the screen), or by (key, stratum), discarding from ``alive`` each key as
    soon as its count passes ``allowed``."""

    alive: set[str]
    scales: Mapping[str, float]
    allowed: Mapping[str, float]
    cap: float
    by_part: bool
    totals: dict[Any, int] = field(default_factory=dict)
    _pairs: dict[tuple[str, str, str], int] = field(default_factory=dict)
    _running: dict[str, int] = field(default_factory=dict)

    def add(self, item: TrendItem, memo: _ItemKeys) -> None:
        part = stratum(item)
        if not self.alive or part not in self.scales:
            return
        voice, pairs, totals, running = memo.voice(item), self._pairs, self.totals, self._running
        for key in memo.baseline(item) & self.alive:
            pair = (key, part, voice)
            seen = pairs[pair] = pairs.get(pair, 0) + 1
            if seen > self.cap:
                continue
            if self.by_part:
                totals[key, part] = totals.get((key, part), 0) + 1
                counted = running[key] = running.get(key, 0) + 1
                if counted > self.allowed[key]:
                    self.alive.discard(key)
            else:
                totals[key] = totals.get(key, 0) + 1


def _score(candidates: dict[str, _Candidate], scales: Mapping[str, float], p: TrendParams) -> None:
    """expected = sum over strata of (baseline + its share of the prior) * the stratum's scale."""
    for c in candidates.values():
        seen = c.seen
        c.expected = sum(
            (c.baseline_by.get(part, 0.0) + p.prior * c.seen_by.get(part, 0.0) / seen) * scale
            for part, scale in scales.items()
        )
        c.score = poisson_z(seen, c.expected)


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
