"""support: Procore people whose match an admin must confirm (suggested worker, conflict)

Revision ID: 0011_support
Revises: 0005_timekeeping
Create Date: 2026-12-01 02:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_support"
down_revision: str | Sequence[str] | None = "0010_dates"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("procore_people", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "suggested_worker_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
            )
        )
        batch_op.add_column(sa.Column("conflict", sa.String(length=300), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_procore_people_suggested_worker_id_workers"),
            "workers",
            ["suggested_worker_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("procore_people", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_procore_people_suggested_worker_id_workers"), type_="foreignkey"
        )
        batch_op.drop_column("conflict")
        batch_op.drop_column("suggested_worker_id")
