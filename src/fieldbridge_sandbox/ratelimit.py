"""Per-token request budgets: an hourly and a 10-second spike window, as Procore enforces."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from fieldbridge_sandbox.config import RateLimits

RATE_LIMIT_MESSAGE = (
    "You have surpassed the max number of requests for an hour. Please wait until your limit resets."
)


@dataclass(slots=True)
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    reset: int
    retry_after: int

    def headers(self) -> list[tuple[bytes, bytes]]:
        return [
            (b"x-rate-limit-limit", str(self.limit).encode()),
            (b"x-rate-limit-remaining", str(self.remaining).encode()),
            (b"x-rate-limit-reset", str(self.reset).encode()),
        ]


class RateLimiter:
    """Fixed windows per key. Headers report the window closest to running out."""

    def __init__(self, limits: RateLimits, clock: Callable[[], float]) -> None:
        self.limits = limits
        self.clock = clock
        # key -> [hour_start, hour_count, spike_start, spike_count]
        self.windows: dict[str, list[float]] = {}

    def reset(self) -> None:
        self.windows.clear()

    def hit(self, key: str) -> Verdict:
        lim = self.limits
        now = self.clock()
        w = self.windows.get(key)
        if w is None:
            w = self.windows[key] = [now, 0, now, 0]
        if now - w[0] >= lim.hourly_window_seconds:
            w[0], w[1] = now, 0
        if now - w[2] >= lim.spike_window_seconds:
            w[2], w[3] = now, 0
        allowed = w[1] < lim.hourly and w[3] < lim.spike
        if allowed:
            w[1] += 1
            w[3] += 1
        hour_left = lim.hourly - int(w[1])
        spike_left = lim.spike - int(w[3])
        hour_reset = w[0] + lim.hourly_window_seconds
        spike_reset = w[2] + lim.spike_window_seconds
        if hour_left <= spike_left:
            limit, remaining, reset = lim.hourly, hour_left, hour_reset
        else:
            limit, remaining, reset = lim.spike, spike_left, spike_reset
        if not allowed:
            # the window that blocks decides when the client may come back
            reset = hour_reset if hour_left <= 0 else spike_reset
        return Verdict(allowed, limit, max(0, remaining), math.ceil(reset), max(1, math.ceil(reset - now)))
