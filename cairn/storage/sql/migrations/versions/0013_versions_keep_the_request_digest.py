"""versions: the digest of the request an idempotency key registered

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 14:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing rows keep NULL: their original requests are gone, so their content decides.
    with op.batch_alter_table("versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("request_digest", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("versions", schema=None) as batch_op:
        batch_op.drop_column("request_digest")
