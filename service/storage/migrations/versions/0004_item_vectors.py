"""Item vectors: a float32 blob and the name of the model that made it, on every item.

Existing rows get NULL and receive their vector from the backfill (``staycurrent items
backfill``, ``service.ingest.backfill.backfill_items``). Columns are added in place (no table
copy), so SQLite's full-text triggers on ``item`` stay as they are.

Revision ID: 0004
Revises: 0001
Create Date: 2026-12-07 15:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("item", schema=None) as batch_op:
        batch_op.add_column(sa.Column("vector", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("vector_model", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("item", schema=None) as batch_op:
        batch_op.drop_column("vector_model")
        batch_op.drop_column("vector")
