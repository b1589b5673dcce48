"""mlflow run versions: the versions registered from each MLflow run, so that a version
registered while its run was still running takes the run's final metrics when it ends

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 23:55:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mlflow_run_versions",
        sa.Column("run_id", sa.Text(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["mlflow_runs.id"], name=op.f("fk_mlflow_run_versions_run_id_mlflow_runs")
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["versions.id"],
            name=op.f("fk_mlflow_run_versions_version_id_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", "version_id", name=op.f("pk_mlflow_run_versions")),
    )
    op.create_index(
        "ix_mlflow_run_versions_version_id", "mlflow_run_versions", ["version_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_mlflow_run_versions_version_id", table_name="mlflow_run_versions")
    op.drop_table("mlflow_run_versions")
