"""Request and response models of the profile endpoints.

Shapes are checked here (types, lengths); meanings (known topics, existing sources, time zones)
are checked once, in ``service.storage.profiles``, for the API and the CLI alike.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from service.storage.models import MAX_ROW_ID, Profile
from service.storage.profiles import MAX_WINDOW_DAYS

Preset = Literal["researcher", "engineer", "educator"]
KindName = Literal["paper", "podcast", "post", "video"]
Cadence = Literal["daily", "weekdays", "weekly"]
NULLABLE_FIELDS = frozenset({"email", "digest_depth"})


class ProfileFields(BaseModel):
    """Every editable field of a profile; all optional (absent = unchanged or default)."""

    model_config = ConfigDict(extra="forbid")

    preset: Preset | None = Field(
        None, description="researcher (depth 0.85), engineer (0.5) or educator (0.15)."
    )
    depth: float | None = Field(
        None, ge=0, le=1, description="1 = deep into your topics, 0 = broad across every area."
    )
    interests: dict[str, float] | None = Field(
        None,
        description="Taxonomy topic slugs with weights (0 to 5]; an area covers its subtopics.",
        examples=[{"nlp": 1.0, "diffusion-models": 0.6}],
    )
    keywords: list[str] | None = Field(
        None,
        max_length=50,
        description="Words or phrases to look for; a leading '-' excludes (-robotics).",
        examples=[["mixture of experts", "-robotics"]],
    )
    authors: list[str] | None = Field(None, max_length=100, examples=[["Yoshua Bengio"]])
    kind_weights: dict[KindName, float] | None = Field(
        None, description="0 to 2 per kind; 0 leaves a kind out.", examples=[{"podcast": 0.5}]
    )
    window_days: int | None = Field(
        None, ge=1, le=MAX_WINDOW_DAYS, description="How far back the feed looks (days)."
    )
    muted_sources: list[Annotated[int, Field(ge=1, le=MAX_ROW_ID)]] | None = Field(
        None, max_length=500
    )
    email: str | None = Field(None, max_length=320)
    digest_enabled: bool | None = None
    digest_time: str | None = Field(None, max_length=5, examples=["07:00"])
    timezone: str | None = Field(None, max_length=64, examples=["Europe/Paris"])
    digest_cadence: Cadence | None = None
    digest_weekday: int | None = Field(None, ge=0, le=6, description="0 = Monday (weekly).")
    digest_max_items: int | None = Field(None, ge=1, le=100)
    digest_budget_minutes: int | None = Field(None, ge=5, le=600)
    digest_depth: float | None = Field(None, ge=0, le=1)
    digest_empty_note: bool | None = None

    def changes(self) -> dict[str, Any]:
        """Only the fields the request set; an explicit null clears a nullable field (email,
        digest_depth) and leaves any other field unchanged."""
        values = self.model_dump(exclude_unset=True)
        return {k: v for k, v in values.items() if v is not None or k in NULLABLE_FIELDS}


class ProfileCreate(ProfileFields):
    name: str = Field(min_length=1, max_length=100, examples=["ada"])

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "ada",
                    "preset": "researcher",
                    "interests": {"nlp": 1.0, "safety-alignment": 0.7},
                    "keywords": ["mixture of experts", "-robotics"],
                }
            ]
        },
    )

    def changes(self) -> dict[str, Any]:
        values = super().changes()
        values.pop("name", None)
        return {k: v for k, v in values.items() if v is not None}


class ProfilePatch(ProfileFields):
    name: str | None = Field(None, min_length=1, max_length=100)

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"depth": 0.3, "keywords": ["agents", "-crypto"]}]},
    )


class ProfileOut(BaseModel):
    """A profile as its owner sees it (tokens are never shown again)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 1,
                    "name": "ada",
                    "depth": 0.85,
                    "interests": {"nlp": 1.0, "safety-alignment": 0.7},
                    "keywords": ["mixture of experts", "-robotics"],
                    "authors": ["Yoshua Bengio"],
                    "kind_weights": {"podcast": 0.5},
                    "window_days": 7,
                    "muted_sources": [],
                    "email": None,
                    "digest_enabled": False,
                    "digest_time": "07:00",
                    "timezone": "UTC",
                    "digest_cadence": "daily",
                    "digest_weekday": 0,
                    "digest_max_items": 15,
                    "digest_budget_minutes": 30,
                    "digest_depth": None,
                    "digest_empty_note": False,
                    "created_at": "2026-11-20T12:00:00Z",
                    "updated_at": "2026-11-20T12:00:00Z",
                }
            ]
        }
    )

    id: int
    name: str
    depth: float
    interests: dict[str, float]
    keywords: list[str]
    authors: list[str]
    kind_weights: dict[str, float]
    window_days: int
    muted_sources: list[int]
    email: str | None
    digest_enabled: bool
    digest_time: str
    timezone: str
    digest_cadence: str
    digest_weekday: int
    digest_max_items: int
    digest_budget_minutes: int
    digest_depth: float | None
    digest_empty_note: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, profile: Profile) -> ProfileOut:
        return cls.model_validate(profile.model_dump())


class ProfileCreated(BaseModel):
    """A new profile and its two tokens: shown this once, stored only as hashes."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "profile": {"id": 1, "name": "ada", "depth": 0.85, "interests": {"nlp": 1.0}},
                    "api_token": "q3Jx…43 characters…",
                    "feed_token": "Zk8w…43 characters…",
                }
            ]
        }
    )

    profile: ProfileOut
    api_token: str = Field(description="For Authorization: Bearer on the API.")
    feed_token: str = Field(description="For private feed URLs (RSS/Atom).")


class RotateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: Literal["api", "feed"] = Field(
        description="Which token to replace; the old one stops working at once.", examples=["api"]
    )


class RotatedToken(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"token_kind": "api", "token": "N2fV…43 characters…"}]}
    )

    token_kind: Literal["api", "feed"]
    token: str = Field(description="The new token, shown this once.")


class SeedIn(BaseModel):
    """Exactly one of ``arxiv``, ``bibtex`` or ``opml`` (``service.outputs.seeding``)."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"arxiv": ["2305.10601", "2201.11903"]}]}
    )

    arxiv: (
        Annotated[list[Annotated[str, Field(max_length=100)]], Field(max_length=1000)]
        | Annotated[str, Field(max_length=100_000)]
        | None
    ) = Field(default=None, description="arXiv ids (a list, or one comma-separated string).")
    bibtex: str | None = Field(
        default=None, max_length=1_000_000, description="The text of a BibTeX file."
    )
    opml: str | None = Field(
        default=None, max_length=1_000_000, description="The text of an OPML file of blogs."
    )
