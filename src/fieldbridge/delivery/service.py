"""Rules of the ledger: enqueue inside the caller's transaction, and support's actions.

    async with db.transaction() as session:          # the caller's unit of work
        shift = ...                                    # the domain change
        await delivery_service.enqueue(session, company_id=..., connection_id=...,
                                       kind="procore.timecard.create",
                                       subject=f"clock_session:{shift.id}", payload={...})
    # committed together; after the commit the runners are woken for that connection

A row that must not go out until a person fixes something is enqueued (or put) on hold:

    await delivery_service.enqueue(session, ..., holds=[Hold("shift:7", "Outside the time policy: ...")])
    ...
    await delivery_service.release(session, company_id, "shift:7")   # the admin approved it

Every cause is a key the fixing code knows (`shift:<id>`, `project:<remote id>`,
`person:<worker id>`); a row waiting for several causes goes out after the last is released.

Functions take a session and never commit.
"""

import functools
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from fieldbridge.delivery import states
from fieldbridge.delivery.config import DeliveryConfig
from fieldbridge.delivery.models import Delivery, DeliveryHold
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


def wake(connection_ids: set[int]) -> None:
    """Tell the runners that rows of these connections were committed (a writer that does not
    go through a session calls it after its commit)."""
    for waker in list(_wakers):
        waker(connection_ids)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    connection_ids: set[int] | None = session.info.pop(_PENDING_KEY, None)
    if connection_ids:
        wake(connection_ids)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING_KEY, None)


@dataclass(frozen=True)
class Hold:
    """A cause a delivery waits for: the key its fixer releases and what a person reads."""

    key: str
    reason: str


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
    remote_project_id: str | None = None,
    worker_id: int | None = None,
    holds: Sequence[Hold] = (),
) -> Delivery:
    """Add one outbound operation to the caller's transaction (`held` when `holds` are given).

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
    if holds:
        await hold(session, row, holds, new=True)
    else:
        session.sync_session.info.setdefault(_PENDING_KEY, set()).add(connection_id)
    return row


@dataclass(frozen=True)
class NewRow:
    """One row for `enqueue_new`: its connection, subject, payload and a fresh idempotency key."""

    connection_id: int
    subject: str
    payload: dict[str, Any]
    idempotency_key: str
    remote_project_id: str | None = None  # for the export log's filters and project holds
    due_at: datetime | None = None  # not before (e.g. an update left to gather more changes)


async def enqueue_new(session: AsyncSession, *, company_id: int, kind: str, rows: Sequence[NewRow]) -> int:
    """Many rows of one kind in one multi-row INSERT (e.g. a webhook event per detection of a
    batch). For callers whose keys are new by construction (a fresh message id) and whose
    connections they read from the company's own rows: no lookup per row and no ORM objects,
    unlike `enqueue`. Returns how many rows went in."""
    from fieldbridge.delivery.runner import registry  # the registry imports connectors

    if not rows:
        return 0
    if registry().handler(kind) is None:
        raise Unprocessable(f"No connector delivers {kind!r}.")
    now = utcnow()
    values = [
        {
            **_new_row(company_id, r.connection_id, kind, r.subject, r.payload, r.idempotency_key, now),
            "remote_project_id": r.remote_project_id,
            "next_attempt_at": r.due_at or now,
        }
        for r in rows
    ]
    await DeliveryRepository.from_session(session).insert_many(values)
    wake_after_commit(session, {r.connection_id for r in rows})
    return len(values)


def _new_row(
    company_id: int,
    connection_id: int,
    kind: str,
    subject: str,
    payload: dict[str, Any],
    idempotency_key: str,
    now: datetime,
) -> dict[str, Any]:
    """The columns of a new, pending row for a Core INSERT."""
    return {
        "company_id": company_id,
        "connection_id": connection_id,
        "kind": kind,
        "subject": subject,
        "payload": payload,
        "idempotency_key": idempotency_key,
        "status": Status.pending.value,
        "attempts": 0,
        "next_attempt_at": now,
        "expires_at": now + _max_age(),
        "outcome_unknown": False,
        "created_at": now,
        "updated_at": now,
    }


@dataclass(frozen=True)
class Outbound:
    """One row for `enqueue_many`: what `enqueue` takes, for one operation."""

    connection_id: int
    kind: str
    subject: str
    payload: dict[str, Any]
    remote_project_id: str | None = None
    worker_id: int | None = None
    holds: Sequence[Hold] = ()


def new_rows(company_id: int, rows: Sequence[Outbound]) -> list[dict[str, Any]]:
    """The columns of `rows` as `enqueue_many` inserts them (also for a writer on the driver
    connection); a 422 for a kind no connector delivers."""
    from fieldbridge.delivery.runner import registry  # the registry imports connectors

    for kind in {r.kind for r in rows}:
        if registry().handler(kind) is None:
            raise Unprocessable(
                f"No connector delivers {kind!r}; known kinds: {', '.join(sorted(registry().handlers))}."
            )
    now = utcnow()
    return [
        {
            **_new_row(company_id, r.connection_id, r.kind, r.subject, r.payload, uuid.uuid4().hex, now),
            "remote_project_id": r.remote_project_id,
            "worker_id": r.worker_id,
            "status": (Status.held if r.holds else Status.pending).value,
            "reason": r.holds[0].reason if r.holds else None,
            "error_class": "held" if r.holds else None,
        }
        for r in rows
    ]


async def enqueue_many(session: AsyncSession, *, company_id: int, rows: Sequence[Outbound]) -> list[Delivery]:
    """`enqueue` for many rows (subjects unique among them, no idempotency key) in one INSERT,
    plus one for the holds of those that wait: no ORM unit of work for rows nobody loads. For
    callers whose connection ids come from the company's own rows in this unit of work (a
    shift's), so no connection look-up. Returns the rows as written, not attached to the
    session (for the caller's answer)."""
    values = new_rows(company_id, rows)
    if not rows:
        return []
    repo = DeliveryRepository.from_session(session)
    ids = await repo.insert_returning(values)
    written = [Delivery(id=ids[r.subject], **v) for r, v in zip(rows, values, strict=True)]
    held = [
        DeliveryHold(delivery_id=ids[r.subject], company_id=company_id, key=h.key, reason=h.reason)
        for r in rows
        for h in {h.key: h for h in r.holds}.values()
    ]
    if held:
        await repo.add_holds(held)
    ready = {r.connection_id for r in rows if not r.holds}
    if ready:
        wake_after_commit(session, ready)
    return written


async def hold(session: AsyncSession, row: Delivery, holds: Sequence[Hold], *, new: bool = False) -> None:
    """Add causes to a row that has not gone out; it waits (`held`) until all are released.
    Causes left from an earlier hold of the row (since cancelled or retried) are dropped."""
    repo = DeliveryRepository.from_session(session)
    known: set[str] = set()
    if row.status == Status.held:
        known = {h.key for h in await repo.holds_of(row.company_id, [row.id])}
    else:
        states.check(row.status, Status.held)
        row.status = Status.held
        if not new:
            await repo.delete_holds_of(row.company_id, [row.id])
    fresh = [h for h in {h.key: h for h in holds}.values() if h.key not in known]
    await repo.add_holds(
        [
            DeliveryHold(delivery_id=row.id, company_id=row.company_id, key=h.key, reason=h.reason)
            for h in fresh
        ]
    )
    if not known:
        row.reason = holds[0].reason
    row.error_class = "held"
    row.lease_owner = row.lease_expires_at = None


async def release(
    session: AsyncSession, company_id: int, key: str, *, fill: Mapping[str, Any] | None = None
) -> int:
    """The cause `key` is fixed: drop its holds. Rows with no cause left go back to the queue
    with a fresh max age (runners woken after commit); the others show their next reason.
    `fill` sets payload fields the held rows left empty (e.g. the Procore person once linked).
    Returns how many rows were freed."""
    repo = DeliveryRepository.from_session(session)
    dropped = await repo.holds_by_key(company_id, key)
    if not dropped:
        return 0
    ids = sorted({h.delivery_id for h in dropped})
    # Lock the rows first: two causes released at once must not both see the other one left.
    held_rows = await repo.by_ids(company_id, ids, lock=True)
    await repo.delete_holds([h.id for h in dropped])
    left = await repo.holds_of(company_id, ids)
    freed = 0
    for row in held_rows:
        if fill:
            row.payload = {k: fill.get(k, v) if v is None else v for k, v in row.payload.items()}
        if row.status != Status.held:
            continue
        mine = [h for h in left if h.delivery_id == row.id]
        if mine:
            row.reason = mine[0].reason
            continue
        _move(row, Status.pending, "released")
        _requeue(session, row)
        freed += 1
    return freed


async def hold_reasons(
    session: AsyncSession, company_id: int, delivery_ids: Sequence[int]
) -> dict[int, list[str]]:
    """Every cause each held row waits for, oldest first."""
    out: dict[int, list[str]] = {}
    for h in await DeliveryRepository.from_session(session).holds_of(company_id, delivery_ids):
        out.setdefault(h.delivery_id, []).append(h.reason)
    return out


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
