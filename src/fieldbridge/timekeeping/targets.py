"""Where time goes: milestones with their project, sub job and Procore ids, and the Procore
person ("party") of each worker. The one place timekeeping reads `sites/` tables.

A project's time entry mode (Procore's "Total Hours" vs "Start/Stop" timesheet setting) is not
readable through Procore's API, so the admin sets it per project (`ProjectTimeSettings`).
"""

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BindParameter, Select, and_, bindparam, select
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncSession

from fieldbridge.accounts.models import Worker
from fieldbridge.kit.cache import MISSING, ProcessCache
from fieldbridge.sites.models import Milestone, ProcorePerson, Project, SubJob
from fieldbridge.timekeeping.models import ClockShift, GeofenceMode, ProjectTimeSettings, TimeEntryMode


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
# Across requests (`kit/cache.py`): dropped on any write to the tables a `Target` is read from.
_KNOWN: ProcessCache[tuple[int, int], Target] = ProcessCache(
    "timekeeping.targets", tables={"milestones", "projects", "sub_jobs", "project_time_settings"}
)


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
    """Targets by milestone id; each is read once per unit of work, and kept in the process
    cache until the tables it comes from change."""
    cache: dict[int, Target] = session.info.setdefault(_CACHE, {})
    wanted = set(milestone_ids)
    missing = []
    for m in wanted:
        if m in cache:
            continue
        known = _KNOWN.get(session, (company_id, m))
        if known is MISSING:
            missing.append(m)
        else:
            cache[m] = known
    if missing:
        stamp = _KNOWN.stamp(session)
        rows = await session.execute(_BY_IDS, {"company_id": company_id, "milestone_ids": missing})
        for target in map(_target, rows):
            cache[target.milestone_id] = target
            _KNOWN.put(session, (company_id, target.milestone_id), target, stamp)
    return {m: cache[m] for m in wanted if m in cache}


def cached(engine: Engine, company_id: int, milestone_ids: Sequence[int]) -> dict[int, Target] | None:
    """`targets` when the process cache has every one of them, else None (a hot path's miss;
    an unknown milestone is a miss too: the full path says so)."""
    out = {}
    for m in milestone_ids:
        known = _KNOWN.peek(engine, (company_id, m))
        if known is MISSING:
            return None
        out[m] = known
    return out


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


@dataclass(frozen=True)
class Nearby:
    """A shift of a crew member that started near the one being made or closed (overlap rule)."""

    id: int
    worker_id: int
    started_at: datetime
    ended_at: datetime | None
    place: str


@dataclass(frozen=True)
class Member:
    id: int
    name: str
    active: bool
    party_id: str | None  # as `party_ids` gives it


_FIRST_PARTY = (
    select(ProcorePerson.external_id)
    .where(
        ProcorePerson.company_id == Worker.company_id,
        ProcorePerson.worker_id == Worker.id,
        ProcorePerson.active.is_(True),
    )
    .order_by(ProcorePerson.id)
    .limit(1)
    .correlate(Worker)
    .scalar_subquery()
)
_MEMBERS = select(Worker.id, Worker.name, Worker.active, _FIRST_PARTY).where(
    Worker.company_id == bindparam("company_id"), Worker.id.in_(bindparam("worker_ids", expanding=True))
)
# The same plus each member's shifts that started in [since, until): one statement for the crew.
_MEMBERS_NEARBY = (
    _MEMBERS.add_columns(ClockShift.id, ClockShift.started_at, ClockShift.ended_at, ClockShift.place)
    .outerjoin(
        ClockShift,
        and_(
            ClockShift.company_id == Worker.company_id,
            ClockShift.worker_id == Worker.id,
            ClockShift.started_at >= bindparam("since"),
            ClockShift.started_at < bindparam("until"),
        ),
    )
    .order_by(Worker.id)
)
NEARBY_LIMIT = 2000  # as `ShiftRepository.worker_shifts_around`


async def crew(
    session: AsyncSession,
    company_id: int,
    worker_ids: Sequence[int],
    around: tuple[datetime, datetime] | None,
) -> tuple[dict[int, Member], list[Nearby]]:
    """The workers (with their Procore person) and, with `around`, all their shifts that started
    in it, oldest first: what `ShiftRepository.workers`, `party_ids` and
    `ShiftRepository.worker_shifts_around` (which keeps the first NEARBY_LIMIT) give, in one
    statement."""
    ids = sorted(set(worker_ids))
    if around is None:
        rows = await session.execute(_MEMBERS, {"company_id": company_id, "worker_ids": ids})
        return crew_of((*row, None, None, None, None) for row in rows)
    params = {"company_id": company_id, "worker_ids": ids, "since": around[0], "until": around[1]}
    return crew_of(await session.execute(_MEMBERS_NEARBY, params))


# `crew` for a statement on the driver connection (`Database.raw`): the workers joined as `m`
# (`members_join` for ids, `member_join` for the worker of a shift in the statement), each
# with `member_nearby` as `nb`, in the `MEMBER_WIDTH` columns of `MEMBER_COLUMNS` (read by
# `member_of`).
def members_join(company: str, worker_ids: str) -> str:
    return f"LEFT JOIN workers m ON m.company_id = {company} AND m.id = ANY({worker_ids}::bigint[])"


def member_join(shift: str) -> str:
    """The worker of a shift already in the statement (as `shift`), as `m`."""
    return f"LEFT JOIN workers m ON m.company_id = {shift}.company_id AND m.id = {shift}.worker_id"


def member_nearby(since: str, until: str, ending_after: str) -> str:
    """`m`'s shifts that started in [since, until), as `nb`: how many there are (`total`), and
    as one JSON array of [id, started_at, ended_at, place] (`near`) those of them that are open
    or ended after `ending_after`: the only ones a shift that starts then can overlap
    (`policy.breaches`), so a worker's past weeks are not read on every call."""
    return f"""LEFT JOIN LATERAL (SELECT count(*) AS total,
  json_agg(json_build_array(n.id, n.started_at, n.ended_at, n.place))
    FILTER (WHERE n.ended_at IS NULL OR n.ended_at > {ending_after}) AS near
  FROM clock_shifts n WHERE n.company_id = m.company_id AND n.worker_id = m.id
  AND n.started_at >= {since} AND n.started_at < {until}) nb ON true"""


MEMBER_COLUMNS = """m.id, m.name, m.active,
  (SELECT p.external_id FROM procore_people p
   WHERE p.company_id = m.company_id AND p.worker_id = m.id AND p.active ORDER BY p.id LIMIT 1),
  nb.total, nb.near"""
MEMBER_WIDTH = 6


def member_of(columns: Sequence[Any]) -> tuple[Member | None, list[Nearby], int]:
    """The worker, its nearby shifts that can overlap (unordered) and how many shifts it has
    in the window, from `MEMBER_COLUMNS`."""
    w_id, name, active, party, total, near = columns[:MEMBER_WIDTH]
    if w_id is None:
        return None, [], 0
    member = Member(w_id, name, bool(active), None if party is None else str(party))
    nearby = [
        Nearby(s_id, w_id, _instant(started), None if ended is None else _instant(ended), place)
        for s_id, started, ended, place in (json.loads(near) if near else [])
    ]
    return member, nearby, total


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def crew_of(rows: Iterable[Sequence[Any]]) -> tuple[dict[int, Member], list[Nearby]]:
    """Members and nearby shifts (oldest first) from rows of `_MEMBERS_NEARBY` (a row without a
    worker is skipped)."""
    members: dict[int, Member] = {}
    nearby: list[Nearby] = []
    for w_id, name, active, party, s_id, started, ended, place in rows:
        if w_id is None:
            continue
        members[w_id] = Member(w_id, name, bool(active), None if party is None else str(party))
        if s_id is not None:
            nearby.append(Nearby(s_id, w_id, started, ended, place))
    nearby.sort(key=lambda n: (n.started_at, n.id))
    return members, nearby
