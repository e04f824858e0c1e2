"""All SQL of the ledger.

`DeliveryRepository`: the export log and support actions, always scoped to a company.
`QueueRepository`: the runner's claims and leases, scoped to one connection (which belongs
to exactly one company).
"""

import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from typing import cast as cast_type

from sqlalchemy import (
    JSON,
    ColumnElement,
    Select,
    String,
    Table,
    and_,
    cast,
    delete,
    exists,
    func,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from fieldbridge.connections.models import Connection, ConnectionStatus
from fieldbridge.delivery.models import Delivery, DeliveryAttempt, DeliveryHold, RateBudget
from fieldbridge.delivery.states import BLOCKING, CLAIMABLE, OPEN, Status
from fieldbridge.kit.clock import utcnow
from fieldbridge.kit.repository import Repository


@dataclass(frozen=True)
class LogFilter:
    connection_id: int | None = None
    remote_project_id: str | None = None
    worker_id: int | None = None
    kind: str | None = None
    status: Status | None = None
    since: date | None = None
    until: date | None = None
    subject: str | None = None


@dataclass(frozen=True)
class Outage:
    retrying: int  # rows waiting for an answer
    last_answer: datetime | None  # the last time anything of this connection went through
    last_error: str | None


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


CHAIN_LIMIT = 1000
ProjectNames = Callable[[AsyncSession, int], Awaitable[dict[str, str]]]
PROJECT_NAMES: list[ProjectNames] = []
"""Who can name a remote project for the export log, `(session, company_id)` -> {remote id:
name}: `sites.repository` registers its mirror when imported, so the ledger imports no domain."""
# Rows that hold their subject back until a person acts (named first when a row waits).
STUCK: frozenset[Status] = frozenset({Status.rejected, Status.held, Status.parked})
RECOVERED_REASON = "The runner handling this stopped mid-delivery; checking the remote side before resending."


class DeliveryRepository(Repository):
    def _filtered(self, company_id: int, f: LogFilter) -> Select[Delivery]:
        stmt = select(Delivery).where(Delivery.company_id == company_id)
        conditions: list[ColumnElement[bool]] = []
        if f.connection_id is not None:
            conditions.append(Delivery.connection_id == f.connection_id)
        if f.remote_project_id is not None:
            conditions.append(Delivery.remote_project_id == f.remote_project_id)
        if f.worker_id is not None:
            conditions.append(Delivery.worker_id == f.worker_id)
        if f.kind:
            conditions.append(Delivery.kind == f.kind)
        if f.status is not None:
            conditions.append(Delivery.status == f.status)
        if f.subject:
            conditions.append(Delivery.subject == f.subject)
        if f.since is not None:
            conditions.append(Delivery.created_at >= _day_start(f.since))
        if f.until is not None:
            conditions.append(Delivery.created_at < _day_start(f.until + timedelta(days=1)))
        return stmt.where(*conditions)

    async def list(
        self, company_id: int, f: LogFilter, *, offset: int = 0, limit: int = 50
    ) -> tuple[Sequence[Delivery], int]:
        stmt = self._filtered(company_id, f)
        total = await self.session.scalar(select(func.count()).select_from(stmt.subquery()))
        rows = await self.session.scalars(stmt.order_by(Delivery.id.desc()).offset(offset).limit(limit))
        return rows.all(), int(total or 0)

    async def iterate(self, company_id: int, f: LogFilter, limit: int = 100_000) -> Sequence[Delivery]:
        rows = await self.session.scalars(self._filtered(company_id, f).order_by(Delivery.id).limit(limit))
        return rows.all()

    async def counts_by_status(self, company_id: int, f: LogFilter) -> dict[str, int]:
        sub = self._filtered(company_id, LogFilter(**{**f.__dict__, "status": None})).subquery()
        rows = await self.session.execute(select(sub.c.status, func.count()).group_by(sub.c.status))
        return {str(status): int(n) for status, n in rows.all()}

    async def get(self, company_id: int, delivery_id: int) -> Delivery | None:
        return await self.session.scalar(
            select(Delivery).where(Delivery.company_id == company_id, Delivery.id == delivery_id)
        )

    async def get_by_key(self, company_id: int, connection_id: int, key: str) -> Delivery | None:
        return await self.session.scalar(
            select(Delivery).where(
                Delivery.company_id == company_id,
                Delivery.connection_id == connection_id,
                Delivery.idempotency_key == key,
            )
        )

    async def attempts(self, company_id: int, delivery_id: int) -> Sequence[DeliveryAttempt]:
        rows = await self.session.scalars(
            select(DeliveryAttempt)
            .where(DeliveryAttempt.company_id == company_id, DeliveryAttempt.delivery_id == delivery_id)
            .order_by(DeliveryAttempt.number, DeliveryAttempt.id)
        )
        return rows.all()

    async def connection(self, company_id: int, connection_id: int) -> Connection | None:
        """A connection this unit of work already loaded (e.g. clock-in's) costs no query."""
        known = self.session.identity_map.get(self.session.identity_key(Connection, connection_id))
        if (
            isinstance(known, Connection)
            and known.company_id == company_id
            and not inspect(known).expired_attributes
            and known not in self.session.deleted
        ):
            return known
        return await self.session.scalar(
            select(Connection).where(Connection.company_id == company_id, Connection.id == connection_id)
        )

    async def connections(self, company_id: int) -> Sequence[Connection]:
        rows = await self.session.scalars(
            select(Connection).where(Connection.company_id == company_id).order_by(Connection.label)
        )
        return rows.all()

    async def project_names(self, company_id: int) -> dict[str, str]:
        """Remote project id -> name, from every registered `PROJECT_NAMES` source (the sites
        mirror: the projects synced for this company)."""
        names: dict[str, str] = {}
        for source in PROJECT_NAMES:
            names.update(await source(self.session, company_id))
        return names

    async def kinds(self, company_id: int) -> Sequence[str]:
        rows = await self.session.scalars(
            select(Delivery.kind).where(Delivery.company_id == company_id).distinct().order_by(Delivery.kind)
        )
        return rows.all()

    async def add(self, delivery: Delivery) -> Delivery:
        self.session.add(delivery)
        await self.session.flush()
        return delivery

    async def insert_many(self, rows: Sequence[dict[str, Any]]) -> None:
        """New rows (every column without a nullable default given) in one statement, through
        Core: no ORM objects for rows nobody loads. PostgreSQL: `INSERT .. SELECT FROM
        unnest(...)`, one array per column (asyncpg encodes arrays in C)."""
        if not rows:
            return
        table = cast_type(Table, Delivery.__table__)
        if self.session.get_bind().dialect.name != "postgresql":
            await (await self.session.connection()).execute(table.insert(), rows)
            return
        dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
        names = list(rows[0])
        columns: dict[str, Any] = {name: [] for name in names}
        json_columns = {n for n in names if isinstance(table.c[n].type, JSON)}
        for row in rows:
            for name in names:
                value = row[name]
                columns[name].append(json.dumps(value) if name in json_columns else value)
        arrays = ", ".join(f"CAST(:{n} AS {table.c[n].type.compile(dialect=dialect)}[])" for n in names)
        sql = f"INSERT INTO {table.name} ({', '.join(names)}) SELECT * FROM unnest({arrays})"
        await self.session.execute(text(sql), columns)

    async def insert_returning(self, rows: Sequence[dict[str, Any]]) -> dict[str, int]:
        """New rows (same keys each) in one multi-row INSERT through Core; their ids by subject
        (subjects unique among `rows`)."""
        table = cast_type(Table, Delivery.__table__)
        stmt = table.insert().returning(table.c.id, table.c.subject)
        result = await (await self.session.connection()).execute(stmt, list(rows))  # compiled once
        return {subject: int(row_id) for row_id, subject in result}

    # -- chains: rows of one subject go out in order, so a stuck row holds back the later ones --
    async def chain(self, company_id: int, row: Delivery) -> Sequence[Delivery]:
        """Every row of `row`'s subject on its connection, oldest first."""
        rows = await self.session.scalars(
            select(Delivery)
            .where(
                Delivery.company_id == company_id,
                Delivery.connection_id == row.connection_id,
                Delivery.subject == row.subject,
            )
            .order_by(Delivery.id)
            .limit(CHAIN_LIMIT)
        )
        return rows.all()

    async def blockers(self, company_id: int, rows: Sequence[Delivery]) -> dict[int, Delivery]:
        """For each waiting row, the oldest earlier row of its subject that still holds it back."""
        waiting = [r for r in rows if r.status in CLAIMABLE]
        if not waiting:
            return {}
        earlier = await self.session.scalars(
            select(Delivery)
            .where(
                Delivery.company_id == company_id,
                Delivery.connection_id.in_({r.connection_id for r in waiting}),
                Delivery.subject.in_({r.subject for r in waiting}),
                Delivery.status.in_(BLOCKING),
                Delivery.id < max(r.id for r in waiting),
            )
            .order_by(Delivery.id)
            .limit(CHAIN_LIMIT)
        )
        heads: dict[tuple[int, str], list[Delivery]] = {}
        for e in earlier:
            heads.setdefault((e.connection_id, e.subject), []).append(e)
        found: dict[int, Delivery] = {}
        for r in waiting:
            before = [e for e in heads.get((r.connection_id, r.subject), []) if e.id < r.id]
            if before:
                found[r.id] = next((e for e in before if e.status in STUCK), before[0])
        return found

    async def rejected_reasons(
        self, company_id: int, f: LogFilter, limit: int = 5
    ) -> Sequence[tuple[str, int]]:
        """The commonest reasons among rejected rows (for "retry all rejected for this reason")."""
        sub = self._filtered(company_id, LogFilter(**{**f.__dict__, "status": Status.rejected})).subquery()
        n = func.count().label("n")
        rows = await self.session.execute(
            select(sub.c.reason, n)
            .where(sub.c.reason.is_not(None))
            .group_by(sub.c.reason)
            .order_by(n.desc(), sub.c.reason)
            .limit(limit)
        )
        return [(str(reason), int(count)) for reason, count in rows.all()]

    async def rejected_for(
        self, company_id: int, reason: str, connection_id: int | None, limit: int
    ) -> Sequence[Delivery]:
        stmt = select(Delivery).where(
            Delivery.company_id == company_id, Delivery.status == Status.rejected, Delivery.reason == reason
        )
        if connection_id is not None:
            stmt = stmt.where(Delivery.connection_id == connection_id)
        return (await self.session.scalars(stmt.order_by(Delivery.id).limit(limit))).all()

    async def unanswered(self, company_id: int, connection_id: int, since: datetime | None) -> Outage | None:
        """Rows retrying because Procore did not answer (5xx, timeouts) with nothing delivered
        since the first of them: the remote side is down, whatever the token says."""
        failing = and_(
            Delivery.company_id == company_id,
            Delivery.connection_id == connection_id,
            Delivery.status == Status.retrying,
            Delivery.error_class.in_(("transient", "unknown")),
        )
        count, first = (
            await self.session.execute(select(func.count(), func.min(Delivery.updated_at)).where(failing))
        ).one()
        if not count:
            return None
        delivered = await self.session.scalar(  # the newest delivered row: found near the top of the ids
            select(Delivery.delivered_at)
            .where(
                Delivery.company_id == company_id,
                Delivery.connection_id == connection_id,
                Delivery.status == Status.delivered,
            )
            .order_by(Delivery.id.desc())
            .limit(1)
        )
        answered = max((t for t in (since, delivered) if t is not None), default=None)
        if answered is not None and answered >= first:
            return None
        reason = await self.session.scalar(
            select(Delivery.reason).where(failing).order_by(Delivery.updated_at.desc()).limit(1)
        )
        return Outage(int(count), answered, reason)

    async def budgets(self, company_id: int) -> dict[int, RateBudget]:
        """The rate budget of each of the company's connections (why rows are being paced)."""
        rows = await self.session.scalars(
            select(RateBudget)
            .join(Connection, Connection.id == RateBudget.connection_id)
            .where(Connection.company_id == company_id)
        )
        return {b.connection_id: b for b in rows}

    # -- holds ---------------------------------------------------------------------------
    async def by_ids(self, company_id: int, ids: Sequence[int], *, lock: bool = False) -> Sequence[Delivery]:
        stmt = (
            select(Delivery)
            .where(Delivery.company_id == company_id, Delivery.id.in_(ids))
            .order_by(Delivery.id)
        )
        if lock:
            stmt = stmt.with_for_update()
        return (await self.session.scalars(stmt)).all()

    async def add_holds(self, holds: Sequence[DeliveryHold]) -> None:
        self.session.add_all(holds)
        await self.session.flush()

    async def holds_of(self, company_id: int, delivery_ids: Sequence[int]) -> Sequence[DeliveryHold]:
        if not delivery_ids:
            return []
        rows = await self.session.scalars(
            select(DeliveryHold)
            .where(DeliveryHold.company_id == company_id, DeliveryHold.delivery_id.in_(delivery_ids))
            .order_by(DeliveryHold.id)
        )
        return rows.all()

    async def holds_by_key(self, company_id: int, key: str) -> Sequence[DeliveryHold]:
        rows = await self.session.scalars(
            select(DeliveryHold).where(DeliveryHold.company_id == company_id, DeliveryHold.key == key)
        )
        return rows.all()

    async def delete_holds(self, hold_ids: Sequence[int]) -> None:
        await self.session.execute(
            delete(DeliveryHold)
            .where(DeliveryHold.id.in_(hold_ids))
            .execution_options(synchronize_session=False)
        )

    async def delete_holds_of(self, company_id: int, delivery_ids: Sequence[int]) -> None:
        await self.session.execute(
            delete(DeliveryHold)
            .where(DeliveryHold.company_id == company_id, DeliveryHold.delivery_id.in_(delivery_ids))
            .execution_options(synchronize_session=False)
        )

    async def open_rows_of_project(self, connection_id: int, remote_project_id: str) -> Sequence[Delivery]:
        """Rows of one remote project still waiting to be claimed (to hold them all at once)."""
        rows = await self.session.scalars(
            select(Delivery)
            .where(
                Delivery.connection_id == connection_id,
                Delivery.remote_project_id == remote_project_id,
                Delivery.status.in_(CLAIMABLE),
            )
            .order_by(Delivery.id)
        )
        return rows.all()


class QueueRepository(Repository):
    """The runner's SQL. Every statement names the connection it works for."""

    async def lock_writes(self, is_sqlite: bool) -> None:
        """SQLite: take the single write lock now, so a read-then-write cannot go stale."""
        if is_sqlite:
            await self.session.execute(update(Delivery).where(Delivery.id == -1).values(attempts=0))

    async def connection(self, connection_id: int) -> Connection | None:
        return await self.session.get(Connection, connection_id)

    async def recover_expired(self, connection_id: int, now: datetime) -> int:
        """Rows whose runner vanished: back to the queue, outcome unknown (look up first)."""
        result = await self.session.execute(
            update(Delivery)
            .where(
                Delivery.connection_id == connection_id,
                Delivery.status == Status.running,
                Delivery.lease_expires_at < now,
            )
            .values(
                status=Status.retrying,
                outcome_unknown=True,
                lease_owner=None,
                lease_expires_at=None,
                next_attempt_at=now,
                error_class="unknown",
                reason=RECOVERED_REASON,
            )
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def set_status_where(
        self,
        connection_id: int,
        old: frozenset[Status],
        new: Status,
        reason: str | None,
        error_class: str | None,
    ) -> int:
        result = await self.session.execute(
            update(Delivery)
            .where(Delivery.connection_id == connection_id, Delivery.status.in_(old))
            .values(status=new, reason=reason, error_class=error_class, next_attempt_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    def _claimable(self, connection_id: int, now: datetime) -> Select[Delivery]:
        earlier = aliased(Delivery)
        blocked = exists().where(
            earlier.connection_id == Delivery.connection_id,
            earlier.subject == Delivery.subject,
            earlier.id < Delivery.id,
            earlier.status.in_(BLOCKING),
        )
        return (
            select(Delivery)
            .where(
                Delivery.connection_id == connection_id,
                Delivery.status.in_(CLAIMABLE),
                Delivery.next_attempt_at <= now,
                ~blocked,
            )
            .order_by(Delivery.id)
            .with_for_update(skip_locked=True)
        )

    async def claim_batch(
        self, connection_id: int, owner: str, now: datetime, lease: timedelta, batch_sizes: dict[str, int]
    ) -> list[Delivery]:
        """Lease the oldest due row (whose subject has nothing open before it) and, up to its
        kind's batch size, later due rows of the same kind and remote project."""
        first = await self.session.scalar(self._claimable(connection_id, now).limit(1))
        if first is None:
            return []
        rows = [first]
        size = batch_sizes.get(first.kind, 1)
        if size > 1 and first.remote_project_id is not None:
            more = self._claimable(connection_id, now).where(
                Delivery.kind == first.kind,
                Delivery.remote_project_id == first.remote_project_id,
                Delivery.id != first.id,
            )
            rows.extend((await self.session.scalars(more.limit(size - 1))).all())
        for row in rows:
            row.status = Status.running
            row.lease_owner = owner
            row.lease_expires_at = now + lease
        await self.session.flush()
        return rows

    async def extend_leases(self, owner: str, ids: Sequence[int], until: datetime) -> None:
        await self.session.execute(
            update(Delivery)
            .where(Delivery.id.in_(ids), Delivery.lease_owner == owner, Delivery.status == Status.running)
            .values(lease_expires_at=until)
            .execution_options(synchronize_session=False)
        )

    async def held(self, owner: str, ids: Sequence[int]) -> list[Delivery]:
        """The rows this runner still holds (a lease lost to expiry is not ours to finish)."""
        rows = await self.session.scalars(
            select(Delivery)
            .where(Delivery.id.in_(ids), Delivery.lease_owner == owner, Delivery.status == Status.running)
            .with_for_update()
        )
        return list(rows.all())

    async def subject_remote_ids(self, connection_id: int, subjects: Sequence[str]) -> dict[str, str]:
        rows = await self.session.execute(
            select(Delivery.subject, Delivery.remote_id)
            .where(
                Delivery.connection_id == connection_id,
                Delivery.subject.in_(set(subjects)),
                Delivery.status == Status.delivered,
                Delivery.remote_id.is_not(None),
            )
            .order_by(Delivery.id)
        )
        return {subject: remote_id for subject, remote_id in rows.all() if remote_id is not None}

    async def delivered_version(self, connection_id: int, remote_id: str, remote_version: str) -> int | None:
        """The id of the delivered row that wrote this version of this remote record (an echo)."""
        return await self.session.scalar(
            select(Delivery.id)
            .where(
                Delivery.connection_id == connection_id,
                Delivery.remote_version == remote_version,
                cast(Delivery.remote_id, String) == remote_id,
                Delivery.status == Status.delivered,
            )
            .limit(1)
        )

    async def next_due(self, connection_id: int) -> datetime | None:
        value = await self.session.scalar(
            select(func.min(Delivery.next_attempt_at)).where(
                Delivery.connection_id == connection_id, Delivery.status.in_(CLAIMABLE)
            )
        )
        return value

    async def due_connections(self, now: datetime) -> list[int]:
        """Connections with work: due rows, expired leases, or parked rows on a healthy connection."""
        due = and_(Delivery.status.in_(CLAIMABLE), Delivery.next_attempt_at <= now)
        expired = and_(Delivery.status == Status.running, Delivery.lease_expires_at < now)
        parked = and_(Delivery.status == Status.parked, Connection.status == ConnectionStatus.connected)
        rows = await self.session.scalars(
            select(Delivery.connection_id)
            .join(Connection, Connection.id == Delivery.connection_id)
            .where(due | expired | parked)
            .distinct()
        )
        return list(rows.all())

    async def open_counts(self) -> dict[str, int]:
        rows = await self.session.execute(
            select(Delivery.status, func.count()).where(Delivery.status.in_(OPEN)).group_by(Delivery.status)
        )
        return {str(s): int(n) for s, n in rows.all()}

    async def oldest_open(self) -> datetime | None:
        value = await self.session.scalar(
            select(func.min(Delivery.created_at)).where(Delivery.status.in_(CLAIMABLE))
        )
        return value
