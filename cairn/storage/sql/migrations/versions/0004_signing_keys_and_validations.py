"""namespace signing keys, require_signature, and version validations

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 08:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("namespaces", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("require_signature", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_table(
        "namespace_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("namespace_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("public_key", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.Text(), nullable=False),
        sa.Column("added_by", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["namespace_id"],
            ["namespaces.id"],
            name=op.f("fk_namespace_keys_namespace_id_namespaces"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_namespace_keys")),
        sa.UniqueConstraint(
            "namespace_id", "fingerprint", name=op.f("uq_namespace_keys_namespace_id_fingerprint")
        ),
        sa.UniqueConstraint(
            "namespace_id", "name", name=op.f("uq_namespace_keys_namespace_id_name")
        ),
    )
    op.create_table(
        "validations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("details", _JSON, nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["versions.id"],
            name=op.f("fk_validations_version_id_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_validations")),
    )
    with op.batch_alter_table("validations", schema=None) as batch_op:
        batch_op.create_index("ix_validations_status", ["status"], unique=False)
        batch_op.create_index(
            "ix_validations_version_id_name", ["version_id", "name"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("validations", schema=None) as batch_op:
        batch_op.drop_index("ix_validations_version_id_name")
        batch_op.drop_index("ix_validations_status")
    op.drop_table("validations")
    op.drop_table("namespace_keys")
    with op.batch_alter_table("namespaces", schema=None) as batch_op:
        batch_op.drop_column("require_signature")
