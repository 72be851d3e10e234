"""broadcasts: enqueue progress (recipients put into the outbox in batches) and a unique key per
draft (a double "Send" creates one broadcast); an index for each group's newest member

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 01:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("broadcasts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("enqueued_through", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("draft_key", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_broadcasts_draft_key"), ["draft_key"])
    # Matching reads each group's newest member: one index lookup per group instead of a
    # GROUP BY over every membership.
    op.create_index(
        "ix_group_memberships_group_id_joined_at",
        "group_memberships",
        ["group_id", "joined_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_group_memberships_group_id_joined_at", table_name="group_memberships")
    with op.batch_alter_table("broadcasts", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_broadcasts_draft_key"), type_="unique")
        batch_op.drop_column("draft_key")
        batch_op.drop_column("enqueued_through")
