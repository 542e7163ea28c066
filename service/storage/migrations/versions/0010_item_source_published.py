"""Sources: each sighting carries its item's date (item_source.item_published_at), indexed with the
source, so a source's items of the last week are one range of ix_item_source_source_published
instead of a join of item_source with item over every item of the week (the sources page at 200k
items: ~108k joined rows per request).

The copy is kept exact by triggers, whatever writes: a new sighting takes its item's date, and an
item whose date moves (an earlier date seen later) moves it on all its sightings. Existing rows are
filled from item.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 18:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

SQLITE_TRIGGERS = (
    "CREATE TRIGGER item_source_published_ai AFTER INSERT ON item_source"
    " WHEN new.item_published_at IS NULL BEGIN"
    " UPDATE item_source SET item_published_at ="
    " (SELECT published_at FROM item WHERE item.id = new.item_id)"
    " WHERE item_id = new.item_id AND source_id = new.source_id; END",
    "CREATE TRIGGER item_published_au AFTER UPDATE OF published_at ON item"
    " WHEN new.published_at IS NOT old.published_at BEGIN"
    " UPDATE item_source SET item_published_at = new.published_at WHERE item_id = new.id; END",
)
POSTGRES_TRIGGERS = (
    "CREATE FUNCTION item_source_published() RETURNS trigger LANGUAGE plpgsql AS $$"
    " BEGIN"
    " IF NEW.item_published_at IS NULL THEN"
    " SELECT published_at INTO NEW.item_published_at FROM item WHERE id = NEW.item_id;"
    " END IF;"
    " RETURN NEW; END $$",
    "CREATE TRIGGER item_source_published_bi BEFORE INSERT ON item_source"
    " FOR EACH ROW EXECUTE FUNCTION item_source_published()",
    "CREATE FUNCTION item_published_moved() RETURNS trigger LANGUAGE plpgsql AS $$"
    " BEGIN"
    " UPDATE item_source SET item_published_at = NEW.published_at WHERE item_id = NEW.id;"
    " RETURN NULL; END $$",
    "CREATE TRIGGER item_published_au AFTER UPDATE OF published_at ON item FOR EACH ROW"
    " WHEN (OLD.published_at IS DISTINCT FROM NEW.published_at)"
    " EXECUTE FUNCTION item_published_moved()",
)


def upgrade() -> None:
    op.add_column(
        "item_source", sa.Column("item_published_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.execute(
        "UPDATE item_source SET item_published_at ="
        " (SELECT published_at FROM item WHERE item.id = item_source.item_id)"
    )
    op.create_index(
        "ix_item_source_source_published", "item_source", ["source_id", "item_published_at"]
    )
    sqlite = op.get_bind().dialect.name == "sqlite"
    for statement in SQLITE_TRIGGERS if sqlite else POSTGRES_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS item_published_au")
        op.execute("DROP TRIGGER IF EXISTS item_source_published_ai")
    else:
        op.execute("DROP TRIGGER IF EXISTS item_published_au ON item")
        op.execute("DROP TRIGGER IF EXISTS item_source_published_bi ON item_source")
        op.execute("DROP FUNCTION IF EXISTS item_published_moved()")
        op.execute("DROP FUNCTION IF EXISTS item_source_published()")
    op.drop_index("ix_item_source_source_published", table_name="item_source")
    with op.batch_alter_table("item_source", schema=None) as batch_op:
        batch_op.drop_column("item_published_at")
