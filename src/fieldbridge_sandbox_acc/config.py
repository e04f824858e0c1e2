"""ACC sandbox configuration: one pydantic model, like the Procore sandbox's."""

from __future__ import annotations

from typing import Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field

from fieldbridge_sandbox.config import Faults, RateLimits

AccSeedName = Literal["demo", "empty"]

# Fault injection and rate limits apply to APS's surface, never to /_sandbox/.
ACC_FAULT_PREFIXES = [
    "/construction/",
    "/project/",
    "/webhooks/",
    "/authentication/v2/token",
]


def acc_faults() -> Faults:
    return Faults(path_prefixes=list(ACC_FAULT_PREFIXES))


def acc_rate_limits() -> RateLimits:
    # APS publishes per-minute budgets (e.g. 100/min for Forms); the sandbox keeps the shared
    # two-window limiter: a generous hourly window and a per-minute "spike" window.
    return RateLimits(hourly=20000, spike=600, spike_window_seconds=60.0)


class AccConfig(BaseModel):
    """Everything that shapes one ACC sandbox instance."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    seed: AccSeedName = "demo"
    expires_in: int = Field(3600, ge=1)  # APS: access tokens live 60 minutes
    refresh_ttl_seconds: int = Field(15 * 24 * 3600, ge=1)  # APS: refresh tokens live 15 days
    auth_code_ttl_seconds: int = Field(300, ge=1)  # APS: codes live 5 minutes
    require_pkce: bool = True
    rate_limits: RateLimits = Field(default_factory=acc_rate_limits)
    faults: Faults = Field(default_factory=acc_faults)
    persist_path: str | None = None
    webhook_transport: httpx.AsyncBaseTransport | None = None
    webhook_timeout_seconds: float = Field(6.0, gt=0)  # APS: 2xx expected within 6 s
    webhook_backoff_base_seconds: float = Field(1.0, gt=0)
    webhook_backoff_max_seconds: float = Field(3600.0, gt=0)
    webhook_discard_after_seconds: float = Field(48 * 3600.0, gt=0)
    validate_requests: bool = True
    validate_responses: bool = True
