"""safety outbound: observation folds (repeats of one type, zone and worker within a site
link's fold window, delivered as one observation with a count)

Revision ID: 0020_safety_out
Revises: 0019_incident_sync
Create Date: 2026-12-01 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from fieldbridge.kit.db import UTCDateTime

revision: str = "0020_safety_out"
down_revision: str | Sequence[str] | None = "0019_incident_sync"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "safety_observation_folds",
        sa.Column("company_id", BigId, nullable=False),
        sa.Column("connection_id", BigId, nullable=False),
        sa.Column("site_id", BigId, nullable=False),
        sa.Column("fold_key", sa.String(length=80), nullable=False),
        sa.Column("first_detection_id", BigId, nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("first_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("window_end", UTCDateTime(timezone=True), nullable=False),
        sa.Column("detection_ids", sa.JSON(), nullable=False),
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_safety_observation_folds_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["connections.id"],
            name=op.f("fk_safety_observation_folds_connection_id_connections"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["first_detection_id"],
            ["detections.id"],
            name=op.f("fk_safety_observation_folds_first_detection_id_detections"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["safety_sites.id"],
            name=op.f("fk_safety_observation_folds_site_id_safety_sites"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_safety_observation_folds")),
    )
    with op.batch_alter_table("safety_observation_folds", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_safety_observation_folds_company_id"), ["company_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_safety_observation_folds_first_detection_id"), ["first_detection_id"], unique=False
        )
        batch_op.create_index(
            "ix_safety_observation_folds_open",
            ["connection_id", "site_id", "fold_key", "window_end"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("safety_observation_folds", schema=None) as batch_op:
        batch_op.drop_index("ix_safety_observation_folds_open")
        batch_op.drop_index(batch_op.f("ix_safety_observation_folds_first_detection_id"))
        batch_op.drop_index(batch_op.f("ix_safety_observation_folds_company_id"))

    op.drop_table("safety_observation_folds")
