"""mlflow artifacts: indexed by experiment, so listing a folder reads one experiment's files

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26 11:45:00
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("mlflow_artifacts", schema=None) as batch_op:
        batch_op.create_index("ix_mlflow_artifacts_experiment_id", ["experiment_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("mlflow_artifacts", schema=None) as batch_op:
        batch_op.drop_index("ix_mlflow_artifacts_experiment_id")
