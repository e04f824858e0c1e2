"""All SQL of timekeeping. Every query takes the company id."""

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import Table, func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from fieldbridge.accounts.models import Worker
from fieldbridge.connections.models import Connection, ConnectionStatus
from fieldbridge.delivery.models import Delivery
from fieldbridge.delivery.states import Status
from fieldbridge.kit.db import KEPT_ROWS
from fieldbridge.kit.repository import Repository
from fieldbridge.timekeeping.models import ClockAllocation, ClockShift, ProjectTimeSettings, TimePolicy

_KEPT = "fieldbridge.timekeeping.workers"
_WRITTEN = "fieldbridge.timekeeping.allocations"  # shift id -> the allocations written this unit of work


class ShiftRepository(Repository):
    async def get(self, company_id: int, shift_id: int) -> ClockShift | None:
        return await self.session.scalar(
            select(ClockShift).where(ClockShift.company_id == company_id, ClockShift.id == shift_id)
        )

    async def by_client_ids(
        self, company_id: int, client_ids: Sequence[str], *, lock: bool = False
    ) -> list[ClockShift]:
        """`lock`: hold the rows until commit (PostgreSQL), so a re-sent action waits for the first."""
        stmt = select(ClockShift).where(
            ClockShift.company_id == company_id, ClockShift.client_id.in_(client_ids)
        )
        if lock:
            stmt = stmt.with_for_update()
        rows = await self.session.scalars(stmt)
        return list(rows.all())

    async def open_for(self, company_id: int, worker_ids: Sequence[int]) -> list[ClockShift]:
        rows = await self.session.scalars(
            select(ClockShift).where(
                ClockShift.company_id == company_id,
                ClockShift.worker_id.in_(worker_ids),
                ClockShift.ended_at.is_(None),
            )
        )
        return list(rows.all())

    async def on_the_clock(self, company_id: int) -> list[ClockShift]:
        rows = await self.session.scalars(
            select(ClockShift)
            .where(ClockShift.company_id == company_id, ClockShift.ended_at.is_(None))
            .order_by(ClockShift.started_at, ClockShift.id)
        )
        return list(rows.all())

    async def mine(
        self, company_id: int, worker_id: int, since: datetime, limit: int = 60
    ) -> list[ClockShift]:
        rows = await self.session.scalars(
            select(ClockShift)
            .where(
                ClockShift.company_id == company_id,
                or_(ClockShift.worker_id == worker_id, ClockShift.clocked_in_by_id == worker_id),
                ClockShift.started_at >= since,
            )
            .order_by(ClockShift.started_at.desc(), ClockShift.id.desc())
            .limit(limit)
        )
        return list(rows.all())

    async def between(
        self,
        company_id: int,
        first: date,
        last: date,
        *,
        project_id: int | None = None,
        worker_id: int | None = None,
    ) -> list[ClockShift]:
        stmt = select(ClockShift).where(
            ClockShift.company_id == company_id, ClockShift.work_date >= first, ClockShift.work_date <= last
        )
        if project_id is not None:
            stmt = stmt.where(ClockShift.project_id == project_id)
        if worker_id is not None:
            stmt = stmt.where(ClockShift.worker_id == worker_id)
        rows = await self.session.scalars(stmt.order_by(ClockShift.work_date, ClockShift.started_at))
        return list(rows.all())

    async def recent_milestones(self, company_id: int, worker_id: int, limit: int = 8) -> list[int]:
        rows = await self.session.execute(
            select(ClockShift.milestone_id, func.max(ClockShift.started_at).label("last"))
            .where(
                ClockShift.company_id == company_id,
                or_(ClockShift.worker_id == worker_id, ClockShift.clocked_in_by_id == worker_id),
            )
            .group_by(ClockShift.milestone_id)
            .order_by(func.max(ClockShift.started_at).desc())
            .limit(limit)
        )
        return [int(r[0]) for r in rows]

    async def insert_new(self, rows: Sequence[dict[str, Any]]) -> dict[str, int]:
        """New shifts (same keys each) in one multi-row INSERT through Core; a row that would
        break a unique rule (its client id is taken, or its worker is on the clock) is skipped.
        Returns the new ids by client id."""
        table = cast(Table, ClockShift.__table__)
        insert = pg_insert if self.session.get_bind().dialect.name == "postgresql" else sqlite_insert
        stmt = insert(table).on_conflict_do_nothing().returning(table.c.client_id, table.c.id)
        # A list of parameter sets, not `.values([...])`: one statement all the same (SQLAlchemy's
        # "insertmanyvalues"), compiled once per process instead of once per call.
        result = await (await self.session.connection()).execute(stmt, list(rows))
        return {str(client_id): int(row_id) for client_id, row_id in result}

    async def add_allocations(self, rows: Sequence[ClockAllocation]) -> None:
        """A first clock-out's allocations (the shifts had none) in one INSERT through Core; they
        are what those shifts have now for the rest of the unit of work (`allocations`)."""
        table = cast(Table, ClockAllocation.__table__)
        await (await self.session.connection()).execute(
            table.insert(),
            [
                {
                    "company_id": a.company_id,
                    "shift_id": a.shift_id,
                    "position": a.position,
                    "milestone_id": a.milestone_id,
                    "centihours": a.centihours,
                }
                for a in rows
            ],
        )
        written = self.session.info.setdefault(_WRITTEN, {})
        for a in rows:
            written.setdefault(a.shift_id, []).append(a)

    async def add_all(self, shifts: Sequence[ClockShift]) -> None:
        """One flush for a crew (a single multi-row INSERT where the database allows)."""
        self.session.add_all(shifts)
        await self.session.flush()

    async def allocations(
        self, company_id: int, shift_ids: Sequence[int]
    ) -> dict[int, list[ClockAllocation]]:
        """Allocations per shift, in position order; those written by `replace_allocations` in
        this unit of work are what the shift has now, so they cost no query."""
        out: dict[int, list[ClockAllocation]] = {i: [] for i in shift_ids}
        written: dict[int, list[ClockAllocation]] = self.session.info.get(_WRITTEN, {})
        missing = []
        for i in out:
            if i in written:
                out[i] = list(written[i])
            else:
                missing.append(i)
        if not missing:
            return out
        rows = await self.session.scalars(
            select(ClockAllocation)
            .where(ClockAllocation.company_id == company_id, ClockAllocation.shift_id.in_(missing))
            .order_by(ClockAllocation.shift_id, ClockAllocation.position)
        )
        for row in rows:
            out[row.shift_id].append(row)
        return out

    async def replace_allocations(
        self, shift: ClockShift, lines: Sequence[tuple[int, int]], *, first: bool = False
    ) -> None:
        """`first`: the shift never had allocations (its first clock-out), so nothing to delete."""
        if not first:
            old = await self.session.scalars(
                select(ClockAllocation).where(
                    ClockAllocation.company_id == shift.company_id, ClockAllocation.shift_id == shift.id
                )
            )
            for row in old:
                await self.session.delete(row)
            await self.session.flush()
        rows = [
            ClockAllocation(
                company_id=shift.company_id,
                shift_id=shift.id,
                position=position,
                milestone_id=milestone_id,
                centihours=centihours,
            )
            for position, (milestone_id, centihours) in enumerate(lines)
        ]
        self.session.add_all(rows)
        await self.session.flush()
        self.session.info.setdefault(_WRITTEN, {})[shift.id] = rows

    async def hours_by_milestone(self, company_id: int, milestone_ids: Sequence[int]) -> dict[int, int]:
        rows = await self.session.execute(
            select(ClockAllocation.milestone_id, func.sum(ClockAllocation.centihours))
            .where(ClockAllocation.company_id == company_id, ClockAllocation.milestone_id.in_(milestone_ids))
            .group_by(ClockAllocation.milestone_id)
        )
        return {int(m): int(total or 0) for m, total in rows}

    async def workers(self, company_id: int, worker_ids: Sequence[int]) -> dict[int, Worker]:
        """Workers by id; those this session already loaded (e.g. by auth) cost no query."""
        out: dict[int, Worker] = {}
        missing = []
        for i in sorted({i for i in worker_ids if i}):
            known = self.session.identity_map.get(self.session.identity_key(Worker, i))
            if isinstance(known, Worker) and known.company_id == company_id:
                out[i] = known
            else:
                missing.append(i)
        if missing:
            rows = await self.session.scalars(
                select(Worker).where(Worker.company_id == company_id, Worker.id.in_(missing))
            )
            out.update({w.id: w for w in rows})
        # The identity map holds rows weakly: keep these for the rest of the unit of work.
        self.session.info.setdefault(_KEPT, {}).update(out)
        return out

    def forget(self) -> None:
        """After a rollback: drop every loaded row (they are stale) so the next reads are fresh."""
        for key in (_KEPT, _WRITTEN, KEPT_ROWS):
            self.session.info.pop(key, None)
        self.session.expunge_all()

    async def active_workers(self, company_id: int) -> list[Worker]:
        rows = await self.session.scalars(
            select(Worker)
            .where(Worker.company_id == company_id, Worker.active.is_(True))
            .order_by(Worker.name)
        )
        return list(rows.all())

    async def deliveries(self, company_id: int, subjects: Sequence[str]) -> list[Delivery]:
        if not subjects:
            return []
        rows = await self.session.scalars(
            select(Delivery)
            .where(Delivery.company_id == company_id, Delivery.subject.in_(subjects))
            .order_by(Delivery.id)
        )
        return list(rows.all())

    async def procore_connection(self, company_id: int) -> Connection | None:
        return await self.session.scalar(
            select(Connection)
            .where(
                Connection.company_id == company_id,
                Connection.provider == "procore",
                Connection.status.in_([ConnectionStatus.connected, ConnectionStatus.needs_reconnect]),
            )
            .order_by(Connection.id)
            .limit(1)
        )

    async def project_settings(self, company_id: int, project_id: int) -> ProjectTimeSettings | None:
        return await self.session.scalar(
            select(ProjectTimeSettings).where(
                ProjectTimeSettings.company_id == company_id, ProjectTimeSettings.project_id == project_id
            )
        )

    async def add_project_settings(self, row: ProjectTimeSettings) -> ProjectTimeSettings:
        self.session.add(row)
        await self.session.flush()
        return row

    async def time_policy(self, company_id: int) -> TimePolicy | None:
        return await self.session.scalar(select(TimePolicy).where(TimePolicy.company_id == company_id))

    async def add_time_policy(self, row: TimePolicy) -> None:
        self.session.add(row)
        await self.session.flush()

    async def worker_shifts_around(
        self, company_id: int, worker_ids: Sequence[int], since: datetime, until: datetime
    ) -> list[ClockShift]:
        """The workers' shifts that started in [since, until) (for the overlap rule)."""
        rows = await self.session.scalars(
            select(ClockShift)
            .where(
                ClockShift.company_id == company_id,
                ClockShift.worker_id.in_(worker_ids),
                ClockShift.started_at >= since,
                ClockShift.started_at < until,
            )
            .order_by(ClockShift.started_at, ClockShift.id)
            .limit(2000)
        )
        return list(rows.all())

    async def held_subjects(self, company_id: int, limit: int = 500) -> list[str]:
        """Subjects with a held export, oldest first (the Timesheets page's approvals list)."""
        rows = await self.session.scalars(
            select(Delivery.subject)
            .where(Delivery.company_id == company_id, Delivery.status == Status.held)
            .group_by(Delivery.subject)
            .order_by(func.min(Delivery.id))
            .limit(limit)
        )
        return list(rows.all())

    async def shifts_with_subjects(self, company_id: int, main_subjects: Sequence[str]) -> list[ClockShift]:
        client_ids = [s.split(":")[1] for s in main_subjects if s.startswith("clock_shift:")]
        if not client_ids:
            return []
        return await self.by_client_ids(company_id, sorted(set(client_ids)))
