"""An API under test: the real app, a real database, a generated corpus, a movable clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from corpusgen import GeneratedCorpus, generate_corpus
from fastapi.testclient import TestClient

from service.config import Settings
from service.outputs.api.app import create_app
from service.outputs.links import link_generation
from service.storage.engine import Database
from service.storage.models import Profile

ADMIN_TOKEN = "admin-token-for-tests-0123456789"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Api:
    client: TestClient
    db: Database
    settings: Settings
    corpus: GeneratedCorpus
    moments: list[datetime] = field(default_factory=list)

    @property
    def now(self) -> datetime:
        return self.moments[-1]

    def advance(self, delta: timedelta) -> None:
        self.moments.append(self.now + delta)

    def profile(self, name: str, **fields: Any) -> tuple[dict[str, Any], str, str]:
        """Create a profile through the API: (profile, api token, feed token)."""
        body = {"name": name, "interests": {"nlp": 1.0}, **fields}
        response = self.client.post("/v1/profiles", json=body, headers=ADMIN)
        assert response.status_code == 201, response.text
        created = response.json()
        return created["profile"], created["api_token"], created["feed_token"]


def make_api(
    db: Database,
    make_settings: Callable[..., Settings],
    *,
    items: int = 300,
    seed: int = 5,
    **settings: Any,
) -> Api:
    corpus = generate_corpus(db, items=items, seed=seed)
    values: dict[str, Any] = {"admin_token": ADMIN_TOKEN, **settings}
    configured = make_settings(**values)
    moments = [corpus.now]
    app = create_app(configured, db=db, clock=lambda: moments[-1])
    return Api(TestClient(app), db, configured, corpus, moments)


def link_generation_of(db: Database, profile_id: int) -> str:
    """The feed-token generation a profile's feedback links are bound to ("" for no profile)."""
    with db.session() as s:
        profile = s.get(Profile, profile_id)
    return link_generation(profile.feed_token_hash) if profile is not None else ""
