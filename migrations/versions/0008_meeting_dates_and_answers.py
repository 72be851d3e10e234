"""meetings: dates of a series with status, answers with guests and waiting list, posts, pauses,
hosts' choices, calendar feeds, proposals, handovers; deliveries get a dedupe key

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 12:32:21.317323
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "calendar_feeds",
        sa.Column("member_id", sa.BigInteger(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_calendar_feeds_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_calendar_feeds")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_calendar_feeds_token_hash")),
    )
    op.create_table(
        "host_preferences",
        sa.Column("member_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "notice",
            sa.Enum(
                "each", "daily", "day_before", name="host_notice", native_enum=False, length=16
            ),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_host_preferences_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_host_preferences")),
    )
    op.create_table(
        "group_pauses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["groups.id"],
            name=op.f("fk_group_pauses_group_id_groups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_pauses")),
    )
    with op.batch_alter_table("group_pauses", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_group_pauses_group_id"), ["group_id"], unique=False)

    op.create_table(
        "group_proposals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("proposer_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=True),
        sa.Column("place", sa.String(length=200), nullable=True),
        sa.Column("rule", sa.String(length=200), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "approved",
                "declined",
                name="proposal_status",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("group_id", sa.Integer(), nullable=True),
        sa.Column("decided_by", sa.BigInteger(), nullable=True),
        sa.Column("decided_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["district_id"],
            ["districts.id"],
            name=op.f("fk_group_proposals_district_id_districts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["groups.id"],
            name=op.f("fk_group_proposals_group_id_groups"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["proposer_id"],
            ["members.id"],
            name=op.f("fk_group_proposals_proposer_id_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_proposals")),
    )
    with op.batch_alter_table("group_proposals", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_group_proposals_proposer_id"), ["proposer_id"], unique=False
        )

    op.create_table(
        "host_handovers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("from_member_id", sa.BigInteger(), nullable=False),
        sa.Column("to_member_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending", "done", "declined", name="handover_status", native_enum=False, length=16
            ),
            nullable=False,
        ),
        sa.Column("decided_by", sa.BigInteger(), nullable=True),
        sa.Column("decided_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["from_member_id"],
            ["members.id"],
            name=op.f("fk_host_handovers_from_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["groups.id"],
            name=op.f("fk_host_handovers_group_id_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["to_member_id"],
            ["members.id"],
            name=op.f("fk_host_handovers_to_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_host_handovers")),
    )
    with op.batch_alter_table("host_handovers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_host_handovers_group_id"), ["group_id"], unique=False)

    op.create_table(
        "meeting_posts",
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("pinned", sa.Boolean(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("shown_revision", sa.Integer(), nullable=False),
        sa.Column("edited_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meetings.id"],
            name=op.f("fk_meeting_posts_meeting_id_meetings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("meeting_id", "chat_id", name=op.f("pk_meeting_posts")),
    )
    with op.batch_alter_table("attendances", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "answer",
                sa.Enum("yes", "maybe", "no", name="rsvp_answer", native_enum=False, length=16),
                nullable=False,
                server_default="yes",
            )
        )
        batch_op.add_column(sa.Column("guests", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(
            sa.Column("waitlisted", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("queued_at", models.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("host_notified", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch_op.create_index(
            "ix_attendances_meeting_answer", ["meeting_id", "answer"], unique=False
        )

    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dedupe_key", sa.String(length=128), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_deliveries_dedupe_key"), ["dedupe_key"])

    with op.batch_alter_table("groups", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rrule", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("series_ends_on", sa.Date(), nullable=True))

    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("occurrence", models.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("one_off", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column(
                "status",
                sa.Enum(
                    "scheduled", "cancelled", name="meeting_status", native_enum=False, length=16
                ),
                nullable=False,
                server_default="scheduled",
            )
        )
        batch_op.add_column(
            sa.Column(
                "cancel_reason",
                sa.Enum(
                    "cancelled",
                    "pause",
                    "series_ended",
                    "schedule_changed",
                    name="cancel_reason",
                    native_enum=False,
                ),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("capacity", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("note", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("place", sa.String(length=200), nullable=True))
        batch_op.add_column(
            sa.Column("changed_at", models.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.drop_constraint(batch_op.f("uq_meetings_group_id"), type_="unique")
    # Meetings so far were dates of their group's rule, never moved: the date is the start.
    op.execute("UPDATE meetings SET occurrence = starts_at")
    op.execute("UPDATE attendances SET queued_at = answered_at")
    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.alter_column(
            "occurrence", existing_type=models.base.UTCDateTime(timezone=True), nullable=False
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_meetings_group_id"), ["group_id", "occurrence"]
        )

    with op.batch_alter_table("profiles", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("reminder_offsets", sa.JSON(), nullable=False, server_default="[1440, 120]")
        )

    with op.batch_alter_table("served_chats", schema=None) as batch_op:
        batch_op.add_column(sa.Column("invite_link", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("served_chats", schema=None) as batch_op:
        batch_op.drop_column("invite_link")

    with op.batch_alter_table("profiles", schema=None) as batch_op:
        batch_op.drop_column("reminder_offsets")

    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_meetings_group_id"), type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_meetings_group_id"), ["group_id", "starts_at"]
        )
        batch_op.drop_column("changed_at")
        batch_op.drop_column("place")
        batch_op.drop_column("note")
        batch_op.drop_column("capacity")
        batch_op.drop_column("cancel_reason")
        batch_op.drop_column("status")
        batch_op.drop_column("one_off")
        batch_op.drop_column("occurrence")

    with op.batch_alter_table("groups", schema=None) as batch_op:
        batch_op.drop_column("series_ends_on")
        batch_op.drop_column("rrule")

    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_deliveries_dedupe_key"), type_="unique")
        batch_op.drop_column("dedupe_key")

    with op.batch_alter_table("attendances", schema=None) as batch_op:
        batch_op.drop_index("ix_attendances_meeting_answer")
        batch_op.drop_column("host_notified")
        batch_op.drop_column("queued_at")
        batch_op.drop_column("waitlisted")
        batch_op.drop_column("guests")
        batch_op.drop_column("answer")

    op.drop_table("meeting_posts")
    with op.batch_alter_table("host_handovers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_host_handovers_group_id"))

    op.drop_table("host_handovers")
    with op.batch_alter_table("group_proposals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_group_proposals_proposer_id"))

    op.drop_table("group_proposals")
    with op.batch_alter_table("group_pauses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_group_pauses_group_id"))

    op.drop_table("group_pauses")
    op.drop_table("host_preferences")
    op.drop_table("calendar_feeds")
