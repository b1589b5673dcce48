"""oci: manifests served under /v2/ (pushed, and the views built of versions) and their blobs

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 10:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_AT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "oci_manifests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.Text(), nullable=False),
        sa.Column("media_type", sa.Text(), nullable=False),
        sa.Column("artifact_type", sa.Text(), nullable=True),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("annotations", _JSON, nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=True),
        sa.Column("role", sa.Text(), nullable=True),
        sa.Column("created_at", _AT, nullable=False),
        sa.ForeignKeyConstraint(
            ["model_id"], ["models.id"], name=op.f("fk_oci_manifests_model_id_models")
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["versions.id"],
            name=op.f("fk_oci_manifests_version_id_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oci_manifests")),
        sa.UniqueConstraint("model_id", "digest", name=op.f("uq_oci_manifests_model_id_digest")),
        sa.UniqueConstraint("version_id", "role", name=op.f("uq_oci_manifests_version_id_role")),
    )
    with op.batch_alter_table("oci_manifests", schema=None) as batch_op:
        batch_op.create_index(
            "ix_oci_manifests_model_id_subject", ["model_id", "subject"], unique=False
        )
    op.create_table(
        "oci_blob_refs",
        sa.Column("manifest_id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["digest"], ["blobs.digest"], name=op.f("fk_oci_blob_refs_digest_blobs")
        ),
        sa.ForeignKeyConstraint(
            ["manifest_id"],
            ["oci_manifests.id"],
            name=op.f("fk_oci_blob_refs_manifest_id_oci_manifests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("manifest_id", "digest", name=op.f("pk_oci_blob_refs")),
    )
    with op.batch_alter_table("oci_blob_refs", schema=None) as batch_op:
        batch_op.create_index("ix_oci_blob_refs_digest", ["digest"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("oci_blob_refs", schema=None) as batch_op:
        batch_op.drop_index("ix_oci_blob_refs_digest")
    op.drop_table("oci_blob_refs")
    with op.batch_alter_table("oci_manifests", schema=None) as batch_op:
        batch_op.drop_index("ix_oci_manifests_model_id_subject")
    op.drop_table("oci_manifests")
