"""Project sync: mirror a Procore company's projects and, for tracked projects, their cost
codes, categories, sub jobs, budget lines (-> milestones), locations and people.

Rules:
- HTTP happens outside database transactions; each step writes in a short transaction of its
  own, so progress shows while the sync runs and SQLite's writer lock is never held across
  a network call.
- Every list is read at the largest page size (`PROCORE.max_per_page`); re-syncs ask only for
  what changed (`filters[updated_at]`) where Procore supports it, and skip what can be derived
  (sub jobs come with their cost codes), so a re-sync with no changes costs about one request
  per tracked (project, resource).
- Projects Procore no longer shows, inactive projects and projects the app is not permitted
  on are kept, excluded with a reason; a project deleted mid-sync ends its sync with a clear
  message and the next sync repairs what was missed.
- Milestones are never deleted: a removed cost code or budget line archives them.
"""

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from fieldbridge.connections.models import Connection
from fieldbridge.connections.repository import ConnectionRepository
from fieldbridge.connectors.procore import mapping
from fieldbridge.connectors.procore.client import ProcoreClient
from fieldbridge.connectors.procore.config import ProcoreConfig
from fieldbridge.connectors.procore.errors import NotPermitted, ProcoreError, Rejected, RemoteNotFound
from fieldbridge.kit.changes import counting
from fieldbridge.kit.clock import utcnow
from fieldbridge.kit.db import Database
from fieldbridge.kit.logging import get_logger
from fieldbridge.sites import availability
from fieldbridge.sites import people as people_sync
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
from fieldbridge.sites.repository import SitesRepository

log = get_logger("fieldbridge.procore.sync")
STEPS = ("cost codes", "categories", "sub-jobs", "budget", "locations", "people")
COUNTED = (Project, CostCode, SubJob, LineItemType, Location, Milestone, ProcorePerson)
Item = dict[str, Any]


def procore_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def changed_since(since: datetime, until: datetime) -> str:
    """A `filters[updated_at]` range; a minute of overlap absorbs clock skew."""
    return f"{procore_time(since - timedelta(minutes=1))}...{procore_time(until + timedelta(minutes=1))}"


@dataclass
class Target:
    connection_id: int
    company_id: int
    procore_company_id: str
    config: ProcoreConfig

    @classmethod
    def of(cls, connection: Connection) -> "Target":
        if connection.external_account_id is None:
            raise ProcoreError("Pick the Procore company of this connection first.")
        config = ProcoreConfig.model_validate(connection.config)
        return cls(connection.id, connection.company_id, connection.external_account_id, config)


@dataclass
class RunState:
    categories: dict[str, tuple[str, bool]] | None = None
    people_synced: bool = False
    projects_synced: int = 0
    failures: list[str] = field(default_factory=list)


class ProjectSync:
    """One sync run over one connection (build it per run; it caches company-level lists)."""

    def __init__(
        self, db: Database, procore: ProcoreClient, target: Target, found: list[str] | None = None
    ) -> None:
        self.db = db
        self.procore = procore
        self.target = target
        self.run = RunState()
        self._codes: list[Item] = []
        self.found = found  # reconcile: every mirrored row a write changes is listed here

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[AsyncSession]:
        """A transaction applying what Procore listed (counted when reconciling)."""
        async with self.db.transaction() as session:
            if self.found is None:
                yield session
            else:
                with counting(session, COUNTED, self.found):
                    yield session
                    await session.flush()  # inside the count, before the commit

    # -- projects list ---------------------------------------------------------------------
    async def discover(self, *, full: bool = False) -> None:
        """Every project of the company: tracked ones refreshed, new ones listed, exclusions noted."""
        t = self.target
        started = utcnow()
        since = (
            None
            if full or not t.config.projects_synced_through
            else datetime.fromisoformat(t.config.projects_synced_through)
        )
        params: dict[str, Any] = {"company_id": t.procore_company_id, "filters[by_status]": "All"}
        if since is not None:
            params["filters[updated_at]"] = changed_since(since, started)
        try:  # Company-admin list: every project, including those the app may not see
            everything = await self.procore.get_json(f"/rest/v1.0/companies/{t.procore_company_id}/projects")
        except Rejected:  # not a company admin: what the app sees is all we can know
            everything = None
        try:
            permitted = await self.procore.get_json(
                "/rest/v1.1/projects",
                {"company_id": t.procore_company_id, "view": "ids", "filters[by_status]": "All"},
            )
        except Rejected:
            permitted = None
        if permitted is None or everything is None:
            params.pop("filters[updated_at]", None)  # need the full list to know who is there
        details = await self.procore.get_all("/rest/v1.0/projects", params)
        if permitted is None:
            permitted = [p["id"] for p in details]
        if everything is None:
            everything = [
                {
                    "id": p["id"],
                    "name": p.get("name"),
                    "status_name": "Active" if p.get("active") else "Inactive",
                }
                for p in details
            ]
        async with self._write() as session:
            repo = SitesRepository.from_session(session)
            await self._apply_projects(repo, everything, {mapping.pid(i) for i in permitted}, details)
            connection = await ConnectionRepository.from_session(session).get_for_job(t.connection_id)
            if connection is not None:
                connection.config = {**connection.config, "projects_synced_through": started.isoformat()}
                connection.last_success_at = utcnow()
        t.config.projects_synced_through = started.isoformat()

    async def _apply_projects(
        self, repo: SitesRepository, everything: Sequence[Item], permitted: set[str], details: Sequence[Item]
    ) -> None:
        t = self.target
        known = await repo.by_external(Project, connection_id=t.connection_id)
        by_id = {mapping.pid(p["id"]): p for p in details}
        listed: set[str] = set()
        for item in everything:
            ext = mapping.pid(item["id"])
            listed.add(ext)
            row = known.get(ext)
            if row is None:
                row = Project(
                    company_id=t.company_id, connection_id=t.connection_id, external_id=ext, name=""
                )
                row.sync_state = SyncState.off
                row.sync_progress = {}
                await repo.add(row)
            detail = by_id.get(ext)
            if detail is not None:
                for key, value in mapping.project_fields(detail).items():
                    setattr(row, key, value)
            else:
                row.name = row.name or str(item.get("name") or ext)
                row.active = str(item.get("status_name", "Active")).lower() != "inactive"
            await availability.set_state(repo.session, row, permitted=ext in permitted, removed=False)
        for ext, row in known.items():
            if ext not in listed and not row.removed:
                await availability.set_state(repo.session, row, removed=True)

    # -- company-level lists ----------------------------------------------------------------
    async def categories(self) -> dict[str, tuple[str, bool]]:
        if self.run.categories is not None:
            return self.run.categories
        t = self.target
        items = await self.procore.get_all("/rest/v1.0/line_item_types", {"company_id": t.procore_company_id})
        async with self._write() as session:
            repo = SitesRepository.from_session(session)
            known = await repo.by_external(LineItemType, connection_id=t.connection_id)
            for item in items:
                row = known.get(mapping.pid(item["id"]))
                if row is None:
                    row = LineItemType(
                        company_id=t.company_id,
                        connection_id=t.connection_id,
                        external_id=mapping.pid(item["id"]),
                    )
                    await repo.add(row)
                row.name, row.code, row.base_type = (
                    str(item.get("name") or ""),
                    item.get("code"),
                    item.get("base_type"),
                )
                known[row.external_id] = row
            self.run.categories = {ext: (r.name, r.labor) for ext, r in known.items()}
        return self.run.categories

    async def people(self) -> int:
        if self.run.people_synced:
            return 0
        t = self.target
        items = await self.procore.get_all(f"/rest/v1.0/companies/{t.procore_company_id}/people")
        async with self._write() as session:
            await people_sync.apply_people(
                session,
                t.company_id,
                t.connection_id,
                {mapping.pid(i["id"]): mapping.person_fields(i) for i in items},
            )
        self.run.people_synced = True
        return len(items)

    # -- one project -------------------------------------------------------------------------
    async def _progress(self, project_id: int, **changes: Any) -> None:
        async with self.db.transaction() as session:
            row = await SitesRepository.from_session(session).project_for_job(project_id)
            if row is None:
                return
            progress = dict(row.sync_progress or {})
            for key, value in changes.items():
                if key in ("sync_state", "sync_error", "last_synced_at", "synced_through"):
                    setattr(row, key, value)
                else:
                    progress[key] = value
            row.sync_progress = progress

    async def project(self, project_id: int, *, full: bool = False) -> bool:
        """Sync one tracked project; True when it finished. Failures are recorded on the project."""
        async with self.db.transaction() as session:
            row = await SitesRepository.from_session(session).project_for_job(project_id)
            if row is None or row.excluded_reason is not None or not row.sync_enabled:
                return False
            ext, since, view_id = row.external_id, (None if full else row.synced_through), row.budget_view_id
        started = utcnow()
        steps = {name: "pending" for name in STEPS}
        await self._progress(
            project_id, sync_state=SyncState.running, sync_error=None, steps=steps, counts={}
        )
        counts: dict[str, int] = {}
        try:
            for name in STEPS:
                steps[name] = "running"
                await self._progress(project_id, steps=dict(steps))
                counts[name] = await self._step(name, project_id, ext, since, view_id)
                steps[name] = "done"
                await self._progress(project_id, steps=dict(steps), counts=dict(counts))
        except (RemoteNotFound, NotPermitted) as exc:
            await self._lost_project(project_id, exc)
            return False
        except ProcoreError as exc:
            self.run.failures.append(exc.message)
            await self._progress(project_id, sync_state=SyncState.failed, sync_error=exc.message)
            raise
        await self._progress(
            project_id, sync_state=SyncState.synced, last_synced_at=utcnow(), synced_through=started
        )
        self.run.projects_synced += 1
        return True

    async def _lost_project(self, project_id: int, exc: ProcoreError) -> None:
        removed = isinstance(exc, RemoteNotFound)
        message = (
            "Procore no longer has this project (deleted mid-sync?); it is excluded until it comes back."
            if removed
            else "Procore refused access to this project (app not permitted?); it is excluded for now."
        )
        async with self.db.transaction() as session:
            row = await SitesRepository.from_session(session).project_for_job(project_id)
            if row is not None:
                await availability.set_state(
                    session, row, removed=row.removed or removed, permitted=row.permitted and removed
                )
                row.sync_state = SyncState.failed
                row.sync_error = message
        self.run.failures.append(message)

    async def _step(
        self, name: str, project_id: int, ext: str, since: datetime | None, view_id: str | None
    ) -> int:
        if name == "cost codes":
            self._codes = await self.procore.get_all("/rest/v1.0/cost_codes", {"project_id": ext})
            async with self._write() as session:
                await _apply_cost_codes(
                    SitesRepository.from_session(session), self.target, project_id, self._codes
                )
            return len(self._codes)
        if name == "categories":
            return len(await self.categories())
        if name == "sub-jobs":
            if since is not None:  # re-sync: sub jobs arrive with their cost codes (biller)
                return 0
            items = await self.procore.get_all("/rest/v1.0/sub_jobs", {"project_id": ext})
            async with self._write() as session:
                await _apply_sub_jobs(SitesRepository.from_session(session), self.target, project_id, items)
            return len(items)
        if name == "budget":
            rows = await self._detail_rows(project_id, ext, view_id)
            categories = await self.categories()
            async with self._write() as session:
                return await _apply_milestones(
                    SitesRepository.from_session(session),
                    self.target,
                    project_id,
                    self._codes,
                    rows,
                    categories,
                )
        if name == "locations":
            params: dict[str, Any] = {}
            if since is not None:
                params["filters[updated_at]"] = changed_since(since, utcnow())
            items = await self.procore.get_all(f"/rest/v1.0/projects/{ext}/locations", params)
            async with self._write() as session:
                await _apply_locations(SitesRepository.from_session(session), self.target, project_id, items)
            return len(items)
        return await self.people()

    async def reconcile_project(
        self, project_id: int, ext: str, since: datetime | None, view_id: str | None, locations: bool
    ) -> None:
        """The reconcile slice of one project: its cost codes, and only the lists it uses."""
        await self._step("cost codes", project_id, ext, since, view_id)
        if locations:
            await self._step("locations", project_id, ext, since, view_id)
        if view_id is not None:
            if self.run.categories is None:  # from our rows: one request saved per project
                async with self.db.sessionmaker() as session:
                    known = await SitesRepository.from_session(session).by_external(
                        LineItemType, connection_id=self.target.connection_id
                    )
                self.run.categories = {ext: (r.name, r.labor) for ext, r in known.items()}
            await self._step("budget", project_id, ext, since, view_id)

    async def _detail_rows(self, project_id: int, ext: str, view_id: str | None) -> list[Item]:
        if view_id is None:
            views = await self.procore.get_all("/rest/v1.0/budget_views", {"project_id": ext})
            if not views:
                return []
            view_id = mapping.pid(views[0]["id"])
            async with self.db.transaction() as session:
                row = await SitesRepository.from_session(session).project_for_job(project_id)
                if row is not None:
                    row.budget_view_id = view_id
        return await self.procore.get_all(
            f"/rest/v1.0/budget_views/{view_id}/detail_rows",
            {"project_id": ext, "budget_row_type": "budgeted"},
        )


async def _apply_cost_codes(repo: SitesRepository, t: Target, project_id: int, items: Sequence[Item]) -> None:
    known = await repo.by_external(CostCode, project_id=project_id)
    subs = await repo.by_external(SubJob, project_id=project_id)
    seen: set[str] = set()
    for item in items:
        ext = mapping.pid(item["id"])
        seen.add(ext)
        row = known.get(ext)
        if row is None:
            row = CostCode(company_id=t.company_id, project_id=project_id, external_id=ext)
            await repo.add(row)
        for key, value in mapping.cost_code_fields(item).items():
            setattr(row, key, value)
        row.archived = False
        sub_ext = row.sub_job_external_id
        if sub_ext is not None and sub_ext not in subs:  # a sub job we have not listed yet
            subs[sub_ext] = SubJob(
                company_id=t.company_id,
                project_id=project_id,
                external_id=sub_ext,
                name=str(item.get("biller") or sub_ext),
            )
            await repo.add(subs[sub_ext])
        elif sub_ext is not None and item.get("biller"):
            subs[sub_ext].name = str(item["biller"])
    for ext, row in known.items():
        if ext not in seen:
            row.archived = True


async def _apply_sub_jobs(repo: SitesRepository, t: Target, project_id: int, items: Sequence[Item]) -> None:
    known = await repo.by_external(SubJob, project_id=project_id)
    seen = set()
    for item in items:
        ext = mapping.pid(item["id"])
        seen.add(ext)
        row = known.get(ext)
        if row is None:
            row = SubJob(company_id=t.company_id, project_id=project_id, external_id=ext, name="")
            await repo.add(row)
        row.name, row.code, row.archived = str(item.get("name") or ext), item.get("code"), False
    for ext, row in known.items():
        if ext not in seen:
            row.archived = True


async def _apply_milestones(
    repo: SitesRepository,
    t: Target,
    project_id: int,
    codes: Sequence[Item],
    rows: Sequence[Item],
    categories: dict[str, tuple[str, bool]],
) -> int:
    await repo.flush()
    specs = mapping.milestone_specs(codes, rows, categories)
    subs = {ext: s.id for ext, s in (await repo.by_external(SubJob, project_id=project_id)).items()}
    existing = {m.key: m for m in await repo.milestones(t.company_id, [project_id], visible_only=False)}
    for spec in specs:
        m = existing.pop(spec.key, None)
        if m is None:
            m = Milestone(
                company_id=t.company_id,
                project_id=project_id,
                key=spec.key,
                cost_code_external_id=spec.cost_code_id,
                line_item_type_external_id=spec.line_item_type_id,
            )
            await repo.add(m)
        m.name, m.budgeted = spec.name[:400], spec.budgeted
        m.sub_job_id = subs.get(spec.sub_job_external_id) if spec.sub_job_external_id else None
        m.budget_line_item_id, m.wbs_code_id = spec.budget_line_item_id, spec.wbs_code_id
        m.budgeted_hours, m.budgeted_amount = spec.hours, spec.amount
        m.archived, m.archived_reason = False, None
    for m in existing.values():  # never deleted: time may point at it
        if not m.archived:
            m.archived, m.archived_reason = True, "The cost code or budget line was removed in Procore."
    return len(specs)


async def _apply_locations(repo: SitesRepository, t: Target, project_id: int, items: Sequence[Item]) -> None:
    known = await repo.by_external(Location, project_id=project_id)
    for item in items:
        ext = mapping.pid(item["id"])
        row = known.get(ext)
        if row is None:
            row = known[ext] = Location(
                company_id=t.company_id, project_id=project_id, external_id=ext, name=""
            )
            await repo.add(row)
        row.name = str(item.get("name") or ext)[:400]
        row.node_name, row.code = item.get("node_name"), item.get("code")
        row.parent_external_id = mapping.opt_pid(item.get("parent_id"))
