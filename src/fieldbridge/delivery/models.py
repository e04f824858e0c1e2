"""Ledger tables: one `Delivery` per outbound operation, one `DeliveryAttempt` per try,
and one `RateBudget` per connection shared by every process that talks for it."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fieldbridge.delivery.states import Status
from fieldbridge.kit.clock import utcnow
from fieldbridge.kit.db import Base, BigId, IdMixin, TimestampMixin


class Delivery(IdMixin, TimestampMixin, Base):
    """One outbound operation (e.g. `procore.timecard.create`). Rows of one connection go out
    in id order per subject; `payload` is a snapshot taken when the domain change committed."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("connection_id", "idempotency_key"),
        Index("ix_deliveries_queue", "connection_id", "status", "next_attempt_at"),
        Index("ix_deliveries_subject", "connection_id", "subject", "id"),
        # A shift's rows by its subjects (every clock-out and timesheet row reads them).
        Index("ix_deliveries_company_subject", "company_id", "subject"),
        Index("ix_deliveries_log", "company_id", "status", "created_at"),
        Index("ix_deliveries_remote_version", "connection_id", "remote_version"),
    )

    company_id: Mapped[int] = mapped_column(BigId, ForeignKey("companies.id", ondelete="CASCADE"))
    connection_id: Mapped[int] = mapped_column(BigId, ForeignKey("connections.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(64))
    # What the row is about, e.g. "clock_session:42"; rows of one subject never overtake each other.
    subject: Mapped[str] = mapped_column(String(200))
    # For the export log filters and for batching (the remote project, e.g. a Procore project id).
    remote_project_id: Mapped[str | None] = mapped_column(String(64), default=None)
    worker_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("workers.id", ondelete="SET NULL"), default=None, index=True
    )
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    idempotency_key: Mapped[str] = mapped_column(String(200))
    status: Mapped[Status] = mapped_column(String(16), default=Status.pending)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    # After this the row stops retrying and shows as failed (a person's retry moves it on).
    expires_at: Mapped[datetime]
    # Set when a create may have reached the remote side: look it up before sending again.
    outcome_unknown: Mapped[bool] = mapped_column(default=False)
    lease_owner: Mapped[str | None] = mapped_column(String(100), default=None)
    lease_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    error_class: Mapped[str | None] = mapped_column(String(16), default=None)
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    remote_id: Mapped[str | None] = mapped_column(String(64), default=None)
    remote_record: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    # The remote record's `updated_at`/version as delivered: inbound echo suppression matches it.
    remote_version: Mapped[str | None] = mapped_column(String(64), default=None)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)


class DeliveryHold(IdMixin, Base):
    """One cause a `held` delivery waits for: a key the fixing code releases (`shift:7`,
    `project:123`, `person:5`) and the reason a person reads. A row goes out once its last
    hold is released."""

    __tablename__ = "delivery_holds"
    __table_args__ = (
        UniqueConstraint("delivery_id", "key"),
        Index("ix_delivery_holds_key", "company_id", "key"),
    )

    delivery_id: Mapped[int] = mapped_column(BigId, ForeignKey("deliveries.id", ondelete="CASCADE"))
    company_id: Mapped[int] = mapped_column(BigId, ForeignKey("companies.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(120))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DeliveryAttempt(IdMixin, Base):
    """One try of one row: what was sent and what came back, secrets redacted."""

    __tablename__ = "delivery_attempts"

    delivery_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("deliveries.id", ondelete="CASCADE"), index=True
    )
    company_id: Mapped[int] = mapped_column(BigId, ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    runner: Mapped[str] = mapped_column(String(100))
    started_at: Mapped[datetime]
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    outcome: Mapped[str] = mapped_column(String(16))
    http_status: Mapped[int | None] = mapped_column(Integer, default=None)
    request: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    response: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    rate_limit: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)


class RateBudget(Base):
    """What the remote side last said about this connection's request budget."""

    __tablename__ = "delivery_rate_budgets"

    connection_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("connections.id", ondelete="CASCADE"), primary_key=True
    )
    limit: Mapped[int] = mapped_column(Integer, default=0)
    remaining: Mapped[int] = mapped_column(Integer, default=0)
    # Unix seconds when the reported window resets (0 = unknown); integers compare alike everywhere.
    reset_epoch: Mapped[int] = mapped_column(BigInteger, default=0)
    # Unix milliseconds before which nobody sends (after a 429); spreads requests when low.
    not_before_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    # Per-class pacing clocks, the reported hourly limit, requests per class per minute over
    # the last hour (`delivery.budget.store_state`).
    usage: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
