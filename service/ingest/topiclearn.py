"""The topic model an installation uses, and how it keeps learning from its own arXiv papers.

- ``load_topic_model``: the model this installation trained (active in the database), else the one
  that ships in the package; a missing or corrupt file gives ``None`` and the reason (tagging falls
  back to keyword rules, and /readyz and the log say so);
- ``retrain``: a new model from the stored arXiv papers, split by time like the shipped one; it
  replaces the model in use only if it scores better (macro-F1) on the held-out latest slice,
  where both are measured in the same run. The outcome is stored either way, with its figures.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from service.catalog import Taxonomy
from service.errors import ModelError
from service.ingest.tag import Tagger
from service.ingest.topicmodel import TopicModel
from service.ingest.topictrain import (
    Evaluation,
    LabelledPaper,
    Labelling,
    evaluate,
    model_predictor,
    split_by_time,
    train,
)
from service.storage.engine import Database
from service.storage.retag import (
    active_topic_model,
    arxiv_papers,
    latest_training,
    save_topic_model,
)

log = logging.getLogger("staycurrent.topics")
MIN_PAPERS_TO_RETRAIN = 2_000  # fewer stored papers than this teach less than the shipped model


@dataclass(frozen=True, slots=True)
class LoadedModel:
    model: TopicModel | None
    problem: str = ""  # why there is no model (tagging uses keyword rules alone)

    @property
    def status(self) -> str:
        if self.model is None:
            return f"keyword rules only: {self.problem}"
        return f"model {self.model.version}"


@dataclass(frozen=True, slots=True)
class RetrainOutcome:
    version: str
    kept: str  # the version in use afterwards
    adopted: bool
    new: Evaluation
    previous: Evaluation | None
    papers: int


def load_topic_model(db: Database | None) -> LoadedModel:
    """The installation's own model if it trained one, else the shipped model; never raises."""
    try:
        stored = None
        if db is not None:
            with db.session() as session:
                stored = active_topic_model(session)
        if stored is not None:
            version, data = stored
            return LoadedModel(TopicModel.from_bytes(data, name=f"the topic model {version}"))
        return LoadedModel(TopicModel.shipped())
    except ModelError as e:
        log.warning("topic model unavailable, tagging with keyword rules only: %s", e.reason)
        return LoadedModel(None, e.reason)
    except Exception as e:  # a database that cannot be read must not stop ingest either
        reason = f"the topic model could not be loaded ({type(e).__name__}: {e})"
        log.warning("topic model unavailable, tagging with keyword rules only: %s", reason)
        return LoadedModel(None, reason)


def make_tagger(taxonomy: Taxonomy, db: Database | None) -> Tagger:
    loaded = load_topic_model(db)
    return Tagger(taxonomy, loaded.model, fallback=loaded.problem)


def retrain_due(last: datetime | None, now: datetime, every: timedelta) -> bool:
    """A retraining is due when none was ever made here, or the last is ``every`` old."""
    return last is None or now - last >= every


def last_trained(db: Database) -> datetime | None:
    with db.session() as session:
        return latest_training(session)


def retrain(
    db: Database, taxonomy: Taxonomy, *, now: datetime, limit: int, current: TopicModel | None
) -> RetrainOutcome:
    """Train on the newest ``limit`` stored papers; adopt only if better on the latest slice."""
    with db.session() as session:
        stored = arxiv_papers(session, limit=limit)
    if len(stored) < MIN_PAPERS_TO_RETRAIN:
        raise ModelError(
            f"only {len(stored)} stored arXiv papers with categories; retraining needs "
            f"{MIN_PAPERS_TO_RETRAIN}"
        )
    papers = [
        LabelledPaper(p.arxiv_id, p.title, p.abstract, p.categories, p.published_at.isoformat())
        for p in stored
    ]
    labelling = Labelling(Tagger(taxonomy))
    split = split_by_time(papers)
    version = f"local-{now:%Y%m%d%H%M}"
    model = train(split, labelling, version=version)
    new = evaluate(version, model_predictor(model, labelling), split, labelling)
    previous = None
    if current is not None:
        previous = evaluate(current.version, model_predictor(current, labelling), split, labelling)
    adopted = previous is None or new.macro_f1 > previous.macro_f1
    figures: dict[str, Any] = {"new": new.as_dict(), "previous": previous and previous.as_dict()}
    with db.write() as session:
        save_topic_model(
            session,
            version=version,
            data=model.to_bytes(),
            figures=figures,
            active=adopted,
            now=now,
        )
    kept = version if adopted or current is None else current.version
    log.info(
        "topic model retrained",
        extra={"version": version, "adopted": adopted, "macro_f1": new.macro_f1, "kept": kept},
    )
    return RetrainOutcome(version, kept, adopted, new, previous, len(papers))
