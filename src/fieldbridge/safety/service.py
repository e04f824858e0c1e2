"""Rules of the safety domain: sites, zones, shifts, device assignments, review of detections,
and the clock-out injury answer. Functions take a session and never commit."""

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from fieldbridge.accounts import service as accounts_service
from fieldbridge.accounts.auth import Principal
from fieldbridge.kit.clock import utcnow
from fieldbridge.kit.errors import Conflict, NotFound, Unprocessable
from fieldbridge.kit.zones import zone_name
from fieldbridge.safety import events
from fieldbridge.safety.models import (
    Detection,
    DetectionReview,
    DetectionSource,
    DetectionType,
    ReviewState,
    SafetyShift,
    SafetySite,
    SafetyZone,
    WorkerDevice,
    ZoneType,
)
from fieldbridge.safety.repository import M, SafetyRepository
from fieldbridge.safety.schemas import (
    AssignmentIn,
    ReviewIn,
    ShiftIn,
    SiteIn,
    SitePatch,
    ZoneFields,
    ZoneIn,
    ZonePatch,
)

# The review workflow, in one table: new -> acknowledged -> confirmed | false positive |
# resolved; a false positive or a resolved event can be reopened (back to new).
TRANSITIONS: dict[ReviewState, frozenset[ReviewState]] = {
    ReviewState.new: frozenset({ReviewState.acknowledged, ReviewState.confirmed, ReviewState.false_positive}),
    ReviewState.acknowledged: frozenset(
        {ReviewState.confirmed, ReviewState.false_positive, ReviewState.resolved}
    ),
    ReviewState.confirmed: frozenset({ReviewState.resolved}),
    ReviewState.false_positive: frozenset({ReviewState.new}),
    ReviewState.resolved: frozenset({ReviewState.new}),
}
# Moves a later reader must be able to understand: say why.
NOTE_REQUIRED = frozenset({ReviewState.false_positive, ReviewState.resolved, ReviewState.new})

# Called after a detection is confirmed, in the same transaction (the incidents module opens an
# incident for an injury event). Registered by the module that needs it; safety imports none.
ConfirmHook = Callable[[AsyncSession, Detection, Principal, str | None], Awaitable[None]]
CONFIRM_HOOKS: list[ConfirmHook] = []


def _invalid(field: str, problem: str) -> Unprocessable:
    return Unprocessable(f"{field}: {problem}", details=[{"field": field, "problem": problem}])


def actor_of(principal: Principal) -> tuple[str, int | None]:
    if principal.kind == "user":
        return principal.name, principal.subject_id
    if principal.kind == "api_key":
        return f"API key {principal.name}", None
    return f"worker {principal.name}", None


async def _owned(session: AsyncSession, model: type[M], company_id: int, row_id: int, missing: str) -> M:
    """The company's row of `model`, or a 404 saying `missing` (another company's is missing too)."""
    row = await SafetyRepository.from_session(session).get(model, company_id, row_id)
    if row is None:
        raise NotFound(missing)
    return row


# -- sites -----------------------------------------------------------------------------------
async def get_site(session: AsyncSession, company_id: int, site_id: int) -> SafetySite:
    return await _owned(session, SafetySite, company_id, site_id, "No such safety site in this company.")


async def create_site(session: AsyncSession, company_id: int, data: SiteIn) -> SafetySite:
    repo = SafetyRepository.from_session(session)
    project = await repo.project(company_id, data.project_id)
    if project is None:
        raise _invalid("project_id", "no such project in this company (GET /api/v1/projects lists them)")
    existing = await repo.site_of_project(project.id)
    if existing is not None:
        raise Conflict(f"Project {project.name} already is the site {existing.name}.", code="site_exists")
    time_zone = data.time_zone or zone_name(project.time_zone)
    if time_zone is None:
        time_zone = (await accounts_service.company_zone(session, company_id)).key
    site = SafetySite(company_id=company_id, **{**data.model_dump(), "time_zone": time_zone})
    await repo.add(site)
    return site


async def update_site(session: AsyncSession, company_id: int, site_id: int, data: SitePatch) -> SafetySite:
    site = await get_site(session, company_id, site_id)
    for key, value in data.model_dump(exclude_unset=True).items():
        if value is None and key in ("name", "time_zone", "active"):
            raise _invalid(key, "may not be empty")
        setattr(site, key, value)
    await session.flush()
    return site


# -- zones -----------------------------------------------------------------------------------
async def get_zone(session: AsyncSession, company_id: int, zone_id: int) -> SafetyZone:
    return await _owned(session, SafetyZone, company_id, zone_id, "No such zone in this company.")


async def _name_free(
    session: AsyncSession, company_id: int, site_id: int, name: str, skip: int | None
) -> None:
    zones = await SafetyRepository.from_session(session).zones(company_id, [site_id])
    if any(z.name.casefold() == name.casefold() and z.id != skip for z in zones):
        raise Conflict(f"This site already has a zone named {name}.", code="zone_exists")


async def create_zone(session: AsyncSession, company_id: int, site_id: int, data: ZoneIn) -> SafetyZone:
    site = await get_site(session, company_id, site_id)
    await _name_free(session, company_id, site.id, data.name, None)
    zone = SafetyZone(company_id=company_id, site_id=site.id, **data.model_dump())
    await SafetyRepository.from_session(session).add(zone)
    return zone


async def update_zone(session: AsyncSession, company_id: int, zone_id: int, data: ZonePatch) -> SafetyZone:
    zone = await get_zone(session, company_id, zone_id)
    changes = data.model_dump(exclude_unset=True)
    for key in ("name", "type", "active", "required_ppe"):
        if key in changes and changes[key] is None:
            raise _invalid(key, "may not be empty")
    if "name" in changes:
        await _name_free(session, company_id, zone.site_id, changes["name"], zone.id)
    merged = {
        "required_ppe": zone.required_ppe,
        "ppe_start": zone.ppe_start,
        "ppe_end": zone.ppe_end,
        "polygon": zone.polygon,
    }
    merged.update({k: v for k, v in changes.items() if k in merged})
    try:
        checked = ZoneFields.model_validate(merged)
    except ValueError as exc:
        raise _invalid("body", str(exc).splitlines()[-1].strip()) from exc
    kind = changes.get("type", zone.type)
    if kind == ZoneType.ppe_required and not checked.required_ppe:
        raise _invalid("required_ppe", "a ppe_required zone needs at least one item")
    for key, value in {**changes, **checked.model_dump()}.items():
        setattr(zone, key, value)
    await session.flush()
    return zone


# -- shifts ----------------------------------------------------------------------------------
async def get_shift(session: AsyncSession, company_id: int, shift_id: int) -> SafetyShift:
    return await _owned(session, SafetyShift, company_id, shift_id, "No such site shift in this company.")


async def save_shift(
    session: AsyncSession,
    company_id: int,
    data: ShiftIn,
    *,
    site_id: int | None = None,
    shift_id: int | None = None,
) -> SafetyShift:
    repo = SafetyRepository.from_session(session)
    shift = await get_shift(session, company_id, shift_id) if shift_id is not None else None
    site = await get_site(session, company_id, shift.site_id if shift else site_id or 0)
    if data.start_time == data.end_time:
        raise _invalid("end_time", "equals start_time: a shift cannot last 0 or 24 hours")
    others = [s for s in await repo.shifts(company_id, site.id) if shift is None or s.id != shift.id]
    if any(s.name.casefold() == data.name.casefold() for s in others):
        raise Conflict(f"This site already has a shift named {data.name}.", code="shift_exists")
    if shift is None:
        shift = SafetyShift(company_id=company_id, site_id=site.id, **data.model_dump())
        await repo.add(shift)
    else:
        for key, value in data.model_dump().items():
            setattr(shift, key, value)
        await session.flush()
    return shift


async def delete_shift(session: AsyncSession, company_id: int, shift_id: int) -> None:
    await session.delete(await get_shift(session, company_id, shift_id))
    await session.flush()


# -- worker devices --------------------------------------------------------------------------
async def assign_device(session: AsyncSession, company_id: int, data: AssignmentIn) -> WorkerDevice:
    """Give a device to a worker from `valid_from` on; its current holder's row ends there."""
    repo = SafetyRepository.from_session(session)
    if await repo.project(company_id, data.project_id) is None:
        raise _invalid("project_id", "no such project in this company")
    if await repo.worker(company_id, data.worker_id) is None:
        raise _invalid("worker_id", "no such worker in this company")
    start = data.valid_from or utcnow()
    later = await repo.later_assignment(company_id, data.project_id, data.device_id, start)
    if later is not None and (later.valid_to is not None or later.valid_from >= start):
        raise Conflict(
            f"Device {data.device_id} has an assignment from {later.valid_from:%Y-%m-%d %H:%M} UTC on; "
            "assignments keep their history, so start this one after it.",
            code="assignment_overlaps",
        )
    for current in await repo.open_assignments(company_id, data.project_id, data.device_id):
        current.valid_to = start
    row = WorkerDevice(
        company_id=company_id,
        project_id=data.project_id,
        worker_id=data.worker_id,
        device_id=data.device_id,
        kind=data.kind,
        valid_from=start,
    )
    await repo.add(row)
    return row


async def end_assignment(
    session: AsyncSession, company_id: int, assignment_id: int, valid_to: datetime | None
) -> WorkerDevice:
    row = await _owned(
        session, WorkerDevice, company_id, assignment_id, "No such device assignment in this company."
    )
    if row.valid_to is not None:
        raise Conflict("This assignment has already ended.", code="assignment_ended")
    end = valid_to or utcnow()
    if end <= row.valid_from:
        raise _invalid("valid_to", "must be after the assignment's valid_from")
    row.valid_to = end
    await session.flush()
    return row


# -- review ----------------------------------------------------------------------------------
async def get_detection(session: AsyncSession, company_id: int, detection_id: int) -> Detection:
    return await _owned(session, Detection, company_id, detection_id, "No such detection in this company.")


async def review(session: AsyncSession, principal: Principal, detection_id: int, data: ReviewIn) -> Detection:
    """Move a detection along the review workflow, with an audit row."""
    repo = SafetyRepository.from_session(session)
    detection = await repo.detection_for_update(principal.company_id, detection_id)
    if detection is None:
        raise NotFound("No such detection in this company.")
    current = ReviewState(detection.state)
    if data.to == current:
        raise Conflict(f"This detection is already {current.value.replace('_', ' ')}.", code="same_state")
    allowed = TRANSITIONS[current]
    if data.to not in allowed:
        names = ", ".join(sorted(s.value for s in allowed))
        raise Conflict(
            f"A {current.value} detection can move to {names}, not {data.to.value}.",
            code="bad_transition",
            details={"from": current.value, "allowed": sorted(s.value for s in allowed)},
        )
    if data.to in NOTE_REQUIRED and not data.note:
        raise _invalid("note", f"say why when moving to {data.to.value} (it goes in the audit trail)")
    actor, user_id = actor_of(principal)
    detection.state = data.to
    detection.updated_at = utcnow()
    await repo.add(
        DetectionReview(
            company_id=principal.company_id,
            detection_id=detection.id,
            user_id=user_id,
            actor=actor,
            from_state=current.value,
            to_state=data.to.value,
            note=data.note or None,
        )
    )
    if data.to == ReviewState.confirmed:
        for hook in CONFIRM_HOOKS:
            await hook(session, detection, principal, data.note)
    return detection


# -- the clock-out question -----------------------------------------------------------------
async def report_injury(
    session: AsyncSession,
    *,
    company_id: int,
    worker_id: int,
    project_id: int,
    shift_ref: str,
    at: datetime,
    place: str,
) -> Detection | None:
    """ "Were you injured today? Yes" at clock-out: a self_report detection for review on the
    project's safety site (None when the project is not a safety site). Once per shift."""
    repo = SafetyRepository.from_session(session)
    site = await repo.site_of_project(project_id)
    if site is None or site.company_id != company_id:
        return None
    event_id = f"clock-out-injury:{shift_ref}"
    existing = await repo.detection_by_event(company_id, event_id)
    if existing is not None:
        return existing
    detection = Detection(
        company_id=company_id,
        site_id=site.id,
        client_event_id=event_id,
        type=DetectionType.self_report,
        missing_items=[],
        priority=4,
        source=DetectionSource.person,
        worker_id=worker_id,
        occurred_at=at,
        description=f"Answered 'Were you injured today?' Yes at clock-out ({place}).",
        evidence=[],
        state=ReviewState.new,
    )
    await repo.add(detection)
    await events.detection_created(session, detection)
    return detection


def counts_by(values: list[Any]) -> dict[str, int]:
    out: dict[str, int] = {}
    for value in values:
        out[str(value)] = out.get(str(value), 0) + 1
    return out
