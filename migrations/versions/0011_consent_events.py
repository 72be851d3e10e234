"""consent_events (consent given and withdrawn, with time and version of the text)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 21:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "consent_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "event",
            sa.Enum("given", "withdrawn", name="consent_event", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("consent_version", sa.Integer(), nullable=False),
        sa.Column("at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_consent_events_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_events")),
    )
    with op.batch_alter_table("consent_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_consent_events_member_id"), ["member_id"], unique=False
        )
    # Members who agreed before the history existed: their consent, as far as it is known.
    op.execute(
        "INSERT INTO consent_events (member_id, event, consent_version, at) "
        "SELECT member_id, 'given', consent_version, consent_at FROM profiles"
    )


def downgrade() -> None:
    with op.batch_alter_table("consent_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consent_events_member_id"))
    op.drop_table("consent_events")
