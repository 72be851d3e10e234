"""broadcasts and opt-outs

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "broadcasts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.BigInteger(), nullable=False),
        sa.Column("source_chat_id", sa.BigInteger(), nullable=False),
        sa.Column("source_message_id", sa.BigInteger(), nullable=False),
        sa.Column("content_type", sa.String(length=16), nullable=False),
        sa.Column("summary", sa.String(length=120), nullable=False),
        sa.Column(
            "category",
            sa.Enum(
                "announcements",
                "reminders",
                "calls_for_help",
                name="broadcast_category",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("audience", sa.JSON(), nullable=False),
        sa.Column("scheduled_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "scheduled",
                "sending",
                "done",
                "cancelled",
                name="broadcast_status",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("opted_out", sa.Integer(), nullable=False),
        sa.Column("unreachable", sa.Integer(), nullable=False),
        sa.Column("progress_chat_id", sa.BigInteger(), nullable=True),
        sa.Column("progress_message_id", sa.BigInteger(), nullable=True),
        sa.Column("progress_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("cancelled_by", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_broadcasts")),
    )
    with op.batch_alter_table("broadcasts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_broadcasts_author_id"), ["author_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_broadcasts_scheduled_at"), ["scheduled_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_broadcasts_status"), ["status"], unique=False)

    op.create_table(
        "opt_outs",
        sa.Column("member_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "category",
            sa.Enum(
                "announcements",
                "reminders",
                "calls_for_help",
                name="opt_out_category",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_opt_outs_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("member_id", "category", name=op.f("pk_opt_outs")),
    )


def downgrade() -> None:
    op.drop_table("opt_outs")
    with op.batch_alter_table("broadcasts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_broadcasts_status"))
        batch_op.drop_index(batch_op.f("ix_broadcasts_scheduled_at"))
        batch_op.drop_index(batch_op.f("ix_broadcasts_author_id"))

    op.drop_table("broadcasts")
