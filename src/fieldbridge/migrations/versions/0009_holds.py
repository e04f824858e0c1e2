"""holds: delivery_holds (causes a held delivery waits for), time_policies, projects.excluded_since

Revision ID: 0009_holds
Revises: 0005_timekeeping
Create Date: 2026-12-01 02:50:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import fieldbridge.kit.db

revision: str = "0009_holds"
down_revision: str | Sequence[str] | None = ("0006_sign_in", "0004_delivery")
branch_labels: str | Sequence[str] | None = None
# Joins the two branches (0004 delivery, 0006 sign-in): delivery_holds references deliveries.
depends_on: str | Sequence[str] | None = None

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

    _hold_rows_refused_for_want_of_a_person()


def _hold_rows_refused_for_want_of_a_person() -> None:
    """Before holds, a create for a worker with no Procore person was refused before any call
    (`blocked_reason` in its payload) and resent when the worker was linked. Such rows become
    held for the person, so linking the worker still sends them."""
    deliveries = sa.table(
        "deliveries",
        sa.column("id", BIG_ID),
        sa.column("company_id", BIG_ID),
        sa.column("kind", sa.String()),
        sa.column("status", sa.String()),
        sa.column("worker_id", BIG_ID),
        sa.column("payload", sa.JSON()),
        sa.column("error_class", sa.String()),
        sa.column("reason", sa.Text()),
    )
    holds = sa.table(
        "delivery_holds",
        sa.column("delivery_id", BIG_ID),
        sa.column("company_id", BIG_ID),
        sa.column("key", sa.String()),
        sa.column("reason", sa.Text()),
        sa.column("created_at", WHEN),
    )
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(
            deliveries.c.id, deliveries.c.company_id, deliveries.c.worker_id, deliveries.c.payload
        ).where(
            deliveries.c.kind == "procore.timecard.create",
            deliveries.c.status == "rejected",
            deliveries.c.worker_id.is_not(None),
        )
    ).all()
    now = datetime.now(UTC)
    for row_id, company_id, worker_id, payload in rows:
        if not isinstance(payload, dict) or not payload.get("blocked_reason"):
            continue
        reason = str(payload.pop("blocked_reason"))
        bind.execute(
            deliveries.update()
            .where(deliveries.c.id == row_id)
            .values(status="held", error_class="held", reason=reason, payload=payload)
        )
        bind.execute(
            holds.insert().values(
                delivery_id=row_id,
                company_id=company_id,
                key=f"person:{worker_id}",
                reason=reason,
                created_at=now,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.drop_column("excluded_since")
    op.execute("UPDATE deliveries SET status = 'cancelled', error_class = NULL WHERE status = 'held'")
    op.drop_table("time_policies")
    with op.batch_alter_table("delivery_holds", schema=None) as batch_op:
        batch_op.drop_index("ix_delivery_holds_key")
    op.drop_table("delivery_holds")
