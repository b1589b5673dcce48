"""aliases keep their spelling: a key column (the name lower-cased) that an alias is unique
under and looked up by, on aliases and their history

Model names needed no new column: ``models.name`` already keeps the name and ``models.key``
its canonical form. Names stored before this revision were lower-cased, so for every alias
until now the key is its name.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 23:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("aliases") as batch_op:
        batch_op.add_column(sa.Column("key", sa.Text(), nullable=True))
    op.execute("UPDATE aliases SET key = name")
    with op.batch_alter_table("aliases") as batch_op:
        batch_op.alter_column("key", existing_type=sa.Text(), nullable=False)
        batch_op.drop_constraint("uq_aliases_model_id_name", type_="unique")
        batch_op.create_unique_constraint("uq_aliases_model_id_key", ["model_id", "key"])

    with op.batch_alter_table("alias_history") as batch_op:
        batch_op.add_column(sa.Column("key", sa.Text(), nullable=True))
    op.execute("UPDATE alias_history SET key = alias")
    with op.batch_alter_table("alias_history") as batch_op:
        batch_op.alter_column("key", existing_type=sa.Text(), nullable=False)
        batch_op.drop_index("ix_alias_history_model_id_alias_at")
        batch_op.create_index("ix_alias_history_model_id_key_at", ["model_id", "key", "at"])


def downgrade() -> None:
    # Spellings other than lower case do not survive a downgrade.
    op.execute("UPDATE aliases SET name = key")
    op.execute("UPDATE alias_history SET alias = key")
    with op.batch_alter_table("alias_history") as batch_op:
        batch_op.drop_index("ix_alias_history_model_id_key_at")
        batch_op.create_index("ix_alias_history_model_id_alias_at", ["model_id", "alias", "at"])
        batch_op.drop_column("key")
    with op.batch_alter_table("aliases") as batch_op:
        batch_op.drop_constraint("uq_aliases_model_id_key", type_="unique")
        batch_op.create_unique_constraint("uq_aliases_model_id_name", ["model_id", "name"])
        batch_op.drop_column("key")
