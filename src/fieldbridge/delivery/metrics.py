"""Prometheus metrics of the ledger (served at /metrics with the rest)."""

from prometheus_client import Counter, Gauge, Histogram

from fieldbridge.delivery.repository import QueueRepository
from fieldbridge.delivery.states import OPEN
from fieldbridge.kit.clock import utcnow
from fieldbridge.kit.db import Database

QUEUE_DEPTH = Gauge(
    "fieldbridge_delivery_queue_depth", "Ledger rows waiting to go out, by status", ["status"]
)
OLDEST_PENDING = Gauge(
    "fieldbridge_delivery_oldest_pending_seconds", "Age of the oldest row waiting to go out"
)
LATENCY = Histogram(
    "fieldbridge_delivery_latency_seconds",
    "From enqueue (the domain commit) to delivered",
    ["kind"],
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800, 3600, 6 * 3600),
)
ATTEMPTS = Counter("fieldbridge_delivery_attempts_total", "Delivery attempts by outcome", ["kind", "outcome"])
RATE_LIMITED = Counter("fieldbridge_delivery_http_429_total", "429 answers received while delivering")


async def refresh_gauges(db: Database) -> None:
    async with db.sessionmaker() as session:
        queue = QueueRepository.from_session(session)
        counts = await queue.open_counts()
        oldest = await queue.oldest_open()
    for status in OPEN:
        QUEUE_DEPTH.labels(str(status)).set(counts.get(str(status), 0))
    OLDEST_PENDING.set(0 if oldest is None else max(0.0, (utcnow() - oldest).total_seconds()))
