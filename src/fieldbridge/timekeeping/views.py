"""Read models of timekeeping: shifts as the phone and the admin see them (with export
status), who is on the clock, the picker, and milestone progress."""

from collections.abc import Mapping, Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from fieldbridge.accounts.service import company_zone
from fieldbridge.delivery import service as delivery
from fieldbridge.delivery.models import Delivery
from fieldbridge.delivery.states import Status
from fieldbridge.kit.errors import NotFound
from fieldbridge.kit.zones import DEFAULT_ZONE
from fieldbridge.timekeeping import export
from fieldbridge.timekeeping.allocation import format_hours
from fieldbridge.timekeeping.models import ClockAllocation, ClockShift
from fieldbridge.timekeeping.repository import ShiftRepository
from fieldbridge.timekeeping.schemas import (
    AllocationOut,
    MilestoneProgress,
    Picker,
    PickerMilestone,
    PickerProject,
    PickerSubJob,
    PickerWorker,
    ShiftOut,
)
from fieldbridge.timekeeping.targets import project_exists, project_milestones, targets, tree


async def shifts_out(
    session: AsyncSession, company_id: int, shifts: Sequence[ClockShift], *, fresh: bool = False
) -> list[ShiftOut]:
    """`fresh`: the shifts were just made, so their only ledger rows were just enqueued."""
    if not shifts:
        return []
    repo = ShiftRepository.from_session(session)
    people = await repo.workers(
        company_id, [s.worker_id for s in shifts] + [s.clocked_in_by_id or 0 for s in shifts]
    )
    settled = [s.id for s in shifts if s.worked_centihours is not None]
    allocations = await repo.allocations(company_id, settled)
    milestone_ids = {a.milestone_id for rows in allocations.values() for a in rows}
    labels = {m: t.place for m, t in (await targets(session, company_id, sorted(milestone_ids))).items()}
    subjects = [subject for s in shifts for subject in s.export_subjects]
    rows = [] if fresh else await repo.deliveries(company_id, subjects)
    by_subject: dict[str, list[Delivery]] = {}
    for row in rows:
        by_subject.setdefault(row.subject, []).append(row)
    # Shifts made before zones were kept are dated in the company's zone.
    company = None if all(s.time_zone for s in shifts) else await company_zone(session, company_id)
    held = [r.id for r in rows if r.status == Status.held]
    reasons = await delivery.hold_reasons(session, company_id, held) if held else {}
    names = {i: w.name for i, w in people.items()}
    zone_key = company.key if company else DEFAULT_ZONE
    return [
        shift_out(
            s,
            names,
            allocations.get(s.id, []),
            labels,
            [r for subject in s.export_subjects for r in by_subject.get(subject, [])],
            reasons,
            zone_key,
        )
        for s in shifts
    ]


def shift_out(
    s: ClockShift,
    names: Mapping[int, str],
    allocations: Sequence[ClockAllocation],
    labels: Mapping[int, str],
    rows: list[Delivery],
    reasons: Mapping[int, list[str]],
    zone_key: str,
) -> ShiftOut:
    """One shift as the API shows it, from what was read or written for it: workers' names by
    id, its allocations, milestone labels, its ledger rows, hold reasons by row id, and the
    zone of a shift that kept none."""
    state, text = export.status_of(rows, s.connection_id is not None)
    mood = export.worker_state(state, rows, s.corrected_at is not None)
    why = [w for r in rows if r.status == Status.held for w in reasons.get(r.id, [])]
    return ShiftOut(
        id=s.id,
        shift_id=s.client_id,
        clock_in_id=s.clock_in_id,
        worker_id=s.worker_id,
        worker_name=names.get(s.worker_id, "?"),
        clocked_in_by=names.get(s.clocked_in_by_id or 0),
        project_id=s.project_id,
        milestone_id=s.milestone_id,
        place=s.place,
        work_date=s.work_date,
        time_zone=s.time_zone or zone_key,
        started_at=s.started_at,
        ended_at=s.ended_at,
        break_minutes=s.break_minutes,
        hours=None if s.worked_centihours is None else format_hours(s.worked_centihours),
        injured=s.injured,
        status=s.status,
        geofence_note=s.geofence_note,
        allocations=[
            AllocationOut(
                milestone_id=a.milestone_id,
                hours=format_hours(a.centihours),
                label=labels.get(a.milestone_id, f"Milestone {a.milestone_id}"),
            )
            for a in allocations
        ],
        export_state=state,
        export_status=text,
        worker_state=mood,
        worker_status=export.WORKER_TEXT[mood],
        held_reasons=list(dict.fromkeys(why)),
        corrected=s.corrected_at is not None,
        correction_note=s.correction_note,
    )


async def held_shifts(session: AsyncSession, company_id: int) -> list[ShiftOut]:
    """Shifts with an export held (time policy, project access, Procore person), oldest first,
    each with every reason: the Timesheets page's approvals list."""
    repo = ShiftRepository.from_session(session)
    subjects = await repo.held_subjects(company_id)
    shifts = {s.client_id: s for s in await repo.shifts_with_subjects(company_id, subjects)}
    ordered = [shifts[c] for c in dict.fromkeys(s.split(":")[1] for s in subjects) if c in shifts]
    return await shifts_out(session, company_id, ordered)


async def picker(session: AsyncSession, company_id: int, worker_id: int | None, foreman: bool) -> Picker:
    """Synced projects → sub jobs → milestones, the worker's recent choices first; the crew list."""
    repo = ShiftRepository.from_session(session)
    recent = await repo.recent_milestones(company_id, worker_id) if worker_id else []
    rank = {m: n for n, m in enumerate(recent)}
    far = len(rank)
    projects = []
    for node in await tree(session, company_id):
        sub_jobs = []
        for sub in node.sub_jobs:
            milestones = sorted(
                (
                    PickerMilestone(
                        id=t.milestone_id, name=t.milestone_name, key=t.key, recent=t.milestone_id in rank
                    )
                    for t in sub.milestones
                ),
                key=lambda m: (rank.get(m.id, far), m.name),
            )
            sub_jobs.append(PickerSubJob(id=sub.id, name=sub.name, milestones=milestones))
        best = min((rank.get(m.id, far) for sub in sub_jobs for m in sub.milestones), default=far)
        sub_jobs.sort(
            key=lambda sj: (min((rank.get(m.id, far) for m in sj.milestones), default=far), sj.name)
        )
        projects.append(
            (best, PickerProject(id=node.id, name=node.name, recent=best < far, sub_jobs=sub_jobs))
        )
    projects.sort(key=lambda p: (p[0], p[1].name))
    on_clock = {s.worker_id for s in await repo.on_the_clock(company_id)}
    people = await repo.active_workers(company_id)
    if not foreman:
        people = [w for w in people if w.id == worker_id]
    return Picker(
        projects=[p for _, p in projects],
        workers=[PickerWorker(id=w.id, name=w.name, on_clock=w.id in on_clock) for w in people],
    )


async def progress(session: AsyncSession, company_id: int, project_id: int) -> list[MilestoneProgress]:
    """Hours allocated per milestone of a project against its budgeted hours."""
    milestones = await project_milestones(session, company_id, project_id)
    used = await ShiftRepository.from_session(session).hours_by_milestone(
        company_id, [t.milestone_id for t in milestones]
    )
    out = []
    for t in milestones:
        hours = used.get(t.milestone_id, 0)
        budget = t.budgeted_hours
        out.append(
            MilestoneProgress(
                milestone_id=t.milestone_id,
                label=" / ".join(p for p in (t.sub_job_name, t.milestone_name) if p),
                hours_used=format_hours(hours),
                hours_budgeted=None if budget is None else f"{budget:g}",
                percent_used=None if not budget else round(hours / budget, 1),
            )
        )
    return out


async def require_project(session: AsyncSession, company_id: int, project_id: int) -> None:
    if not await project_exists(session, company_id, project_id):
        raise NotFound("No such project in this company.")
