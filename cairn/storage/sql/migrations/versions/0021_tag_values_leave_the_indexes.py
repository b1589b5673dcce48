"""tag values leave the tag indexes: MLflow's registry takes values of up to 100,000
characters, and PostgreSQL refuses an index row over about 2,700 bytes; tags are found by key
through the index, and their value compared on the row

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-08 00:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_model_tags_key_value", table_name="model_tags")
    op.create_index("ix_model_tags_key_model_id", "model_tags", ["key", "model_id"])
    op.drop_index("ix_version_tags_key_value_version_id", table_name="version_tags")
    op.create_index("ix_version_tags_key_version_id", "version_tags", ["key", "version_id"])


def downgrade() -> None:
    # A value too long for the old index makes this fail on PostgreSQL, as it must.
    op.drop_index("ix_version_tags_key_version_id", table_name="version_tags")
    op.create_index(
        "ix_version_tags_key_value_version_id", "version_tags", ["key", "value", "version_id"]
    )
    op.drop_index("ix_model_tags_key_model_id", table_name="model_tags")
    op.create_index("ix_model_tags_key_value", "model_tags", ["key", "value"])
