"""mlflow run data: params, latest metrics and dataset inputs on runs, and every metric value
logged

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 23:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("mlflow_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("params", _JSON, nullable=True))
        batch_op.add_column(sa.Column("metrics", _JSON, nullable=True))
        batch_op.add_column(sa.Column("inputs", _JSON, nullable=True))
    op.create_table(
        "mlflow_metrics",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("is_nan", sa.Boolean(), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("step", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["mlflow_runs.id"], name=op.f("fk_mlflow_metrics_run_id_mlflow_runs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mlflow_metrics")),
    )
    op.create_index(
        "ix_mlflow_metrics_run_id_key_step", "mlflow_metrics", ["run_id", "key", "step"]
    )


def downgrade() -> None:
    op.drop_index("ix_mlflow_metrics_run_id_key_step", table_name="mlflow_metrics")
    op.drop_table("mlflow_metrics")
    with op.batch_alter_table("mlflow_runs", schema=None) as batch_op:
        batch_op.drop_column("inputs")
        batch_op.drop_column("metrics")
        batch_op.drop_column("params")
