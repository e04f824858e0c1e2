"""safety: sites, zones, shifts, worker devices, detections and their review trail,
PPE observations and daily summary snapshots

Revision ID: 0015_safety
Revises: 0012_jobs
Create Date: 2026-12-01 05:32:35.806014
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from fieldbridge.kit.db import UTCDateTime

revision: str = "0015_safety"
down_revision: str | Sequence[str] | None = "0012_jobs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "safety_sites",
        sa.Column("company_id", BigId, nullable=False),
        sa.Column("project_id", BigId, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("establishment_name", sa.String(length=100), nullable=True),
        sa.Column("ein", sa.String(length=9), nullable=True),
        sa.Column("street_address", sa.String(length=100), nullable=True),
        sa.Column("city", sa.String(length=100), nullable=True),
        sa.Column("state", sa.String(length=2), nullable=True),
        sa.Column("zip", sa.String(length=9), nullable=True),
        sa.Column("naics_code", sa.String(length=6), nullable=True),
        sa.Column("industry_description", sa.String(length=300), nullable=True),
        sa.Column("establishment_type", sa.Integer(), nullable=True),
        sa.Column("annual_average_employees", sa.Integer(), nullable=True),
        sa.Column("total_hours_worked", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_safety_sites_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_safety_sites_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_safety_sites")),
        sa.UniqueConstraint("project_id", name=op.f("uq_safety_sites_project_id")),
    )
    with op.batch_alter_table("safety_sites", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_safety_sites_company_id"), ["company_id"], unique=False)
        batch_op.create_index("ix_safety_sites_company_updated", ["company_id", "updated_at"], unique=False)

    op.create_table(
        "worker_devices",
        sa.Column("company_id", BigId, nullable=False),
        sa.Column("project_id", BigId, nullable=False),
        sa.Column("worker_id", BigId, nullable=False),
        sa.Column("device_id", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("valid_from", UTCDateTime(timezone=True), nullable=False),
        sa.Column("valid_to", UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_worker_devices_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_worker_devices_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["worker_id"],
            ["workers.id"],
            name=op.f("fk_worker_devices_worker_id_workers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_worker_devices")),
    )
    with op.batch_alter_table("worker_devices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_worker_devices_company_id"), ["company_id"], unique=False)
        batch_op.create_index("ix_worker_devices_company_updated", ["company_id", "updated_at"], unique=False)
        batch_op.create_index(
            "ix_worker_devices_lookup", ["company_id", "project_id", "device_id", "valid_from"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_worker_devices_worker_id"), ["worker_id"], unique=False)

    op.create_table(
        "safety_shifts",
        sa.Column("company_id", BigId, nullable=False),
        sa.Column("site_id", BigId, nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("start_time", sa.Time(), nullable=False),
        sa.Column("end_time", sa.Time(), nullable=False),
        sa.Column("days", sa.JSON(), nullable=False),
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_safety_shifts_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["safety_sites.id"],
            name=op.f("fk_safety_shifts_site_id_safety_sites"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_safety_shifts")),
        sa.UniqueConstraint("site_id", "name", name=op.f("uq_safety_shifts_site_id_name")),
    )
    with op.batch_alter_table("safety_shifts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_safety_shifts_company_id"), ["company_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_safety_shifts_site_id"), ["site_id"], unique=False)

    op.create_table(
        "safety_summaries",
        sa.Column("company_id", BigId, nullable=False),
        sa.Column("site_id", BigId, nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("computed_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_safety_summaries_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["safety_sites.id"],
            name=op.f("fk_safety_summaries_site_id_safety_sites"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_safety_summaries")),
        sa.UniqueConstraint(
            "site_id", "local_date", "version", name=op.f("uq_safety_summaries_site_id_local_date_version")
        ),
    )
    with op.batch_alter_table("safety_summaries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_safety_summaries_company_computed", ["company_id", "computed_at"], unique=False
        )

    op.create_table(
        "safety_zones",
        sa.Column("company_id", BigId, nullable=False),
        sa.Column("site_id", BigId, nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("required_ppe", sa.JSON(), nullable=False),
        sa.Column("ppe_start", sa.Time(), nullable=True),
        sa.Column("ppe_end", sa.Time(), nullable=True),
        sa.Column("polygon", sa.JSON(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_safety_zones_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["safety_sites.id"],
            name=op.f("fk_safety_zones_site_id_safety_sites"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_safety_zones")),
        sa.UniqueConstraint("site_id", "name", name=op.f("uq_safety_zones_site_id_name")),
    )
    with op.batch_alter_table("safety_zones", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_safety_zones_company_id"), ["company_id"], unique=False)
        batch_op.create_index("ix_safety_zones_company_updated", ["company_id", "updated_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_safety_zones_site_id"), ["site_id"], unique=False)

    op.create_table(
        "detections",
        sa.Column("company_id", BigId, nullable=False),
        sa.Column("site_id", BigId, nullable=False),
        sa.Column("zone_id", BigId, nullable=True),
        sa.Column("client_event_id", sa.String(length=200), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("missing_items", sa.JSON(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("source_ref", sa.String(length=200), nullable=True),
        sa.Column("device_id", sa.String(length=120), nullable=True),
        sa.Column("worker_id", BigId, nullable=True),
        sa.Column("occurred_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("utc_offset_minutes", sa.Integer(), nullable=True),
        sa.Column("confidence", sa.Double(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("received_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_detections_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["safety_sites.id"],
            name=op.f("fk_detections_site_id_safety_sites"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["worker_id"], ["workers.id"], name=op.f("fk_detections_worker_id_workers"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["zone_id"],
            ["safety_zones.id"],
            name=op.f("fk_detections_zone_id_safety_zones"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_detections")),
        sa.UniqueConstraint(
            "company_id", "client_event_id", name=op.f("uq_detections_company_id_client_event_id")
        ),
    )
    with op.batch_alter_table("detections", schema=None) as batch_op:
        batch_op.create_index("ix_detections_company_state", ["company_id", "state", "id"], unique=False)
        batch_op.create_index(
            "ix_detections_company_updated", ["company_id", "updated_at", "id"], unique=False
        )
        batch_op.create_index("ix_detections_site_occurred", ["site_id", "occurred_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_detections_worker_id"), ["worker_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_detections_zone_id"), ["zone_id"], unique=False)

    op.create_table(
        "ppe_observations",
        sa.Column("company_id", BigId, nullable=False),
        sa.Column("site_id", BigId, nullable=False),
        sa.Column("zone_id", BigId, nullable=False),
        sa.Column("client_event_id", sa.String(length=200), nullable=False),
        sa.Column("observed_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("persons", sa.Integer(), nullable=False),
        sa.Column("source_ref", sa.String(length=200), nullable=True),
        sa.Column("received_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_ppe_observations_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["safety_sites.id"],
            name=op.f("fk_ppe_observations_site_id_safety_sites"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["zone_id"],
            ["safety_zones.id"],
            name=op.f("fk_ppe_observations_zone_id_safety_zones"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ppe_observations")),
        sa.UniqueConstraint(
            "company_id", "client_event_id", name=op.f("uq_ppe_observations_company_id_client_event_id")
        ),
    )
    with op.batch_alter_table("ppe_observations", schema=None) as batch_op:
        batch_op.create_index("ix_ppe_observations_site_observed", ["site_id", "observed_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_ppe_observations_zone_id"), ["zone_id"], unique=False)

    op.create_table(
        "detection_reviews",
        sa.Column("company_id", BigId, nullable=False),
        sa.Column("detection_id", BigId, nullable=False),
        sa.Column("user_id", BigId, nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("from_state", sa.String(length=16), nullable=True),
        sa.Column("to_state", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_detection_reviews_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["detection_id"],
            ["detections.id"],
            name=op.f("fk_detection_reviews_detection_id_detections"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_detection_reviews_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_detection_reviews")),
    )
    with op.batch_alter_table("detection_reviews", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_detection_reviews_company_id"), ["company_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_detection_reviews_detection_id"), ["detection_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("detection_reviews", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_detection_reviews_detection_id"))
        batch_op.drop_index(batch_op.f("ix_detection_reviews_company_id"))

    op.drop_table("detection_reviews")
    with op.batch_alter_table("ppe_observations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ppe_observations_zone_id"))
        batch_op.drop_index("ix_ppe_observations_site_observed")

    op.drop_table("ppe_observations")
    with op.batch_alter_table("detections", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_detections_zone_id"))
        batch_op.drop_index(batch_op.f("ix_detections_worker_id"))
        batch_op.drop_index("ix_detections_site_occurred")
        batch_op.drop_index("ix_detections_company_updated")
        batch_op.drop_index("ix_detections_company_state")

    op.drop_table("detections")
    with op.batch_alter_table("safety_zones", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_safety_zones_site_id"))
        batch_op.drop_index("ix_safety_zones_company_updated")
        batch_op.drop_index(batch_op.f("ix_safety_zones_company_id"))

    op.drop_table("safety_zones")
    with op.batch_alter_table("safety_summaries", schema=None) as batch_op:
        batch_op.drop_index("ix_safety_summaries_company_computed")

    op.drop_table("safety_summaries")
    with op.batch_alter_table("safety_shifts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_safety_shifts_site_id"))
        batch_op.drop_index(batch_op.f("ix_safety_shifts_company_id"))

    op.drop_table("safety_shifts")
    with op.batch_alter_table("worker_devices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_worker_devices_worker_id"))
        batch_op.drop_index("ix_worker_devices_lookup")
        batch_op.drop_index("ix_worker_devices_company_updated")
        batch_op.drop_index(batch_op.f("ix_worker_devices_company_id"))

    op.drop_table("worker_devices")
    with op.batch_alter_table("safety_sites", schema=None) as batch_op:
        batch_op.drop_index("ix_safety_sites_company_updated")
        batch_op.drop_index(batch_op.f("ix_safety_sites_company_id"))

    op.drop_table("safety_sites")
