"""profiles and group memberships

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "profiles",
        sa.Column("member_id", sa.BigInteger(), nullable=False),
        sa.Column("consent_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("consent_version", sa.Integer(), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=True),
        sa.Column("outside_districts", sa.Boolean(), nullable=False),
        sa.Column("free_time", sa.JSON(), nullable=False),
        sa.Column("contact_frequency", sa.String(length=16), nullable=True),
        sa.Column("intake_started_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("intake_completed_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("intake_reminded_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["district_id"],
            ["districts.id"],
            name=op.f("fk_profiles_district_id_districts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_profiles_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_profiles")),
    )
    op.create_table(
        "group_memberships",
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.BigInteger(), nullable=False),
        sa.Column("joined_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["groups.id"],
            name=op.f("fk_group_memberships_group_id_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_group_memberships_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("group_id", "member_id", name=op.f("pk_group_memberships")),
    )
    with op.batch_alter_table("group_memberships", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_group_memberships_member_id"), ["member_id"], unique=False
        )

    op.create_table(
        "profile_activity_types",
        sa.Column("member_id", sa.BigInteger(), nullable=False),
        sa.Column("activity_type_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["activity_type_id"],
            ["activity_types.id"],
            name=op.f("fk_profile_activity_types_activity_type_id_activity_types"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["profiles.member_id"],
            name=op.f("fk_profile_activity_types_member_id_profiles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "member_id", "activity_type_id", name=op.f("pk_profile_activity_types")
        ),
    )
    op.create_table(
        "profile_topics",
        sa.Column("member_id", sa.BigInteger(), nullable=False),
        sa.Column("topic_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["profiles.member_id"],
            name=op.f("fk_profile_topics_member_id_profiles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["topic_id"],
            ["topics.id"],
            name=op.f("fk_profile_topics_topic_id_topics"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("member_id", "topic_id", name=op.f("pk_profile_topics")),
    )
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.alter_column("first_name", existing_type=sa.VARCHAR(length=64), nullable=True)


def downgrade() -> None:
    # Members who never agreed have no stored name; the old schema insists on one.
    op.execute("UPDATE members SET first_name = '?' WHERE first_name IS NULL")
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.alter_column("first_name", existing_type=sa.VARCHAR(length=64), nullable=False)

    op.drop_table("profile_topics")
    op.drop_table("profile_activity_types")
    with op.batch_alter_table("group_memberships", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_group_memberships_member_id"))

    op.drop_table("group_memberships")
    op.drop_table("profiles")
