"""Every way a delivery attempt can end badly, classified once, by what happens next.

    DeliveryFailure                 `.reason` is written for a support engineer or a foreman
     ├── Transient                  retry later with backoff and jitter; `.retry_after` when
     │    │                         the remote side said (Retry-After, X-Rate-Limit-Reset)
     │    └── OutcomeUnknown        a write left and no answer came back (timeout, dropped
     │                              connection): look the record up before sending it again
     ├── Rejected                   permanent: a person must change something first
     ├── Held                       a named cause a person fixes elsewhere (e.g. the project
     │                              lost access); the row waits and goes out when the cause's
     │                              key is released, with no retry from the export log
     └── ParkConnection             the connection needs a reconnect; every row of it parks
                                    and resumes by itself once the admin reconnects

This taxonomy knows no connector. Each connector maps its own exceptions onto it with an
`ErrorMapping` (declared in its `ConnectorSpec`); `classify(exc, wrote=..., mapping=...)` is
the one place exceptions from connectors and httpx become one of these. Connectors add
plain reasons (e.g. "the worker has no Timecard permission in Procore") by raising
`Rejected` themselves; anything unknown is transient, never dropped.
"""

import random
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx

BACKOFF_BASE_SECONDS = 2.0
BACKOFF_CAP_SECONDS = 15 * 60.0


class DeliveryFailure(Exception):
    error_class = "unknown"

    def __init__(self, reason: str, *, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


class Transient(DeliveryFailure):
    error_class = "transient"

    def __init__(self, reason: str, *, retry_after: float | None = None, status: int | None = None) -> None:
        super().__init__(reason, status=status)
        self.retry_after = retry_after


class OutcomeUnknown(Transient):
    error_class = "unknown"


class Rejected(DeliveryFailure):
    error_class = "rejected"


class Held(DeliveryFailure):
    """Hold the row under `key` until the domain that fixes the cause releases it.
    `remote_project_state` ("inactive" or "no_access") tells the mirror what was revealed."""

    error_class = "held"

    def __init__(
        self,
        reason: str,
        *,
        key: str,
        remote_project_id: str | None = None,
        remote_project_state: str | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(reason, status=status)
        self.key = key
        self.remote_project_id = remote_project_id
        self.remote_project_state = remote_project_state


class ParkConnection(DeliveryFailure):
    error_class = "auth"


# The plain reasons of safety deliveries (issue 11), as the export log shows them: a refusal's
# `reason` starts with one of these, then says what to change ("tool not enabled: the
# Observations tool is off in project X; turn it on in Procore's project Admin tool").
TOOL_NOT_ENABLED = "tool not enabled"
NO_PERMISSION = "no permission"
PROJECT_INACTIVE = "project inactive"
MAPPED_VALUE_MISSING = "mapped value missing"
SAFETY_REASONS = (TOOL_NOT_ENABLED, NO_PERMISSION, PROJECT_INACTIVE, MAPPED_VALUE_MISSING)


def plain_reason(reason: str) -> str | None:
    """The plain safety reason a failure's text starts with, None for any other failure."""
    return next((r for r in SAFETY_REASONS if reason.lower().startswith(r)), None)


def refusal(plain: str, detail: str, *, status: int | None = None) -> Rejected:
    """A permanent refusal whose reason is `"<plain reason>: <what to change>"`."""
    if plain not in SAFETY_REASONS:
        raise ValueError(f"{plain!r} is not one of the plain reasons {SAFETY_REASONS}")
    return Rejected(f"{plain}: {detail}", status=status)


def missing_mapping(mapped: Mapping[str, Any] | None) -> Rejected | None:
    """A payload's "mapped" values (`safety.mapping.MappedValue.as_payload()` per category)
    as a refusal when one was flagged gone upstream, before anything is sent."""
    for category, value in (mapped or {}).items():
        if isinstance(value, Mapping) and value.get("missing"):
            return refusal(
                MAPPED_VALUE_MISSING,
                f"the {category.replace('_', ' ')} {value.get('remote_label')!r} no longer exists in the "
                "platform; pick another on the connection's safety mapping page, then retry.",
            )
    return None


# A connector's own exception as one of these; None when the exception is not the connector's.
ErrorMapping = Callable[[BaseException], DeliveryFailure | None]


def no_mapping(exc: BaseException) -> DeliveryFailure | None:
    return None


def classify(exc: BaseException, *, wrote: bool, mapping: ErrorMapping = no_mapping) -> DeliveryFailure:
    """The failure class of an exception raised while delivering (`wrote`: a write was sent)."""
    if isinstance(exc, DeliveryFailure):
        return exc
    mapped = mapping(exc)
    if mapped is not None:
        return mapped
    if isinstance(
        exc, httpx.TimeoutException | httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError
    ):
        if wrote:
            return OutcomeUnknown(
                f"No answer from the remote side ({type(exc).__name__}); checking before resending."
            )
        return Transient(f"The remote side did not answer in time ({type(exc).__name__}).")
    if isinstance(exc, httpx.TransportError):
        # Connecting failed: the request never left, so the outcome is known (nothing happened).
        return Transient(f"Could not reach the remote side ({type(exc).__name__}).")
    return Transient(f"Unexpected error, will retry: {type(exc).__name__}: {str(exc)[:200]}")


def backoff_seconds(
    attempts: int,
    retry_after: float | None = None,
    rng: random.Random | None = None,
    base: float = BACKOFF_BASE_SECONDS,
) -> float:
    """Exponential backoff with full jitter in [50 %, 100 %], never sooner than `retry_after`."""
    rng = rng or random.Random()
    ceiling: float = min(BACKOFF_CAP_SECONDS, base * 2.0 ** max(0, attempts - 1))
    delay: float = ceiling * (0.5 + rng.random() / 2)
    return max(delay, retry_after or 0.0)


def scheduled_delay(
    schedule: Sequence[float],
    attempts: int,
    retry_after: float | None = None,
    rng: random.Random | None = None,
    jitter: float = 0.2,
) -> float | None:
    """A handler's own retry schedule (`DeliveryHandler.retry_schedule`: the wait after the
    1st, 2nd, ... failed attempt): that wait plus up to `jitter` of it, never sooner than
    `retry_after`; None once the schedule is used up (the row fails)."""
    if attempts < 1 or attempts > len(schedule):
        return None
    rng = rng or random.Random()
    delay = schedule[attempts - 1] * (1.0 + jitter * rng.random())
    return max(delay, retry_after or 0.0)
