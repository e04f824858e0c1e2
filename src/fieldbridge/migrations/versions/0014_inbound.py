"""inbound: the generic inbound event log (replaces procore_webhook_events) and the delivered
record's version on deliveries (echo suppression)

Revision ID: 0014_inbound
Revises: 0012_jobs
Create Date: 2026-12-01 06:00:00.000000
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from fieldbridge.kit.db import UTCDateTime

revision: str = "0014_inbound"
down_revision: str | Sequence[str] | None = "0013_string_ids"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
BATCH = 1000


def _owner_columns(table: str) -> list[Any]:
    return [
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("company_id", BigId, nullable=False),
        sa.Column("connection_id", BigId, nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f(f"fk_{table}_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["connections.id"],
            name=op.f(f"fk_{table}_connection_id_connections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
    ]


def _copy(select: sa.Select[Any], target: sa.Table, convert: Any) -> None:
    result = op.get_bind().execute(select)
    while rows := result.fetchmany(BATCH):
        op.bulk_insert(target, [convert(row._mapping) for row in rows])


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


old = sa.table(
    "procore_webhook_events",
    *(sa.column(n) for n in ("id", "company_id", "connection_id", "ulid", "resource_name", "event_type")),
    *(sa.column(n) for n in ("resource_id", "project_external_id", "outcome")),
    *(sa.column(n, UTCDateTime(timezone=True)) for n in ("received_at", "processed_at")),
)


def upgrade() -> None:
    inbound = op.create_table(
        "inbound_events",
        *_owner_columns("inbound_events"),
        sa.Column("provider", sa.String(length=40), nullable=False),
        sa.Column("resource", sa.String(length=100), nullable=False),
        sa.Column("event_type", sa.String(length=40), nullable=False),
        sa.Column("remote_id", sa.String(length=64), nullable=True),
        sa.Column("remote_project_id", sa.String(length=64), nullable=True),
        sa.Column("remote_version", sa.String(length=64), nullable=True),
        sa.Column("dedupe_key", sa.String(length=128), nullable=False),
        sa.Column("received_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("processed_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=300), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.UniqueConstraint(
            "connection_id", "dedupe_key", name=op.f("uq_inbound_events_connection_id_dedupe_key")
        ),
    )
    with op.batch_alter_table("inbound_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_inbound_events_company_id"), ["company_id"], unique=False)
        batch_op.create_index(
            "ix_inbound_events_connection_received", ["connection_id", "received_at"], unique=False
        )
    assert inbound is not None

    def convert(row: Any) -> dict[str, Any]:
        return {
            "company_id": row["company_id"],
            "connection_id": row["connection_id"],
            "provider": "procore",
            "resource": row["resource_name"],
            "event_type": row["event_type"],
            "remote_id": _text(row["resource_id"]),
            "remote_project_id": _text(row["project_external_id"]),
            "remote_version": None,
            "dedupe_key": row["ulid"],
            "received_at": row["received_at"],
            "payload": {},
            "state": "received" if row["processed_at"] is None else "applied",
            "processed_at": row["processed_at"],
            "outcome": row["outcome"],
            "error": None,
        }

    _copy(sa.select(old).order_by(old.c.id), inbound, convert)
    with op.batch_alter_table("procore_webhook_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_procore_webhook_events_company_id"))
    op.drop_table("procore_webhook_events")

    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("remote_version", sa.String(length=64), nullable=True))
        batch_op.create_index(
            "ix_deliveries_remote_version", ["connection_id", "remote_version"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_remote_version")
        batch_op.drop_column("remote_version")

    restored = op.create_table(
        "procore_webhook_events",
        *_owner_columns("procore_webhook_events"),
        sa.Column("ulid", sa.String(length=64), nullable=False),
        sa.Column("resource_name", sa.String(length=100), nullable=False),
        sa.Column("event_type", sa.String(length=20), nullable=False),
        sa.Column("resource_id", sa.String(length=64), nullable=True),
        sa.Column("project_external_id", sa.String(length=64), nullable=True),
        sa.Column("received_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("processed_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=300), nullable=True),
        sa.UniqueConstraint(
            "connection_id", "ulid", name=op.f("uq_procore_webhook_events_connection_id_ulid")
        ),
    )
    with op.batch_alter_table("procore_webhook_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_procore_webhook_events_company_id"), ["company_id"], unique=False
        )
    assert restored is not None
    events = sa.table(
        "inbound_events",
        *(sa.column(n) for n in ("id", "company_id", "connection_id", "provider", "resource", "event_type")),
        *(sa.column(n) for n in ("remote_id", "remote_project_id", "dedupe_key", "outcome", "error")),
        *(sa.column(n, UTCDateTime(timezone=True)) for n in ("received_at", "processed_at")),
    )

    def convert(row: Any) -> dict[str, Any]:
        return {
            "company_id": row["company_id"],
            "connection_id": row["connection_id"],
            "ulid": row["dedupe_key"][:64],
            "resource_name": row["resource"],
            "event_type": row["event_type"][:20],
            "resource_id": _text(row["remote_id"]),
            "project_external_id": _text(row["remote_project_id"]),
            "received_at": row["received_at"],
            "processed_at": row["processed_at"],
            "outcome": (row["outcome"] or row["error"] or "")[:300] or None,
        }

    _copy(sa.select(events).where(events.c.provider == "procore").order_by(events.c.id), restored, convert)
    with op.batch_alter_table("inbound_events", schema=None) as batch_op:
        batch_op.drop_index("ix_inbound_events_connection_received")
        batch_op.drop_index(batch_op.f("ix_inbound_events_company_id"))
    op.drop_table("inbound_events")
