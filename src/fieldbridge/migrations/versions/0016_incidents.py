"""incidents: incidents (injury details, recordability and its basis, OSHA 300 case numbers,
Form 301 fields) and the per-site, per-year case number counters

Revision ID: 0016_incidents
Revises: 0015_safety
Create Date: 2026-12-01 05:34:54.530547
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from fieldbridge.kit.db import UTCDateTime

revision: str = "0016_incidents"
down_revision: str | Sequence[str] | None = "0015_safety"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "osha_case_counters",
        sa.Column("company_id", BigId, nullable=False),
        sa.Column("site_id", BigId, nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_osha_case_counters_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["safety_sites.id"],
            name=op.f("fk_osha_case_counters_site_id_safety_sites"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_osha_case_counters")),
        sa.UniqueConstraint("site_id", "year", name=op.f("uq_osha_case_counters_site_id_year")),
    )
    with op.batch_alter_table("osha_case_counters", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_osha_case_counters_company_id"), ["company_id"], unique=False)

    op.create_table(
        "incidents",
        sa.Column("company_id", BigId, nullable=False),
        sa.Column("site_id", BigId, nullable=False),
        sa.Column("zone_id", BigId, nullable=True),
        sa.Column("detection_id", BigId, nullable=True),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("occurred_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("time_unknown", sa.Boolean(), nullable=False),
        sa.Column("location", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("worker_id", BigId, nullable=True),
        sa.Column("employee_name", sa.String(length=200), nullable=True),
        sa.Column("job_title", sa.String(length=120), nullable=False),
        sa.Column("case_type", sa.String(length=32), nullable=False),
        sa.Column("body_part", sa.String(length=120), nullable=False),
        sa.Column("nature", sa.String(length=200), nullable=False),
        sa.Column("treatment", sa.String(length=32), nullable=False),
        sa.Column("treatment_notes", sa.Text(), nullable=False),
        sa.Column("work_related", sa.Boolean(), nullable=False),
        sa.Column("new_case", sa.Boolean(), nullable=False),
        sa.Column("died", sa.Boolean(), nullable=False),
        sa.Column("days_away", sa.Integer(), nullable=False),
        sa.Column("days_restricted", sa.Integer(), nullable=False),
        sa.Column("loss_of_consciousness", sa.Boolean(), nullable=False),
        sa.Column("significant_diagnosed", sa.Boolean(), nullable=False),
        sa.Column("contaminated_sharps", sa.Boolean(), nullable=False),
        sa.Column("medical_removal", sa.Boolean(), nullable=False),
        sa.Column("hearing_loss_sts", sa.Boolean(), nullable=False),
        sa.Column("tuberculosis", sa.Boolean(), nullable=False),
        sa.Column("privacy_case", sa.Boolean(), nullable=False),
        sa.Column("privacy_reason", sa.String(length=32), nullable=True),
        sa.Column("recordable", sa.Boolean(), nullable=False),
        sa.Column("recordability_basis", sa.Text(), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("case_number", sa.Integer(), nullable=True),
        sa.Column("case_year", sa.Integer(), nullable=True),
        sa.Column("employee_address", sa.Text(), nullable=False),
        sa.Column("date_of_birth", sa.Date(), nullable=True),
        sa.Column("date_hired", sa.Date(), nullable=True),
        sa.Column("sex", sa.String(length=1), nullable=True),
        sa.Column("physician_name", sa.String(length=200), nullable=False),
        sa.Column("treatment_facility", sa.Text(), nullable=False),
        sa.Column("treated_in_emergency_room", sa.Boolean(), nullable=True),
        sa.Column("hospitalized_overnight", sa.Boolean(), nullable=True),
        sa.Column("time_began_work", sa.Time(), nullable=True),
        sa.Column("before_incident", sa.Text(), nullable=False),
        sa.Column("what_happened", sa.Text(), nullable=False),
        sa.Column("object_substance", sa.Text(), nullable=False),
        sa.Column("date_of_death", sa.Date(), nullable=True),
        sa.Column("completed_by", sa.String(length=200), nullable=False),
        sa.Column("completed_title", sa.String(length=120), nullable=False),
        sa.Column("completed_phone", sa.String(length=40), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_incidents_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["detection_id"],
            ["detections.id"],
            name=op.f("fk_incidents_detection_id_detections"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["safety_sites.id"], name=op.f("fk_incidents_site_id_safety_sites")
        ),
        sa.ForeignKeyConstraint(
            ["worker_id"], ["workers.id"], name=op.f("fk_incidents_worker_id_workers"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["zone_id"],
            ["safety_zones.id"],
            name=op.f("fk_incidents_zone_id_safety_zones"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
        sa.UniqueConstraint("detection_id", name=op.f("uq_incidents_detection_id")),
        sa.UniqueConstraint(
            "site_id", "case_year", "case_number", name=op.f("uq_incidents_site_id_case_year_case_number")
        ),
    )
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_incidents_company_id"), ["company_id"], unique=False)
        batch_op.create_index(
            "ix_incidents_company_updated", ["company_id", "updated_at", "id"], unique=False
        )
        batch_op.create_index("ix_incidents_site_year", ["site_id", "case_year"], unique=False)
        batch_op.create_index(batch_op.f("ix_incidents_worker_id"), ["worker_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incidents_worker_id"))
        batch_op.drop_index("ix_incidents_site_year")
        batch_op.drop_index("ix_incidents_company_updated")
        batch_op.drop_index(batch_op.f("ix_incidents_company_id"))

    op.drop_table("incidents")
    with op.batch_alter_table("osha_case_counters", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_osha_case_counters_company_id"))

    op.drop_table("osha_case_counters")
