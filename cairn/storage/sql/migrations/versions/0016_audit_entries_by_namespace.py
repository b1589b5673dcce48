"""audit entries by namespace: each entry names the namespace whose readers may read it

Entries already written get theirs from their action and subject, by the rule of
``cairn.domain.audit.entry_namespace`` as it stood when this migration was written (copied
here, so that the migration means the same whatever the rule becomes). MLflow's tracking
entries name no namespace in their subject; those written before stay with global admins.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 15:30:00
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_GLOBAL_FAMILIES = frozenset(
    {"principal", "token", "role", "webhook", "gc", "upload", "audit", "mlflow"}
)
_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,127}")
_SEPARATORS = re.compile(r"[-_.]+")
_HEAD = re.compile(r"[^/:@]+")
_BATCH = 1000


def upgrade() -> None:
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("namespace", sa.Text(), nullable=True))
        batch_op.create_index(
            "ix_audit_log_namespace_leaf_index", ["namespace", "leaf_index"], unique=False
        )
    _backfill()


def _namespace(action: str, subject: str) -> str | None:
    if action.partition(".")[0] in _GLOBAL_FAMILIES or action == "namespace.create":
        return None
    head = _HEAD.match(subject)
    if head is None:
        return None
    name = head.group().lower() if head.group().isascii() else head.group()
    return _SEPARATORS.sub("-", name) if _NAME.fullmatch(name) else None


def _backfill() -> None:
    log = sa.table(
        "audit_log",
        sa.column("id", sa.Integer()),
        sa.column("action", sa.Text()),
        sa.column("subject", sa.Text()),
        sa.column("namespace", sa.Text()),
    )
    conn = op.get_bind()
    after = 0
    while True:
        rows = conn.execute(
            sa.select(log.c.id, log.c.action, log.c.subject)
            .where(log.c.id > after)
            .order_by(log.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            return
        updates = [
            {"entry_id": row.id, "ns": ns}
            for row in rows
            if (ns := _namespace(row.action, row.subject)) is not None
        ]
        if updates:
            conn.execute(
                sa.update(log)
                .where(log.c.id == sa.bindparam("entry_id"))
                .values(namespace=sa.bindparam("ns")),
                updates,
            )
        after = rows[-1].id


def downgrade() -> None:
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_log_namespace_leaf_index")
        batch_op.drop_column("namespace")
