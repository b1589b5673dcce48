"""identity (principals, role grants, tokens) and the verifiable audit log

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 08:00:00
"""

from __future__ import annotations

from datetime import UTC

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from cairn.domain.audit import entry_document, entry_leaf_hash

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "principals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_principals")),
        sa.UniqueConstraint("key", name=op.f("uq_principals_key")),
    )
    op.create_table(
        "role_grants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("principal_id", sa.Integer(), nullable=False),
        sa.Column("namespace", sa.Text(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["principal_id"],
            ["principals.id"],
            name=op.f("fk_role_grants_principal_id_principals"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_role_grants")),
        sa.UniqueConstraint(
            "principal_id", "namespace", name=op.f("uq_role_grants_principal_id_namespace")
        ),
    )
    op.create_table(
        "tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_id", sa.Text(), nullable=False),
        sa.Column("principal_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("secret_hash", sa.Text(), nullable=False),
        sa.Column("scopes", _JSON, nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["principal_id"], ["principals.id"], name=op.f("fk_tokens_principal_id_principals")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tokens")),
        sa.UniqueConstraint("token_id", name=op.f("uq_tokens_token_id")),
    )
    with op.batch_alter_table("tokens", schema=None) as batch_op:
        batch_op.create_index("ix_tokens_principal_id", ["principal_id"], unique=False)
    op.create_table(
        "audit_checkpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root", sa.Text(), nullable=False),
        sa.Column("key_id", sa.Text(), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_checkpoints")),
        sa.UniqueConstraint("size", name=op.f("uq_audit_checkpoints_size")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("leaf_hash", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("leaf_index", sa.BigInteger(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_audit_log_leaf_index"), ["leaf_index"])
    _hash_existing_entries()
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.alter_column("leaf_hash", existing_type=sa.Text(), nullable=False)


def _hash_existing_entries() -> None:
    """Entries written before the log was a Merkle tree get their leaf hash now; the
    sequencer places them in the tree, oldest first, like any other unplaced entry."""
    conn = op.get_bind()
    log = sa.table(
        "audit_log",
        sa.column("id", sa.Integer()),
        sa.column("at", sa.DateTime(timezone=True)),
        sa.column("actor", sa.Text()),
        sa.column("action", sa.Text()),
        sa.column("subject", sa.Text()),
        sa.column("payload", _JSON),
        sa.column("request_id", sa.Text()),
        sa.column("leaf_hash", sa.Text()),
    )
    rows = conn.execute(sa.select(log).order_by(log.c.id)).mappings().all()
    for r in rows:
        at = r["at"] if r["at"].tzinfo else r["at"].replace(tzinfo=UTC)
        document = entry_document(
            at=at,
            actor=r["actor"],
            action=r["action"],
            subject=r["subject"],
            payload=r["payload"],
            request_id=r["request_id"],
        )
        query = sa.update(log).where(log.c.id == r["id"])
        conn.execute(query.values(leaf_hash=entry_leaf_hash(document)))


def downgrade() -> None:
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_audit_log_leaf_index"), type_="unique")
        batch_op.drop_column("leaf_index")
        batch_op.drop_column("leaf_hash")
    op.drop_table("audit_checkpoints")
    with op.batch_alter_table("tokens", schema=None) as batch_op:
        batch_op.drop_index("ix_tokens_principal_id")
    op.drop_table("tokens")
    op.drop_table("role_grants")
    op.drop_table("principals")
