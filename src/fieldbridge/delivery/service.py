"""Rules of the ledger: enqueue inside the caller's transaction, and support's actions.

    async with db.transaction() as session:          # the caller's unit of work
        shift = ...                                    # the domain change
        await delivery_service.enqueue(session, company_id=..., connection_id=...,
                                       kind="procore.timecard.create",
                                       subject=f"clock_session:{shift.id}", payload={...})
    # committed together; after the commit the runners are woken for that connection

Functions take a session and never commit.
"""

import functools
import uuid
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from fieldbridge.delivery import states
from fieldbridge.delivery.config import DeliveryConfig
from fieldbridge.delivery.models import Delivery
from fieldbridge.delivery.repository import DeliveryRepository
from fieldbridge.delivery.states import Status
from fieldbridge.kit.clock import utcnow
from fieldbridge.kit.errors import Conflict, NotFound, Unprocessable

_PENDING_KEY = "fieldbridge.delivery.connections"
# Called after a commit that enqueued rows, with the connection ids (local wake-up, job defer).
_wakers: list[Callable[[set[int]], None]] = []


def add_waker(waker: Callable[[set[int]], None]) -> None:
    _wakers.append(waker)


def remove_waker(waker: Callable[[set[int]], None]) -> None:
    if waker in _wakers:
        _wakers.remove(waker)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    connection_ids: set[int] | None = session.info.pop(_PENDING_KEY, None)
    if connection_ids:
        for waker in list(_wakers):
            waker(connection_ids)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING_KEY, None)


@functools.cache
def _max_age() -> timedelta:
    """Read once per process: building DeliveryConfig parses the environment (~0.5 ms a call)."""
    return timedelta(hours=DeliveryConfig().max_age_hours)


async def enqueue(
    session: AsyncSession,
    *,
    company_id: int,
    connection_id: int,
    kind: str,
    subject: str,
    payload: dict[str, Any],
    idempotency_key: str | None = None,
    remote_project_id: int | None = None,
    worker_id: int | None = None,
) -> Delivery:
    """Add one outbound operation to the caller's transaction.

    The same `idempotency_key` on the same connection returns the existing row, so a
    domain service may enqueue again safely (e.g. a phone that re-sends its clock-out).
    """
    from fieldbridge.delivery.runner import registry  # the registry imports connectors

    if registry().handler(kind) is None:
        raise Unprocessable(
            f"No connector delivers {kind!r}; known kinds: {', '.join(sorted(registry().handlers))}."
        )
    repo = DeliveryRepository.from_session(session)
    if await repo.connection(company_id, connection_id) is None:
        raise NotFound("That connection does not exist.")
    if idempotency_key is not None:
        existing = await repo.get_by_key(company_id, connection_id, idempotency_key)
        if existing is not None:
            return existing
    now = utcnow()
    row = await repo.add(
        Delivery(
            company_id=company_id,
            connection_id=connection_id,
            kind=kind,
            subject=subject,
            payload=payload,
            idempotency_key=idempotency_key or uuid.uuid4().hex,
            remote_project_id=remote_project_id,
            worker_id=worker_id,
            status=Status.pending,
            attempts=0,
            next_attempt_at=now,
            expires_at=now + _max_age(),
            created_at=now,
            updated_at=now,
        )
    )
    session.sync_session.info.setdefault(_PENDING_KEY, set()).add(connection_id)
    return row


def wake_after_commit(session: AsyncSession, connection_ids: Iterable[int]) -> None:
    session.sync_session.info.setdefault(_PENDING_KEY, set()).update(connection_ids)


async def get(session: AsyncSession, company_id: int, delivery_id: int) -> Delivery:
    row = await DeliveryRepository.from_session(session).get(company_id, delivery_id)
    if row is None:
        raise NotFound("No such delivery in this company.")
    return row


def _move(row: Delivery, new: Status, action: str) -> None:
    if not states.allowed(Status(row.status), new):
        raise Conflict(f"A {row.status} delivery cannot be {action}.", code="invalid_transition")
    row.status = new


async def retry(session: AsyncSession, company_id: int, delivery_id: int) -> Delivery:
    """Send a rejected, failed, cancelled or parked row again, now, with a fresh max age."""
    row = await get(session, company_id, delivery_id)
    if row.status not in states.RETRYABLE:
        raise Conflict(f"A {row.status} delivery cannot be retried.", code="invalid_transition")
    _move(row, Status.pending, "retried")
    _requeue(session, row)
    return row


async def retry_chain(session: AsyncSession, company_id: int, delivery_id: int) -> list[Delivery]:
    """Retry a row together with every row of its subject that a person must restart (a clock-in
    entry's rejected create and its change waiting behind it): one click sends the whole shift
    again, in order. Returns the rows queued again."""
    row = await get(session, company_id, delivery_id)
    chain = await DeliveryRepository.from_session(session).chain(company_id, row)
    todo = [r for r in chain if r.status in states.RETRYABLE]
    if not todo:
        raise Conflict(
            f"Nothing to retry: this delivery is {row.status} and nothing before or after it was refused.",
            code="invalid_transition",
        )
    for r in todo:
        _move(r, Status.pending, "retried")
        _requeue(session, r)
    return todo


BULK_RETRY_LIMIT = 5000


async def retry_rejected(
    session: AsyncSession, company_id: int, reason: str, connection_id: int | None = None
) -> int:
    """Once the cause is fixed, send every row rejected for exactly this reason again (at most
    BULK_RETRY_LIMIT a call; call again for more). Returns how many were queued."""
    rows = await DeliveryRepository.from_session(session).rejected_for(
        company_id, reason, connection_id, BULK_RETRY_LIMIT
    )
    for r in rows:
        _move(r, Status.pending, "retried")
        _requeue(session, r)
    return len(rows)


async def replay(session: AsyncSession, company_id: int, delivery_id: int) -> Delivery:
    """Send a delivered row again. Creates look the record up first and are re-sent only when
    it is gone from the remote side, so a replay never makes a duplicate."""
    row = await get(session, company_id, delivery_id)
    if row.status not in states.REPLAYABLE:
        raise Conflict(
            f"Only delivered rows can be replayed; this one is {row.status}.", code="invalid_transition"
        )
    _move(row, Status.pending, "replayed")
    row.outcome_unknown = True
    _requeue(session, row)
    return row


async def cancel(session: AsyncSession, company_id: int, delivery_id: int) -> Delivery:
    row = await get(session, company_id, delivery_id)
    if row.status == Status.running:
        raise Conflict("This delivery is being sent right now; wait a moment and reload.", code="running")
    _move(row, Status.cancelled, "cancelled")
    row.reason = "Cancelled by a person from the export log."
    row.error_class = None
    return row


def _requeue(session: AsyncSession, row: Delivery) -> None:
    now = utcnow()
    row.next_attempt_at = now
    row.expires_at = now + _max_age()
    row.error_class = None
    row.reason = None
    row.lease_owner = None
    row.lease_expires_at = None
    wake_after_commit(session, [row.connection_id])
