"""How a remote API reports its rate limits, as data: which headers carry the numbers, how
to read Retry-After and the reset, and which windows exist.

A connector declares one `RateLimitPolicy`; the shared budget (`delivery.budget`) and the
recording channel read it, so neither knows any provider's header names.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from enum import IntEnum

from fieldbridge.kit.clock import utcnow


class Priority(IntEnum):
    """Who is asking, highest first. A class only gets what remains of a window after a reserve
    for every class above it (`delivery.budget`)."""

    interactive = 0  # an admin's click: the project picker, a reconnect, a test call
    delivery = 1  # the ledger: timecards, incidents, observations, daily logs
    change = 2  # sync a webhook asked for (something changed)
    reconcile = 3  # the safety net: periodic checks that webhooks missed nothing


@dataclass(frozen=True)
class Window:
    name: str  # "spike", "hourly": for people reading attempt rows and docs
    seconds: int


@dataclass(frozen=True)
class RateLimitNumbers:
    limit: int
    remaining: int
    reset_epoch: int  # Unix seconds when the reported window resets


@dataclass(frozen=True)
class RateLimitPolicy:
    """Header names are lower case. `reset_is_epoch`: the reset header is Unix seconds (else
    seconds from now). `windows`: the limits the remote side enforces at once; the longest
    bounds any wait. `wait_after_429`: seconds to hold off when a 429 names no time."""

    limit_header: str
    remaining_header: str
    reset_header: str
    windows: tuple[Window, ...]
    retry_after_header: str = "retry-after"
    reset_is_epoch: bool = True
    wait_after_429: float = 1.0

    @property
    def headers(self) -> tuple[str, ...]:
        """Every header worth keeping in an attempt row."""
        return (self.limit_header, self.remaining_header, self.reset_header, self.retry_after_header)

    @property
    def shortest_window_seconds(self) -> int:
        return min((w.seconds for w in self.windows), default=3600)

    @property
    def longest_window_seconds(self) -> int:
        return max((w.seconds for w in self.windows), default=3600)

    def _reset_epoch(self, raw: str, now: float) -> float:
        value = float(raw)
        return value if self.reset_is_epoch else now + value

    def numbers(self, headers: Mapping[str, str], now: float | None = None) -> RateLimitNumbers | None:
        """The reported window, when all three numbers are present and readable
        (`now`: Unix seconds, the current time when left out)."""
        now = utcnow().timestamp() if now is None else now
        try:
            limit = int(float(headers[self.limit_header]))
            remaining = int(float(headers[self.remaining_header]))
            reset = int(self._reset_epoch(headers[self.reset_header], now))
        except (KeyError, ValueError):
            return None
        return RateLimitNumbers(limit, remaining, reset)

    def retry_after(self, headers: Mapping[str, str], now: float | None = None) -> float | None:
        """Seconds to wait: Retry-After (seconds or an HTTP date), else the window's reset;
        never more than the longest window, None when the response names no time."""
        now = utcnow().timestamp() if now is None else now
        seconds = _retry_after(headers.get(self.retry_after_header), now)
        if seconds is None:
            reset = headers.get(self.reset_header)
            try:
                seconds = max(0.0, self._reset_epoch(reset, now) - now) if reset else None
            except ValueError:
                seconds = None
        return None if seconds is None else min(seconds, float(self.longest_window_seconds))


def _retry_after(raw: str | None, now: float) -> float | None:
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(raw).timestamp() - now)
    except (TypeError, ValueError):
        return None
