"""check_ins (the re-engagement messages to quiet members and their reactions), call_consents
(consent to be phoned, with the member's own number), members.paused_until ("Pause bis ...")

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02 04:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "check_ins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.BigInteger(), nullable=False),
        sa.Column("quarter", sa.String(length=8), nullable=False),
        sa.Column("queued_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "reaction",
            sa.Enum(
                "show",
                "later",
                "fewer",
                name="check_in_reaction",
                native_enum=False,
                length=16,
            ),
            nullable=True,
        ),
        sa.Column("reacted_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["profiles.member_id"],
            name=op.f("fk_check_ins_member_id_profiles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_check_ins")),
        sa.UniqueConstraint("member_id", "quarter", name=op.f("uq_check_ins_member_id")),
    )
    with op.batch_alter_table("check_ins", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_check_ins_member_id"), ["member_id"], unique=False)

    op.create_table(
        "call_consents",
        sa.Column("member_id", sa.BigInteger(), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("consented_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["profiles.member_id"],
            name=op.f("fk_call_consents_member_id_profiles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_call_consents")),
    )

    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("paused_until", models.base.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_column("paused_until")
    op.drop_table("call_consents")
    with op.batch_alter_table("check_ins", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_check_ins_member_id"))
    op.drop_table("check_ins")
