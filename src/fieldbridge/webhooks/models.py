"""Outbound webhook endpoints.

An endpoint is a connector on the connector platform: each `webhook_endpoints` row owns one
`connections` row (provider "webhook"). The connection carries what every connector's
connection carries: the status the ledger reads (`connected` = enabled; `disconnected` =
disabled, with the reason in `status_reason`), its config (`{"url": ...}`: what the connector
needs to open a client), the sealed secrets (signing secrets and custom headers,
`kit.crypto.SecretBox`), and the ledger rows (`deliveries`, one per message per endpoint).
This table holds what only a webhook endpoint has: its subscription, format and health.
"""

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from fieldbridge.kit.db import Base, BigId, IdMixin, TimestampMixin


class EndpointFormat:
    standard = "standard"  # the versioned JSON event (Standard Webhooks payload)
    activity = "activity"  # title, one-line text, link: for feeds and chat tools


FORMATS = (EndpointFormat.standard, EndpointFormat.activity)


class WebhookEndpoint(IdMixin, TimestampMixin, Base):
    __tablename__ = "webhook_endpoints"

    company_id: Mapped[int] = mapped_column(BigId, ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    connection_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("connections.id", ondelete="CASCADE"), unique=True
    )
    description: Mapped[str] = mapped_column(String(500), default="")
    # Event types it takes, e.g. ["shift.closed"]; every type when empty.
    event_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    format: Mapped[str] = mapped_column(String(16), default=EndpointFormat.standard)
    # Internal endpoints (the company's own systems) receive workers' names; others never do.
    internal: Mapped[bool] = mapped_column(Boolean, default=False)
    # Start of the current run of failed attempts (None after a success); five days disables.
    failing_since: Mapped[datetime | None] = mapped_column(default=None)
    disabled_at: Mapped[datetime | None] = mapped_column(default=None)
    # Set when FieldBridge (not a person) disabled it: shown to admins until they re-enable it.
    disabled_notice: Mapped[str | None] = mapped_column(Text, default=None)
