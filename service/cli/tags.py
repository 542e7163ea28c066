"""``staycurrent tags``: the topic model's figures, retraining it, and re-tagging every item."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from service.cli.common import console, database, fail, print_json, settings
from service.cli.runtime import catalog
from service.clock import utcnow
from service.errors import ModelError
from service.ingest.tag import Tagger
from service.ingest.topicmodel import TopicModel
from service.ingest.topictrain import LabelledPaper

app = typer.Typer(
    help="Topic tagging: the model's figures, retraining, re-tagging.", no_args_is_help=True
)

LabelledOption = Annotated[
    Path | None,
    typer.Option(
        help="A labelled set (JSON Lines, gzip: id, title, abstract, categories, listed); "
        "default: the arXiv papers stored in the database."
    ),
]
LimitOption = Annotated[
    int | None, typer.Option(min=100, help="Use this many papers, evenly spread in time.")
]


def _papers(labelled: Path | None, limit: int | None) -> list[LabelledPaper]:
    from service.ingest.topictrain import read_labelled
    from service.storage.retag import arxiv_papers

    if labelled is not None:
        if not labelled.is_file():
            fail(f"{labelled}: no such file")
        return list(read_labelled(labelled, limit=limit))
    with database().session() as session:
        stored = arxiv_papers(session, limit=limit or settings().tags_retrain_papers)
    return [
        LabelledPaper(p.arxiv_id, p.title, p.abstract, p.categories, p.published_at.isoformat())
        for p in stored
    ]


@app.command("evaluate")
def evaluate_cmd(
    labelled: LabelledOption = None,
    limit: LimitOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Per-area precision, recall and F1 of the model in use on the latest slice, and the
    plain baseline (TF-IDF + one-vs-rest logistic regression) trained on the same data."""
    from service.ingest.topiclearn import load_topic_model
    from service.ingest.topictrain import (
        Labelling,
        baseline_predictor,
        evaluate,
        format_table,
        model_predictor,
        split_by_time,
    )

    loaded = load_topic_model(database())
    if loaded.model is None:
        fail(f"no topic model to evaluate: {loaded.problem}")
    papers = _papers(labelled, limit)
    if len(papers) < 100:
        fail(f"only {len(papers)} labelled papers: too few to evaluate")
    labelling = Labelling(Tagger(catalog().taxonomy))
    split = split_by_time(papers)
    ours = evaluate(
        loaded.model.version, model_predictor(loaded.model, labelling), split, labelling
    )
    baseline = evaluate("baseline", baseline_predictor(split, labelling), split, labelling)
    if as_json:
        print_json({"model": ours.as_dict(), "baseline": baseline.as_dict()})
        return
    console.print(f"topic model in use: {loaded.status}", highlight=False)
    console.print(format_table(ours, baseline), highlight=False, markup=False)


@app.command("retrain")
def retrain_cmd(
    labelled: LabelledOption = None,
    limit: LimitOption = None,
    output: Annotated[
        Path | None,
        typer.Option(help="With --labelled: write the model file here instead of adopting it."),
    ] = None,
    version: Annotated[str, typer.Option(help="The version name of a model written.")] = "",
) -> None:
    """Train a new model; from the stored papers it is adopted only if it scores better than
    the model in use on the latest slice (the worker does this on a schedule)."""
    if output is not None:
        _train_to_file(labelled, limit, output, version or output.stem)
        return
    if labelled is not None:
        fail("--labelled trains a model file: give --output too")
    from service.ingest.topiclearn import load_topic_model, retrain

    db = database()
    try:
        outcome = retrain(
            db,
            catalog().taxonomy,
            now=utcnow(),
            limit=limit or settings().tags_retrain_papers,
            current=load_topic_model(db).model,
        )
    except ModelError as exc:
        fail(exc.reason)
    verdict = "adopted" if outcome.adopted else f"kept {outcome.kept} (it scores better)"
    console.print(
        f"trained {outcome.version} on {outcome.papers} papers: macro-F1 "
        f"{outcome.new.macro_f1:.3f}"
        + (f" vs {outcome.previous.macro_f1:.3f}" if outcome.previous else "")
        + f"; {verdict}",
        highlight=False,
    )


def _train_to_file(labelled: Path | None, limit: int | None, output: Path, version: str) -> None:
    from service.ingest.topictrain import (
        Labelling,
        evaluate,
        format_table,
        model_predictor,
        split_by_time,
        train,
    )

    papers = _papers(labelled, limit)
    labelling = Labelling(Tagger(catalog().taxonomy))
    split = split_by_time(papers)
    try:
        model = train(split, labelling, version=version)
    except ModelError as exc:
        fail(exc.reason)
    figures = evaluate(version, model_predictor(model, labelling), split, labelling)
    output.write_bytes(model.to_bytes())
    TopicModel.load(output)  # what was written reads back
    console.print(format_table(figures, figures).rsplit("\n", 1)[0], highlight=False, markup=False)
    console.print(f"wrote {output} ({output.stat().st_size / 1e6:.1f} MB)", highlight=False)


@app.command("rebuild")
def rebuild_cmd(
    batch: Annotated[int, typer.Option(min=1, max=10_000, help="Items per transaction.")] = 500,
) -> None:
    """Re-tag every stored item, give it its vector and coverage links, in batches; a killed
    run resumes."""
    from service.ingest.pipeline import available_embedder
    from service.ingest.rebuild import backfill_step, rebuild, retag_step
    from service.ingest.topiclearn import make_tagger

    db = database()
    tagger = make_tagger(catalog().taxonomy, db)
    if tagger.model is None:
        console.print(f"[yellow]keyword rules only:[/] {tagger.fallback}")
    embedder = available_embedder()
    if embedder is None:
        console.print("[yellow]the embedding model cannot be read:[/] no vectors are made")
    vectors = embedder.name if embedder is not None else "none"
    goal = f"tags:{tagger.model_version or 'rules'}+vectors:{vectors}"
    with Progress(
        TextColumn("re-tagging"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task("rebuild", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        report = rebuild(
            db,
            [retag_step(tagger), backfill_step(embedder)],
            goal=goal,
            now=utcnow,
            batch_size=batch,
            progress=advance,
        )
    resumed = f" (resumed after item {report.resumed_from})" if report.resumed_from else ""
    console.print(
        f"re-tagged and re-linked {report.done} items{resumed}"
        + ("" if embedder is None else ", each with its vector"),
        highlight=False,
    )
