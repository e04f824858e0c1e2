"""Sandbox configuration: one pydantic model, settable at start-up and (partly) at run time."""

from __future__ import annotations

from typing import Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field

SeedName = Literal["demo", "large", "empty"]


class RateLimits(BaseModel):
    """Per-token request budgets: an hourly window and a 10-second spike window."""

    hourly: int = Field(3600, ge=1)
    spike: int = Field(100, ge=1)
    spike_window_seconds: float = Field(10.0, gt=0)
    hourly_window_seconds: float = Field(3600.0, gt=0)


class Latency(BaseModel):
    """Added latency, uniformly distributed in [min_ms, max_ms] (both 0 = none)."""

    min_ms: float = Field(0.0, ge=0)
    max_ms: float = Field(0.0, ge=0)


class Faults(BaseModel):
    """Fault injection on Procore's surface (`/rest/...` and `/oauth/token`), never on `/_sandbox/`.

    Probabilities are in [0, 1]; the `*_next` counters hit the next N matching requests
    deterministically, which is what tests usually want.
    """

    error_rate: float = Field(0.0, ge=0, le=1)
    error_statuses: list[int] = Field(default_factory=lambda: [500, 502, 503])
    error_next: int = Field(0, ge=0)
    latency: Latency = Field(default_factory=Latency)
    timeout_rate: float = Field(0.0, ge=0, le=1)
    timeout_next: int = Field(0, ge=0)
    hang_seconds: float = Field(30.0, ge=0)
    drop_rate: float = Field(0.0, ge=0, le=1)
    drop_next: int = Field(0, ge=0)
    throttle_rate: float = Field(0.0, ge=0, le=1)
    throttle_next: int = Field(0, ge=0)
    throttle_for_seconds: float = Field(0.0, ge=0)
    retry_after_seconds: int = Field(5, ge=0)
    path_prefixes: list[str] = Field(default_factory=lambda: ["/rest/", "/oauth/token"])
    random_seed: int | None = None


class SandboxConfig(BaseModel):
    """Everything that shapes one sandbox instance."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    seed: SeedName = "demo"
    expires_in: int = Field(5400, ge=1)
    auth_code_ttl_seconds: int = Field(600, ge=1)
    rate_limits: RateLimits = Field(default_factory=RateLimits)
    faults: Faults = Field(default_factory=Faults)
    persist_path: str | None = None
    webhook_transport: httpx.AsyncBaseTransport | None = None
    webhook_timeout_seconds: float = Field(5.0, gt=0)
    webhook_backoff_base_seconds: float = Field(1.0, gt=0)
    webhook_backoff_max_seconds: float = Field(3600.0, gt=0)
    webhook_discard_after_seconds: float = Field(12 * 3600.0, gt=0)
    # Share of events dropped: never sent, listed in the hook's deliveries as `discarded`
    # (PUT /_sandbox/webhooks/drop changes it at run time).
    webhook_drop_rate: float = Field(0.0, ge=0, le=1)
    webhook_drop_seed: int | None = None
    invalid_grant_status: int = 401
    default_per_page: int = Field(100, ge=1)
    max_per_page: int = Field(2000, ge=1)
    validate_requests: bool = True
    notes_log_status: Literal["approved", "pending"] = "approved"
