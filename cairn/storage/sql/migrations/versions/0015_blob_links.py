"""blob links: which namespaces hold which blobs; upload sessions belong to a namespace

Every namespace is linked to the blobs its versions' files and its OCI manifests name. Blobs
uploaded but not yet registered belong to no namespace after the upgrade: a client that
registers them uploads them again (``POST …/blobs/missing`` lists them), which links them.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 14:30:00
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_AT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "blob_links",
        sa.Column("namespace_id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.Text(), nullable=False),
        sa.Column("created_at", _AT, nullable=False),
        sa.ForeignKeyConstraint(
            ["digest"],
            ["blobs.digest"],
            name=op.f("fk_blob_links_digest_blobs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["namespace_id"],
            ["namespaces.id"],
            name=op.f("fk_blob_links_namespace_id_namespaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("namespace_id", "digest", name=op.f("pk_blob_links")),
    )
    with op.batch_alter_table("blob_links", schema=None) as batch_op:
        batch_op.create_index("ix_blob_links_digest", ["digest"], unique=False)
    with op.batch_alter_table("upload_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("namespace_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_upload_sessions_namespace_id_namespaces"),
            "namespaces",
            ["namespace_id"],
            ["id"],
            ondelete="CASCADE",
        )
    _link_existing()


def _link_existing() -> None:
    links = sa.table(
        "blob_links", sa.column("namespace_id"), sa.column("digest"), sa.column("created_at")
    )
    files = sa.table("version_files", sa.column("version_id"), sa.column("digest"))
    versions = sa.table("versions", sa.column("id"), sa.column("model_id"))
    models = sa.table("models", sa.column("id"), sa.column("namespace_id"))
    refs = sa.table("oci_blob_refs", sa.column("manifest_id"), sa.column("digest"))
    manifests = sa.table("oci_manifests", sa.column("id"), sa.column("model_id"))
    now = sa.literal(datetime.now(UTC), _AT)
    by_versions = (
        sa.select(models.c.namespace_id, files.c.digest, now)
        .select_from(files)
        .join(versions, versions.c.id == files.c.version_id)
        .join(models, models.c.id == versions.c.model_id)
    )
    by_manifests = (
        sa.select(models.c.namespace_id, refs.c.digest, now)
        .select_from(refs)
        .join(manifests, manifests.c.id == refs.c.manifest_id)
        .join(models, models.c.id == manifests.c.model_id)
    )
    both = sa.union(by_versions, by_manifests)  # UNION: each pair once
    op.execute(links.insert().from_select(["namespace_id", "digest", "created_at"], both))


def downgrade() -> None:
    with op.batch_alter_table("upload_sessions", schema=None) as batch_op:
        batch_op.drop_constraint(
            op.f("fk_upload_sessions_namespace_id_namespaces"), type_="foreignkey"
        )
        batch_op.drop_column("namespace_id")
    with op.batch_alter_table("blob_links", schema=None) as batch_op:
        batch_op.drop_index("ix_blob_links_digest")
    op.drop_table("blob_links")
