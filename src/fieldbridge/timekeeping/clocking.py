"""The phone's clock-in and clock-out (`POST /time/clock-in`, `/time/clock-out`), the API's
hottest path: the rules of `service.clock_in` and `service.clock_out`, in as few statements as
a call allows (issue 14).

A clock-in: the device token with its worker and company (auth); the company's connection,
the milestone's target and the time policy from the process cache (`kit/cache.py`); one
statement for the members, their Procore people and their shifts near this one; one INSERT for
the shifts; one for their ledger rows. A clock-out: auth; the shifts, locked; their ledger rows
so far; the members statement; one INSERT for the allocations, one for the ledger rows, and
the shifts' UPDATE at commit. Nothing written is read back: the answer is built from what was
read and written.

Whatever is unusual goes to the full path in `service`, so every answer is the one it gives:
a refusal, or a member whose shift exists or who is on the clock (the shift INSERT skips
those rows and the conflict is worked out here), a re-sent or an already closed clock-out.
"""

from collections.abc import Sequence
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from fieldbridge.accounts.auth import Principal
from fieldbridge.accounts.service import company_zone
from fieldbridge.delivery import service as delivery
from fieldbridge.delivery.models import Delivery
from fieldbridge.delivery.states import Status
from fieldbridge.kit.errors import FieldBridgeError, Forbidden
from fieldbridge.kit.zones import DEFAULT_ZONE, zone
from fieldbridge.timekeeping import export, policy, service, views
from fieldbridge.timekeeping.models import ClockAllocation, ClockShift, ShiftStatus
from fieldbridge.timekeeping.repository import ShiftRepository
from fieldbridge.timekeeping.schemas import ClockIn, ClockOut, ClockResult, ShiftOut
from fieldbridge.timekeeping.targets import NEARBY_LIMIT, Member, Nearby, Target, crew, targets


async def _full_clock_in(session: AsyncSession, principal: Principal, body: ClockIn) -> ClockResult:
    shifts, warnings, replayed = await service.clock_in(session, principal, body)
    out = await views.shifts_out(session, principal.company_id, shifts, fresh=not replayed)
    return ClockResult(shifts=out, warnings=warnings, replayed=replayed)


async def clock_in(session: AsyncSession, principal: Principal, body: ClockIn) -> ClockResult:
    """Clock in the members (`service.clock_in`'s rules and answers)."""
    company_id = principal.company_id
    connection_id = await service.clock_in_connection(session, company_id)
    if connection_id is None:
        raise Forbidden(service.GATE_MESSAGE + ".", code="clock_in_unavailable")
    worker_ids = service.members_once(body)
    actor = await service.actor_of(session, principal)
    service.may_act_for(principal, actor, worker_ids)
    try:
        target = service.check_target(
            (await targets(session, company_id, [body.milestone_id])).get(body.milestone_id)
        )
        rules = await policy.rules(session, company_id)
        near = policy.window(body.started_at, body.started_at) if rules.hold_overlaps else None
        members, nearby = await crew(session, company_id, worker_ids, near)
        if any(w not in members or not members[w].active for w in worker_ids):
            return await _full_clock_in(session, principal, body)
        note = service.geofence(target, body.location)
    except FieldBridgeError:
        # Refused: unless the action was sent before (then it is answered as a re-send).
        return await _full_clock_in(session, principal, body)
    tz = zone(target.time_zone, (await company_zone(session, company_id)).key)
    values = [
        {
            "company_id": company_id,
            "client_id": m.shift_id,
            "clock_in_id": body.id,
            "worker_id": m.worker_id,
            "clocked_in_by_id": actor.id if actor else None,
            "project_id": target.project_id,
            "milestone_id": target.milestone_id,
            "place": target.place,
            "work_date": body.started_at.astimezone(tz).date(),
            "time_zone": tz.key,
            "started_at": body.started_at,
            "ended_at": None,
            "break_minutes": 0,
            "worked_centihours": None,
            "injured": None,
            "latitude": body.location.latitude if body.location else None,
            "longitude": body.location.longitude if body.location else None,
            "geofence_note": note,
            "connection_id": connection_id,
            "status": ShiftStatus.open.value,
            "export_subjects": [export.subject_for(m.shift_id)],
            "corrected_at": None,
            "correction_note": None,
        }
        for m in body.members
    ]
    repo = ShiftRepository.from_session(session)
    ids = await repo.insert_new(values)
    warnings = [note] if note else []
    if len(ids) == len(values):
        made = [ClockShift(id=ids[m.shift_id], **v) for m, v in zip(body.members, values, strict=True)]
        await _enqueue_creates(
            session, made, target, members, policy.held(rules, made, nearby[:NEARBY_LIMIT], tz)
        )
        names = {w: m.name for w, m in members.items()}
        if actor is not None:
            names[actor.id] = actor.name
        out = [views.shift_out(s, names, [], {}, [], {}, DEFAULT_ZONE) for s in made]
        return ClockResult(shifts=out, warnings=warnings, replayed=False)
    # Some rows were skipped: the id was used before, or the worker is on the clock.
    existing = await _after_conflict(session, company_id, body, ids)
    shifts = [existing[m.shift_id] for m in body.members]
    if not ids:  # every shift existed: the same action sent again
        return ClockResult(shifts=await views.shifts_out(session, company_id, shifts), replayed=True)
    made = [s for s in shifts if s.client_id in ids]
    await _enqueue_creates(
        session, made, target, members, policy.held(rules, made, nearby[:NEARBY_LIMIT], tz)
    )
    out = await views.shifts_out(session, company_id, shifts, fresh=True)
    return ClockResult(shifts=out, warnings=warnings, replayed=False)


async def _after_conflict(
    session: AsyncSession, company_id: int, body: ClockIn, inserted: dict[str, int]
) -> dict[str, ClockShift]:
    """The members' shifts by client id once the INSERT skipped some, after the checks
    `service.clock_in` makes: a shift id used for another action or worker, a worker on the
    clock (both refused, and the refusal rolls back what was inserted)."""
    existing = await service.members_shifts(session, company_id, body)
    on_clock = [m.worker_id for m in body.members if m.shift_id not in existing]
    if on_clock:
        repo = ShiftRepository.from_session(session)
        busy = [s for s in await repo.open_for(company_id, on_clock) if s.client_id not in inserted]
        raise await service.already_on(session, company_id, busy)
    return existing


async def _enqueue_creates(
    session: AsyncSession,
    made: Sequence[ClockShift],
    target: Target,
    members: dict[int, Member],
    held: dict[int, list[delivery.Hold]],
) -> None:
    """The clock-in entry of each new shift, in one INSERT."""
    rows = []
    for shift in made:
        member = members[shift.worker_id]
        payload = export.create_payload(shift, target, member.party_id, member.name)
        holds = export.holds_for(shift, target, payload, member.name, held.get(shift.id, []))
        rows.append(
            export.outbound(shift, export.Row(export.CREATE, export.main_subject(shift), payload, holds))
        )
    await delivery.enqueue_many(session, company_id=made[0].company_id, rows=rows)


async def _full_clock_out(session: AsyncSession, principal: Principal, body: ClockOut) -> ClockResult:
    shifts, replayed = await service.clock_out(session, principal, body)
    return ClockResult(
        shifts=await views.shifts_out(session, principal.company_id, shifts), replayed=replayed
    )


def near_of(nearby: Sequence[Nearby], shift: ClockShift) -> list[Nearby]:
    """What `ShiftRepository.worker_shifts_around` gives for this one shift."""
    since, until = policy.around([shift])
    return [n for n in nearby if n.worker_id == shift.worker_id and since <= n.started_at < until][
        :NEARBY_LIMIT
    ]


async def clock_out(session: AsyncSession, principal: Principal, body: ClockOut) -> ClockResult:
    """Clock out and allocate the time (`service.clock_out`'s rules and answers)."""
    company_id = principal.company_id
    repo = ShiftRepository.from_session(session)
    shifts = {s.client_id: s for s in await repo.by_client_ids(company_id, body.shift_ids, lock=True)}
    if any(i not in shifts or shifts[i].ended_at is not None for i in body.shift_ids):
        return await _full_clock_out(session, principal, body)  # unknown, re-sent or closed
    actor = await service.actor_of(session, principal)
    service.may_act_for(principal, actor, [s.worker_id for s in shifts.values()])
    plans = []
    for client_id in body.shift_ids:
        shift = shifts[client_id]
        if body.ended_at < shift.started_at:
            return await _full_clock_out(session, principal, body)
        total = service.worked(shift.started_at, body.ended_at, body.break_minutes)
        split = body.per_shift.get(client_id, body.split)
        lines, found = await service.lines_of(session, company_id, total, split, shift.milestone_id)
        plans.append((shift, total, lines, found))
    mine = [shifts[i] for i in body.shift_ids]
    prior = await repo.deliveries(company_id, [subject for s in mine for subject in s.export_subjects])
    rules = await policy.rules(session, company_id)
    near = policy.window(min(s.started_at for s in mine), body.ended_at) if rules.hold_overlaps else None
    members, nearby = await crew(session, company_id, [s.worker_id for s in mine], near)
    company = await company_zone(session, company_id)
    allocations: list[ClockAllocation] = []
    rows: list[delivery.Outbound] = []
    for shift, total, lines, found in plans:
        service.close(shift, body, actor)
        shift.worked_centihours = total
        allocations.extend(
            ClockAllocation(
                company_id=company_id,
                shift_id=shift.id,
                position=n,
                milestone_id=line.milestone_id,
                centihours=line.centihours,
            )
            for n, line in enumerate(lines)
        )
        member = members.get(shift.worker_id)
        name = member.name if member else "This worker"
        held = policy.held(rules, [shift], near_of(nearby, shift), company)
        for row in export.allocation_rows(
            shift, lines, found, member.party_id if member else None, name, held.get(shift.id, [])
        ):
            rows.append(export.outbound(shift, row))
    await repo.add_allocations(allocations)
    written = await delivery.enqueue_many(session, company_id=company_id, rows=rows)
    for shift in mine:
        await service.after_close(session, shift)
    out = await _answer(session, company_id, mine, members, allocations, [*prior, *written], rows, company)
    return ClockResult(shifts=out, replayed=False)


async def _answer(
    session: AsyncSession,
    company_id: int,
    shifts: Sequence[ClockShift],
    members: dict[int, Member],
    allocations: Sequence[ClockAllocation],
    rows: Sequence[Delivery],
    outbound: Sequence[delivery.Outbound],
    company: ZoneInfo,
) -> list[ShiftOut]:
    """`views.shifts_out` of closed shifts from what this call read and wrote."""
    names = {w: m.name for w, m in members.items()}
    others = {s.clocked_in_by_id for s in shifts if s.clocked_in_by_id} - names.keys()
    if others:
        found = await ShiftRepository.from_session(session).workers(company_id, sorted(others))
        names.update({i: w.name for i, w in found.items()})
    labels = {
        m: t.place
        for m, t in (
            await targets(session, company_id, sorted({a.milestone_id for a in allocations}))
        ).items()
    }
    new_ids = {r.id for r in rows[len(rows) - len(outbound) :]}
    old_held = [r.id for r in rows if r.status == Status.held and r.id not in new_ids]
    reasons = await delivery.hold_reasons(session, company_id, old_held) if old_held else {}
    return answer_of(shifts, names, allocations, labels, rows, outbound, reasons, company)


def answer_of(
    shifts: Sequence[ClockShift],
    names: dict[int, str],
    allocations: Sequence[ClockAllocation],
    labels: dict[int, str],
    rows: Sequence[Delivery],
    outbound: Sequence[delivery.Outbound],
    reasons: dict[int, list[str]],
    company: ZoneInfo,
) -> list[ShiftOut]:
    """`_answer` once the names, milestone labels and hold reasons of earlier rows are known:
    `rows` are the shifts' ledger rows, the last `len(outbound)` of them just written."""
    by_subject: dict[str, list[Delivery]] = {}
    for row in rows:
        by_subject.setdefault(row.subject, []).append(row)
    for row, sent in zip(rows[len(rows) - len(outbound) :], outbound, strict=True):
        if sent.holds:
            reasons[row.id] = [h.reason for h in {h.key: h for h in sent.holds}.values()]
    zone_key = DEFAULT_ZONE if all(s.time_zone for s in shifts) else company.key
    by_shift: dict[int, list[ClockAllocation]] = {}
    for a in allocations:
        by_shift.setdefault(a.shift_id, []).append(a)
    return [
        views.shift_out(
            s,
            names,
            by_shift.get(s.id, []),
            labels,
            [r for subject in s.export_subjects for r in by_subject.get(subject, [])],
            reasons,
            zone_key,
        )
        for s in shifts
    ]
