"""erasure: members.departed_at (retention of departed members), broadcasts may lose their
author, memorial dates keep erased members' yes answers as a count

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 21:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("departed_at", models.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(batch_op.f("ix_members_departed_at"), ["departed_at"], unique=False)
    # Who blocked the bot before this revision counts as departed from now on: retention starts
    # with the upgrade rather than never.
    members = sa.table("members", sa.column("reachable", sa.Boolean()), sa.column("departed_at"))
    op.execute(
        members.update()
        .where(members.c.reachable.is_(sa.false()))
        .values(departed_at=sa.func.current_timestamp())
    )

    with op.batch_alter_table("broadcasts", schema=None) as batch_op:
        batch_op.alter_column("author_id", existing_type=sa.BigInteger(), nullable=True)
        batch_op.alter_column("source_chat_id", existing_type=sa.BigInteger(), nullable=True)

    with op.batch_alter_table("memorial_dates", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("erased_yes", sa.Integer(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("memorial_dates", schema=None) as batch_op:
        batch_op.drop_column("erased_yes")

    # Broadcasts whose author erased their data have nobody to name any more; they go.
    op.execute(
        "DELETE FROM deliveries WHERE batch_id IN (SELECT id FROM broadcasts WHERE "
        "author_id IS NULL OR source_chat_id IS NULL)"
    )
    op.execute("DELETE FROM broadcasts WHERE author_id IS NULL OR source_chat_id IS NULL")
    with op.batch_alter_table("broadcasts", schema=None) as batch_op:
        batch_op.alter_column("source_chat_id", existing_type=sa.BigInteger(), nullable=False)
        batch_op.alter_column("author_id", existing_type=sa.BigInteger(), nullable=False)

    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_members_departed_at"))
        batch_op.drop_column("departed_at")
