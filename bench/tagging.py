"""Topic tagging: the model learned from arXiv's labels against the plain baseline, same run.

Both are trained on the earliest 70 % of the labelled set (../shared/labelled, 74,726 papers by
listing date), the model calibrated and its thresholds tuned on the next 10 %, and both evaluated
on the latest 20 %: per area, precision, recall and F1 (truth: every area the paper's categories
map to, ml-core left out). The model that ships is built by the same code on the same split, so
its figures are given too. Then the cost: tagging one item (model and rules) on one core, the
model file's size and load time.

Targets (issue 17): macro-F1 >= 0.70, no area with 100+ training papers below 0.5, precision of
the assigned areas >= 0.85, the primary category's area found for >= 90 %, the baseline beaten on
every figure; tagging <= 300 us per item.
"""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime

from bench.report import ROOT, Context, Section, Table, Target
from service.catalog import load_catalog
from service.errors import ModelError
from service.ingest.tag import Tagger
from service.ingest.topicmodel import SHIPPED, TopicModel
from service.ingest.topictrain import (
    Evaluation,
    Labelling,
    Split,
    baseline_predictor,
    evaluate,
    model_predictor,
    read_labelled,
    split_by_time,
    train,
)
from service.records import NormalizedItem

TITLE = "Topic tagging (learned from arXiv's labels)"
LABELLED = ROOT.parent / "shared" / "labelled" / "arxiv_2025_2026.jsonl.gz"
TINY_PAPERS = 2_000
COST_ITEMS = 2_000
AREA_FLOOR_TRAIN = 100


def run(ctx: Context) -> Section:
    papers = read_labelled(LABELLED, limit=TINY_PAPERS if ctx.tiny else None)
    tagger = Tagger(load_catalog(ROOT / "feeds.yaml").taxonomy)
    labelling = Labelling(tagger)
    split = split_by_time(papers)
    ctx.log(
        f"tagging: {len(split.train)} train, {len(split.validation)} validation, "
        f"{len(split.test)} test papers"
    )
    t0 = time.perf_counter()
    model = train(split, labelling, version="bench", max_features=5_000 if ctx.tiny else 60_000)
    train_seconds = time.perf_counter() - t0
    ours = evaluate("ours", model_predictor(model, labelling), split, labelling)
    baseline = evaluate("baseline", baseline_predictor(split, labelling), split, labelling)
    shipped, load_seconds, size = _shipped()
    evaluations = [ours, baseline]
    if shipped is not None and not ctx.tiny:
        evaluations.append(
            evaluate("shipped", model_predictor(shipped, labelling), split, labelling)
        )
    cost = _cost(Tagger(load_catalog(ROOT / "feeds.yaml").taxonomy, shipped or model), split)
    return Section(
        name="tagging",
        title=TITLE,
        numbers={
            "train_papers": len(split.train),
            "test_papers": len(split.test),
            "train_seconds": round(train_seconds, 1),
            "model_load_seconds": round(load_seconds, 3),
            "model_file_mb": round(size / 1e6, 2),
            **{f"{e.name}_{k}": v for e in evaluations for k, v in _summary(e).items()},
            **cost,
        },
        tables=(_summary_table(evaluations), _area_table(ours, baseline)),
        targets=_targets(ours, baseline, cost, load_seconds, size),
        notes=(
            _split_note(split),
            "Macro-F1 averages the areas with 30+ training papers and test papers; precision is "
            "over every area assigned (a tag on a paper listed only in cs.LG/cs.AI counts false).",
            f"Run at {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.",
        ),
    )


def _split_note(split: Split) -> str:
    parts = {"train": split.train, "validation": split.validation, "test": split.test}
    spans = [f"{name} {part[0].listed}..{part[-1].listed}" for name, part in parts.items()]
    return f"Time split of {LABELLED.name}: " + ", ".join(spans) + "."


def _shipped() -> tuple[TopicModel | None, float, int]:
    path = ROOT / "service" / "ingest" / "models" / SHIPPED
    t0 = time.perf_counter()
    try:
        model = TopicModel.shipped()
    except ModelError:
        return None, 0.0, 0
    return model, time.perf_counter() - t0, path.stat().st_size


def _summary(e: Evaluation) -> dict[str, float]:
    return {
        "macro_f1": e.macro_f1,
        "precision": round(e.precision, 3),
        "recall": round(e.recall, 3),
        "primary_found": e.primary_found,
        "untagged": e.untagged,
    }


def _summary_table(evaluations: list[Evaluation]) -> Table:
    columns = ("tagger", "macro-F1", "precision", "recall", "primary found", "untagged")
    rows = tuple((e.name, *_summary(e).values()) for e in evaluations)
    return Table("Test slice, by area (ml-core excluded)", columns, rows)


def _area_table(ours: Evaluation, baseline: Evaluation) -> Table:
    base = {f.area: f for f in baseline.areas}
    columns = ("area", "train", "test", "P", "R", "F1", "baseline P", "baseline R", "baseline F1")
    rows = tuple(
        (
            f.area,
            f.train_support,
            f.test_support,
            f.precision,
            f.recall,
            f.f1,
            base[f.area].precision if f.area in base else 0.0,
            base[f.area].recall if f.area in base else 0.0,
            base[f.area].f1 if f.area in base else 0.0,
        )
        for f in ours.areas
    )
    return Table("Per area: ours against the baseline (same run, same split)", columns, rows)


def _cost(tagger: Tagger, split: Split) -> dict[str, float]:
    """Microseconds of CPU per item (process time: what one core spends, whatever else runs on
    the machine): the model alone, and the whole tagger."""
    papers = list(split.test[:COST_ITEMS])
    items = [
        NormalizedItem(
            canonical_key=f"arxiv:{p.arxiv_id}",
            kind="post",
            title=p.title,
            url=None,
            summary_text=p.abstract,
            summary_html="",
            published_at=datetime(2026, 1, 1, tzinfo=UTC),
        )
        for p in papers
    ]
    model_times, tag_times = [], []
    assert tagger.model is not None
    for p, item in zip(papers, items, strict=True):
        t0 = time.process_time()
        tagger.model.probabilities(p.text)
        t1 = time.process_time()
        tagger.tag(item, source_topics=("llm-nlp",))
        t2 = time.process_time()
        model_times.append(t1 - t0)
        tag_times.append(t2 - t1)
    chars = statistics.mean(len(p.text) for p in papers)
    return {
        "model_us_per_item": round(statistics.mean(model_times) * 1e6, 1),
        "tag_us_per_item": round(statistics.mean(tag_times) * 1e6, 1),
        "tag_us_p95": round(statistics.quantiles(tag_times, n=20)[-1] * 1e6, 1),
        "chars_per_item": round(chars),
    }


def _targets(
    ours: Evaluation, baseline: Evaluation, cost: dict[str, float], load: float, size: int
) -> tuple[Target, ...]:
    weak = [
        f"{f.area} {f.f1:.2f}"
        for f in ours.areas
        if f.train_support >= AREA_FLOOR_TRAIN and f.test_support and f.f1 < 0.5
    ]
    beaten = [
        name
        for name, a, b in (
            ("macro-F1", ours.macro_f1, baseline.macro_f1),
            ("precision", ours.precision, baseline.precision),
            ("primary", ours.primary_found, baseline.primary_found),
        )
        if a <= b
    ]
    return (
        Target("macro-F1 (text only)", ">= 0.70", f"{ours.macro_f1:.3f}", ours.macro_f1 >= 0.70),
        Target(
            "areas with 100+ training papers below F1 0.5",
            "none",
            ", ".join(weak) or "none",
            not weak,
        ),
        Target(
            "precision of assigned areas",
            ">= 0.85",
            f"{ours.precision:.3f}",
            ours.precision >= 0.85,
        ),
        Target(
            "primary category's area among the tags",
            ">= 0.90",
            f"{ours.primary_found:.3f}",
            ours.primary_found >= 0.90,
        ),
        Target(
            "beats the baseline on every figure",
            "all",
            "all" if not beaten else "not on " + ", ".join(beaten),
            not beaten,
        ),
        Target(
            "tagging cost per item (one core)",
            "<= 300 us",
            f"{cost['tag_us_per_item']:.0f} us",
            cost["tag_us_per_item"] <= 300,
        ),
        Target(
            "model file",
            "<= 5 MB, loads < 1 s",
            f"{size / 1e6:.1f} MB, {load:.2f} s",
            0 < size <= 5e6 and load < 1.0,
        ),
    )
