"""Trend radar: rising themes per window (trend), when computed (trend_refresh), papers coming back
(comeback).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 15:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "trend",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("window_days", sa.Integer(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("label", sa.String(length=300), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("ratio", sa.Float(), nullable=False),
        sa.Column("items", sa.Integer(), nullable=False),
        sa.Column("voices", sa.Integer(), nullable=False),
        sa.Column("feeds", sa.Integer(), nullable=False),
        sa.Column("baseline_per_week", sa.Float(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("latest_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("areas", sa.JSON(), nullable=False),
        sa.Column("aliases", sa.JSON(), nullable=False),
        sa.Column("item_ids", sa.JSON(), nullable=False),
        sa.Column("representative", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("window_days", "kind", "rank", name="uq_trend_window_kind_rank"),
    )
    op.create_table(
        "trend_refresh",
        sa.Column("window_days", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("newest_item_id", sa.Integer(), nullable=False),
        sa.Column("window_items", sa.Integer(), nullable=False),
        sa.Column("baseline_items", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("window_days"),
    )

    op.create_table(
        "comeback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("profile_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=300), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("baseline", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["item.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["profile_id"], ["profile.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("profile_id", "item_id", "event", name="uq_comeback_event"),
    )
    with op.batch_alter_table("comeback", schema=None) as batch_op:
        batch_op.create_index(
            "ix_comeback_profile_created", ["profile_id", "created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("comeback", schema=None) as batch_op:
        batch_op.drop_index("ix_comeback_profile_created")
    op.drop_table("comeback")
    op.drop_table("trend_refresh")
    op.drop_table("trend")
