"""Time in one place, so tests can travel with time-machine (in-process) or run whole processes
on a fake clock.

The fake clock is for tests only and is honoured only when FIELDBRIDGE_ENV=test:

- FIELDBRIDGE_TEST_CLOCK_START: an ISO instant with an offset (e.g. `2026-03-07T12:00:00+00:00`).
- FIELDBRIDGE_TEST_CLOCK_ANCHOR: the real Unix time at which the fake clock reads START (the
  test passes the same anchor to every process, so they all read the same fake time).
- FIELDBRIDGE_TEST_CLOCK_SPEED: fake seconds per real second (default 1).

So `utcnow() = START + (real now - ANCHOR) * SPEED`: a test crosses a DST change in seconds.
"""

import asyncio
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta


@dataclass(frozen=True)
class FakeClock:
    start: datetime
    anchor: float
    speed: float

    def now(self) -> datetime:
        return self.start + timedelta(seconds=(time.time() - self.anchor) * self.speed)

    @classmethod
    def from_environ(cls, environ: "os._Environ[str] | dict[str, str]") -> "FakeClock | None":
        start = environ.get("FIELDBRIDGE_TEST_CLOCK_START")
        if not start or environ.get("FIELDBRIDGE_ENV", "").lower() != "test":
            return None
        instant = datetime.fromisoformat(start)
        if instant.tzinfo is None:
            raise ValueError("FIELDBRIDGE_TEST_CLOCK_START needs an offset, e.g. 2026-03-07T12:00:00+00:00")
        anchor = float(environ.get("FIELDBRIDGE_TEST_CLOCK_ANCHOR") or time.time())
        speed = float(environ.get("FIELDBRIDGE_TEST_CLOCK_SPEED") or 1)
        return cls(instant.astimezone(UTC), anchor, speed)


_FAKE = FakeClock.from_environ(os.environ)


def configure(environ: "os._Environ[str] | dict[str, str]") -> None:
    """Read the fake clock again (a bench that sets the variables after import); the same
    rule holds: only when FIELDBRIDGE_ENV=test."""
    global _FAKE
    _FAKE = FakeClock.from_environ(environ)


def utcnow() -> datetime:
    if _FAKE is not None:
        return _FAKE.now()
    return datetime.now(UTC)


def now_ms() -> int:
    """Unix milliseconds on the same clock as `utcnow`."""
    return int(utcnow().timestamp() * 1000)


async def sleep(seconds: float) -> None:
    """Wait `seconds` of this clock (a fake clock running at speed 30 waits 1/30 of it)."""
    await asyncio.sleep(max(0.0, seconds) / (_FAKE.speed if _FAKE is not None else 1.0))
