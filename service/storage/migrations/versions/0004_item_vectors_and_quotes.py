"""Item vectors and coverage by title.

On ``item``: a float32 blob and the name of the model that made it, and a paper's title key;
``item_quote``: the title keys a post quotes. Existing rows get NULL and receive their vector and
keys from the backfill (``staycurrent tags rebuild``, ``service.ingest.backfill``). Columns are
added in place (no table copy), so SQLite's full-text triggers on ``item`` stay as they are.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 15:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("item", schema=None) as batch_op:
        batch_op.add_column(sa.Column("vector", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("vector_model", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("title_key", sa.String(length=300), nullable=True))
        batch_op.create_index(batch_op.f("ix_item_title_key"), ["title_key"], unique=False)
    op.create_table(
        "item_quote",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("title_key", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["item.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("item_id", "title_key"),
    )
    with op.batch_alter_table("item_quote", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_item_quote_title_key"), ["title_key"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("item_quote", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_item_quote_title_key"))
    op.drop_table("item_quote")
    with op.batch_alter_table("item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_item_title_key"))
        batch_op.drop_column("title_key")
        batch_op.drop_column("vector_model")
        batch_op.drop_column("vector")
