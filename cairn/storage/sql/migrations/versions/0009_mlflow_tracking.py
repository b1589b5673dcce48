"""mlflow tracking: experiments, runs, logged models and their artifact files

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26 10:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_AT = sa.DateTime(timezone=True)


def _experiment_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["experiment_id"],
        ["mlflow_experiments.id"],
        name=op.f(f"fk_{table}_experiment_id_mlflow_experiments"),
    )


def upgrade() -> None:
    op.create_table(
        "mlflow_experiments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("lifecycle_stage", sa.Text(), nullable=False),
        sa.Column("tags", _JSON, nullable=False),
        sa.Column("created_at", _AT, nullable=False),
        sa.Column("updated_at", _AT, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mlflow_experiments")),
        sa.UniqueConstraint("name", name=op.f("uq_mlflow_experiments_name")),
    )
    op.create_table(
        "mlflow_runs",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("experiment_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("start_time", sa.BigInteger(), nullable=False),
        sa.Column("end_time", sa.BigInteger(), nullable=True),
        sa.Column("lifecycle_stage", sa.Text(), nullable=False),
        sa.Column("tags", _JSON, nullable=False),
        sa.Column("outputs", _JSON, nullable=False),
        _experiment_fk("mlflow_runs"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mlflow_runs")),
    )
    with op.batch_alter_table("mlflow_runs", schema=None) as batch_op:
        batch_op.create_index("ix_mlflow_runs_experiment_id", ["experiment_id"], unique=False)
    op.create_table(
        "mlflow_logged_models",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("experiment_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("source_run_id", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("model_type", sa.Text(), nullable=False),
        sa.Column("tags", _JSON, nullable=False),
        sa.Column("params", _JSON, nullable=False),
        sa.Column("created_at", _AT, nullable=False),
        sa.Column("updated_at", _AT, nullable=False),
        _experiment_fk("mlflow_logged_models"),
        sa.ForeignKeyConstraint(
            ["source_run_id"],
            ["mlflow_runs.id"],
            name=op.f("fk_mlflow_logged_models_source_run_id_mlflow_runs"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mlflow_logged_models")),
    )
    with op.batch_alter_table("mlflow_logged_models", schema=None) as batch_op:
        batch_op.create_index(
            "ix_mlflow_logged_models_experiment_id_name", ["experiment_id", "name"], unique=False
        )
    op.create_table(
        "mlflow_artifacts",
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("experiment_id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("created_at", _AT, nullable=False),
        _experiment_fk("mlflow_artifacts"),
        sa.ForeignKeyConstraint(
            ["digest"], ["blobs.digest"], name=op.f("fk_mlflow_artifacts_digest_blobs")
        ),
        sa.PrimaryKeyConstraint("path", name=op.f("pk_mlflow_artifacts")),
    )
    with op.batch_alter_table("mlflow_artifacts", schema=None) as batch_op:
        batch_op.create_index("ix_mlflow_artifacts_digest", ["digest"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("mlflow_artifacts", schema=None) as batch_op:
        batch_op.drop_index("ix_mlflow_artifacts_digest")
    op.drop_table("mlflow_artifacts")
    with op.batch_alter_table("mlflow_logged_models", schema=None) as batch_op:
        batch_op.drop_index("ix_mlflow_logged_models_experiment_id_name")
    op.drop_table("mlflow_logged_models")
    with op.batch_alter_table("mlflow_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_mlflow_runs_experiment_id")
    op.drop_table("mlflow_runs")
    op.drop_table("mlflow_experiments")
