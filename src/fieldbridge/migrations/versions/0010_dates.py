"""dates: the time zone a shift is dated and shown in

Revision ID: 0010_dates
Revises: 0005_timekeeping
Create Date: 2026-12-01 02:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_dates"
down_revision: str | Sequence[str] | None = "0009_holds"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("clock_shifts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("time_zone", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("clock_shifts", schema=None) as batch_op:
        batch_op.drop_column("time_zone")
