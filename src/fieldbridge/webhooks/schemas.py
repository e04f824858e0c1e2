"""Webhook endpoints and the message log through /api/v1 (Pydantic I/O)."""

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from fieldbridge.webhooks.events import EVENTS

HEADER_NAME = r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$"
# Headers FieldBridge sets itself; a custom header may not replace them.
RESERVED_HEADERS = frozenset(
    {
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
        "content-type",
        "content-length",
        "host",
        "user-agent",
        "transfer-encoding",
        "connection",
    }
)


def _check_types(types: list[str]) -> list[str]:
    unknown = [t for t in types if t not in EVENTS]
    if unknown:
        raise ValueError(f"unknown event type {unknown[0]!r}; known: {', '.join(sorted(EVENTS))}")
    return sorted(set(types))


def _check_headers(headers: dict[str, str]) -> dict[str, str]:
    import re

    if len(headers) > 20:
        raise ValueError("at most 20 custom headers")
    for name, value in headers.items():
        if not re.match(HEADER_NAME, name):
            raise ValueError(f"{name!r} is not a valid header name")
        if name.lower() in RESERVED_HEADERS:
            raise ValueError(f"{name} is set by FieldBridge and cannot be replaced")
        if "\r" in value or "\n" in value or len(value) > 2000:
            raise ValueError(f"the value of {name} must be one line of at most 2000 characters")
    return headers


class EndpointIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=8, max_length=2000, examples=["https://hooks.example.com/fieldbridge"])
    description: str = Field(default="", max_length=500)
    event_types: list[str] = Field(default_factory=list, description="Empty: every event type.")
    format: Literal["standard", "activity"] = "standard"
    internal: bool = Field(default=False, description="Internal endpoints receive workers' names.")
    headers: dict[str, str] = Field(default_factory=dict, description="Sent with every message (e.g. auth).")
    enabled: bool = True

    _types = field_validator("event_types")(_check_types)
    _headers = field_validator("headers")(_check_headers)


class EndpointPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(default=None, min_length=8, max_length=2000)
    description: str | None = Field(default=None, max_length=500)
    event_types: list[str] | None = None
    format: Literal["standard", "activity"] | None = None
    internal: bool | None = None
    headers: dict[str, str] | None = None
    enabled: bool | None = None

    @field_validator("event_types")
    @classmethod
    def _types(cls, v: list[str] | None) -> list[str] | None:
        return None if v is None else _check_types(v)

    @field_validator("headers")
    @classmethod
    def _headers(cls, v: dict[str, str] | None) -> dict[str, str] | None:
        return None if v is None else _check_headers(v)


class EndpointOut(BaseModel):
    id: int
    connection_id: int
    url: str
    description: str
    event_types: list[str]
    format: str
    internal: bool
    enabled: bool
    status_reason: str | None
    disabled_notice: str | None
    failing_since: datetime | None
    header_names: list[str] = Field(description="Names of the custom headers; values are never shown.")
    secret_count: int = Field(description="2 during a rotation's overlap window.")
    created_at: datetime


class SecretOut(BaseModel):
    """Shown once, when created or rotated."""

    secret: str
    previous_valid_until: datetime | None = None


class RotateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    overlap_hours: float = Field(
        default=24.0, ge=0, le=24 * 7, description="How long the old secret still signs messages too."
    )


class TestEventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event_type: str | None = Field(default=None, description="Default: the endpoint's first event type.")

    @field_validator("event_type")
    @classmethod
    def _known(cls, v: str | None) -> str | None:
        if v is not None:
            _check_types([v])
        return v


class RecoverIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    since: datetime = Field(description="Resend every message that failed since this instant.")


class AttemptOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    number: int
    started_at: datetime
    duration_ms: int
    outcome: str
    http_status: int | None
    error: str | None
    response_excerpt: str | None = None


class MessageOut(BaseModel):
    id: int = Field(description="The ledger row (export log) id.")
    message_id: str = Field(description="The webhook-id header: stable across retries.")
    endpoint_id: int
    event_type: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    reason: str | None
    created_at: datetime
    delivered_at: datetime | None


class MessageDetail(MessageOut):
    payload: dict[str, Any]
    attempt_log: list[AttemptOut]


class QueuedOut(BaseModel):
    queued: int
