"""Time in one place, so tests can travel with time-machine."""

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)
