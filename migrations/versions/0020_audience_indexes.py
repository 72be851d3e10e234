"""profile_topics by topic and profiles by Stadtteil indexed: audience previews by topic or
Stadtteil read the chosen members' rows instead of scanning every profile

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-02 04:50:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("profile_topics", schema=None) as batch_op:
        batch_op.create_index(
            "ix_profile_topics_topic_id_member_id", ["topic_id", "member_id"], unique=False
        )
    with op.batch_alter_table("profiles", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_profiles_district_id"), ["district_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("profiles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_profiles_district_id"))
    with op.batch_alter_table("profile_topics", schema=None) as batch_op:
        batch_op.drop_index("ix_profile_topics_topic_id_member_id")
