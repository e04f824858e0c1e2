"""REST routes of timekeeping under /api/v1/time: the phone's clock-in/out and the admin's
timesheet, corrections, approval, milestone progress and geofences."""

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from fieldbridge.accounts.auth import Principal, require
from fieldbridge.accounts.scopes import Scope
from fieldbridge.accounts.service import company_zone
from fieldbridge.kit.clock import utcnow
from fieldbridge.kit.deps import SessionDep
from fieldbridge.kit.errors import Forbidden
from fieldbridge.timekeeping import clocking, policy, service, views
from fieldbridge.timekeeping.repository import ShiftRepository
from fieldbridge.timekeeping.schemas import (
    MAX_ID,
    Capability,
    ClockIn,
    ClockOut,
    ClockResult,
    Correction,
    Day,
    IdPath,
    MilestoneProgress,
    Picker,
    ProjectTimeSettingsIn,
    ProjectTimeSettingsOut,
    ShiftOut,
    TimePolicyIn,
)

router = APIRouter(prefix="/time", tags=["time"])

TimeRead = Annotated[Principal, Depends(require(Scope.time_read), scope="function")]
TimeWrite = Annotated[Principal, Depends(require(Scope.time_write), scope="function")]
ProjectsRead = Annotated[Principal, Depends(require(Scope.projects_read), scope="function")]
ProjectsWrite = Annotated[Principal, Depends(require(Scope.projects_write), scope="function")]


async def _is_foreman(session: SessionDep, principal: Principal) -> bool:
    if principal.kind != "worker":
        return True
    workers = await ShiftRepository.from_session(session).workers(
        principal.company_id, [principal.subject_id]
    )
    worker = workers.get(principal.subject_id)
    return bool(worker and worker.is_foreman)


@router.get("/capability", response_model=Capability, summary="Is clock-in offered to this company")
async def capability(principal: TimeRead, session: SessionDep) -> Capability:
    connection = await service.clock_in_connection(session, principal.company_id)
    return Capability(clock_in=connection is not None, message=None if connection else service.GATE_MESSAGE)


@router.post(
    "/clock-in",
    response_model=ClockResult,
    status_code=status.HTTP_201_CREATED,
    summary="Clock in yourself or a crew",
    responses={200: {"description": "the same action was already received (offline re-send)"}},
)
async def clock_in(body: ClockIn, principal: TimeWrite, session: SessionDep) -> Response:
    result = await clocking.clock_in(session, principal, body)
    return _json(result, status.HTTP_200_OK if result.replayed else status.HTTP_201_CREATED)


@router.post("/clock-out", response_model=ClockResult, summary="Clock out and allocate the time")
async def clock_out(body: ClockOut, principal: TimeWrite, session: SessionDep) -> Response:
    return _json(await clocking.clock_out(session, principal, body), status.HTTP_200_OK)


def _json(result: ClockResult, code: int) -> Response:
    """Serialized once (the route's `response_model` documents it; nothing validates it again)."""
    return Response(result.model_dump_json(), status_code=code, media_type="application/json")


@router.get("/on-the-clock", response_model=list[ShiftOut], summary="Who is on the clock now")
async def on_the_clock(principal: TimeRead, session: SessionDep) -> list[ShiftOut]:
    shifts = await ShiftRepository.from_session(session).on_the_clock(principal.company_id)
    return await views.shifts_out(session, principal.company_id, shifts)


@router.get("/my-shifts", response_model=list[ShiftOut], summary="My shifts and my crew's (last 14 days)")
async def my_shifts(principal: TimeRead, session: SessionDep) -> list[ShiftOut]:
    if principal.kind != "worker":
        raise Forbidden("Only a worker's device has its own shifts; use /time/shifts.", code="worker_only")
    shifts = await ShiftRepository.from_session(session).mine(
        principal.company_id, principal.subject_id, utcnow() - timedelta(days=14)
    )
    return await views.shifts_out(session, principal.company_id, shifts)


@router.get("/picker", response_model=Picker, summary="Jobs, sub-jobs, milestones and crew to pick from")
async def picker(principal: ProjectsRead, session: SessionDep) -> Picker:
    foreman = await _is_foreman(session, principal)
    return await views.picker(session, principal.company_id, principal.worker_id, foreman)


@router.get("/shifts", response_model=list[ShiftOut], summary="Timesheet: shifts of a day or week")
async def list_shifts(
    principal: TimeRead,
    session: SessionDep,
    day: Annotated[Day | None, Query(description="a day (default today)")] = None,
    week: Annotated[bool, Query(description="the Monday-to-Sunday week of `day`")] = False,
    project_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    worker_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> list[ShiftOut]:
    first = day or datetime.now(await company_zone(session, principal.company_id)).date()
    last = first
    if week:
        first = first - timedelta(days=first.weekday())
        last = first + timedelta(days=6)
    if principal.kind == "worker":
        worker_id = principal.subject_id
    shifts = await ShiftRepository.from_session(session).between(
        principal.company_id, first, last, project_id=project_id, worker_id=worker_id
    )
    return await views.shifts_out(session, principal.company_id, shifts)


@router.post("/shifts/{shift_id}/corrections", response_model=ShiftOut, summary="Correct a shift (admin)")
async def correct_shift(
    shift_id: IdPath, body: Correction, principal: TimeWrite, session: SessionDep
) -> ShiftOut:
    shift = await service.correct(session, principal, shift_id, body)
    return (await views.shifts_out(session, principal.company_id, [shift]))[0]


@router.post("/shifts/{shift_id}/approve", response_model=ShiftOut, summary="Approve a shift (admin)")
async def approve_shift(shift_id: IdPath, principal: TimeWrite, session: SessionDep) -> ShiftOut:
    shift = await service.approve(session, principal, shift_id)
    return (await views.shifts_out(session, principal.company_id, [shift]))[0]


@router.get("/held", response_model=list[ShiftOut], summary="Shifts whose export is held, with the reasons")
async def held_shifts(principal: TimeRead, session: SessionDep) -> list[ShiftOut]:
    service.require_admin(principal)
    return await views.held_shifts(session, principal.company_id)


@router.get("/policy", response_model=TimePolicyIn, summary="The company's time policy")
async def get_policy(principal: TimeRead, session: SessionDep) -> TimePolicyIn:
    return await policy.rules(session, principal.company_id)


@router.put(
    "/policy",
    response_model=TimePolicyIn,
    summary="Set the time policy (admin): shifts outside it are held for approval",
)
async def put_policy(body: TimePolicyIn, principal: TimeWrite, session: SessionDep) -> TimePolicyIn:
    service.require_admin(principal)
    return await policy.set_rules(session, principal.company_id, body)


@router.post(
    "/shifts/{shift_id}/resend", response_model=ShiftOut, summary="Send a shift to Procore again (admin)"
)
async def resend_shift(shift_id: IdPath, principal: TimeWrite, session: SessionDep) -> ShiftOut:
    shift = await service.resend(session, principal, shift_id)
    return (await views.shifts_out(session, principal.company_id, [shift]))[0]


@router.get(
    "/projects/{project_id}/progress",
    response_model=list[MilestoneProgress],
    summary="Milestone progress: hours used against budgeted hours",
)
async def milestone_progress(
    project_id: IdPath, principal: TimeRead, session: SessionDep
) -> list[MilestoneProgress]:
    await views.require_project(session, principal.company_id, project_id)
    return await views.progress(session, principal.company_id, project_id)


@router.put(
    "/projects/{project_id}/settings",
    response_model=ProjectTimeSettingsOut,
    summary="Set a project's time entry mode and site boundary",
)
async def set_project_settings(
    project_id: IdPath, body: ProjectTimeSettingsIn, principal: ProjectsWrite, session: SessionDep
) -> ProjectTimeSettingsOut:
    await views.require_project(session, principal.company_id, project_id)
    row = await service.set_project_settings(session, principal.company_id, project_id, body)
    return ProjectTimeSettingsOut.model_validate(row)
