"""A connection is FieldBridge's link to one account on one platform (e.g. one Procore company).

Credentials are sealed with `kit.crypto.SecretBox` before they reach this table.
"""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fieldbridge.kit.db import Base, BigId, IdMixin, TimestampMixin


class ConnectionStatus(StrEnum):
    pending = "pending"  # created, authorization not finished
    connected = "connected"
    needs_reconnect = "needs_reconnect"  # refresh lost/revoked/uninstalled: deliveries park
    disconnected = "disconnected"  # the admin disconnected; tokens revoked


class Connection(IdMixin, TimestampMixin, Base):
    __tablename__ = "connections"
    __table_args__ = (
        UniqueConstraint("company_id", "provider", "external_account_id"),
        Index("ix_connections_provider_status", "provider", "status"),
    )

    company_id: Mapped[int] = mapped_column(BigId, ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(32))  # "procore", "acc", "webhook", ...
    environment: Mapped[str] = mapped_column(String(32), default="production")
    label: Mapped[str] = mapped_column(String(200))
    # The account on the other side, e.g. the Procore company id: a string, as every other
    # platform's id is (Procore's are big integers, Autodesk's "b.1234-...").
    external_account_id: Mapped[str | None] = mapped_column(String(64), default=None)
    status: Mapped[ConnectionStatus] = mapped_column(String(32), default=ConnectionStatus.pending)
    status_reason: Mapped[str | None] = mapped_column(Text, default=None)
    # Non-secret, provider-specific settings (validated by the connector's config model).
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Sealed JSON of secrets (access/refresh tokens, client secret); never logged.
    sealed_credentials: Mapped[str | None] = mapped_column(Text, default=None)
    token_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    # Bumped on every credential change: a refresher that re-reads a higher version backs off.
    credentials_version: Mapped[int] = mapped_column(default=0)
    last_success_at: Mapped[datetime | None] = mapped_column(default=None)
    last_error_at: Mapped[datetime | None] = mapped_column(default=None)
