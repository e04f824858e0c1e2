"""Where time goes: milestones with their project, sub job and Procore ids, and the Procore
person ("party") of each worker. The one place timekeeping reads `sites/` tables.

A project's time entry mode (Procore's "Total Hours" vs "Start/Stop" timesheet setting) is not
readable through Procore's API, so the admin sets it per project (`ProjectTimeSettings`).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BindParameter, Select, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from fieldbridge.sites.models import Milestone, ProcorePerson, Project, SubJob
from fieldbridge.timekeeping.models import GeofenceMode, ProjectTimeSettings, TimeEntryMode


@dataclass(frozen=True)
class Fence:
    latitude: float
    longitude: float
    radius_m: int
    mode: GeofenceMode


@dataclass(frozen=True)
class Target:
    milestone_id: int
    milestone_name: str
    key: str  # procore:budget_line:cc:<cost_code_id>:cat:<line_item_type_id>
    project_id: int
    project_name: str
    sub_job_id: int | None
    sub_job_name: str | None
    procore_project_id: str  # ids of other platforms are strings
    cost_code_id: str
    line_item_type_id: str
    procore_sub_job_id: str | None
    time_entry_mode: TimeEntryMode
    fence: Fence | None  # the project's site boundary, if the admin drew one
    synced: bool  # the admin turned sync on and Procore lets us see it
    active: bool  # active in Procore
    budgeted_hours: float | None
    time_zone: str | None = None  # the project's zone as Procore names it; None = the company's

    @property
    def place(self) -> str:
        return " / ".join(p for p in (self.project_name, self.sub_job_name, self.milestone_name) if p)


@dataclass(frozen=True)
class SubJobNode:
    id: int | None
    name: str
    milestones: list[Target]


@dataclass(frozen=True)
class ProjectNode:
    id: int
    name: str
    sub_jobs: list[SubJobNode]


_COLUMNS = (
    Milestone.id,
    Milestone.display_name,
    Milestone.name,
    Milestone.key,
    Milestone.cost_code_external_id,
    Milestone.line_item_type_external_id,
    Milestone.budgeted_hours,
    Project.id,
    Project.display_name,
    Project.name,
    Project.external_id,
    Project.sync_enabled,
    Project.permitted,
    Project.removed,
    Project.active,
    Project.time_zone,
    SubJob.id,
    SubJob.name,
    SubJob.external_id,
    ProjectTimeSettings.time_entry_mode,
    ProjectTimeSettings.latitude,
    ProjectTimeSettings.longitude,
    ProjectTimeSettings.radius_m,
    ProjectTimeSettings.geofence_mode,
)
_CACHE = "fieldbridge.timekeeping.targets"


def _query(company_id: int | BindParameter[int]) -> Select[*tuple[Any, ...]]:
    """Only the columns a `Target` needs (cheaper than loading four whole rows)."""
    return (
        select(*_COLUMNS)
        .join(Project, Project.id == Milestone.project_id)
        .outerjoin(SubJob, SubJob.id == Milestone.sub_job_id)
        .outerjoin(
            ProjectTimeSettings,
            (ProjectTimeSettings.company_id == company_id) & (ProjectTimeSettings.project_id == Project.id),
        )
        .where(Milestone.company_id == company_id, Project.company_id == company_id)
    )


# Built once (company and milestones bound per call): `targets` runs on every clock-in and
# clock-out, and building this join (and its cache key) per call cost about 0.15 ms.
_BY_IDS = _query(bindparam("company_id")).where(Milestone.id.in_(bindparam("milestone_ids", expanding=True)))


def _target(row: Sequence[Any]) -> Target:
    (m_id, m_display, m_name, key, cost_code, category, budget,
     p_id, p_display, p_name, p_external, p_sync, p_permitted, p_removed, p_active, p_zone,
     s_id, s_name, s_external, mode, lat, lon, radius, fence_mode) = row  # fmt: skip
    fence = None
    if lat is not None and lon is not None:
        fence = Fence(lat, lon, radius, GeofenceMode(fence_mode))
    return Target(
        milestone_id=m_id,
        milestone_name=m_display or m_name,
        key=key,
        project_id=p_id,
        project_name=p_display or p_name,
        sub_job_id=s_id,
        sub_job_name=s_name,
        procore_project_id=p_external,
        cost_code_id=cost_code,
        line_item_type_id=category,
        procore_sub_job_id=s_external,
        time_entry_mode=TimeEntryMode(mode or TimeEntryMode.hours),
        fence=fence,
        synced=bool(p_sync and p_permitted and not p_removed),
        active=bool(p_active),
        budgeted_hours=budget,
        time_zone=p_zone,
    )


async def targets(session: AsyncSession, company_id: int, milestone_ids: Sequence[int]) -> dict[int, Target]:
    """Targets by milestone id; each is read once per unit of work."""
    cache: dict[int, Target] = session.info.setdefault(_CACHE, {})
    wanted = set(milestone_ids)
    missing = [m for m in wanted if m not in cache]
    if missing:
        rows = await session.execute(_BY_IDS, {"company_id": company_id, "milestone_ids": missing})
        cache.update({t.milestone_id: t for t in map(_target, rows)})
    return {m: cache[m] for m in wanted if m in cache}


async def project_milestones(session: AsyncSession, company_id: int, project_id: int) -> list[Target]:
    rows = await session.execute(
        _query(company_id)
        .where(Project.id == project_id, Milestone.archived.is_(False), Milestone.hidden.is_(False))
        .order_by(Milestone.key)
    )
    return [_target(row) for row in rows]


async def project_exists(session: AsyncSession, company_id: int, project_id: int) -> bool:
    found = await session.scalar(
        select(Project.id).where(Project.company_id == company_id, Project.id == project_id)
    )
    return found is not None


async def tree(session: AsyncSession, company_id: int) -> list[ProjectNode]:
    """Synced, active projects → sub jobs → milestones (unarchived, not hidden), for the picker."""
    rows = await session.execute(
        _query(company_id)
        .where(
            Project.sync_enabled.is_(True),
            Project.active.is_(True),
            Project.permitted.is_(True),
            Project.removed.is_(False),
            Milestone.archived.is_(False),
            Milestone.hidden.is_(False),
        )
        .order_by(Project.name, Milestone.name)
    )
    projects: dict[int, tuple[str, dict[int | None, tuple[str, list[Target]]]]] = {}
    for row in rows:
        target = _target(row)
        _, subs = projects.setdefault(target.project_id, (target.project_name, {}))
        subs.setdefault(target.sub_job_id, (target.sub_job_name or "Main job", []))[1].append(target)
    return [
        ProjectNode(pid, name, [SubJobNode(sid, sname, ms) for sid, (sname, ms) in subs.items()])
        for pid, (name, subs) in projects.items()
    ]


async def party_ids(session: AsyncSession, company_id: int, worker_ids: Sequence[int]) -> dict[int, str]:
    """Procore person id per worker (active people only); workers without one are left out."""
    if not worker_ids:
        return {}
    rows = await session.execute(
        select(ProcorePerson.worker_id, ProcorePerson.external_id)
        .where(
            ProcorePerson.company_id == company_id,
            ProcorePerson.worker_id.in_(list(worker_ids)),
            ProcorePerson.active.is_(True),
        )
        .order_by(ProcorePerson.id)
    )
    out: dict[int, str] = {}
    for worker_id, party in rows:
        if worker_id is not None:
            out.setdefault(int(worker_id), str(party))
    return out
