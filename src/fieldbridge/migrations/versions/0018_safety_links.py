"""safety_links: safety site links (a site -> a synced remote project, per connection), edited field
maps, and the remote values cached for validating them

Revision ID: 0018_safety_links
Revises: 0016_incidents
Create Date: 2026-12-01 08:16:12.949548
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from fieldbridge.kit.db import UTCDateTime

revision: str = "0018_safety_links"
down_revision: str | Sequence[str] | None = "0016_incidents"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "safety_field_maps",
        sa.Column("company_id", BigId, nullable=False),
        sa.Column("connection_id", BigId, nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("source_key", sa.String(length=64), nullable=False),
        sa.Column("remote_value", sa.String(length=64), nullable=False),
        sa.Column("remote_label", sa.String(length=200), nullable=False),
        sa.Column("missing", sa.Boolean(), nullable=False),
        sa.Column("checked_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_safety_field_maps_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["connections.id"],
            name=op.f("fk_safety_field_maps_connection_id_connections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_safety_field_maps")),
        sa.UniqueConstraint(
            "connection_id",
            "category",
            "source_key",
            name=op.f("uq_safety_field_maps_connection_id_category_source_key"),
        ),
    )
    with op.batch_alter_table("safety_field_maps", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_safety_field_maps_company_id"), ["company_id"], unique=False)

    op.create_table(
        "safety_remote_values",
        sa.Column("company_id", BigId, nullable=False),
        sa.Column("connection_id", BigId, nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("remote_value", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("fetched_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_safety_remote_values_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["connections.id"],
            name=op.f("fk_safety_remote_values_connection_id_connections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_safety_remote_values")),
        sa.UniqueConstraint(
            "connection_id",
            "category",
            "remote_value",
            name=op.f("uq_safety_remote_values_connection_id_category_remote_value"),
        ),
    )
    with op.batch_alter_table("safety_remote_values", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_safety_remote_values_company_id"), ["company_id"], unique=False)

    op.create_table(
        "safety_site_links",
        sa.Column("company_id", BigId, nullable=False),
        sa.Column("site_id", BigId, nullable=False),
        sa.Column("connection_id", BigId, nullable=False),
        sa.Column("project_id", BigId, nullable=False),
        sa.Column("remote_project_id", sa.String(length=64), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("observation_threshold", sa.Integer(), nullable=False),
        sa.Column("push_all", sa.Boolean(), nullable=False),
        sa.Column("fold_window_s", sa.Integer(), nullable=False),
        sa.Column("summary_time", sa.Time(), nullable=False),
        sa.Column("summary_enabled", sa.Boolean(), nullable=False),
        sa.Column("summary_route", sa.String(length=16), nullable=False),
        sa.Column("tool_status", sa.JSON(), nullable=False),
        sa.Column("tools_checked_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_safety_site_links_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["connections.id"],
            name=op.f("fk_safety_site_links_connection_id_connections"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_safety_site_links_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["safety_sites.id"],
            name=op.f("fk_safety_site_links_site_id_safety_sites"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_safety_site_links")),
        sa.UniqueConstraint(
            "site_id", "connection_id", name=op.f("uq_safety_site_links_site_id_connection_id")
        ),
    )
    with op.batch_alter_table("safety_site_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_safety_site_links_company_id"), ["company_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_safety_site_links_connection_id"), ["connection_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_safety_site_links_project_id"), ["project_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("safety_site_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_safety_site_links_project_id"))
        batch_op.drop_index(batch_op.f("ix_safety_site_links_connection_id"))
        batch_op.drop_index(batch_op.f("ix_safety_site_links_company_id"))

    op.drop_table("safety_site_links")
    with op.batch_alter_table("safety_remote_values", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_safety_remote_values_company_id"))

    op.drop_table("safety_remote_values")
    with op.batch_alter_table("safety_field_maps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_safety_field_maps_company_id"))

    op.drop_table("safety_field_maps")
