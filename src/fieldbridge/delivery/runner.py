"""The one drain function both runners call: `drain(db, connection_id)`.

A drain works for one connection: it returns rows of crashed runners (expired leases) to
the queue, parks everything while the connection needs a reconnect (and un-parks once it
is healthy), then claims due rows in id order -- a row waits while an earlier row of its
subject is still open -- groups them by handler batch key, hands each group to its
handler through a budget-paced `RecordingChannel`, and records every outcome and attempt.
Leases are renewed while it works, so only a dead process's rows ever expire.
"""

import asyncio
import contextlib
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from fieldbridge.connections import connector as base
from fieldbridge.connections.connector import (
    Connector,
    DeliveryHandler,
    DeliveryItem,
    Outbound,
    Registry,
    Result,
)
from fieldbridge.connections.models import ConnectionStatus
from fieldbridge.connections.outcomes import ErrorMapping, OutcomeUnknown, ParkConnection, Rejected, classify
from fieldbridge.delivery.budget import Budget
from fieldbridge.delivery.channel import BudgetPause, RecordingChannel
from fieldbridge.delivery.config import DeliveryConfig
from fieldbridge.delivery.models import Delivery
from fieldbridge.delivery.recording import record_results
from fieldbridge.delivery.repository import QueueRepository
from fieldbridge.delivery.states import CLAIMABLE, Status
from fieldbridge.kit.clock import utcnow
from fieldbridge.kit.db import Database
from fieldbridge.kit.http import HttpClients, read_timeout
from fieldbridge.kit.logging import get_logger
from fieldbridge.settings import Settings

log = get_logger("fieldbridge.delivery")


def install_registry(reg: Registry) -> None:
    """Hand delivery (and the domains' connector flows: project sync, inbound events) the
    connectors this process serves (`connectors.registry.build_registry()`); each entry point
    (the app, the worker, a benchmark, the CLI) does this once at start."""
    base.install_registry(reg)


def registry() -> Registry:
    return base.installed_registry()


def new_owner(label: str = "runner") -> str:
    return f"{label}:{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass
class DrainReport:
    claimed: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    parked: bool = False
    idle: bool = False  # it stopped for want of work (not the deadline, the budget or a park)
    next_due: datetime | None = None

    def count(self, outcome: str, n: int = 1) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + n


def _park_reason(status: str, detail: str | None) -> str:
    why = (detail or "the connection is not connected").rstrip(". ")
    return f"Waiting for a reconnect ({status}): {why}. It resumes by itself once an admin reconnects."


async def _prepare(db: Database, connection_id: int) -> str | None:
    """Recover expired leases and apply the connection's health; the provider when workable."""
    async with db.transaction() as session:
        queue = QueueRepository.from_session(session)
        await queue.lock_writes(db.is_sqlite)
        await queue.recover_expired(connection_id, utcnow())
        connection = await queue.connection(connection_id)
        if connection is None:
            return None
        if connection.status != ConnectionStatus.connected:
            reason = _park_reason(connection.status, connection.status_reason)
            await queue.set_status_where(connection_id, CLAIMABLE, Status.parked, reason, "auth")
            return None
        await queue.set_status_where(connection_id, frozenset({Status.parked}), Status.pending, None, None)
        return connection.provider


def _item(row: Delivery, subject_remote: dict[str, str]) -> DeliveryItem:
    return DeliveryItem(
        id=row.id,
        kind=row.kind,
        subject=row.subject,
        payload=row.payload,
        idempotency_key=row.idempotency_key,
        remote_project_id=row.remote_project_id,
        attempts=row.attempts + 1,
        outcome_unknown=row.outcome_unknown,
        remote_id=row.remote_id,
        subject_remote_id=subject_remote.get(row.subject),
        created_at=row.created_at,
    )


def group_items(
    items: Sequence[DeliveryItem], reg: Registry
) -> list[tuple[DeliveryHandler | None, list[DeliveryItem]]]:
    """Batches in first-seen order: same kind and batch key, at most the handler's batch size."""
    groups: dict[tuple[str, Hashable], list[DeliveryItem]] = {}
    handlers: dict[tuple[str, Hashable], DeliveryHandler | None] = {}
    for item in items:
        handler = reg.handler(item.kind)
        key: tuple[str, Hashable] = (item.kind, handler.batch_key(item) if handler else item.id)
        groups.setdefault(key, []).append(item)
        handlers[key] = handler
    out: list[tuple[DeliveryHandler | None, list[DeliveryItem]]] = []
    for group_key, members in groups.items():
        owner = handlers[group_key]
        size = max(1, owner.batch_size if owner else 1)
        out.extend((owner, members[i : i + size]) for i in range(0, len(members), size))
    return out


async def _claim(
    db: Database, connection_id: int, owner: str, cfg: DeliveryConfig, reg: Registry
) -> list[DeliveryItem]:
    """One batch: the oldest due row, plus rows of its kind for the same remote project up to
    the handler's batch size. Oldest-first across batches serves projects round-robin."""
    sizes = {kind: handler.batch_size for kind, handler in reg.handlers.items()}
    async with db.transaction() as session:
        queue = QueueRepository.from_session(session)
        await queue.lock_writes(db.is_sqlite)
        rows = await queue.claim_batch(
            connection_id, owner, utcnow(), timedelta(seconds=cfg.lease_seconds), sizes
        )
        subjects = await queue.subject_remote_ids(connection_id, [r.subject for r in rows]) if rows else {}
        return [_item(r, subjects) for r in rows]


@asynccontextmanager
async def _leases(db: Database, owner: str, held: set[int], cfg: DeliveryConfig) -> AsyncIterator[None]:
    """Renew the leases of the rows still held, every third of a lease, until done."""

    async def renew() -> None:
        while True:
            await asyncio.sleep(cfg.lease_seconds / 3)
            if held:
                async with db.transaction() as session:
                    until = utcnow() + timedelta(seconds=cfg.lease_seconds)
                    await QueueRepository.from_session(session).extend_leases(owner, sorted(held), until)

    task = asyncio.create_task(renew())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _deliver_group(
    handler: DeliveryHandler | None,
    channel: RecordingChannel,
    items: list[DeliveryItem],
    mapping: ErrorMapping,
) -> dict[int, Result]:
    if handler is None:
        return {i.id: Rejected(f"FieldBridge has no connector that delivers {i.kind!r}.") for i in items}
    try:
        results = await handler.deliver(channel, items)
    except BudgetPause:
        raise
    except Exception as exc:  # one failure for the whole call, classified once
        failure = classify(exc, wrote=bool(channel.exchanges), mapping=mapping)
        log.info(
            "delivery.group_failed", kind=items[0].kind, size=len(items), error_class=failure.error_class
        )
        return {i.id: failure for i in items}
    missing = OutcomeUnknown("The connector gave no answer for this row; checking before resending.")
    return {i.id: results.get(i.id, missing) for i in items}


@dataclass
class _Drain:
    db: Database
    reg: Registry
    out: Outbound
    connection_id: int
    owner: str
    deadline: float
    report: DrainReport
    config: DeliveryConfig
    connector: Connector
    held: set[int] = field(default_factory=set)

    def time_left(self) -> float:
        return max(0.0, self.deadline - time.monotonic())


async def drain(
    db: Database,
    connection_id: int,
    *,
    http: HttpClients | None = None,
    settings: Settings | None = None,
    reg: Registry | None = None,
    owner: str | None = None,
    config: DeliveryConfig | None = None,
    more: Callable[[float], Awaitable[bool]] | None = None,
) -> DrainReport:
    """Deliver what is due for one connection, for at most `drain_seconds`. With `more`, a
    drain that runs out of work asks it (with the time it has left) whether to look again:
    the local runner lingers for the next commit instead of setting up a new drain."""
    settings = settings or Settings()
    cfg = config or DeliveryConfig()
    report = DrainReport()
    provider = await _prepare(db, connection_id)
    if provider is None:
        return report
    if provider not in (reg or registry()).specs:
        log.warning("delivery.no_connector", connection_id=connection_id, provider=provider)
        return report
    run = _Drain(
        db,
        reg or registry(),
        Outbound(
            db,
            http
            or HttpClients(
                timeout=read_timeout(cfg.http_timeout_seconds),
                allow_emulators=settings.offline_sandbox_allowed,
            ),
            settings,
        ),
        connection_id,
        owner or new_owner(),
        time.monotonic() + cfg.drain_seconds,
        report,
        cfg,
        (reg or registry()).spec(provider),
    )
    async with db.sessionmaker() as session:
        connection = await QueueRepository.from_session(session).connection(connection_id)
    assert connection is not None
    async with (
        _leases(db, run.owner, run.held, cfg),
        run.connector.open_client(run.out, connection) as client,
    ):
        budget = Budget(db, connection_id, run.connector.rate_limit)
        channel = RecordingChannel(
            client, budget, connection_id, connection.external_account_id, run.time_left()
        )
        while run.time_left() > 0:
            items = await _claim(db, connection_id, run.owner, cfg, run.reg)
            if not items:
                if more is not None and run.time_left() > 0 and await more(run.time_left()):
                    continue
                report.idle = True
                break
            report.claimed += len(items)
            run.held.update(i.id for i in items)
            try:
                outcome = await _run_claimed(run, channel, items)
            finally:
                run.held.clear()
            if outcome == "parked":
                report.parked = True
            if outcome != "done":
                break
    async with db.sessionmaker() as session:
        report.next_due = await QueueRepository.from_session(session).next_due(connection_id)
    return report


async def _run_claimed(run: _Drain, channel: RecordingChannel, items: list[DeliveryItem]) -> str:
    """Deliver claimed items group by group: "done", "paused" (budget) or "parked"."""
    groups = group_items(items, run.reg)
    for n, (handler, group) in enumerate(groups):
        channel.max_wait_seconds = run.time_left()
        try:
            results = await _deliver_group(handler, channel, group, run.connector.map_error)
        except BudgetPause as pause:
            await _put_back(run.db, run.owner, [i for _, g in groups[n:] for i in g], pause.wait_seconds)
            return "paused"
        parked = await record_results(
            run.db,
            run.owner,
            run.connection_id,
            group,
            results,
            channel.take_exchanges(),
            run.report,
            run.config.backoff_base_seconds,
            handler,
        )
        run.held.difference_update(i.id for i in group)
        if parked:
            await _park_rest(run.db, run.owner, [i for _, g in groups[n + 1 :] for i in g], results)
            return "parked"
    return "done"


async def _put_back(db: Database, owner: str, items: Sequence[DeliveryItem], wait_seconds: float) -> None:
    """Rows the budget could not serve in time: due again when it resets; no attempt is spent."""
    async with db.transaction() as session:
        queue = QueueRepository.from_session(session)
        await queue.lock_writes(db.is_sqlite)
        for row in await queue.held(owner, [i.id for i in items]):
            row.status = Status.retrying
            row.next_attempt_at = utcnow() + timedelta(seconds=wait_seconds)
            row.lease_owner = row.lease_expires_at = None


async def _park_rest(
    db: Database, owner: str, items: Sequence[DeliveryItem], results: dict[int, Result]
) -> None:
    reason = next((r.reason for r in results.values() if isinstance(r, ParkConnection)), "reconnect needed")
    async with db.transaction() as session:
        queue = QueueRepository.from_session(session)
        await queue.lock_writes(db.is_sqlite)
        for row in await queue.held(owner, [i.id for i in items]):
            row.status = Status.parked
            row.reason = reason
            row.error_class = "auth"
            row.lease_owner = row.lease_expires_at = None
