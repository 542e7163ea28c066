"""A profile's preference model as the ranker reads it: stored with the profile, retrained lazily.

    feedback_stamp (storage)  ==  the stored model's stamp  ->  the stored model
                              !=                            ->  learn.train on the feedback with
                                                                vectors, against the newest items
                                                                published by the newest signal;
                                                                stored under the new stamp

Each rank of a profile reads the stamp (an indexed count) and the model row; the model is trained
again only when the profile's feedback changed, whatever path changed it (API, one-click links,
CLI, seeding). The background is fixed by the feedback itself (the items published by its newest
signal), so the same feedback and items give the same model whenever it is trained. A failure to
store (a concurrent rank stored it first) costs nothing: the model trained here is used.
"""

from __future__ import annotations

import logging
from datetime import datetime

import numpy as np
import numpy.typing as npt
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from service.errors import InvalidInputError
from service.rank.learn import (
    BACKGROUND,
    MAX_EVENTS,
    SIGNAL_WEIGHTS,
    Learned,
    LearnEvent,
    PreferenceModel,
    train,
)
from service.rank.model import CandidatePool
from service.storage.preferences import (
    background_vectors,
    feedback_stamp,
    learning_feedback,
    store_preference,
    stored_preference,
)
from service.vocabulary import DIMENSIONS, MODEL_NAME

log = logging.getLogger(__name__)
LEARNED_FROM = frozenset(SIGNAL_WEIGHTS)  # the signals the model learns from


def _vector(blob: bytes) -> npt.NDArray[np.float32]:
    return np.frombuffer(blob, dtype="<f4").astype(np.float32)


def train_profile(session: Session, profile_id: int, now: datetime) -> PreferenceModel | None:
    """The model of the profile's feedback as stored now (None: no usable feedback)."""
    rows = learning_feedback(session, profile_id=profile_id, model=MODEL_NAME, limit=MAX_EVENTS)
    if not rows:
        return None
    events = [LearnEvent(r.signal, r.at, r.item_id, r.title, _vector(r.vector)) for r in rows]
    newest = max(r.at for r in rows)
    found = background_vectors(session, model=MODEL_NAME, until=newest, limit=BACKGROUND)
    ids = [item_id for item_id, _ in found]
    matrix = (
        np.vstack([_vector(blob) for _, blob in found])
        if found
        else np.zeros((0, DIMENSIONS), np.float32)
    )
    return train(events, now=now, background=matrix, background_ids=ids)


def _store(
    session: Session, profile_id: int, stamp: str, model: PreferenceModel | None, now: datetime
) -> None:
    blob = model.to_blob() if model is not None else b""
    events = model.events if model is not None else 0
    try:
        with Session(bind=session.get_bind(), expire_on_commit=False) as writer:
            store_preference(
                writer,
                profile_id=profile_id,
                stamp=stamp,
                events=events,
                model=blob,
                now=now,
            )
            writer.commit()
    except SQLAlchemyError as e:  # another rank stored it first, or the database is busy
        log.info("preference model of profile %d not stored: %s", profile_id, e)


def profile_model(session: Session, profile_id: int, now: datetime) -> PreferenceModel | None:
    """The profile's current model: the stored one while its stamp holds, else trained anew."""
    stamp = feedback_stamp(session, profile_id)
    if stamp == "0:0":
        return None
    stored = stored_preference(session, profile_id)
    if stored is not None and stored.stamp == stamp:
        if not stored.model:
            return None
        try:
            return PreferenceModel.from_blob(stored.model)
        except InvalidInputError:
            log.warning("stored preference model of profile %d unreadable: retrained", profile_id)
    model = train_profile(session, profile_id, now)
    _store(session, profile_id, stamp, model, now)
    return model


def learned_for(
    session: Session, profile_id: int, pool: CandidatePool, now: datetime
) -> Learned | None:
    """The profile's model applied to the candidates of ``pool``, on the window's vectors (None:
    it has no usable feedback). Items with no vector get no opinion."""
    model = profile_model(session, profile_id, now)
    if model is None:
        return None
    matrix = pool.vectors()
    # An item is not its own neighbour: the model speaks of items the profile has not judged
    # (what it liked shows by its own mark; else the liked items would fill the top).
    judged = np.fromiter(
        (bool(c.feedback & LEARNED_FROM) for c in pool.candidates), np.bool_, len(pool.candidates)
    )
    has = np.flatnonzero(np.any(matrix != 0, axis=1) & ~judged)
    ids = [pool.candidates[n].id for n in has.tolist()]
    scores = model.affinity(matrix[has]).tolist() if len(has) else []
    return Learned(
        model, dict(zip(ids, scores, strict=True)), dict(zip(ids, matrix[has], strict=True))
    )
