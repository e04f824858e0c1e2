"""deliveries: an index by company and subject (a shift's ledger rows on every clock-out)

Revision ID: 0024_deliveries_by_subject
Revises: 0023_budget
Create Date: 2026-12-01 15:10:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0024_deliveries_by_subject"
down_revision: str | Sequence[str] | None = "0023_budget"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_deliveries_company_subject", "deliveries", ["company_id", "subject"])


def downgrade() -> None:
    op.drop_index("ix_deliveries_company_subject", table_name="deliveries")
