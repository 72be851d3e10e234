"""chat_join_days: joins to the KV's group chats counted per chat and day (no member ids)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 04:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "chat_join_days",
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("joins", sa.Integer(), server_default="0", nullable=False),
        sa.Column("announced", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("chat_id", "day", name=op.f("pk_chat_join_days")),
    )
    with op.batch_alter_table("chat_join_days", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_chat_join_days_day"), ["day"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("chat_join_days", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_chat_join_days_day"))
    op.drop_table("chat_join_days")
