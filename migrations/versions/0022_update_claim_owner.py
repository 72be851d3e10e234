"""processed_updates.owner and done_at: an update claimed by a process killed while handling
it is taken over on redelivery instead of skipped as a duplicate

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-02 09:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from models.base import UTCDateTime

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("processed_updates", schema=None) as batch_op:
        batch_op.add_column(sa.Column("owner", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("done_at", UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("processed_updates", schema=None) as batch_op:
        batch_op.drop_column("done_at")
        batch_op.drop_column("owner")
