"""Knobs of the ledger and its runners (environment variables FIELDBRIDGE_DELIVERY_*)."""

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class DeliveryConfig(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FIELDBRIDGE_DELIVERY_", extra="ignore")

    # A claimed row belongs to its runner this long; renewed while it works, so a crashed
    # process's rows return to the queue within one lease.
    lease_seconds: float = Field(30.0, gt=0)
    # After this long without success a row is `failed` (never dropped; support can retry it).
    max_age_hours: float = Field(72.0, gt=0)
    # How long one drain may run before yielding (it claims one batch at a time).
    drain_seconds: float = Field(30.0, gt=0)
    # First retry after about this long (doubling, with jitter, capped at 15 minutes).
    backoff_base_seconds: float = Field(2.0, gt=0)
    # Read timeout of outbound calls made by `fieldbridge worker`.
    http_timeout_seconds: float = Field(20.0, gt=0)
    # Local runner: drains of one connection at once on PostgreSQL (requests in flight).
    drains_per_connection: int = Field(3, ge=1, le=16)
    # Local runner: how long a drain that ran out of work waits for the next commit's rows.
    linger_seconds: float = Field(2.0, ge=0)
    # Local runner: how often it looks for due work besides the after-commit wake-up.
    poll_seconds: float = Field(1.0, gt=0)
    # Procrastinate runner: sweep cadence, and when a silent worker's job counts as stalled.
    sweep_cron: str = "* * * * * */5"
    stalled_after_seconds: float = Field(30.0, gt=0)
    heartbeat_seconds: float = Field(10.0, gt=0)
    # A drain deferred while the same connection drains elsewhere waits on its lock; Procrastinate
    # sends no notice when the lock frees, so workers also look for jobs this often.
    worker_poll_seconds: float = Field(0.5, gt=0)
