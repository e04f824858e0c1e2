"""incident_sync: two-way incident sync (remote records, conflicts, reconcile cursors)

Revision ID: 0019_incident_sync
Revises: 0018_safety_links
Create Date: 2026-12-01 08:19:50
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from fieldbridge.kit.db import UTCDateTime

revision: str = "0019_incident_sync"
down_revision: str | Sequence[str] | None = "0018_safety_links"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:

    op.create_table(
        "incident_pull_cursors",
        sa.Column("connection_id", BigId, nullable=False),
        sa.Column("remote_project_id", sa.String(length=64), nullable=False),
        sa.Column("changed_since", UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["connections.id"],
            name=op.f("fk_incident_pull_cursors_connection_id_connections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_pull_cursors")),
        sa.UniqueConstraint(
            "connection_id",
            "remote_project_id",
            name=op.f("uq_incident_pull_cursors_connection_id_remote_project_id"),
        ),
    )
    op.create_table(
        "incident_conflicts",
        sa.Column("company_id", BigId, nullable=False),
        sa.Column("incident_id", BigId, nullable=False),
        sa.Column("connection_id", BigId, nullable=False),
        sa.Column("field", sa.String(length=64), nullable=False),
        sa.Column("ours", sa.Text(), nullable=True),
        sa.Column("theirs", sa.Text(), nullable=True),
        sa.Column("kept", sa.String(length=16), nullable=False),
        sa.Column("detected_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_incident_conflicts_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["connections.id"],
            name=op.f("fk_incident_conflicts_connection_id_connections"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_incident_conflicts_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_conflicts")),
    )
    with op.batch_alter_table("incident_conflicts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_incident_conflicts_company_id"), ["company_id"], unique=False)
        batch_op.create_index("ix_incident_conflicts_incident", ["incident_id", "resolved_at"], unique=False)

    op.create_table(
        "incident_remotes",
        sa.Column("company_id", BigId, nullable=False),
        sa.Column("incident_id", BigId, nullable=False),
        sa.Column("connection_id", BigId, nullable=False),
        sa.Column("remote_project_id", sa.String(length=64), nullable=False),
        sa.Column("remote_id", sa.String(length=64), nullable=True),
        sa.Column("remote_version", sa.String(length=64), nullable=True),
        sa.Column("synced", sa.JSON(), nullable=False),
        sa.Column("pulled_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_incident_remotes_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["connections.id"],
            name=op.f("fk_incident_remotes_connection_id_connections"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_incident_remotes_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_remotes")),
        sa.UniqueConstraint(
            "incident_id", "connection_id", name=op.f("uq_incident_remotes_incident_id_connection_id")
        ),
    )
    with op.batch_alter_table("incident_remotes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_incident_remotes_company_id"), ["company_id"], unique=False)
        batch_op.create_index(
            "ix_incident_remotes_connection_remote", ["connection_id", "remote_id"], unique=False
        )

    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sync_version", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("sync_digest", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("disposition", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("remote_status", sa.String(length=16), nullable=True))


def downgrade() -> None:

    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_column("remote_status")
        batch_op.drop_column("disposition")
        batch_op.drop_column("sync_digest")
        batch_op.drop_column("sync_version")

    with op.batch_alter_table("incident_remotes", schema=None) as batch_op:
        batch_op.drop_index("ix_incident_remotes_connection_remote")
        batch_op.drop_index(batch_op.f("ix_incident_remotes_company_id"))

    op.drop_table("incident_remotes")
    with op.batch_alter_table("incident_conflicts", schema=None) as batch_op:
        batch_op.drop_index("ix_incident_conflicts_incident")
        batch_op.drop_index(batch_op.f("ix_incident_conflicts_company_id"))

    op.drop_table("incident_conflicts")
    op.drop_table("incident_pull_cursors")
