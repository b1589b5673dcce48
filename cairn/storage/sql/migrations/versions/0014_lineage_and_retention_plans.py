"""lineage (the parents versions declare) and retention's planned deletions

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 15:05:00
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

from cairn.domain.names import canonical_key
from cairn.domain.references import parse_reference
from cairn.errors import InvalidReference

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_AT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "version_parents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("ref", sa.Text(), nullable=False),
        sa.Column("relation", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["versions.id"],
            name=op.f("fk_version_parents_parent_id_versions"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["versions.id"],
            name=op.f("fk_version_parents_version_id_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_version_parents")),
    )
    with op.batch_alter_table("version_parents", schema=None) as batch_op:
        batch_op.create_index("ix_version_parents_parent_id", ["parent_id"], unique=False)
        batch_op.create_index("ix_version_parents_version_id", ["version_id"], unique=False)
    op.create_table(
        "retention_plans",
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("planned_at", _AT, nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["versions.id"],
            name=op.f("fk_retention_plans_version_id_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("version_id", name=op.f("pk_retention_plans")),
    )
    _declared_parents(op.get_bind())


def _declared_parents(conn: sa.Connection) -> None:
    """The parents versions registered so far declare, resolved by number or by the alias's
    present target (what registration does from now on); others are kept unresolved."""
    rows: list[dict[str, Any]] = []
    for version_id, provenance in conn.execute(sa.text("SELECT id, provenance FROM versions")):
        if isinstance(provenance, str):  # SQLite hands JSON back as text to a text query
            provenance = json.loads(provenance)
        parents = provenance.get("parents") if isinstance(provenance, dict) else None
        for parent in parents if isinstance(parents, list) else []:
            ref = str(parent.get("ref", ""))
            rows.append(
                {
                    "version_id": version_id,
                    "parent_id": _resolve(conn, ref),
                    "ref": ref,
                    "relation": str(parent.get("relation", "derived_from")),
                }
            )
    if rows:
        conn.execute(
            sa.text(
                "INSERT INTO version_parents (version_id, parent_id, ref, relation) "
                "VALUES (:version_id, :parent_id, :ref, :relation)"
            ),
            rows,
        )


def _resolve(conn: sa.Connection, raw: str) -> int | None:
    try:
        ref = parse_reference(raw)
    except InvalidReference:
        return None
    model = conn.execute(
        sa.text(
            "SELECT models.id FROM models JOIN namespaces ON namespaces.id = models.namespace_id "
            "WHERE namespaces.key = :ns AND models.key = :model"
        ),
        {"ns": canonical_key(ref.namespace), "model": canonical_key(ref.model)},
    ).scalar()
    if model is None:
        return None
    if ref.number is not None:
        if ref.number >= 2**31:
            return None
        query = "SELECT id FROM versions WHERE model_id = :model AND number = :n"
        found = conn.execute(sa.text(query), {"model": model, "n": ref.number}).scalar()
    elif ref.alias is not None:
        query = "SELECT version_id FROM aliases WHERE model_id = :model AND name = :alias"
        found = conn.execute(sa.text(query), {"model": model, "alias": ref.alias}).scalar()
    else:
        query = "SELECT max(id) FROM versions WHERE model_id = :model"
        found = conn.execute(sa.text(query), {"model": model}).scalar()
    return None if found is None else int(found)


def downgrade() -> None:
    op.drop_table("retention_plans")
    with op.batch_alter_table("version_parents", schema=None) as batch_op:
        batch_op.drop_index("ix_version_parents_version_id")
        batch_op.drop_index("ix_version_parents_parent_id")
    op.drop_table("version_parents")
