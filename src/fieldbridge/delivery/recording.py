"""Writing outcomes back: row status per the transition table, one attempt row per item."""

from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from fieldbridge.connections.connector import Delivered, DeliveryHandler, DeliveryItem, Result
from fieldbridge.connections.models import Connection, ConnectionStatus
from fieldbridge.connections.outcomes import (
    Held,
    OutcomeUnknown,
    ParkConnection,
    Rejected,
    Transient,
    backoff_seconds,
    scheduled_delay,
)
from fieldbridge.delivery import states
from fieldbridge.delivery.channel import Exchange
from fieldbridge.delivery.metrics import ATTEMPTS, LATENCY
from fieldbridge.delivery.models import Delivery, DeliveryAttempt
from fieldbridge.delivery.repository import DeliveryRepository, QueueRepository
from fieldbridge.delivery.service import Hold, hold
from fieldbridge.delivery.states import CLAIMABLE, Status
from fieldbridge.kit.clock import utcnow
from fieldbridge.kit.db import Database
from fieldbridge.kit.logging import get_logger

if TYPE_CHECKING:
    from fieldbridge.delivery.runner import DrainReport

log = get_logger("fieldbridge.delivery")
ProjectUnavailable = Callable[[AsyncSession, int, str, str], Awaitable[None]]
PROJECT_UNAVAILABLE: list[ProjectUnavailable] = []
"""Told when a refused delivery revealed a remote project out of reach, `(session, connection_id,
remote_project_id, state)`, in the recording transaction: `sites.availability` registers itself
when imported (the wiring imports it in every process), so the ledger imports no domain."""
# A handler's optional `after_record`: sees each recorded row with its result, in the same transaction.
AfterRecord = Callable[[AsyncSession, int, Sequence[tuple[Delivery, Result]]], Awaitable[None]]


def _attempt(
    row: Delivery, owner: str, outcome: str, exchanges: Sequence[Exchange], error: str | None
) -> DeliveryAttempt:
    mine = [e for e in exchanges if row.id in e.ids]
    last = mine[-1] if mine else None
    return DeliveryAttempt(
        delivery_id=row.id,
        company_id=row.company_id,
        number=row.attempts,
        runner=owner[:100],
        started_at=mine[0].started_at if mine else utcnow(),
        duration_ms=sum(e.duration_ms for e in mine),
        outcome=outcome,
        http_status=last.status if last else None,
        request={"calls": [e.request for e in mine]} if mine else None,
        response=last.response if last else None,
        rate_limit=last.rate_limit if last else None,
        error=error or (last.error if last else None),
    )


def remote_version(record: Mapping[str, Any] | None) -> str | None:
    """The delivered record's version as the remote side stamped it (`updated_at`, else
    `version`): an inbound event carrying the same one is FieldBridge's own write (an echo)."""
    if not record:
        return None
    for key in ("updated_at", "version"):
        value = record.get(key)
        if value is not None and value != "":
            return str(value)[:64]
    return None


def _apply(
    row: Delivery, result: Result, backoff_base: float, schedule: Sequence[float] | None = None
) -> str:
    """Move one row per its result; returns the attempt outcome label."""
    now = utcnow()
    row.lease_owner = row.lease_expires_at = None
    if isinstance(result, Delivered):
        states.check(row.status, Status.delivered)
        row.status = Status.delivered
        row.remote_id = result.remote_id
        row.remote_record = dict(result.remote_record) if result.remote_record else None
        row.remote_version = remote_version(result.remote_record)
        row.delivered_at = now
        row.outcome_unknown = False
        row.error_class = row.reason = None
        LATENCY.labels(row.kind).observe(max(0.0, (now - row.created_at).total_seconds()))
        return "found" if result.found_by_lookup else "delivered"
    row.error_class = result.error_class
    row.reason = result.reason
    if isinstance(result, ParkConnection):
        states.check(row.status, Status.parked)
        row.status = Status.parked
        return "auth"
    if isinstance(result, Rejected):
        states.check(row.status, Status.rejected)
        row.status = Status.rejected
        return "rejected"
    if isinstance(result, OutcomeUnknown):
        row.outcome_unknown = True
    retry_after = result.retry_after if isinstance(result, Transient) else None
    delay = (
        backoff_seconds(row.attempts, retry_after, base=backoff_base)
        if schedule is None
        else scheduled_delay(schedule, row.attempts, retry_after)
    )
    if now >= row.expires_at or delay is None:
        states.check(row.status, Status.failed)
        row.status = Status.failed
        row.reason = f"Gave up after {row.attempts} attempts: {result.reason}"
    else:
        states.check(row.status, Status.retrying)
        row.status = Status.retrying
        row.next_attempt_at = now + timedelta(seconds=delay)
    return result.error_class


async def _hold_project(session: AsyncSession, connection_id: int, cause: Held) -> None:
    """The remote side said a whole project is out of reach: hold its other waiting rows under
    the same cause (no request is spent on them) and tell the project mirror at once."""
    if cause.remote_project_id is None:
        return
    rows = await DeliveryRepository.from_session(session).open_rows_of_project(
        connection_id, cause.remote_project_id
    )
    for row in rows:
        await hold(session, row, [Hold(cause.key, cause.reason)])
    if cause.remote_project_state is not None:
        for tell in PROJECT_UNAVAILABLE:  # the project mirror (sites.availability)
            await tell(session, connection_id, cause.remote_project_id, cause.remote_project_state)
    log.info("delivery.project_held", connection_id=connection_id, key=cause.key, rows=len(rows) + 1)


async def record_results(
    db: Database,
    owner: str,
    connection_id: int,
    items: Sequence[DeliveryItem],
    results: dict[int, Result],
    exchanges: Sequence[Exchange],
    report: "DrainReport",
    backoff_base: float,
    handler: DeliveryHandler | None = None,
) -> bool:
    """Store outcomes of rows this runner still holds; True when the connection must park.

    Two optional handler attributes adjust this without special cases here:
    `retry_schedule` (waits after the 1st, 2nd, ... failed attempt; the row fails when it
    runs out, e.g. webhooks' Svix-like schedule) and `after_record(session, connection_id,
    outcomes)`, called in the same transaction with each row and its result (e.g. a webhook
    endpoint disabled after a 410 or five days of failures)."""
    park: ParkConnection | None = None
    revealed: dict[str, Held] = {}
    schedule: Sequence[float] | None = getattr(handler, "retry_schedule", None)
    after_record: AfterRecord | None = getattr(handler, "after_record", None)
    outcomes: list[tuple[Delivery, Result]] = []
    async with db.transaction() as session:
        queue = QueueRepository.from_session(session)
        await queue.lock_writes(db.is_sqlite)
        for row in await queue.held(owner, [i.id for i in items]):
            result = results[row.id]
            row.attempts += 1
            if isinstance(result, Held):
                await hold(session, row, [Hold(result.key, result.reason)])
                revealed[result.key] = result
                outcome = "held"
            else:
                outcome = _apply(row, result, backoff_base, schedule)
            outcomes.append((row, result))
            error = None if isinstance(result, Delivered) else result.reason
            session.add(_attempt(row, owner, outcome, exchanges, error))
            ATTEMPTS.labels(row.kind, outcome).inc()
            report.count(outcome)
            if isinstance(result, ParkConnection):
                park = result
        if after_record is not None and outcomes:
            await after_record(session, connection_id, outcomes)
        for cause in revealed.values():
            await _hold_project(session, connection_id, cause)
        if park is not None:
            connection = await session.get(Connection, connection_id)
            if connection is not None and connection.status == ConnectionStatus.connected:
                connection.status = ConnectionStatus.needs_reconnect
                connection.status_reason = park.reason
                connection.last_error_at = utcnow()
            await queue.set_status_where(connection_id, CLAIMABLE, Status.parked, park.reason, "auth")
            log.warning("delivery.connection_parked", connection_id=connection_id, reason=park.reason)
    return park is not None
