"""All SQL of the safety domain but the summary's aggregates (summary.py). Every read of company
data takes the company id."""

import json
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any, TypeVar, cast

from sqlalchemy import JSON, ColumnElement, Select, Table, and_, func, or_, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import InstrumentedAttribute

from fieldbridge.accounts.models import Worker
from fieldbridge.kit.repository import Repository
from fieldbridge.safety.models import (
    Detection,
    DetectionReview,
    PpeObservation,
    SafetyShift,
    SafetySite,
    SafetySummary,
    SafetyZone,
    WorkerDevice,
)
from fieldbridge.sites.models import Project

M = TypeVar("M", SafetySite, SafetyZone, SafetyShift, WorkerDevice, Detection, SafetySummary)


def after(
    stmt: Select[Any], at: InstrumentedAttribute[datetime], key: tuple[datetime, int] | None, idcol: Any
) -> Select[Any]:
    """Rows whose (at, id) comes after the cursor key."""
    if key is None:
        return stmt
    return stmt.where(or_(at > key[0], and_(at == key[0], idcol > key[1])))


class SafetyRepository(Repository):
    async def get(self, model: type[M], company_id: int, row_id: int) -> M | None:
        return await self.session.scalar(
            select(model).where(model.company_id == company_id, model.id == row_id)
        )

    async def add(self, row: object) -> None:
        self.session.add(row)
        await self.session.flush()

    async def project(self, company_id: int, project_id: int) -> Project | None:
        return await self.session.scalar(
            select(Project).where(Project.company_id == company_id, Project.id == project_id)
        )

    async def projects(self, company_id: int) -> Sequence[Project]:
        stmt = select(Project).where(Project.company_id == company_id, Project.removed.is_(False))
        return (await self.session.scalars(stmt.order_by(Project.name))).all()

    async def worker(self, company_id: int, worker_id: int) -> Worker | None:
        return await self.session.scalar(
            select(Worker).where(Worker.company_id == company_id, Worker.id == worker_id)
        )

    async def workers(self, company_id: int, ids: Iterable[int]) -> dict[int, Worker]:
        wanted = set(ids)
        if not wanted:
            return {}
        rows = await self.session.scalars(
            select(Worker).where(Worker.company_id == company_id, Worker.id.in_(wanted))
        )
        return {w.id: w for w in rows}

    async def active_workers(self, company_id: int) -> Sequence[Worker]:
        stmt = select(Worker).where(Worker.company_id == company_id, Worker.active.is_(True))
        return (await self.session.scalars(stmt.order_by(Worker.name))).all()

    # -- sites, zones, shifts -----------------------------------------------------------
    async def site_of_project(self, project_id: int) -> SafetySite | None:
        return await self.session.scalar(select(SafetySite).where(SafetySite.project_id == project_id))

    async def sites(self, company_id: int, ids: Iterable[int] | None = None) -> Sequence[SafetySite]:
        stmt = select(SafetySite).where(SafetySite.company_id == company_id)
        if ids is not None:
            stmt = stmt.where(SafetySite.id.in_(set(ids)))
        return (await self.session.scalars(stmt.order_by(SafetySite.name, SafetySite.id))).all()

    async def zones(self, company_id: int, site_ids: Iterable[int]) -> Sequence[SafetyZone]:
        stmt = select(SafetyZone).where(
            SafetyZone.company_id == company_id, SafetyZone.site_id.in_(set(site_ids))
        )
        return (await self.session.scalars(stmt.order_by(SafetyZone.name))).all()

    async def shifts(self, company_id: int, site_id: int) -> Sequence[SafetyShift]:
        stmt = select(SafetyShift).where(SafetyShift.company_id == company_id, SafetyShift.site_id == site_id)
        return (await self.session.scalars(stmt.order_by(SafetyShift.start_time, SafetyShift.id))).all()

    async def changed(
        self,
        model: type[M],
        company_id: int,
        *,
        since: datetime | None,
        key: tuple[datetime, int] | None,
        limit: int,
        where: Sequence[ColumnElement[bool]] = (),
        at: str = "updated_at",
    ) -> Sequence[M]:
        """A page of rows in (at, id) order, from `since` and after the cursor key."""
        column: InstrumentedAttribute[datetime] = getattr(model, at)
        stmt = select(model).where(model.company_id == company_id, *where)
        if since is not None:
            stmt = stmt.where(column >= since)
        stmt = after(stmt, column, key, model.id)
        return (await self.session.scalars(stmt.order_by(column, model.id).limit(limit))).all()

    # -- devices ------------------------------------------------------------------------
    async def open_assignments(
        self, company_id: int, project_id: int, device_id: str
    ) -> Sequence[WorkerDevice]:
        stmt = select(WorkerDevice).where(
            WorkerDevice.company_id == company_id,
            WorkerDevice.project_id == project_id,
            WorkerDevice.device_id == device_id,
            WorkerDevice.valid_to.is_(None),
        )
        return (await self.session.scalars(stmt)).all()

    async def later_assignment(
        self, company_id: int, project_id: int, device_id: str, at: datetime
    ) -> WorkerDevice | None:
        stmt = select(WorkerDevice).where(
            WorkerDevice.company_id == company_id,
            WorkerDevice.project_id == project_id,
            WorkerDevice.device_id == device_id,
            or_(
                WorkerDevice.valid_from >= at,
                and_(WorkerDevice.valid_to.is_not(None), WorkerDevice.valid_to > at),
            ),
        )
        return await self.session.scalar(stmt.limit(1))

    async def holders(
        self, company_id: int, wanted: Iterable[tuple[int, str, datetime]]
    ) -> dict[tuple[int, str, datetime], int]:
        """Who held each (project, device) at each instant: one query for a whole batch."""
        keys = set(wanted)
        if not keys:
            return {}
        projects = {k[0] for k in keys}
        devices = {k[1] for k in keys}
        rows = await self.session.execute(
            select(
                WorkerDevice.project_id,
                WorkerDevice.device_id,
                WorkerDevice.worker_id,
                WorkerDevice.valid_from,
                WorkerDevice.valid_to,
            ).where(
                WorkerDevice.company_id == company_id,
                WorkerDevice.project_id.in_(projects),
                WorkerDevice.device_id.in_(devices),
            )
        )
        spans: dict[tuple[int, str], list[tuple[datetime, datetime | None, int]]] = {}
        for project_id, device_id, worker_id, start, end in rows:
            spans.setdefault((project_id, device_id), []).append((start, end, worker_id))
        found: dict[tuple[int, str, datetime], int] = {}
        for key in keys:
            for start, end, worker_id in spans.get((key[0], key[1]), []):
                if start <= key[2] and (end is None or key[2] < end):
                    found[key] = worker_id
                    break
        return found

    # -- detections ---------------------------------------------------------------------
    def _insert(self, model: type[Detection] | type[PpeObservation]) -> Any:
        table = cast(Table, model.__table__)
        if self.session.get_bind().dialect.name == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)

    async def insert_ignoring(
        self, model: type[Detection] | type[PpeObservation], rows: list[dict[str, Any]]
    ) -> dict[str, int]:
        """One multi-row INSERT .. ON CONFLICT DO NOTHING (PostgreSQL) / INSERT OR IGNORE (SQLite):
        the client event ids it stored, with their new ids. Rows whose id exists are skipped."""
        if not rows:
            return {}
        table = cast(Table, model.__table__)
        if self.session.get_bind().dialect.name == "postgresql":
            return await self._insert_unnest(table, rows)
        stmt = (
            self._insert(model)
            .on_conflict_do_nothing(index_elements=["company_id", "client_event_id"])
            .returning(table.c.client_event_id, table.c.id)
        )
        # Core, not the ORM's bulk path: no per-row ORM bookkeeping for rows nobody loads.
        connection = await self.session.connection()
        result = await connection.execute(stmt, rows)
        return {str(event_id): int(row_id) for event_id, row_id in result.all()}

    async def _insert_unnest(self, table: Table, rows: list[dict[str, Any]]) -> dict[str, int]:
        """PostgreSQL: the same multi-row INSERT with one array per column, `INSERT .. SELECT
        FROM unnest(...)`: asyncpg encodes each array in C, so no per-value Python binding."""
        names = list(rows[0])
        dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
        columns: dict[str, list[Any]] = {name: [] for name in names}
        json_columns = {n for n in names if isinstance(table.c[n].type, JSON)}
        for row in rows:
            for name in names:
                value = row[name]
                columns[name].append(
                    json.dumps(value) if name in json_columns and value is not None else value
                )
        arrays = ", ".join(f"CAST(:{n} AS {table.c[n].type.compile(dialect=dialect)}[])" for n in names)
        sql = (
            f"INSERT INTO {table.name} ({', '.join(names)}) SELECT * FROM unnest({arrays}) "
            "ON CONFLICT (company_id, client_event_id) DO NOTHING RETURNING client_event_id, id"
        )
        result = await self.session.execute(text(sql), columns)
        return {str(event_id): int(row_id) for event_id, row_id in result.all()}

    async def ids_by_event(
        self, model: type[Detection] | type[PpeObservation], company_id: int, event_ids: Iterable[str]
    ) -> dict[str, int]:
        wanted = list(set(event_ids))
        if not wanted:
            return {}
        rows = await self.session.execute(
            select(model.client_event_id, model.id).where(
                model.company_id == company_id, model.client_event_id.in_(wanted)
            )
        )
        return {str(e): int(i) for e, i in rows}

    async def detection_by_event(self, company_id: int, event_id: str) -> Detection | None:
        return await self.session.scalar(
            select(Detection).where(Detection.company_id == company_id, Detection.client_event_id == event_id)
        )

    async def detection_for_update(self, company_id: int, detection_id: int) -> Detection | None:
        stmt = select(Detection).where(Detection.company_id == company_id, Detection.id == detection_id)
        return await self.session.scalar(stmt.with_for_update())

    async def reviews(self, company_id: int, detection_id: int) -> Sequence[DetectionReview]:
        stmt = select(DetectionReview).where(
            DetectionReview.company_id == company_id, DetectionReview.detection_id == detection_id
        )
        return (await self.session.scalars(stmt.order_by(DetectionReview.at, DetectionReview.id))).all()

    async def queue(
        self,
        company_id: int,
        *,
        states: Sequence[str],
        site_id: int | None = None,
        type_: str | None = None,
        zone_id: int | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        offset: int = 0,
        limit: int = 50,
    ) -> tuple[Sequence[Detection], int]:
        """The review queue: newest first, filtered (the summary's drill-down uses the same)."""
        conds: list[ColumnElement[bool]] = [Detection.company_id == company_id]
        if states:
            conds.append(Detection.state.in_(states))
        if site_id is not None:
            conds.append(Detection.site_id == site_id)
        if type_:
            conds.append(Detection.type == type_)
        if zone_id is not None:
            conds.append(Detection.zone_id == zone_id)
        if start is not None:
            conds.append(Detection.occurred_at >= start)
        if end is not None:
            conds.append(Detection.occurred_at < end)
        total = int(await self.session.scalar(select(func.count()).select_from(Detection).where(*conds)) or 0)
        stmt = (
            select(Detection).where(*conds).order_by(Detection.priority.desc(), Detection.occurred_at.desc())
        )
        rows = (await self.session.scalars(stmt.offset(offset).limit(limit))).all()
        return rows, total

    # -- summaries ----------------------------------------------------------------------
    async def next_version(self, site_id: int, local_date: date) -> int:
        current = await self.session.scalar(
            select(func.max(SafetySummary.version)).where(
                SafetySummary.site_id == site_id, SafetySummary.local_date == local_date
            )
        )
        return int(current or 0) + 1

    async def summaries(
        self, company_id: int, site_id: int, local_date: date | None, all_versions: bool
    ) -> Sequence[SafetySummary]:
        stmt = select(SafetySummary).where(
            SafetySummary.company_id == company_id, SafetySummary.site_id == site_id
        )
        if local_date is not None:
            stmt = stmt.where(SafetySummary.local_date == local_date)
        stmt = stmt.order_by(SafetySummary.local_date.desc(), SafetySummary.version.desc())
        rows = (await self.session.scalars(stmt.limit(400))).all()
        if all_versions:
            return rows
        seen: set[date] = set()
        latest = []
        for row in rows:
            if row.local_date not in seen:
                seen.add(row.local_date)
                latest.append(row)
        return latest
