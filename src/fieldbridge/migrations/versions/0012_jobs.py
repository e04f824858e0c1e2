"""jobs: the run key of local-time jobs (one row per job, project and local date)

Revision ID: 0012_jobs
Revises: 0011_support
Create Date: 2026-12-01 04:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from fieldbridge.kit.db import UTCDateTime

revision: str = "0012_jobs"
down_revision: str | Sequence[str] | None = "0011_support"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "local_job_runs",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("job_name", sa.String(length=120), nullable=False),
        sa.Column("company_id", BigId, nullable=False),
        sa.Column("project_id", BigId, nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("scheduled_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("ran_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("ran_by", sa.String(length=120), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_local_job_runs_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_local_job_runs_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_local_job_runs")),
        sa.UniqueConstraint(
            "job_name",
            "project_id",
            "local_date",
            name=op.f("uq_local_job_runs_job_name_project_id_local_date"),
        ),
    )
    with op.batch_alter_table("local_job_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_local_job_runs_company_id"), ["company_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("local_job_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_local_job_runs_company_id"))
    op.drop_table("local_job_runs")
