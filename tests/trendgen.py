"""A generated stream of items with known trends, for the radar's tests and bench (deterministic).

``generate_stream(seed=S, now=T, per_day=N)`` returns ``TrendItem``s over ``baseline_days +
window_days`` before ``now`` and the ground truth:

- **background**: papers from arXiv listings (lead authors from a pool of 400), posts from
  blogs, episodes from podcasts; titles and summaries made of ~180 established ML phrases chosen
  with Zipf popularity, steady over time, plus filler words from a vocabulary of 3,000;
- **bursts** (``Burst``): phrases that are rare or absent in the baseline and appear in the window
  in ``size`` items from ``spread`` voices over ``days`` days, written in varying phrasings
  ("test-time scaling", "Test Time Scaling");
- **decoys** (``Decoy``), which must never be called trends: one blog repeating a phrase in every
  post of the window; one prolific author putting a phrase in a dozen papers; a steady
  high-volume phrase; a phrase spread thin (one mention every few days from ever different
  sources over the whole stream); a phrase seen three times in the window.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from corpusgen import _ITEM_BLANK, TAXONOMY, _fix_sequences, _insert_batches

from service.rank.phrases import phrase_key
from service.rank.trends import TrendItem
from service.storage.catalog import sync_taxonomy
from service.storage.engine import Database
from service.storage.models import Item, ItemSource, ItemTag, Source, Tag

BACKGROUND = """
graph neural networks|contrastive learning|reinforcement learning|language models
vision transformers|knowledge distillation|federated learning|domain adaptation
few-shot learning|anomaly detection|object detection|semantic segmentation|speech recognition
machine translation|question answering|image generation|protein folding|time series forecasting
recommender systems|causal inference|variational autoencoders|normalizing flows
bayesian optimization|meta-learning|active learning|point clouds|neural radiance fields
optical flow|pose estimation|image captioning|text classification|sentiment analysis
named entity recognition|relation extraction|dialogue systems|code generation|program synthesis
theorem proving|robot manipulation|motion planning|multi-agent systems
offline reinforcement learning|imitation learning|reward modeling|preference optimization
retrieval-augmented generation|instruction tuning|in-context learning
chain-of-thought prompting|mixture of experts|sparse attention|state space models
linear attention|low-rank adaptation|quantization|pruning|model compression
neural architecture search|hyperparameter tuning|differential privacy|adversarial robustness
membership inference|backdoor attacks|fairness|interpretability|mechanistic interpretability
sparse autoencoders|feature attribution|saliency maps|uncertainty estimation|calibration
conformal prediction|out-of-distribution detection|continual learning|catastrophic forgetting
curriculum learning|self-supervised learning|masked autoencoders|diffusion models
score matching|energy-based models|generative adversarial networks|tabular data
gradient boosting|kernel methods|gaussian processes|optimal transport|graph transformers
molecular generation|drug discovery|weather prediction|medical imaging|remote sensing
autonomous driving|audio generation|music generation|video generation|text-to-image
image editing|3d reconstruction|embodied agents|world models|tool use|web agents
multimodal models|vision-language models|long context|positional encoding|tokenization
scaling laws|data curation|synthetic data|benchmark contamination|evaluation metrics
human feedback|red teaming|jailbreak attacks|alignment|hallucination detection
fact verification|summarization|information retrieval|dense retrieval|knowledge graphs
link prediction|node classification|community detection|clustering|dimensionality reduction
matrix factorization|stochastic optimization|learning rate schedules|weight decay
batch normalization|transformer training|distributed training|pipeline parallelism
memory efficiency|inference acceleration|edge deployment|on-device learning|energy efficiency
carbon footprint|spiking neural networks|neuromorphic computing|quantum machine learning
physics-informed neural networks|neural operators|symbolic regression|program repair
code review|software testing|education|healthcare|finance
""".replace("\n", "|").split("|")
BACKGROUND = [phrase.strip() for phrase in BACKGROUND if phrase.strip()]

BURSTS: tuple[tuple[tuple[str, ...], int, int, float, float], ...] = (
    # phrasings, size, spread (voices), first day before now, duration in days
    (("GRPO",), 24, 12, 5.5, 5.0),
    (("test-time scaling", "test time scaling", "Test-Time Scaling"), 18, 9, 4.2, 3.5),
    (("diffusion LLMs", "diffusion LLM"), 14, 8, 6.0, 4.0),
    (("Qwen3.5",), 12, 7, 2.8, 2.5),
    (("agentic coding",), 10, 6, 3.0, 2.0),
    (("speculative decoding",), 9, 6, 6.5, 5.5),
    (("Muon optimizer",), 8, 5, 2.0, 1.5),
    (("reasoning traces",), 8, 5, 5.0, 4.0),
    (("flow matching policies",), 7, 5, 1.8, 1.6),
    (("KV cache eviction",), 6, 4, 3.5, 2.0),
    (("vibe checking",), 6, 4, 4.5, 3.0),
)

_SYLLABLES = "ka lo mi ren tu sa vel dor pin qua ser tib lan gro mef nor pel ris zan cor".split()


@dataclass(frozen=True, slots=True)
class Burst:
    key: str
    phrasings: tuple[str, ...]
    size: int
    spread: int
    first: datetime  # the first and latest injected item
    latest: datetime


@dataclass(frozen=True, slots=True)
class Decoy:
    key: str
    phrase: str
    why: str


@dataclass(frozen=True, slots=True)
class Stream:
    items: tuple[TrendItem, ...]
    bursts: tuple[Burst, ...]
    decoys: tuple[Decoy, ...]
    now: datetime


class _Writer:
    def __init__(self, rng: random.Random, now: datetime, days: float) -> None:
        self.rng = rng
        self.now = now
        self.days = days
        self.items: list[TrendItem] = []
        self.vocabulary = [
            "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 3))) for _ in range(3000)
        ]
        self.authors = [f"{self._name()} {self._name()}" for _ in range(400)]
        self.zipf = [1.0 / (rank + 1) ** 0.9 for rank in range(len(BACKGROUND))]
        # sources: 1-4 arXiv listings, 5-34 blogs, 35-44 podcasts
        self.listings = [1, 2, 3, 4]
        self.blogs = list(range(5, 35))
        self.podcasts = list(range(35, 45))

    def _name(self) -> str:
        return self.rng.choice(self.vocabulary).capitalize()

    def _filler(self, count: int) -> str:
        return " ".join(self.rng.choice(self.vocabulary) for _ in range(count))

    def _phrases(self, count: int) -> list[str]:
        return self.rng.choices(BACKGROUND, weights=self.zipf, k=count)

    def text(self, extra: str | None = None) -> tuple[str, str]:
        first, second, third = self._phrases(3)
        title = f"{first.capitalize()} {self._filler(2)} for {second}"
        summary = f"{self._filler(3)} {third} {self._filler(8)} {first} {self._filler(20)}"
        if extra is not None:
            title = f"{extra} {self._filler(1)} for {second}"
            summary = f"{self._filler(2)} {extra} {summary}"
        return title, summary

    def add(
        self,
        when: datetime,
        *,
        kind: str | None = None,
        source: int | None = None,
        author: str | None = None,
        extra: str | None = None,
    ) -> TrendItem:
        kind = kind or self.rng.choices(("paper", "post", "podcast"), weights=(80, 15, 5))[0]
        if source is None:
            pool = {"paper": self.listings, "post": self.blogs, "podcast": self.podcasts}[kind]
            source = self.rng.choice(pool)
        sources = (source,)
        if kind == "paper" and self.rng.random() < 0.3:
            sources = tuple(sorted({source, self.rng.choice(self.listings)}))
        title, summary = self.text(extra)
        area = self.rng.choice(("nlp", "computer-vision", "reinforcement-learning", "ml-theory"))
        item = TrendItem(
            id=len(self.items) + 1,
            kind=kind,
            title=title,
            summary=summary,
            published_at=when,
            source_ids=sources,
            lead_author=(author or self.rng.choice(self.authors)) if kind == "paper" else None,
            areas=(area,),
        )
        self.items.append(item)
        return item

    def moment(self, days_ago_from: float, days_ago_to: float) -> datetime:
        ago = self.rng.uniform(days_ago_to, days_ago_from)
        return self.now - timedelta(days=ago)


def generate_stream(
    *,
    seed: int = 7,
    now: datetime,
    per_day: int = 60,
    window_days: float = 7.0,
    baseline_days: float = 28.0,
) -> Stream:
    rng = random.Random(seed)
    span = window_days + baseline_days
    w = _Writer(rng, now, span)
    for _ in range(int(per_day * span)):
        w.add(w.moment(span, 0.0))
    bursts = tuple(_burst(w, spec, baseline_days, window_days) for spec in BURSTS)
    decoys = _decoys(w, span, window_days)
    items = tuple(sorted(w.items, key=lambda item: item.published_at))
    return Stream(items, bursts, decoys, now)


def _burst(
    w: _Writer,
    spec: tuple[tuple[str, ...], int, int, float, float],
    baseline_days: float,
    window_days: float,
) -> Burst:
    phrasings, size, spread, start, duration = spec
    # usually about one mention a fortnight before the window (some bursts: none at all)
    if w.rng.random() < 0.6:
        for _ in range(int(baseline_days / 14)):
            w.add(w.moment(window_days + baseline_days, window_days), extra=phrasings[0])
    voices = [_voice(w, index) for index in range(spread)]
    made = []
    for index in range(size):
        kind, source, author = voices[index % spread]
        when = w.now - timedelta(days=start - duration * index / max(1, size - 1))
        phrasing = phrasings[index % len(phrasings)]
        made.append(w.add(when, kind=kind, source=source, author=author, extra=phrasing))
    return Burst(
        key=phrase_key(phrasings[0].replace("-", " ").split()),
        phrasings=phrasings,
        size=size,
        spread=spread,
        first=min(item.published_at for item in made),
        latest=max(item.published_at for item in made),
    )


def _voice(w: _Writer, index: int) -> tuple[str, int, str | None]:
    """A distinct speaker: mostly paper authors, every third a blog, every fifth a podcast."""
    if index % 5 == 4:
        return ("podcast", w.podcasts[index % len(w.podcasts)], None)
    if index % 3 == 2:
        return ("post", w.blogs[(index * 7) % len(w.blogs)], None)
    return ("paper", w.rng.choice(w.listings), w.authors[(index * 37 + 11) % len(w.authors)])


def _decoys(w: _Writer, span: float, window_days: float) -> tuple[Decoy, ...]:
    decoys = []
    phrase = "Sponsored Roundup Digest"
    for _ in range(14):  # one blog, every post of the window
        w.add(w.moment(window_days, 0.0), kind="post", source=w.blogs[0], extra=phrase)
    decoys.append(Decoy(phrase_key(phrase.split()), phrase, "one feed repeating a phrase"))
    phrase = "Hyperbolic Koopman Lattices"
    author = w.authors[-1]
    for _ in range(12):  # one prolific author
        w.add(w.moment(window_days, 0.0), kind="paper", author=author, extra=phrase)
    decoys.append(Decoy(phrase_key(phrase.split()), phrase, "one prolific author"))
    phrase = "large foundation models"
    for _ in range(int(span * 8)):  # steady and frequent
        w.add(w.moment(span, 0.0), extra=phrase)
    decoys.append(Decoy(phrase_key(phrase.split()), phrase, "steady high-volume phrase"))
    phrase = "neural tangent kernels"
    for index in range(int(span / 2.5)):  # spread thin: every few days, a different source
        kind, source, author = _voice(w, index + 20)
        when = w.now - timedelta(days=span * (index + 0.5) / int(span / 2.5))
        w.add(when, kind=kind, source=source, author=author, extra=phrase)
    decoys.append(Decoy(phrase_key(phrase.split()), phrase, "spread thin over the weeks"))
    phrase = "sheaf diffusion"
    for index in range(3):  # three sightings in the window
        kind, source, author = _voice(w, index + 40)
        w.add(w.moment(window_days, 0.0), kind=kind, source=source, author=author, extra=phrase)
    decoys.append(Decoy(phrase_key(phrase.split()), phrase, "three sightings"))
    return tuple(decoys)


def theme_keys(label: str, aliases: tuple[str, ...]) -> set[str]:
    """Every key a theme answers to (its label and its aliases)."""
    return {phrase_key(name.replace("-", " ").split()) for name in (label, *aliases)}


def matches(burst_key: str, label: str, aliases: tuple[str, ...]) -> bool:
    """Whether a theme is the burst: the burst's phrase is in one of the theme's names."""
    return any(burst_key in key for key in theme_keys(label, aliases))


def store_stream(db: Database, stream: Stream) -> dict[int, int]:
    """Insert the stream as ingest would have stored it; returns stream item id -> row id."""
    with db.write() as session:
        sync_taxonomy(session, TAXONOMY)
        session.flush()
        tag_ids = dict(session.execute(sa.select(Tag.slug, Tag.id)).all())
        first_source = int(session.execute(sa.select(sa.func.max(Source.id))).scalar() or 0)
        first_item = int(session.execute(sa.select(sa.func.max(Item.id))).scalar() or 0)
        source_ids = sorted({s for item in stream.items for s in item.source_ids})
        _insert_batches(session, Source, [_source_row(first_source + s, s) for s in source_ids])
        ids = {item.id: first_item + item.id for item in stream.items}
        _insert_batches(session, Item, [_item_row(ids[item.id], item) for item in stream.items])
        sightings = [
            {
                "item_id": ids[item.id],
                "source_id": first_source + s,
                "guid": f"{item.id}-{s}",
                "first_seen_at": item.published_at,
                "last_seen_at": item.published_at,
            }
            for item in stream.items
            for s in item.source_ids
        ]
        _insert_batches(session, ItemSource, sightings)
        tags = [
            {"item_id": ids[item.id], "tag_id": tag_ids[area], "score": 0.9, "origin": "category"}
            for item in stream.items
            for area in item.areas
        ]
        _insert_batches(session, ItemTag, tags)
        _fix_sequences(session)
    return ids


def _source_row(row_id: int, number: int) -> dict[str, object]:
    kind = "paper" if number <= 4 else "post" if number < 35 else "podcast"
    return {
        "id": row_id,
        "name": f"trend source {row_id}",
        "url": f"https://feeds.example.org/trends/{row_id}.xml",
        "kind": kind,
        "level": "research" if kind == "paper" else "practitioner",
        "weight": 1.0,
        "topics": [],
        "origin": "catalog",
    }


def _item_row(row_id: int, item: TrendItem) -> dict[str, object]:
    return {
        **_ITEM_BLANK,
        "id": row_id,
        "canonical_key": f"trend:{row_id}",
        "kind": item.kind,
        "title": item.title,
        "url": f"https://example.org/items/{row_id}",
        "summary_text": item.summary,
        "summary_html": f"<p>{item.summary}</p>",
        "authors": [item.lead_author] if item.lead_author else [],
        "authors_text": item.lead_author or "",
        "published_at": item.published_at,
        "first_seen_at": item.published_at,
        "changed_at": item.published_at,
        "reading_minutes": 5,
    }
