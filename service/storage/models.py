"""Every table of Staycurrent, in one module.

Datetimes are stored as UTC and always come back timezone-aware (``UTCDateTime``). Lists and maps
are JSON columns. Full-text search lives beside these tables (an FTS5 table on SQLite, a generated
``tsvector`` column on PostgreSQL), created by the migrations and kept current by triggers.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from service.clock import utcnow

MAX_ROW_ID = 2**31 - 1  # ids are 32-bit integers on PostgreSQL: a larger id names no row


class UTCDateTime(TypeDecorator[datetime]):
    """A DateTime that refuses naive values and always returns aware UTC."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: store timezone-aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _json_list() -> Any:
    return Field(default_factory=list, sa_type=sa.JSON, nullable=False)


def _json_map() -> Any:
    return Field(default_factory=dict, sa_type=sa.JSON, nullable=False)


def _when(*, index: bool = False, nullable: bool = True) -> Any:
    if nullable:
        return Field(default=None, sa_type=UTCDateTime, index=index, nullable=True)
    return Field(default_factory=utcnow, sa_type=UTCDateTime, index=index, nullable=False)


# --------------------------------------------------------------------------- sources


class Source(SQLModel, table=True):
    """A feed we poll, with its poll state. Never deleted for errors; ``active`` False = removed."""

    __tablename__ = "source"
    __table_args__ = (sa.Index("ix_source_due", "active", "next_poll_at"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    url: str = Field(max_length=2048, unique=True)
    kind: str = Field(max_length=16)  # paper | podcast | post | video
    level: str = Field(default="practitioner", max_length=16)  # research | practitioner | overview
    topics: list[str] = _json_list()
    poll_minutes: int | None = None  # per-source override of the adaptive interval
    weight: float = 1.0
    site_url: str | None = Field(default=None, max_length=2048)
    origin: str = Field(default="catalog", max_length=16)  # catalog | api | opml | local
    active: bool = True
    state: str = Field(default="new", max_length=16)  # new | ok | error | gone
    feed_title: str | None = Field(default=None, max_length=500)
    # poll state
    etag: str | None = Field(default=None, max_length=500)
    last_modified: str | None = Field(default=None, max_length=100)
    content_hash: str | None = Field(default=None, max_length=64)
    next_poll_at: datetime = _when(nullable=False)
    lease_owner: str | None = Field(default=None, max_length=100)
    lease_until: datetime | None = _when()
    consecutive_errors: int = 0
    last_status: int | None = None  # HTTP status of the last attempt
    last_outcome: str | None = Field(default=None, max_length=32)
    last_error: str | None = None  # in words a user understands
    last_error_kind: str | None = Field(default=None, max_length=64)
    last_attempt_at: datetime | None = _when()
    last_success_at: datetime | None = _when()
    retry_after_until: datetime | None = _when()
    redirect_url: str | None = Field(default=None, max_length=2048)
    redirect_count: int = 0
    ttl_minutes: int | None = None
    created_at: datetime = _when(nullable=False)
    updated_at: datetime = _when(nullable=False)


class HostLease(SQLModel, table=True):
    """One row per rate-limited host (arXiv): who may talk to it now, and when it was last asked."""

    __tablename__ = "host_lease"

    host: str = Field(primary_key=True, max_length=255)
    owner: str | None = Field(default=None, max_length=100)
    lease_until: datetime | None = _when()
    last_request_at: datetime | None = _when()


class PollLog(SQLModel, table=True):
    """One row per poll attempt: what happened, for health, metrics and audits."""

    __tablename__ = "poll_log"
    __table_args__ = (sa.Index("ix_poll_log_source_started", "source_id", "started_at"),)

    id: int | None = Field(default=None, primary_key=True)
    source_id: int = Field(foreign_key="source.id", ondelete="CASCADE")
    worker: str = Field(default="", max_length=100)
    started_at: datetime = _when(nullable=False, index=True)
    finished_at: datetime | None = _when()
    outcome: str = Field(max_length=32)  # updated | not_modified | unchanged | error | gone | empty
    status_code: int | None = None
    error_kind: str | None = Field(default=None, max_length=64)
    items_new: int = 0
    items_updated: int = 0


# --------------------------------------------------------------------------- items


class Item(SQLModel, table=True):
    """One work: a paper (one row per arXiv id), a podcast episode, a post or a video."""

    __tablename__ = "item"
    __table_args__ = (
        sa.Index("ix_item_published", "published_at", "id"),
        sa.Index("ix_item_kind_published", "kind", "published_at", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    canonical_key: str = Field(max_length=2100, unique=True)
    kind: str = Field(max_length=16)
    title: str = Field(sa_type=sa.Text)
    url: str | None = Field(default=None, sa_type=sa.Text)
    summary_text: str = Field(default="", sa_type=sa.Text)
    summary_html: str = Field(default="", sa_type=sa.Text)
    authors: list[str] = _json_list()
    authors_text: str = Field(default="", sa_type=sa.Text)  # "A. One, B. Two" for search
    published_at: datetime = _when(nullable=False)
    updated_at: datetime | None = _when()
    first_seen_at: datetime = _when(nullable=False)
    changed_at: datetime = _when(nullable=False)
    reading_minutes: int | None = None
    content_hash: str = Field(default="", max_length=64)
    # arXiv
    arxiv_id: str | None = Field(default=None, max_length=64, unique=True)
    arxiv_version: int | None = None
    arxiv_categories: list[str] = _json_list()
    arxiv_primary: str | None = Field(default=None, max_length=32)
    announce_type: str | None = Field(default=None, max_length=16)
    pdf_url: str | None = Field(default=None, sa_type=sa.Text)
    doi: str | None = Field(default=None, max_length=255)
    journal_ref: str | None = Field(default=None, sa_type=sa.Text)
    comments: str | None = Field(default=None, sa_type=sa.Text)
    # podcasts
    enclosure_url: str | None = Field(default=None, sa_type=sa.Text)
    enclosure_type: str | None = Field(default=None, max_length=100)
    enclosure_length: int | None = Field(default=None, sa_type=sa.BigInteger)
    duration_seconds: int | None = None
    episode: int | None = None
    season: int | None = None
    image_url: str | None = Field(default=None, sa_type=sa.Text)
    transcript_url: str | None = Field(default=None, sa_type=sa.Text)
    # meaning: unit-length float32 vector of title + summary (service.ingest.embed)
    vector: bytes | None = Field(default=None, sa_type=sa.LargeBinary)
    vector_model: str | None = Field(default=None, max_length=64)
    # coverage by title: a paper's title as posts quote it (service.ingest.quotes)
    title_key: str | None = Field(default=None, max_length=300, index=True)
    # tagging: the topic model that tagged the item (None: keyword rules only)
    tag_model: str | None = Field(default=None, max_length=64)


class ItemSource(SQLModel, table=True):
    """An item was seen in a source (a paper cross-listed in three feeds has three rows)."""

    __tablename__ = "item_source"
    __table_args__ = (
        sa.Index("ix_item_source_guid", "source_id", "guid"),
        sa.Index("ix_item_source_source_seen", "source_id", "first_seen_at"),
        sa.Index("ix_item_source_source_published", "source_id", "item_published_at"),
    )

    item_id: int = Field(foreign_key="item.id", primary_key=True, ondelete="CASCADE")
    source_id: int = Field(foreign_key="source.id", primary_key=True, ondelete="CASCADE")
    guid: str | None = Field(default=None, max_length=1000)
    first_seen_at: datetime = _when(nullable=False)
    last_seen_at: datetime = _when(nullable=False)
    # a copy of the item's published_at, kept by triggers (migration 0010) on insert here and on
    # an update of item.published_at: a source's items of the last week are counted in its index
    item_published_at: datetime | None = _when()


class Tag(SQLModel, table=True):
    """A topic of the taxonomy: an area (``parent`` None) or a subtopic."""

    __tablename__ = "tag"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=64, unique=True)
    area: str = Field(max_length=64, index=True)
    label: str = Field(max_length=200)
    parent: str | None = Field(default=None, max_length=64)


class ItemTag(SQLModel, table=True):
    __tablename__ = "item_tag"
    __table_args__ = (sa.Index("ix_item_tag_tag_item", "tag_id", "item_id"),)

    item_id: int = Field(foreign_key="item.id", primary_key=True, ondelete="CASCADE")
    tag_id: int = Field(foreign_key="tag.id", primary_key=True, ondelete="CASCADE")
    score: float
    origin: str = Field(max_length=16)  # category | model | keyword | source


class TopicModelFile(SQLModel, table=True):
    """A topic model this installation trained from its own arXiv papers (``active``: in use)."""

    __tablename__ = "topic_model"

    id: int | None = Field(default=None, primary_key=True)
    version: str = Field(max_length=64, unique=True)
    created_at: datetime = _when(nullable=False)
    active: bool = Field(default=False)
    figures: dict[str, Any] = _json_map()  # its evaluation and the previous model's
    data: bytes = Field(sa_type=sa.LargeBinary)


class RebuildCheckpoint(SQLModel, table=True):
    """How far a resumable pass over every item got (``staycurrent tags rebuild``)."""

    __tablename__ = "rebuild_checkpoint"

    name: str = Field(primary_key=True, max_length=64)
    last_item_id: int = 0
    done: int = 0
    goal: str = Field(default="", max_length=200)  # what the pass is for (a model version)
    updated_at: datetime = _when(nullable=False)


class ItemLink(SQLModel, table=True):
    """A post or podcast (``item_id``) mentions a paper by arXiv id (which may arrive later)."""

    __tablename__ = "item_link"

    item_id: int = Field(foreign_key="item.id", primary_key=True, ondelete="CASCADE")
    arxiv_id: str = Field(primary_key=True, max_length=64, index=True)


class ItemQuote(SQLModel, table=True):
    """A post or podcast (``item_id``) quotes a title that may be a paper's (which may arrive
    later): the key of the quoted text (``service.vocabulary.title_key``)."""

    __tablename__ = "item_quote"

    item_id: int = Field(foreign_key="item.id", primary_key=True, ondelete="CASCADE")
    title_key: str = Field(primary_key=True, max_length=300, index=True)


# --------------------------------------------------------------------------- people


class Profile(SQLModel, table=True):
    """A reader: interests, the depth dial, and digest settings. Tokens are stored hashed."""

    __tablename__ = "profile"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    token_hash: str = Field(max_length=64, unique=True)
    feed_token_hash: str = Field(max_length=64, unique=True)
    interests: dict[str, float] = _json_map()  # topic slug -> weight
    keywords: list[str] = _json_list()  # "-robotics" is a negative
    authors: list[str] = _json_list()
    kind_weights: dict[str, float] = _json_map()
    depth: float = 0.5
    window_days: int = 7
    muted_sources: list[int] = _json_list()
    # digest
    email: str | None = Field(default=None, max_length=320)
    digest_enabled: bool = False
    digest_time: str = Field(default="07:00", max_length=5)  # local HH:MM
    timezone: str = Field(default="UTC", max_length=64)
    digest_cadence: str = Field(default="daily", max_length=16)  # daily | weekdays | weekly
    digest_weekday: int = 0  # 0 = Monday, for weekly
    digest_max_items: int = 15
    digest_budget_minutes: int = 30
    digest_depth: float | None = None
    digest_empty_note: bool = False
    created_at: datetime = _when(nullable=False)
    updated_at: datetime = _when(nullable=False)


class Feedback(SQLModel, table=True):
    __tablename__ = "feedback"
    __table_args__ = (
        sa.UniqueConstraint("profile_id", "item_id", "signal", name="uq_feedback_signal"),
        sa.Index("ix_feedback_profile_created", "profile_id", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    profile_id: int = Field(foreign_key="profile.id", ondelete="CASCADE")
    item_id: int = Field(foreign_key="item.id", ondelete="CASCADE")
    signal: str = Field(max_length=16)  # like | dislike | save | hide | read
    created_at: datetime = _when(nullable=False)


class PreferenceRow(SQLModel, table=True):
    """A profile's learned preference model (``service.rank.learn``), with the feedback stamp it
    was trained under: a different stamp means the feedback changed since."""

    __tablename__ = "preference_model"

    profile_id: int = Field(
        foreign_key="profile.id",
        ondelete="CASCADE",
        primary_key=True,
        sa_column_kwargs={"autoincrement": False},
    )
    stamp: str = Field(max_length=64)
    events: int = 0
    model: bytes = Field(sa_type=sa.LargeBinary, nullable=False)
    trained_at: datetime = _when(nullable=False)


class Delivery(SQLModel, table=True):
    """One digest period of one profile: pending -> sending -> sent | failed, exactly once."""

    __tablename__ = "delivery"
    __table_args__ = (sa.UniqueConstraint("profile_id", "period", name="uq_delivery_period"),)

    id: int | None = Field(default=None, primary_key=True)
    profile_id: int = Field(foreign_key="profile.id", ondelete="CASCADE")
    period: str = Field(max_length=32)  # 2026-11-25 (daily), 2026-W48 (weekly)
    status: str = Field(default="pending", max_length=16)
    attempts: int = 0
    claimed_by: str | None = Field(default=None, max_length=100)
    lease_until: datetime | None = _when()
    next_attempt_at: datetime | None = _when()
    sent_at: datetime | None = _when()
    message_id: str | None = Field(default=None, max_length=255)
    error: str | None = None
    item_count: int = 0
    minutes: int = 0
    created_at: datetime = _when(nullable=False)


class DeliveryItem(SQLModel, table=True):
    """The items a delivery carried, so no item is ever sent twice to a profile."""

    __tablename__ = "delivery_item"
    __table_args__ = (sa.Index("ix_delivery_item_profile_item", "profile_id", "item_id"),)

    delivery_id: int = Field(foreign_key="delivery.id", primary_key=True, ondelete="CASCADE")
    item_id: int = Field(foreign_key="item.id", primary_key=True, ondelete="CASCADE")
    profile_id: int = Field(foreign_key="profile.id", ondelete="CASCADE")


# --------------------------------------------------------------------------- trends


class Trend(SQLModel, table=True):
    """One rising theme of the last refresh of a window (a refresh replaces the window's rows)."""

    __tablename__ = "trend"
    __table_args__ = (
        sa.UniqueConstraint("window_days", "kind", "rank", name="uq_trend_window_kind_rank"),
    )

    id: int | None = Field(default=None, primary_key=True)
    window_days: int
    rank: int
    key: str = Field(max_length=300)
    label: str = Field(max_length=300)
    kind: str = Field(max_length=16)  # phrase | topic | paper (papers everyone covers)
    score: float
    ratio: float
    items: int
    voices: int
    feeds: int
    baseline_per_week: float
    evidence: str = Field(sa_type=sa.Text)
    first_seen_at: datetime = _when(nullable=False)
    latest_seen_at: datetime = _when(nullable=False)
    areas: list[str] = _json_list()
    aliases: list[str] = _json_list()
    item_ids: list[int] = _json_list()
    representative: list[int] = _json_list()


class TrendRefresh(SQLModel, table=True):
    """When a window's trends were last computed, over which items, and the note if none rose."""

    __tablename__ = "trend_refresh"

    window_days: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    computed_at: datetime = _when(nullable=False)
    newest_item_id: int = 0
    window_items: int = 0
    baseline_items: int = 0
    note: str = Field(default="", sa_type=sa.Text)


class Comeback(SQLModel, table=True):
    """An event of a paper a profile liked or saved: a new version, a DOI, a journal reference,
    new coverage. Recorded once per (profile, paper, event); ``baseline`` rows are the state when
    the paper was first watched (never shown)."""

    __tablename__ = "comeback"
    __table_args__ = (
        sa.UniqueConstraint("profile_id", "item_id", "event", name="uq_comeback_event"),
        sa.Index("ix_comeback_profile_created", "profile_id", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    profile_id: int = Field(foreign_key="profile.id", ondelete="CASCADE")
    item_id: int = Field(foreign_key="item.id", ondelete="CASCADE")
    event: str = Field(max_length=300)  # v3 | doi | journal | coverage:<item id>
    reason: str = Field(sa_type=sa.Text)
    baseline: bool = False
    created_at: datetime = _when(nullable=False)


# --------------------------------------------------------------------------- reading page


class WebSession(SQLModel, table=True):
    """A signed-in browser of the reading page, or a one-time sign-in link sent by email
    (``purpose``). Only a hash of the secret is stored; signing out (or using a link) deletes
    the row, so a copied cookie or a used link opens nothing."""

    __tablename__ = "web_session"

    token_hash: str = Field(primary_key=True, max_length=64)
    profile_id: int = Field(foreign_key="profile.id", ondelete="CASCADE", index=True)
    purpose: str = Field(max_length=16)  # session | link
    csrf: str = Field(max_length=64)  # the forms' token of this session (empty for a link)
    created_at: datetime = _when(nullable=False)
    expires_at: datetime = _when(nullable=False, index=True)


class AppPassword(SQLModel, table=True):
    """A password a feed-reader app signs in with (Google Reader API): one per app, revocable.
    Only its scrypt hash is stored; it opens the reader API, never ``/v1``."""

    __tablename__ = "app_password"

    id: int | None = Field(default=None, primary_key=True)
    profile_id: int = Field(foreign_key="profile.id", ondelete="CASCADE", index=True)
    label: str = Field(max_length=100)
    password_hash: str = Field(max_length=200)  # scrypt$n$r$p$salt hex$hash hex
    created_at: datetime = _when(nullable=False)
    last_used_at: datetime | None = _when(nullable=True)
