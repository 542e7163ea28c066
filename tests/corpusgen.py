"""A realistic, deterministic corpus for ranking tests and benchmarks, written straight to storage.

``generate_corpus(db, items=N, seed=S, now=T)`` inserts what ingest would have stored:

- a taxonomy of 17 areas with subtopics (``TAXONOMY``), as Tag rows;
- sources of every kind and level (arXiv listings, research/practitioner/overview blogs,
  podcasts, video channels) with weights and default topics;
- ``N`` items over ``span_days`` before ``now``: papers (most), posts, podcasts, videos; busy areas
  (NLP, vision) and sparse ones (causality, tabular); arXiv ids, categories, authors, durations;
- ItemSource rows (papers cross-listed in 2-3 arXiv feeds), ItemTag rows with scores and
  origins as the tagger gives them (category / keyword / source), and ItemLink rows for posts and
  podcasts that discuss papers.

Rows go in with Core ``executemany`` and explicit ids (PostgreSQL sequences are moved past them),
so 200,000 items take seconds, not minutes.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from service.catalog import Taxonomy, Topic
from service.storage.catalog import sync_taxonomy
from service.storage.engine import Database
from service.storage.models import Item, ItemLink, ItemSource, ItemTag, Source, Tag

# area slug: (label, busyness, arXiv categories, {subtopic slug: (label, keywords)}, keywords)
_AREAS: dict[str, tuple[str, float, tuple[str, ...], dict[str, tuple[str, tuple[str, ...]]]]] = {
    "nlp": (
        "Natural language processing",
        30,
        ("cs.CL",),
        {
            "llm": ("Large language models", ("large language model", "LLM", "instruction tuning")),
            "machine-translation": ("Machine translation", ("machine translation", "multilingual")),
            "information-extraction": (
                "Information extraction",
                ("named entity recognition", "relation extraction"),
            ),
            "retrieval-augmented-generation": ("RAG", ("retrieval-augmented generation", "RAG")),
        },
    ),
    "computer-vision": (
        "Computer vision",
        18,
        ("cs.CV",),
        {
            "object-detection": ("Object detection", ("object detection", "detector")),
            "segmentation": ("Segmentation", ("semantic segmentation", "instance segmentation")),
            "video-understanding": ("Video understanding", ("video understanding", "action")),
            "3d-vision": ("3D vision", ("neural radiance fields", "3D reconstruction")),
        },
    ),
    "generative-models": (
        "Generative models",
        12,
        ("cs.LG", "cs.CV"),
        {
            "diffusion-models": ("Diffusion models", ("diffusion model", "denoising")),
            "flow-matching": ("Flow matching", ("flow matching", "normalizing flow")),
            "gans": ("GANs", ("generative adversarial network", "GAN")),
        },
    ),
    "reinforcement-learning": (
        "Reinforcement learning",
        8,
        ("cs.LG", "cs.AI"),
        {
            "rlhf": ("RL from human feedback", ("RLHF", "preference optimization", "reward model")),
            "offline-rl": ("Offline RL", ("offline reinforcement learning", "batch RL")),
            "multi-agent-rl": ("Multi-agent RL", ("multi-agent", "cooperative agents")),
        },
    ),
    "robotics": (
        "Robotics",
        4,
        ("cs.RO",),
        {
            "manipulation": ("Manipulation", ("robot manipulation", "grasping")),
            "locomotion": ("Locomotion", ("legged locomotion", "quadruped")),
            "sim-to-real": ("Sim-to-real", ("sim-to-real", "domain randomization")),
        },
    ),
    "ml-theory": (
        "Learning theory",
        4,
        ("cs.LG", "stat.ML"),
        {
            "generalization": ("Generalization", ("generalization bound", "double descent")),
            "optimization-theory": ("Optimization theory", ("convergence rate", "non-convex")),
        },
    ),
    "training-optimization": (
        "Training and optimization",
        5,
        ("cs.LG",),
        {
            "optimizers": ("Optimizers", ("Adam", "learning rate schedule", "optimizer")),
            "scaling-laws": ("Scaling laws", ("scaling law", "compute-optimal")),
            "distributed-training": (
                "Distributed training",
                ("data parallel", "pipeline parallel"),
            ),
        },
    ),
    "graph-learning": (
        "Graph learning",
        3,
        ("cs.LG", "cs.SI"),
        {
            "graph-neural-networks": ("Graph neural networks", ("graph neural network", "GNN")),
            "knowledge-graphs": ("Knowledge graphs", ("knowledge graph", "link prediction")),
        },
    ),
    "speech-audio": (
        "Speech and audio",
        3,
        ("eess.AS", "cs.SD"),
        {
            "speech-recognition": ("Speech recognition", ("speech recognition", "ASR")),
            "text-to-speech": ("Text to speech", ("text-to-speech", "speech synthesis")),
            "music-generation": ("Music generation", ("music generation", "audio tokens")),
        },
    ),
    "ml-systems": (
        "ML systems",
        6,
        ("cs.DC", "cs.LG"),
        {
            "inference-efficiency": ("Efficient inference", ("speculative decoding", "KV cache")),
            "quantization": ("Quantization", ("quantization", "4-bit")),
            "ml-compilers": ("ML compilers", ("kernel fusion", "compiler")),
        },
    ),
    "safety-alignment": (
        "Safety and alignment",
        6,
        ("cs.AI", "cs.CL"),
        {
            "interpretability": ("Interpretability", ("mechanistic interpretability", "probing")),
            "alignment": ("Alignment", ("alignment", "constitutional")),
            "adversarial-robustness": (
                "Adversarial robustness",
                ("adversarial attack", "jailbreak"),
            ),
        },
    ),
    "fairness-ethics": (
        "Fairness, privacy and policy",
        2,
        ("cs.CY",),
        {
            "fairness": ("Fairness", ("fairness", "bias mitigation")),
            "privacy": ("Privacy", ("differential privacy", "federated learning")),
        },
    ),
    "ai-for-science": (
        "AI for science",
        3,
        ("q-bio.QM", "physics.comp-ph"),
        {
            "protein-modeling": ("Protein modeling", ("protein structure", "protein design")),
            "materials": ("Materials discovery", ("materials discovery", "crystal")),
            "climate": ("Climate and weather", ("weather forecasting", "climate model")),
        },
    ),
    "recommender-systems": (
        "Recommender systems",
        2,
        ("cs.IR",),
        {
            "ctr-prediction": ("CTR prediction", ("click-through rate", "ranking model")),
            "sequential-recommendation": ("Sequential recommendation", ("session-based",)),
        },
    ),
    "time-series": (
        "Time series",
        1.5,
        ("cs.LG", "stat.ML"),
        {
            "forecasting": ("Forecasting", ("time series forecasting", "temporal")),
            "anomaly-detection": ("Anomaly detection", ("anomaly detection", "outlier")),
        },
    ),
    "causal-inference": (
        "Causal inference",
        1,
        ("stat.ML", "stat.ME"),
        {
            "causal-discovery": ("Causal discovery", ("causal discovery", "structural causal")),
            "treatment-effects": ("Treatment effects", ("treatment effect", "counterfactual")),
        },
    ),
    "tabular-learning": (
        "Tabular learning",
        0.6,
        ("cs.LG",),
        {
            "gradient-boosting": ("Gradient boosting", ("gradient boosting", "XGBoost")),
        },
    ),
}


def build_taxonomy() -> Taxonomy:
    """The generator's taxonomy as the catalog would give it: areas first, then subtopics."""
    topics: list[Topic] = []
    for area, (label, _busy, arxiv, subtopics) in _AREAS.items():
        topics.append(Topic(slug=area, label=label, area=area, arxiv=arxiv))
        for slug, (sub_label, keywords) in subtopics.items():
            topics.append(
                Topic(slug=slug, label=sub_label, area=area, parent=area, keywords=keywords)
            )
    return Taxonomy(tuple(topics))


TAXONOMY = build_taxonomy()
AREAS: tuple[str, ...] = tuple(_AREAS)


@dataclass(frozen=True, slots=True)
class SourcePlan:
    name: str
    kind: str
    level: str
    weight: float
    topics: tuple[str, ...]  # default topics (areas); empty for generalists


@functools.cache
def _arxiv_sources() -> tuple[SourcePlan, ...]:
    categories: dict[str, list[str]] = {}
    for area, (_label, _busy, arxiv, _subs) in _AREAS.items():
        for category in arxiv:
            categories.setdefault(category, []).append(area)
    return tuple(
        SourcePlan(f"arXiv {cat}", "paper", "research", 1.0, tuple(areas))
        for cat, areas in sorted(categories.items())
    )


SOURCES: tuple[SourcePlan, ...] = (
    *_arxiv_sources(),
    SourcePlan("DeepMind Blog", "post", "research", 1.4, ()),
    SourcePlan("BAIR Blog", "post", "research", 1.2, ("reinforcement-learning", "robotics")),
    SourcePlan("Google Research Blog", "post", "research", 1.3, ()),
    SourcePlan("Anthropic Research", "post", "research", 1.3, ("safety-alignment",)),
    SourcePlan("Hugging Face Blog", "post", "practitioner", 1.1, ("nlp",)),
    SourcePlan("Lil'Log", "post", "practitioner", 1.5, ()),
    SourcePlan("Chip Huyen", "post", "practitioner", 1.2, ("ml-systems",)),
    SourcePlan("Eugene Yan", "post", "practitioner", 1.0, ("recommender-systems",)),
    SourcePlan("PyTorch Blog", "post", "practitioner", 1.0, ("training-optimization",)),
    SourcePlan("The Batch", "post", "overview", 1.0, ()),
    SourcePlan("Import AI", "post", "overview", 1.1, ()),
    SourcePlan("Last Week in AI", "post", "overview", 0.9, ()),
    SourcePlan("Machine Learning Street Talk", "podcast", "research", 1.1, ()),
    SourcePlan("TWIML AI Podcast", "podcast", "practitioner", 1.0, ()),
    SourcePlan("Gradient Dissent", "podcast", "practitioner", 1.0, ("ml-systems",)),
    SourcePlan("Latent Space", "podcast", "practitioner", 1.2, ("nlp",)),
    SourcePlan("Practical AI", "podcast", "overview", 0.9, ()),
    SourcePlan("Robot Talk", "podcast", "overview", 0.8, ("robotics",)),
    SourcePlan("Yannic Kilcher", "video", "research", 1.1, ()),
    SourcePlan("Two Minute Papers", "video", "overview", 1.0, ()),
    SourcePlan("Stanford Online ML", "video", "overview", 0.9, ()),
)

_FIRST = [
    "Ada",
    "Alan",
    "Grace",
    "Yoshua",
    "Geoffrey",
    "Fei-Fei",
    "Andrew",
    "Daphne",
    "Michael",
    "Jürgen",
    "Percy",
    "Chelsea",
    "Sergey",
    "Pieter",
    "Ilya",
    "Oriol",
    "Quoc",
    "Kaiming",
    "Ross",
    "Jitendra",
    "Emma",
    "Ruslan",
    "Samy",
    "Hugo",
    "Yann",
    "Zoubin",
    "Max",
    "Shakir",
    "Timnit",
    "Margaret",
    "Joelle",
    "Raia",
    "Hanna",
    "Jeff",
    "Noam",
    "Ashish",
    "Jakob",
    "Lukasz",
    "Aidan",
    "Niki",
    "Illia",
    "Tri",
    "Albert",
]
_LAST = [
    "Lovelace",
    "Turing",
    "Hopper",
    "Bengio",
    "Hinton",
    "Li",
    "Ng",
    "Koller",
    "Jordan",
    "Schmidhuber",
    "Liang",
    "Finn",
    "Levine",
    "Abbeel",
    "Sutskever",
    "Vinyals",
    "Le",
    "He",
    "Girshick",
    "Malik",
    "Brunskill",
    "Salakhutdinov",
    "Larochelle",
    "Touvron",
    "LeCun",
    "Ghahramani",
    "Welling",
    "Mohamed",
    "Gebru",
    "Mitchell",
    "Pineau",
    "Hadsell",
    "Wallach",
    "Dean",
    "Shazeer",
    "Vaswani",
    "Uszkoreit",
    "Kaiser",
    "Gomez",
    "Parmar",
    "Polosukhin",
    "Dao",
    "Gu",
    "Okafor",
    "Nakamura",
    "Silva",
    "Kowalski",
    "Haddad",
]
_METHODS = (
    "Sparse",
    "Contrastive",
    "Hierarchical",
    "Self-Supervised",
    "Efficient",
    "Scalable",
    "Robust",
    "Adaptive",
    "Causal",
    "Latent",
    "Modular",
    "Bayesian",
)
_NOUNS = ("Transformers", "Adapters", "Experts", "Priors", "Tokenizers", "Objectives", "Memories")


@dataclass(frozen=True, slots=True)
class GeneratedCorpus:
    """What was generated: counts and ids a test or benchmark needs."""

    now: datetime
    taxonomy: Taxonomy
    source_ids: dict[str, int]
    items: int
    papers: int
    links: int
    first_item_id: int


class _Writer:
    """Builds row dicts for one corpus with one random generator (so one seed, one corpus)."""

    def __init__(
        self, rng: random.Random, now: datetime, span_days: float, seen_at: datetime | None
    ) -> None:
        self.rng = rng
        self.now = now
        self.span = span_days
        self.seen_at = seen_at
        self.authors = [f"{rng.choice(_FIRST)} {rng.choice(_LAST)}" for _ in range(400)]
        self.area_weights = [busy for (_l, busy, _a, _s) in _AREAS.values()]

    def area(self) -> str:
        return self.rng.choices(AREAS, weights=self.area_weights)[0]

    def subtopic(self, area: str) -> tuple[str, tuple[str, ...]]:
        slug, (_label, keywords) = self.rng.choice(sorted(_AREAS[area][3].items()))
        return slug, keywords

    def published(self, kind: str) -> datetime:
        when = self.now - timedelta(hours=self.rng.random() * self.span * 24)
        if kind == "paper" and when.weekday() >= 5:  # arXiv announces on weekdays
            when -= timedelta(days=when.weekday() - 4)
        return when.replace(microsecond=0)

    def people(self, low: int, high: int) -> list[str]:
        return self.rng.sample(self.authors, self.rng.randint(low, high))


def _title(w: _Writer, kind: str, level: str, keyword: str, episode: int) -> str:
    method, noun = w.rng.choice(_METHODS), w.rng.choice(_NOUNS)
    capital = keyword[0].upper() + keyword[1:]
    if kind == "paper":
        survey = w.rng.random() < 0.06
        return f"A Survey of {keyword.title()}" if survey else f"{method} {noun} for {capital}"
    if kind == "podcast":
        return f"Episode {episode}: {w.rng.choice(w.authors)} on {keyword}"
    if kind == "video" and level == "overview":
        return f"{capital} explained"
    templates = {
        "video": f"Paper walkthrough: {method} {noun} for {keyword}",
        "overview": f"This week in AI: {keyword} and more",
        "practitioner": f"How we used {keyword} in production",
        "research": f"Advancing {keyword} with {method.lower()} {noun.lower()}",
    }
    return templates["video" if kind == "video" else level]


def _summary(keywords: Sequence[str], area_label: str) -> str:
    first = keywords[0]
    rest = ", ".join(keywords[1:]) or first
    return (
        f"We study {first} in the context of {area_label.lower()}. Our approach builds on {rest} "
        f"and improves results on standard benchmarks. Code and models are released."
    )


def _tags_for(
    w: _Writer, kind: str, area: str, subtopic: str, source: SourcePlan
) -> list[tuple[str, float, str]]:
    """(slug, score, origin) as the tagger would assign them."""
    origin = "category" if kind == "paper" else "keyword"
    tags = {
        subtopic: (round(w.rng.uniform(0.6, 1.0), 3), origin),
        area: (round(w.rng.uniform(0.7, 1.0), 3), origin),
    }
    if w.rng.random() < 0.3:
        other = w.area()
        if other != area:
            tags.setdefault(other, (round(w.rng.uniform(0.2, 0.5), 3), "keyword"))
    for default in source.topics[:1]:
        tags.setdefault(default, (0.5, "source"))
    return [(slug, score, how) for slug, (score, how) in sorted(tags.items())]


def _next_id(session: Session, table: type[Any]) -> int:
    return int(session.execute(sa.select(sa.func.max(table.id))).scalar() or 0) + 1


def _insert_sources(session: Session) -> dict[str, int]:
    existing = dict(session.execute(sa.select(Source.name, Source.id)).all())
    start = _next_id(session, Source)
    rows = []
    for offset, plan in enumerate(p for p in SOURCES if p.name not in existing):
        slug = plan.name.lower().replace(" ", "-").replace("'", "")
        rows.append(
            {
                "id": start + offset,
                "name": plan.name,
                "url": f"https://feeds.example.org/{slug}.xml",
                "kind": plan.kind,
                "level": plan.level,
                "weight": plan.weight,
                "topics": list(plan.topics),
                "origin": "catalog",
            }
        )
        existing[plan.name] = start + offset
    if rows:
        session.execute(sa.insert(Source), rows)
    return existing


@functools.cache
def _sources_by_kind(kind: str) -> tuple[SourcePlan, ...]:
    return tuple(p for p in SOURCES if p.kind == kind)


@functools.cache
def _arxiv_for(area: str) -> tuple[SourcePlan, ...]:
    return tuple(p for p in _arxiv_sources() if area in p.topics)


# Every item row has every key, so each batch is one executemany (mixed key sets split it).
_ITEM_BLANK: dict[str, Any] = {
    **dict.fromkeys(
        [
            "updated_at",
            "arxiv_id",
            "arxiv_version",
            "arxiv_primary",
            "announce_type",
            "pdf_url",
            "doi",
            "journal_ref",
            "comments",
            "enclosure_url",
            "enclosure_type",
            "enclosure_length",
            "duration_seconds",
            "episode",
            "season",
            "image_url",
            "transcript_url",
        ]
    ),
    "arxiv_categories": [],
    "content_hash": "",
}


def _item_row(w: _Writer, item_id: int, kind: str, source: SourcePlan, area: str) -> dict[str, Any]:
    subtopic, keywords = w.subtopic(area)
    published = w.published(kind)
    row: dict[str, Any] = {
        **_ITEM_BLANK,
        "id": item_id,
        "kind": kind,
        "title": _title(w, kind, source.level, keywords[0], item_id % 400 + 1),
        "summary_text": _summary(keywords, _AREAS[area][0]),
        "published_at": published,
        "first_seen_at": w.seen_at
        or min(w.now, published + timedelta(minutes=w.rng.randint(5, 360))),
        "changed_at": published,
        "reading_minutes": w.rng.randint(4, 25),
        "_subtopic": subtopic,
        "_area": area,
    }
    row["summary_html"] = f"<p>{row['summary_text']}</p>"
    if kind == "paper":
        row["authors"] = w.people(2, 6)
        arxiv_id = f"{published:%y%m}.{item_id:05d}"
        row.update(
            canonical_key=f"arxiv:{arxiv_id}",
            url=f"https://arxiv.org/abs/{arxiv_id}",
            arxiv_id=arxiv_id,
            arxiv_version=1,
            arxiv_categories=list(_AREAS[area][2]),
            arxiv_primary=_AREAS[area][2][0],
            announce_type="new",
            pdf_url=f"https://arxiv.org/pdf/{arxiv_id}v1",
        )
    else:
        row["authors"] = w.people(1, 2)
        slug = source.name.lower().replace(" ", "-").replace("'", "")
        row.update(canonical_key=f"url:https://{slug}.example.org/{item_id}")
        row["url"] = row["canonical_key"][4:]
    if kind == "podcast":
        row.update(
            enclosure_url=f"https://cdn.example.org/{item_id}.mp3",
            enclosure_type="audio/mpeg",
            duration_seconds=w.rng.randint(20, 120) * 60,
            episode=item_id % 400 + 1,
        )
        row["reading_minutes"] = row["duration_seconds"] // 60
    row["authors_text"] = ", ".join(row["authors"])
    return row


def _plan_items(w: _Writer, count: int, start: int) -> list[tuple[dict[str, Any], SourcePlan]]:
    kinds = ("paper", "post", "podcast", "video")
    planned = []
    for offset in range(count):
        kind = w.rng.choices(kinds, weights=(66, 20, 8, 6))[0]
        area = w.area()
        source = w.rng.choice(_arxiv_for(area) if kind == "paper" else _sources_by_kind(kind))
        planned.append((_item_row(w, start + offset, kind, source, area), source))
    return planned


def _relation_rows(
    w: _Writer,
    planned: Sequence[tuple[dict[str, Any], SourcePlan]],
    source_ids: dict[str, int],
    tag_ids: dict[str, int],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    item_sources: list[dict[str, Any]] = []
    item_tags: list[dict[str, Any]] = []
    links: list[dict[str, Any]] = []
    papers_by_area: dict[str, list[str]] = {}
    for row, source in planned:
        seen_in = [source]
        if row["kind"] == "paper":
            papers_by_area.setdefault(row["_area"], []).append(row["arxiv_id"])
            others = [p for p in _arxiv_for(row["_area"]) if p != source]
            if others and w.rng.random() < 0.3:
                seen_in.append(w.rng.choice(others))
        for plan in seen_in:
            item_sources.append(
                {
                    "item_id": row["id"],
                    "source_id": source_ids[plan.name],
                    "guid": row["canonical_key"],
                    "first_seen_at": row["first_seen_at"],
                    "last_seen_at": row["first_seen_at"],
                }
            )
        for slug, score, origin in _tags_for(
            w, row["kind"], row["_area"], row["_subtopic"], source
        ):
            item_tags.append(
                {"item_id": row["id"], "tag_id": tag_ids[slug], "score": score, "origin": origin}
            )
    for row, _source in planned:
        pool = papers_by_area.get(row["_area"], [])
        chance = {"post": 0.3, "podcast": 0.45, "video": 0.35}.get(row["kind"], 0.0)
        if pool and w.rng.random() < chance:
            for arxiv_id in sorted(set(w.rng.sample(pool, min(len(pool), w.rng.randint(1, 3))))):
                links.append({"item_id": row["id"], "arxiv_id": arxiv_id})
    return item_sources, item_tags, links


def _fix_sequences(session: Session) -> None:
    if session.get_bind().dialect.name != "postgresql":
        return
    for table in ("item", "source", "tag"):
        session.execute(
            sa.text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"
            )
        )


def _insert_batches(session: Session, model: type[Any], rows: list[dict[str, Any]]) -> None:
    """Core executemany on the table (rows carry every column, so no model defaults are needed;
    the ORM bulk path would split batches wherever None-ness differs)."""
    table = model.__table__
    for start in range(0, len(rows), 5000):
        session.execute(table.insert(), rows[start : start + 5000])


def generate_corpus(
    db: Database,
    *,
    items: int = 2000,
    seed: int = 7,
    now: datetime | None = None,
    span_days: float = 14.0,
    seen_at: datetime | None = None,
) -> GeneratedCorpus:
    """Insert a corpus of ``items`` items published over ``span_days`` before ``now``.

    ``seen_at`` makes every item first seen at that moment (a poll that brings items in, some
    backdated); by default each item is first seen a little after it was published.
    """
    now = now or datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    w = _Writer(random.Random(seed), now, span_days, seen_at)
    with db.write() as session:
        sync_taxonomy(session, TAXONOMY)
        session.flush()
        tag_ids = dict(session.execute(sa.select(Tag.slug, Tag.id)).all())
        source_ids = _insert_sources(session)
        start = _next_id(session, Item)
        planned = _plan_items(w, items, start)
        item_rows = [{k: v for k, v in row.items() if not k.startswith("_")} for row, _ in planned]
        _insert_batches(session, Item, item_rows)
        item_sources, item_tags, links = _relation_rows(w, planned, source_ids, tag_ids)
        _insert_batches(session, ItemSource, item_sources)
        _insert_batches(session, ItemTag, item_tags)
        _insert_batches(session, ItemLink, links)
        _fix_sequences(session)
    return GeneratedCorpus(
        now=now,
        taxonomy=TAXONOMY,
        source_ids=source_ids,
        items=items,
        papers=sum(1 for row, _ in planned if row["kind"] == "paper"),
        links=len(links),
        first_item_id=start,
    )
