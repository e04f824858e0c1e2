"""budget: per-class usage and pacing of a connection's rate budget

Revision ID: 0023_budget
Revises: 0022_clockin
Create Date: 2026-12-01 08:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023_budget"
down_revision: str | Sequence[str] | None = "0020_safety_out"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("delivery_rate_budgets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("usage", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("delivery_rate_budgets", schema=None) as batch_op:
        batch_op.drop_column("usage")
