"""Pydantic I/O of the export log."""

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from fieldbridge.delivery.repository import LogFilter
from fieldbridge.delivery.states import Status
from fieldbridge.kit.remote_ids import RemoteId


class DeliveryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    connection_id: int
    kind: str
    subject: str
    remote_project_id: str | None = Field(
        description="the remote platform's project id (ids of other platforms are strings)"
    )
    worker_id: int | None
    status: Status
    attempts: int
    next_attempt_at: datetime
    expires_at: datetime
    error_class: str | None
    reason: str | None
    remote_id: str | None = Field(description="the id the remote platform gave the record")
    idempotency_key: str
    created_at: datetime
    updated_at: datetime
    delivered_at: datetime | None


class AttemptOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    number: int
    runner: str
    started_at: datetime
    duration_ms: int
    outcome: str
    http_status: int | None
    request: dict[str, Any] | None
    response: dict[str, Any] | None
    rate_limit: dict[str, Any] | None
    error: str | None


class DeliveryDetail(DeliveryOut):
    payload: dict[str, Any]
    remote_record: dict[str, Any] | None
    attempt_log: list[AttemptOut]


class StatusCounts(BaseModel):
    counts: dict[str, int]
    total: int


class RetryRejectedIn(BaseModel):
    reason: str = Field(min_length=1, max_length=10_000, description="the exact reason text of the rows")
    connection_id: int | None = Field(default=None, ge=1, le=2**63 - 1)


class RetriedOut(BaseModel):
    retried: int


class LogQuery(BaseModel):
    """The export log's filters, shared by the API and the page."""

    connection_id: int | None = None
    project_id: RemoteId | None = Field(default=None, description="the remote project id")
    worker_id: int | None = None
    kind: str | None = None
    status: Status | None = None
    since: date | None = None
    until: date | None = None
    subject: str | None = None

    def to_filter(self) -> LogFilter:
        return LogFilter(
            connection_id=self.connection_id,
            remote_project_id=self.project_id,
            worker_id=self.worker_id,
            kind=self.kind or None,
            status=self.status,
            since=self.since,
            until=self.until,
            subject=self.subject or None,
        )


CSV_COLUMNS = (
    "id", "created_at", "delivered_at", "status", "kind", "subject", "connection_id", "remote_project_id",
    "worker_id", "attempts", "error_class", "reason", "remote_id", "idempotency_key",
)  # fmt: skip
