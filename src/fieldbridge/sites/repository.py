"""All SQL of the sites domain. Reads for people are company-scoped; the sync's by-connection
reads are scoped to the connection a job was given (which belongs to one company)."""

from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from fieldbridge.delivery.repository import PROJECT_NAMES
from fieldbridge.kit.repository import Repository
from fieldbridge.sites.models import (
    CostCode,
    LineItemType,
    Location,
    Milestone,
    ProcorePerson,
    Project,
    SubJob,
    SyncState,
)

M = TypeVar("M", CostCode, LineItemType, Location, ProcorePerson, SubJob, Project)

PROJECT_VIEWS = ("tracked", "available", "excluded", "all")


class SitesRepository(Repository):
    async def by_external(self, model: type[M], **scope: Any) -> dict[str, M]:
        """Rows of `model` in a scope (project_id=... or connection_id=...), by external id."""
        stmt = select(model).where(*(getattr(model, k) == v for k, v in scope.items()))
        rows = (await self.session.scalars(stmt)).all()
        return {r.external_id: r for r in rows}

    async def add(self, row: Any) -> None:
        self.session.add(row)

    async def flush(self) -> None:
        await self.session.flush()

    # -- projects ------------------------------------------------------------------------
    async def project(self, company_id: int, project_id: int) -> Project | None:
        return await self.session.scalar(
            select(Project).where(Project.company_id == company_id, Project.id == project_id)
        )

    async def project_for_job(self, project_id: int) -> Project | None:
        return await self.session.get(Project, project_id, populate_existing=True)

    async def project_by_external(self, connection_id: int, external_id: str) -> Project | None:
        return await self.session.scalar(
            select(Project).where(Project.connection_id == connection_id, Project.external_id == external_id)
        )

    def _projects(self, company_id: int, connection_id: int | None, q: str | None, view: str) -> Select[Any]:
        stmt = select(Project).where(Project.company_id == company_id)
        if connection_id is not None:
            stmt = stmt.where(Project.connection_id == connection_id)
        if q:
            like = f"%{q.strip().lower()}%"
            stmt = stmt.where(
                or_(
                    func.lower(Project.name).like(like),
                    func.lower(func.coalesce(Project.project_number, "")).like(like),
                )
            )
        if view == "tracked":
            stmt = stmt.where(Project.sync_enabled.is_(True), Project.excluded_reason.is_(None))
        elif view == "available":
            stmt = stmt.where(Project.sync_enabled.is_(False), Project.excluded_reason.is_(None))
        elif view == "excluded":
            stmt = stmt.where(Project.excluded_reason.is_not(None))
        return stmt

    async def projects_page(
        self,
        company_id: int,
        *,
        connection_id: int | None = None,
        q: str | None = None,
        view: str = "all",
        offset: int = 0,
        limit: int = 50,
    ) -> tuple[Sequence[Project], int]:
        stmt = self._projects(company_id, connection_id, q, view)
        total = await self.session.scalar(select(func.count()).select_from(stmt.subquery()))
        rows = await self.session.scalars(stmt.order_by(Project.name, Project.id).offset(offset).limit(limit))
        return rows.all(), int(total or 0)

    async def projects_by_ids(self, company_id: int, ids: Sequence[int]) -> Sequence[Project]:
        result = await self.session.scalars(
            select(Project).where(Project.company_id == company_id, Project.id.in_(ids))
        )
        return result.all()

    async def tracked_projects(self, connection_id: int) -> Sequence[Project]:
        result = await self.session.scalars(
            select(Project)
            .where(
                Project.connection_id == connection_id,
                Project.sync_enabled.is_(True),
                Project.excluded_reason.is_(None),
            )
            .order_by(Project.id)
        )
        return result.all()

    async def queued_projects(self, limit: int = 20) -> Sequence[Project]:
        """Projects waiting for their first (or a requested) sync, oldest first, every company."""
        result = await self.session.scalars(
            select(Project)
            .where(Project.sync_state == SyncState.queued)
            .order_by(Project.updated_at)
            .limit(limit)
        )
        return result.all()

    # -- work breakdown -------------------------------------------------------------------
    async def sub_jobs(self, company_id: int, project_ids: Sequence[int]) -> Sequence[SubJob]:
        result = await self.session.scalars(
            select(SubJob)
            .where(SubJob.company_id == company_id, SubJob.project_id.in_(project_ids))
            .order_by(SubJob.name)
        )
        return result.all()

    async def milestones(
        self, company_id: int, project_ids: Sequence[int], *, visible_only: bool
    ) -> Sequence[Milestone]:
        stmt = select(Milestone).where(
            Milestone.company_id == company_id, Milestone.project_id.in_(project_ids)
        )
        if visible_only:
            stmt = stmt.where(Milestone.hidden.is_(False), Milestone.archived.is_(False))
        result = await self.session.scalars(stmt.order_by(Milestone.name, Milestone.id))
        return result.all()

    async def milestone(self, company_id: int, milestone_id: int) -> Milestone | None:
        return await self.session.scalar(
            select(Milestone).where(Milestone.company_id == company_id, Milestone.id == milestone_id)
        )

    async def line_item_types(
        self, company_id: int, connection_id: int | None = None
    ) -> Sequence[LineItemType]:
        stmt = select(LineItemType).where(LineItemType.company_id == company_id)
        if connection_id is not None:
            stmt = stmt.where(LineItemType.connection_id == connection_id)
        result = await self.session.scalars(stmt.order_by(LineItemType.name))
        return result.all()

    async def line_item_type(self, company_id: int, lit_id: int) -> LineItemType | None:
        return await self.session.scalar(
            select(LineItemType).where(LineItemType.company_id == company_id, LineItemType.id == lit_id)
        )

    async def counts(self, project_id: int) -> dict[str, int]:
        out: dict[str, int] = {}
        for label, model in (("cost_codes", CostCode), ("sub_jobs", SubJob), ("locations", Location)):
            n = await self.session.scalar(select(func.count()).where(model.project_id == project_id))
            out[label] = int(n or 0)
        n = await self.session.scalar(
            select(func.count()).where(Milestone.project_id == project_id, Milestone.archived.is_(False))
        )
        out["milestones"] = int(n or 0)
        return out

    # -- people ---------------------------------------------------------------------------
    async def people_page(
        self,
        company_id: int,
        *,
        q: str | None = None,
        unmatched: bool = False,
        offset: int = 0,
        limit: int = 50,
    ) -> tuple[Sequence[ProcorePerson], int]:
        stmt = select(ProcorePerson).where(ProcorePerson.company_id == company_id)
        if q:
            like = f"%{q.strip().lower()}%"
            stmt = stmt.where(
                or_(
                    func.lower(ProcorePerson.name).like(like),
                    func.lower(func.coalesce(ProcorePerson.email, "")).like(like),
                    func.lower(func.coalesce(ProcorePerson.employee_id, "")).like(like),
                )
            )
        if unmatched:
            stmt = stmt.where(ProcorePerson.worker_id.is_(None))
        total = await self.session.scalar(select(func.count()).select_from(stmt.subquery()))
        rows = await self.session.scalars(
            stmt.order_by(ProcorePerson.conflict.is_(None), ProcorePerson.name, ProcorePerson.id)
            .offset(offset)
            .limit(limit)
        )
        return rows.all(), int(total or 0)

    async def person(self, company_id: int, person_id: int) -> ProcorePerson | None:
        return await self.session.scalar(
            select(ProcorePerson).where(ProcorePerson.company_id == company_id, ProcorePerson.id == person_id)
        )

    async def person_of_worker(
        self, company_id: int, connection_id: int, worker_id: int
    ) -> ProcorePerson | None:
        return await self.session.scalar(
            select(ProcorePerson).where(
                ProcorePerson.company_id == company_id,
                ProcorePerson.connection_id == connection_id,
                ProcorePerson.worker_id == worker_id,
            )
        )

    async def count_conflicts(self, company_id: int, connection_id: int) -> int:
        total = await self.session.scalar(
            select(func.count()).where(
                ProcorePerson.company_id == company_id,
                ProcorePerson.connection_id == connection_id,
                ProcorePerson.conflict.is_not(None),
            )
        )
        return int(total or 0)


async def project_names(session: AsyncSession, company_id: int) -> dict[str, str]:
    """Remote project id -> name, from the projects synced for this company (the export log's
    names: `delivery.repository.PROJECT_NAMES`)."""
    rows = await session.execute(
        select(Project.external_id, Project.name)
        .where(Project.company_id == company_id)
        .order_by(Project.name)
    )
    return {external_id: name for external_id, name in rows.all()}


if project_names not in PROJECT_NAMES:
    PROJECT_NAMES.append(project_names)
