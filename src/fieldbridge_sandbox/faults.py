"""Fault injection decisions: 5xx, latency, hangs, 429 storms, and commit-then-drop.

The exceptions subclass httpx's transport errors on purpose: in-process, httpx's
ASGITransport re-raises an app exception to the caller, so a client sees the same
`httpx.TransportError` family it would see from a real broken connection; served by
uvicorn, the response has already started, so uvicorn closes the connection mid-response.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from fieldbridge_sandbox.config import Faults

WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})


class SandboxConnectionDropped(httpx.RemoteProtocolError):
    """The write committed, then the connection broke before the response arrived."""


class SandboxTimeout(httpx.ReadTimeout):
    """The sandbox hung longer than the client was willing to wait."""


@dataclass(slots=True)
class Plan:
    """What the middleware does to one request."""

    delay: float = 0.0
    hang: float = 0.0
    error_status: int = 0
    throttle: bool = False
    drop: bool = False


class FaultInjector:
    def __init__(self, faults: Faults, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.storm_until = 0.0
        self.faults = faults
        self.rng = random.Random(faults.random_seed)
        self.configure(faults)

    def configure(self, faults: Faults) -> None:
        self.faults = faults
        self.rng = random.Random(faults.random_seed)
        self.storm_until = self.clock() + faults.throttle_for_seconds if faults.throttle_for_seconds else 0.0

    def applies(self, path: str) -> bool:
        return any(path.startswith(p) for p in self.faults.path_prefixes)

    def _take(self, counter: str, rate: float) -> bool:
        left = getattr(self.faults, counter)
        if left > 0:
            setattr(self.faults, counter, left - 1)
            return True
        return rate > 0 and self.rng.random() < rate

    def plan(self, method: str) -> Plan:
        f = self.faults
        plan = Plan()
        if f.latency.max_ms > 0:
            plan.delay = self.rng.uniform(f.latency.min_ms, f.latency.max_ms) / 1000.0
        if self.clock() < self.storm_until or self._take("throttle_next", f.throttle_rate):
            plan.throttle = True
            return plan
        if self._take("timeout_next", f.timeout_rate):
            plan.hang = f.hang_seconds
            return plan
        if self._take("error_next", f.error_rate):
            plan.error_status = self.rng.choice(f.error_statuses or [500])
            return plan
        if method in WRITE_METHODS and self._take("drop_next", f.drop_rate):
            plan.drop = True
        return plan
