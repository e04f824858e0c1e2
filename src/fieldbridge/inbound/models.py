"""The inbound event log: every event a connector verified, once per (connection, dedupe key),
with what became of it."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fieldbridge.kit.db import Base, BigId, IdMixin


class InboundState(StrEnum):
    received = "received"  # recorded, not processed yet
    applied = "applied"  # a handler acted on it (`outcome` says what it did)
    ignored = "ignored"  # nothing to do (no handler for its resource, an untracked project, ...)
    ignored_echo = "ignored_echo"  # FieldBridge's own delivered write coming back
    failed = "failed"  # the handler raised; `error` says why (the next re-sync repairs it)


class InboundEvent(IdMixin, Base):
    __tablename__ = "inbound_events"
    __table_args__ = (
        UniqueConstraint("connection_id", "dedupe_key"),
        Index("ix_inbound_events_connection_received", "connection_id", "received_at"),
    )

    company_id: Mapped[int] = mapped_column(BigId, ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    connection_id: Mapped[int] = mapped_column(BigId, ForeignKey("connections.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(40))
    resource: Mapped[str] = mapped_column(String(100))
    event_type: Mapped[str] = mapped_column(String(40))
    remote_id: Mapped[str | None] = mapped_column(String(64), default=None)
    remote_project_id: Mapped[str | None] = mapped_column(String(64), default=None)
    # The record's version or updated_at when the event carries one (echo suppression).
    remote_version: Mapped[str | None] = mapped_column(String(64), default=None)
    dedupe_key: Mapped[str] = mapped_column(String(128))
    received_at: Mapped[datetime]
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[InboundState] = mapped_column(String(16), default=InboundState.received)
    processed_at: Mapped[datetime | None] = mapped_column(default=None)
    outcome: Mapped[str | None] = mapped_column(String(300), default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
