"""Rules of crew time: clock-in (one worker or a crew), clock-out with an allocation, the
Procore-only gate, geofences, de-duplication of offline re-sends, corrections and approval.

Functions take a session and never commit; the request or job boundary owns the transaction.
"""

import math
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from fieldbridge.accounts import service as accounts_service
from fieldbridge.accounts.auth import Principal
from fieldbridge.accounts.models import Worker
from fieldbridge.delivery import service as delivery
from fieldbridge.delivery.states import CANCELLABLE, Status
from fieldbridge.kit.cache import MISSING, ProcessCache
from fieldbridge.kit.clock import utcnow
from fieldbridge.kit.errors import Conflict, Forbidden, NotFound, Unprocessable
from fieldbridge.kit.zones import local_time, zone
from fieldbridge.safety import service as safety
from fieldbridge.timekeeping import allocation as alloc
from fieldbridge.timekeeping import events, export, policy
from fieldbridge.timekeeping.models import ClockShift, GeofenceMode, ProjectTimeSettings, ShiftStatus
from fieldbridge.timekeeping.repository import ShiftRepository
from fieldbridge.timekeeping.schemas import (
    ClockIn,
    ClockOut,
    Correction,
    Location,
    ProjectTimeSettingsIn,
    Split,
)
from fieldbridge.timekeeping.targets import Target, party_ids, targets

GATE_MESSAGE = (
    "Clock-in in the FieldBridge app is available with Procore; with other systems, "
    "time comes from that system's own app"
)
EARTH_RADIUS_M = 6_371_000.0


# The clock-in connection of each company across requests (`kit/cache.py`): any write to
# connections drops it (connect, disconnect, reconnect, a token refresh).
_CONNECTIONS: ProcessCache[int, int | None] = ProcessCache("timekeeping.connection", tables={"connections"})


async def clock_in_connection(session: AsyncSession, company_id: int) -> int | None:
    """The id of the company's Procore connection when its connector offers clock-in, else None."""
    from fieldbridge.connections.connector import Capability
    from fieldbridge.delivery.runner import registry

    cached = _CONNECTIONS.get(session, company_id)
    if cached is not MISSING:
        return cached
    stamp = _CONNECTIONS.stamp(session)
    connection = await ShiftRepository.from_session(session).procore_connection(company_id)
    found = None
    if connection is not None and registry().can(connection.provider, Capability.clock_in):
        found = connection.id
    _CONNECTIONS.put(session, company_id, found, stamp)
    return found


def cached_connection(engine: Engine, company_id: int) -> int | None:
    """`clock_in_connection` when the process cache has it, else None (for a hot path that
    leaves a miss to the full one)."""
    found = _CONNECTIONS.peek(engine, company_id)
    return None if found is MISSING else found


async def actor_of(session: AsyncSession, principal: Principal) -> Worker | None:
    if principal.kind != "worker":
        return None
    workers = await ShiftRepository.from_session(session).workers(
        principal.company_id, [principal.subject_id]
    )
    return workers.get(principal.subject_id)


def members_once(body: ClockIn) -> list[int]:
    """The members' worker ids, each once (as each shift id), or a 422."""
    worker_ids = [m.worker_id for m in body.members]
    if len(set(worker_ids)) != len(worker_ids) or len({m.shift_id for m in body.members}) != len(worker_ids):
        raise Unprocessable(
            "Each crew member and each shift id can appear only once.", code="duplicate_member"
        )
    return worker_ids


async def members_shifts(session: AsyncSession, company_id: int, body: ClockIn) -> dict[str, ClockShift]:
    """The members' shifts that exist, by shift id; a 409 when one is another action's or worker's."""
    rows = await ShiftRepository.from_session(session).by_client_ids(
        company_id, [m.shift_id for m in body.members]
    )
    existing = {s.client_id: s for s in rows}
    for m in body.members:
        seen = existing.get(m.shift_id)
        if seen is not None and (seen.worker_id != m.worker_id or seen.clock_in_id != body.id):
            raise Conflict(f"Shift id {m.shift_id} is already used for another clock-in.", code="id_reused")
    return existing


def may_act_for(principal: Principal, actor: Worker | None, worker_ids: Sequence[int]) -> None:
    if principal.kind != "worker" or (actor is not None and actor.is_foreman):
        return
    if set(worker_ids) - {principal.subject_id}:
        raise Forbidden("Only a foreman can clock in or out for other workers.", code="not_foreman")


def check_target(target: Target | None) -> Target:
    target = known(target)
    if not target.synced:
        raise Unprocessable(
            f"{target.project_name} is not synced to Procore, so time there cannot be exported. "
            "Pick another job, or ask an admin to turn on sync for it.",
            code="project_not_synced",
        )
    if not target.active:
        raise Unprocessable(
            f"{target.project_name} is inactive in Procore. "
            "Pick another job, or ask an admin to reactivate it.",
            code="project_inactive",
        )
    return target


def known(target: Target | None) -> Target:
    """After clock-in, time is never refused for its project's state: it is held instead."""
    if target is None:
        raise NotFound("That milestone does not exist. Pull down to refresh the job list.")
    return target


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))


def geofence(target: Target, where: Location | None) -> str | None:
    fence = target.fence
    if fence is None:
        return None
    if where is None:
        return f"No location was sent; {target.project_name} has a site boundary."
    away = distance_m((where.latitude, where.longitude), (fence.latitude, fence.longitude))
    if away <= fence.radius_m + (where.accuracy_m or 0):
        return None
    note = f"Clocked in {away / 1000:.1f} km from {target.project_name} (boundary {fence.radius_m} m)."
    if fence.mode == GeofenceMode.block:
        raise Unprocessable(
            note + " This job only allows clock-in on site. Move closer, or ask an admin.",
            code="outside_geofence",
        )
    return note


def shift_zone(shift: ClockShift, company: ZoneInfo) -> ZoneInfo:
    """The zone a shift is dated and shown in (its project's when it was made), else the company's."""
    return zone(shift.time_zone, company.key)


async def already_on(session: AsyncSession, company_id: int, open_shifts: Sequence[ClockShift]) -> Conflict:
    repo = ShiftRepository.from_session(session)
    names = await repo.workers(
        company_id, [s.worker_id for s in open_shifts] + [s.clocked_in_by_id or 0 for s in open_shifts]
    )
    company = await accounts_service.company_zone(session, company_id)
    parts = []
    for s in open_shifts:
        who = names[s.worker_id].name if s.worker_id in names else "A worker"
        by = names.get(s.clocked_in_by_id or 0)
        by_text = "themselves" if by is None or by.id == s.worker_id else by.name
        parts.append(
            f"{who} is already on the clock since {local_time(s.started_at, shift_zone(s, company))}, "
            f"clocked in by {by_text} at {s.place}"
        )
    return Conflict(
        ". ".join(parts) + ". Clock them out first.",
        code="already_on_clock",
        details=[{"worker_id": s.worker_id, "shift_id": s.client_id, "place": s.place} for s in open_shifts],
    )


async def clock_in(
    session: AsyncSession, principal: Principal, body: ClockIn
) -> tuple[list[ClockShift], list[str], bool]:
    """Clock in the members; returns (shifts, warnings, replayed). A re-sent action changes nothing."""
    company_id = principal.company_id
    repo = ShiftRepository.from_session(session)
    connection_id = await clock_in_connection(session, company_id)
    if connection_id is None:
        raise Forbidden(GATE_MESSAGE + ".", code="clock_in_unavailable")
    worker_ids = members_once(body)
    actor = await actor_of(session, principal)
    may_act_for(principal, actor, worker_ids)
    existing = await members_shifts(session, company_id, body)
    todo = [m for m in body.members if m.shift_id not in existing]
    if not todo:
        return [existing[m.shift_id] for m in body.members], [], True
    target = check_target((await targets(session, company_id, [body.milestone_id])).get(body.milestone_id))
    workers = await repo.workers(company_id, [m.worker_id for m in todo])
    missing = [m.worker_id for m in todo if m.worker_id not in workers or not workers[m.worker_id].active]
    if missing:
        raise NotFound(f"Unknown or inactive worker id(s): {', '.join(map(str, missing))}.")
    note = geofence(target, body.location)
    tz = zone(target.time_zone, (await accounts_service.company_zone(session, company_id)).key)
    parties = await party_ids(session, company_id, [m.worker_id for m in todo])
    made = [
        ClockShift(
            company_id=company_id,
            client_id=m.shift_id,
            clock_in_id=body.id,
            worker_id=m.worker_id,
            clocked_in_by_id=actor.id if actor else None,
            project_id=target.project_id,
            milestone_id=target.milestone_id,
            place=target.place,
            work_date=body.started_at.astimezone(tz).date(),
            time_zone=tz.key,
            started_at=body.started_at,
            latitude=body.location.latitude if body.location else None,
            longitude=body.location.longitude if body.location else None,
            geofence_note=note,
            connection_id=connection_id,
            status=ShiftStatus.open,
            export_subjects=[export.subject_for(m.shift_id)],
        )
        for m in todo
    ]
    try:
        await repo.add_all(made)
    except IntegrityError:
        # Lost a race (the partial unique index decides): the same action sent twice at once
        # (then it is a replay), or the worker is on the clock. Start over to say which.
        await session.rollback()
        repo.forget()
        again = {
            s.client_id: s for s in await repo.by_client_ids(company_id, [m.shift_id for m in body.members])
        }
        if len(again) == len(body.members) and all(s.clock_in_id == body.id for s in again.values()):
            return [again[m.shift_id] for m in body.members], [], True
        busy = await repo.open_for(company_id, [m.worker_id for m in todo])
        raise await already_on(session, company_id, busy) from None
    held = await policy.holds(session, made, tz)
    for shift in made:
        name = workers[shift.worker_id].name
        payload = export.create_payload(shift, target, parties.get(shift.worker_id), name)
        holds = export.holds_for(shift, target, payload, name, held.get(shift.id, []))
        await export.enqueue(session, shift, export.CREATE, export.main_subject(shift), payload, holds)
    by_id = {s.client_id: s for s in [*existing.values(), *made]}
    return [by_id[m.shift_id] for m in body.members], [note] if note else [], False


def worked(started_at: datetime, ended_at: datetime, break_minutes: int) -> int:
    """Worked centihours, or a 422 for impossible times."""
    try:
        minutes = alloc.worked_minutes(started_at, ended_at, break_minutes)
    except alloc.AllocationError as exc:
        raise Unprocessable(str(exc), code="bad_times") from None
    return alloc.minutes_to_centihours(minutes)


def plan_lines(total: int, split: Split | None, default_milestone: int) -> list[alloc.Line]:
    """The allocation lines of `total` worked centihours, or a 422 for an impossible split."""
    try:
        if split is None:
            return alloc.default_split(total, default_milestone)
        return alloc.split(total, split.mode, [(line.milestone_id, line.value) for line in split.lines])
    except alloc.AllocationError as exc:
        raise Unprocessable(str(exc), code="bad_split") from None


async def lines_of(
    session: AsyncSession, company_id: int, total: int, split: Split | None, default_milestone: int
) -> tuple[list[alloc.Line], dict[int, Target]]:
    lines = plan_lines(total, split, default_milestone)
    found = await targets(session, company_id, [line.milestone_id for line in lines])
    for line in lines:
        known(found.get(line.milestone_id))
    return lines, found


async def _settle(session: AsyncSession, shift: ClockShift, split: Split | None) -> None:
    """Work out the shift's hours and split, store them, and send them to Procore (held while
    the shift is outside the time policy, its project cannot take time, or its worker has no
    Procore person)."""
    assert shift.ended_at is not None
    total = worked(shift.started_at, shift.ended_at, shift.break_minutes)
    first = shift.worked_centihours is None
    shift.worked_centihours = total  # before the next query, so its autoflush writes the shift once
    lines, found = await lines_of(session, shift.company_id, total, split, shift.milestone_id)
    repo = ShiftRepository.from_session(session)
    await repo.replace_allocations(
        shift, [(line.milestone_id, line.centihours) for line in lines], first=first
    )
    parties = await party_ids(session, shift.company_id, [shift.worker_id])
    worker = (await repo.workers(shift.company_id, [shift.worker_id])).get(shift.worker_id)
    name = worker.name if worker else "This worker"
    held = await policy.holds(
        session, [shift], await accounts_service.company_zone(session, shift.company_id)
    )
    rows = export.allocation_rows(
        shift, lines, found, parties.get(shift.worker_id), name, held.get(shift.id, [])
    )
    await export.send(session, shift, rows)


async def clock_out(
    session: AsyncSession, principal: Principal, body: ClockOut
) -> tuple[list[ClockShift], bool]:
    company_id = principal.company_id
    repo = ShiftRepository.from_session(session)
    shifts = {s.client_id: s for s in await repo.by_client_ids(company_id, body.shift_ids, lock=True)}
    unknown = [i for i in body.shift_ids if i not in shifts]
    if unknown:
        raise NotFound(f"No shift with id {unknown[0]}; if this phone was offline, its clock-in syncs first.")
    actor = await actor_of(session, principal)
    may_act_for(principal, actor, [s.worker_id for s in shifts.values()])
    company = await accounts_service.company_zone(session, company_id)
    replayed = True
    for client_id in body.shift_ids:
        shift = shifts[client_id]
        if shift.ended_at is not None:
            if shift.clock_out_id == body.id:
                continue
            at = local_time(shift.ended_at, shift_zone(shift, company))
            raise Conflict(
                f"This shift was already clocked out at {at}.",
                code="already_clocked_out",
            )
        replayed = False
        if body.ended_at < shift.started_at:
            raise Unprocessable("Clock-out is before clock-in; check the phone's clock.", code="bad_times")
        close(shift, body, actor)
        await _settle(session, shift, body.per_shift.get(client_id, body.split))
        await after_close(session, shift)
    return [shifts[i] for i in body.shift_ids], replayed


def close(shift: ClockShift, body: ClockOut, actor: Worker | None) -> None:
    shift.ended_at = body.ended_at
    shift.break_minutes = body.break_minutes
    shift.injured = body.injured
    shift.clock_out_id = body.id
    shift.clocked_out_by_id = actor.id if actor else None
    shift.status = ShiftStatus.closed


async def after_close(session: AsyncSession, shift: ClockShift) -> None:
    """The `shift.closed` event, and an injury report when the worker said yes."""
    assert shift.ended_at is not None
    await events.shift_closed(session, shift)
    if shift.injured:  # "Were you injured today?" Yes: a self_report for the safety review
        await safety.report_injury(
            session,
            company_id=shift.company_id,
            worker_id=shift.worker_id,
            project_id=shift.project_id,
            shift_ref=shift.client_id,
            at=shift.ended_at,
            place=shift.place,
        )


async def get_shift(session: AsyncSession, company_id: int, shift_id: int) -> ClockShift:
    shift = await ShiftRepository.from_session(session).get(company_id, shift_id)
    if shift is None:
        raise NotFound("No such shift in this company.")
    return shift


def require_admin(principal: Principal) -> None:
    if principal.kind == "worker":
        raise Forbidden(
            "Only an admin can correct or approve time or set the time policy.", code="admin_only"
        )


async def correct(session: AsyncSession, principal: Principal, shift_id: int, body: Correction) -> ClockShift:
    """An admin's correction: new times, breaks or split; the changes flow to Procore as updates."""
    require_admin(principal)
    shift = await get_shift(session, principal.company_id, shift_id)
    if shift.ended_at is None and body.ended_at is None:
        raise Conflict(
            "This worker is still on the clock; give a clock-out time to correct it.", code="open_shift"
        )
    shift.started_at = body.started_at or shift.started_at
    shift.ended_at = body.ended_at or shift.ended_at
    tz = shift_zone(shift, await accounts_service.company_zone(session, shift.company_id))
    shift.work_date = shift.started_at.astimezone(tz).date()  # a new start may be another day
    if body.break_minutes is not None:
        shift.break_minutes = body.break_minutes
    split = body.split
    if split is None:
        current = (await ShiftRepository.from_session(session).allocations(shift.company_id, [shift.id]))[
            shift.id
        ]
        if len(current) > 1:
            weights = [(a.milestone_id, a.centihours) for a in current]
            split = _rescaled(shift, weights)
    shift.status = ShiftStatus.closed
    shift.approved_at = None
    shift.approved_by_id = None
    shift.corrected_at = utcnow()
    shift.corrected_by_id = principal.subject_id if principal.kind == "user" else None
    shift.correction_note = body.note
    await _replace_held(session, shift)
    await _settle(session, shift, split)
    return shift


async def _replace_held(session: AsyncSession, shift: ClockShift) -> None:
    """A correction supersedes what was held: those rows are cancelled, and entries that never
    reached Procore are created afresh from the corrected shift (held again if still needed)."""
    rows = await ShiftRepository.from_session(session).deliveries(shift.company_id, shift.export_subjects)
    if not any(r.status == Status.held for r in rows):
        return
    for row in rows:
        if row.status == Status.held:
            row.status = Status.cancelled
            row.reason = "Replaced by an admin's correction."
            row.error_class = None
    live = {r.subject for r in rows if r.status != Status.cancelled}
    shift.export_subjects = [s for s in shift.export_subjects if s in live]


def _rescaled(shift: ClockShift, weights: list[tuple[int, int]]) -> Split:
    """Keep the old split's proportions for the new worked time (largest remainder)."""
    assert shift.ended_at is not None
    total = alloc.minutes_to_centihours(
        alloc.worked_minutes(shift.started_at, shift.ended_at, shift.break_minutes)
    )
    lines = alloc.apportion(total, weights)
    return Split.model_validate(
        {"mode": "hours", "lines": [{"milestone_id": x.milestone_id, "value": x.hours} for x in lines]}
    )


async def approve(session: AsyncSession, principal: Principal, shift_id: int) -> ClockShift:
    require_admin(principal)
    shift = await get_shift(session, principal.company_id, shift_id)
    if shift.ended_at is None:
        raise Conflict("A shift still on the clock cannot be approved.", code="open_shift")
    shift.status = ShiftStatus.approved
    shift.approved_at = utcnow()
    shift.approved_by_id = principal.subject_id if principal.kind == "user" else None
    await delivery.release(session, shift.company_id, policy.shift_key(shift.id))
    return shift


async def resend(session: AsyncSession, principal: Principal, shift_id: int) -> ClockShift:
    """Export a shift again from what it is now (e.g. after its worker was linked to a Procore
    person). Entries Procore already has are updated; for the others every row that did not
    go out is cancelled and the entry is created afresh, with today's person and milestones."""
    require_admin(principal)
    shift = await get_shift(session, principal.company_id, shift_id)
    await reexport(session, shift)
    return shift


async def reexport(session: AsyncSession, shift: ClockShift) -> None:
    if shift.connection_id is None:
        raise Conflict("This shift has no Procore connection to send to.", code="no_connection")
    rows = await ShiftRepository.from_session(session).deliveries(shift.company_id, shift.export_subjects)
    if any(r.status == Status.running for r in rows):
        raise Conflict("This shift is being sent right now; try again in a moment.", code="running")
    delivered = {r.subject for r in rows if r.status == Status.delivered}
    for row in rows:
        if row.subject not in delivered and row.status in CANCELLABLE:
            row.status = Status.cancelled
            row.reason = "Replaced: the shift was sent again from the timesheet."
            row.error_class = None
    shift.export_subjects = [s for s in shift.export_subjects if s in delivered]
    repo = ShiftRepository.from_session(session)
    worker = (await repo.workers(shift.company_id, [shift.worker_id]))[shift.worker_id]
    held = (
        await policy.holds(session, [shift], await accounts_service.company_zone(session, shift.company_id))
    ).get(shift.id, [])
    party = (await party_ids(session, shift.company_id, [shift.worker_id])).get(shift.worker_id)
    if shift.ended_at is None:
        if export.main_subject(shift) not in delivered:
            target = known(
                (await targets(session, shift.company_id, [shift.milestone_id])).get(shift.milestone_id)
            )
            payload = export.create_payload(shift, target, party, worker.name)
            holds = export.holds_for(shift, target, payload, worker.name, held)
            await export.enqueue(session, shift, export.CREATE, export.main_subject(shift), payload, holds)
        return
    current = (await repo.allocations(shift.company_id, [shift.id]))[shift.id]
    lines = [alloc.Line(a.milestone_id, a.centihours) for a in current]
    found = await targets(session, shift.company_id, [line.milestone_id for line in lines])
    await export.send(session, shift, export.allocation_rows(shift, lines, found, party, worker.name, held))


async def set_project_settings(
    session: AsyncSession, company_id: int, project_id: int, data: ProjectTimeSettingsIn
) -> ProjectTimeSettings:
    """A project's time entry mode and site boundary (created on first use)."""
    repo = ShiftRepository.from_session(session)
    row = await repo.project_settings(company_id, project_id)
    if row is None:
        return await repo.add_project_settings(
            ProjectTimeSettings(company_id=company_id, project_id=project_id, **data.model_dump())
        )
    for key, value in data.model_dump().items():
        setattr(row, key, value)
    return row
