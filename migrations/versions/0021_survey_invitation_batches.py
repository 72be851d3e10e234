"""surveys.invited and surveys.invited_through: a survey's invitations are queued in batches
by a job (as broadcasts are) instead of all at once in the organiser's update

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-02 08:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("surveys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("invited", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("invited_through", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("surveys", schema=None) as batch_op:
        batch_op.drop_column("invited_through")
        batch_op.drop_column("invited")
