"""App passwords for feed-reader apps (Google Reader API): app_password.

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-07 17:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "app_password",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("profile_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["profile_id"], ["profile.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("app_password", schema=None) as batch_op:
        batch_op.create_index("ix_app_password_profile_id", ["profile_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("app_password", schema=None) as batch_op:
        batch_op.drop_index("ix_app_password_profile_id")
    op.drop_table("app_password")
