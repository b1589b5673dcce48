"""role grants: a set of roles per principal and namespace (one row per role)

Existing grants are carried over unchanged: each was one role, and is now a set of one.
Downgrading keeps one role per principal and namespace (the one granted first) and one role
per token scope, which can only narrow what a principal or a token may do.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 14:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("role_grants", schema=None) as batch_op:
        batch_op.drop_constraint("uq_role_grants_principal_id_namespace", type_="unique")
        batch_op.create_unique_constraint(
            "uq_role_grants_principal_id_namespace_role", ["principal_id", "namespace", "role"]
        )


def downgrade() -> None:
    grants = sa.table(
        "role_grants",
        sa.column("id", sa.Integer),
        sa.column("principal_id", sa.Integer),
        sa.column("namespace", sa.Text),
    )
    earlier = grants.alias("earlier")
    op.execute(
        grants.delete().where(
            sa.exists().where(
                earlier.c.principal_id == grants.c.principal_id,
                earlier.c.namespace == grants.c.namespace,
                earlier.c.id < grants.c.id,
            )
        )
    )
    _one_role_per_scope()
    with op.batch_alter_table("role_grants", schema=None) as batch_op:
        batch_op.drop_constraint("uq_role_grants_principal_id_namespace_role", type_="unique")
        batch_op.create_unique_constraint(
            "uq_role_grants_principal_id_namespace", ["principal_id", "namespace"]
        )


def _one_role_per_scope() -> None:
    json_type = sa.JSON().with_variant(JSONB(), "postgresql")
    tokens = sa.table("tokens", sa.column("id", sa.Integer), sa.column("scopes", json_type))
    conn = op.get_bind()
    for token_id, scopes in conn.execute(sa.select(tokens.c.id, tokens.c.scopes)).all():
        if not any(isinstance(roles, list) for roles in scopes.values()):
            continue
        narrowed = {ns: r[0] if isinstance(r, list) else r for ns, r in scopes.items()}
        conn.execute(tokens.update().where(tokens.c.id == token_id).values(scopes=narrowed))
