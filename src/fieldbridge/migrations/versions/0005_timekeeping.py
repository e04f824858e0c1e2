"""timekeeping: clock_shifts, clock_allocations, project_time_settings

Revision ID: 0005_timekeeping
Revises: 0003_procore_sync
Create Date: 2026-11-26 03:50:08.188320
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import fieldbridge.kit.db

revision: str = "0005_timekeeping"
down_revision: str | Sequence[str] | None = "0003_procore_sync"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "project_time_settings",
        sa.Column("company_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("project_id", sa.BigInteger(), nullable=False),
        sa.Column("time_entry_mode", sa.String(length=16), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("radius_m", sa.Integer(), nullable=False),
        sa.Column("geofence_mode", sa.String(length=8), nullable=False),
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("created_at", fieldbridge.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", fieldbridge.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_project_time_settings_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project_time_settings")),
        sa.UniqueConstraint(
            "company_id", "project_id", name=op.f("uq_project_time_settings_company_id_project_id")
        ),
    )
    op.create_table(
        "clock_shifts",
        sa.Column("company_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("clock_in_id", sa.String(length=64), nullable=False),
        sa.Column("worker_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("clocked_in_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("project_id", sa.BigInteger(), nullable=False),
        sa.Column("milestone_id", sa.BigInteger(), nullable=False),
        sa.Column("place", sa.String(length=400), nullable=False),
        sa.Column("work_date", sa.Date(), nullable=False),
        sa.Column("started_at", fieldbridge.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", fieldbridge.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("break_minutes", sa.Integer(), nullable=False),
        sa.Column("worked_centihours", sa.Integer(), nullable=True),
        sa.Column("injured", sa.Boolean(), nullable=True),
        sa.Column("clock_out_id", sa.String(length=64), nullable=True),
        sa.Column("clocked_out_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("geofence_note", sa.Text(), nullable=True),
        sa.Column("connection_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("export_subjects", sa.JSON(), nullable=False),
        sa.Column("corrected_at", fieldbridge.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("corrected_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("correction_note", sa.Text(), nullable=True),
        sa.Column("approved_at", fieldbridge.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("approved_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("created_at", fieldbridge.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", fieldbridge.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["approved_by_id"],
            ["users.id"],
            name=op.f("fk_clock_shifts_approved_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["clocked_in_by_id"],
            ["workers.id"],
            name=op.f("fk_clock_shifts_clocked_in_by_id_workers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["clocked_out_by_id"],
            ["workers.id"],
            name=op.f("fk_clock_shifts_clocked_out_by_id_workers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_clock_shifts_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["connections.id"],
            name=op.f("fk_clock_shifts_connection_id_connections"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["corrected_by_id"],
            ["users.id"],
            name=op.f("fk_clock_shifts_corrected_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["worker_id"], ["workers.id"], name=op.f("fk_clock_shifts_worker_id_workers"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clock_shifts")),
        sa.UniqueConstraint("company_id", "client_id", name=op.f("uq_clock_shifts_company_id_client_id")),
    )
    with op.batch_alter_table("clock_shifts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_clock_shifts_clock_in_id"), ["clock_in_id"], unique=False)
        batch_op.create_index("ix_clock_shifts_day", ["company_id", "work_date"], unique=False)
        batch_op.create_index(
            "ix_clock_shifts_one_open",
            ["company_id", "worker_id"],
            unique=True,
            sqlite_where=sa.text("ended_at IS NULL"),
            postgresql_where=sa.text("ended_at IS NULL"),
        )
        batch_op.create_index(
            "ix_clock_shifts_worker", ["company_id", "worker_id", "started_at"], unique=False
        )

    op.create_table(
        "clock_allocations",
        sa.Column("company_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("shift_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("milestone_id", sa.BigInteger(), nullable=False),
        sa.Column("centihours", sa.Integer(), nullable=False),
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_clock_allocations_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["shift_id"],
            ["clock_shifts.id"],
            name=op.f("fk_clock_allocations_shift_id_clock_shifts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clock_allocations")),
        sa.UniqueConstraint("shift_id", "position", name=op.f("uq_clock_allocations_shift_id_position")),
    )
    with op.batch_alter_table("clock_allocations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_clock_allocations_company_id"), ["company_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_clock_allocations_milestone_id"), ["milestone_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("clock_allocations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_clock_allocations_milestone_id"))
        batch_op.drop_index(batch_op.f("ix_clock_allocations_company_id"))

    op.drop_table("clock_allocations")
    with op.batch_alter_table("clock_shifts", schema=None) as batch_op:
        batch_op.drop_index("ix_clock_shifts_worker")
        batch_op.drop_index(
            "ix_clock_shifts_one_open",
            sqlite_where=sa.text("ended_at IS NULL"),
            postgresql_where=sa.text("ended_at IS NULL"),
        )
        batch_op.drop_index("ix_clock_shifts_day")
        batch_op.drop_index(batch_op.f("ix_clock_shifts_clock_in_id"))

    op.drop_table("clock_shifts")
    op.drop_table("project_time_settings")
