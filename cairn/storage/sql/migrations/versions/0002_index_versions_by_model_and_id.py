"""index versions by model and id

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 06:09:29.511490
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("versions", schema=None) as batch_op:
        batch_op.create_index("ix_versions_model_id_id", ["model_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("versions", schema=None) as batch_op:
        batch_op.drop_index("ix_versions_model_id_id")
