"""holds: delivery_holds (causes a held delivery waits for), time_policies, projects.excluded_since

Revision ID: 0009_holds
Revises: 0005_timekeeping
Create Date: 2026-12-01 02:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import fieldbridge.kit.db

revision: str = "0009_holds"
down_revision: str | Sequence[str] | None = "0005_timekeeping"
branch_labels: str | Sequence[str] | None = None
# delivery_holds references deliveries (0004, a sibling branch): upgrade "heads" must run it first.
depends_on: str | Sequence[str] | None = "0004_delivery"

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = fieldbridge.kit.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "delivery_holds",
        sa.Column("delivery_id", BIG_ID, nullable=False),
        sa.Column("company_id", BIG_ID, nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_delivery_holds_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["deliveries.id"],
            name=op.f("fk_delivery_holds_delivery_id_deliveries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_holds")),
        sa.UniqueConstraint("delivery_id", "key", name=op.f("uq_delivery_holds_delivery_id_key")),
    )
    with op.batch_alter_table("delivery_holds", schema=None) as batch_op:
        batch_op.create_index("ix_delivery_holds_key", ["company_id", "key"], unique=False)
    op.create_table(
        "time_policies",
        sa.Column("company_id", BIG_ID, nullable=False),
        sa.Column("max_days_back", sa.Integer(), nullable=False),
        sa.Column("max_minutes_ahead", sa.Integer(), nullable=False),
        sa.Column("max_shift_hours", sa.Integer(), nullable=False),
        sa.Column("hold_overlaps", sa.Boolean(), nullable=False),
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_time_policies_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_time_policies")),
        sa.UniqueConstraint("company_id", name=op.f("uq_time_policies_company_id")),
    )
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.add_column(sa.Column("excluded_since", WHEN, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.drop_column("excluded_since")
    op.drop_table("time_policies")
    with op.batch_alter_table("delivery_holds", schema=None) as batch_op:
        batch_op.drop_index("ix_delivery_holds_key")
    op.drop_table("delivery_holds")
