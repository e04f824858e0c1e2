"""REST routes of the safety domain under /api/v1: detection ingest and review, sites, zones,
shifts, worker device assignments, PPE observations and daily summaries.

Lists a custom integration polls take `updated_since` and a `cursor` and answer in
(updated_at, id) order, so "everything changed since my last call" is one cheap request."""

from collections.abc import Sequence
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, status
from pydantic import AwareDatetime
from sqlalchemy import ColumnElement

from fieldbridge.accounts.auth import Principal, require
from fieldbridge.accounts.scopes import Scope
from fieldbridge.kit.deps import SessionDep
from fieldbridge.kit.errors import NotFound, Unprocessable
from fieldbridge.kit.pagination import CursorPage, changed_key, next_page
from fieldbridge.safety import ingest, link_api, service, summary
from fieldbridge.safety.models import (
    Detection,
    DetectionType,
    ReviewState,
    SafetySite,
    SafetySummary,
    SafetyZone,
    WorkerDevice,
)
from fieldbridge.safety.repository import SafetyRepository
from fieldbridge.safety.schemas import (
    AssignmentEnd,
    AssignmentIn,
    AssignmentOut,
    BatchOut,
    DetectionAccepted,
    DetectionDetail,
    DetectionIn,
    DetectionOut,
    ObservationBatchIn,
    ReviewIn,
    ReviewOut,
    ShiftIn,
    ShiftOut,
    SiteIn,
    SiteOut,
    SitePatch,
    SummaryIn,
    SummaryOut,
    ZoneIn,
    ZoneOut,
    ZonePatch,
    batch_request_schema,
)

router = APIRouter(tags=["safety"])

SafetyRead = Annotated[Principal, Depends(require(Scope.safety_read), scope="function")]
SafetyWrite = Annotated[Principal, Depends(require(Scope.safety_write), scope="function")]
DetectionsWrite = Annotated[Principal, Depends(require(Scope.detections_write), scope="function")]

UpdatedSince = Annotated[
    AwareDatetime | None,
    Query(description="only rows changed at or after this instant (ISO 8601 with offset)"),
]
Cursor = Annotated[str | None, Query(max_length=200, description="next_cursor of the previous page")]
Limit = Annotated[int, Query(ge=1, le=1000, description="items per page")]


async def _changed(
    session: SessionDep,
    model: Any,
    company_id: int,
    since: datetime | None,
    cursor: str | None,
    limit: int,
    where: Sequence[ColumnElement[bool]] = (),
    at: str = "updated_at",
) -> tuple[Sequence[Any], str | None, bool]:
    rows = await SafetyRepository.from_session(session).changed(
        model, company_id, since=since, key=changed_key(cursor), limit=limit + 1, where=where, at=at
    )
    return next_page(rows, limit, cursor, at)


# -- detections ------------------------------------------------------------------------------
@router.post(
    "/detections",
    response_model=DetectionAccepted,
    status_code=status.HTTP_201_CREATED,
    summary="Send one detection",
    responses={200: {"description": "A replay: this event id was stored before; the stored event"}},
)
async def post_detection(
    body: DetectionIn, principal: DetectionsWrite, session: SessionDep, response: Response
) -> DetectionAccepted:
    """Acknowledged (201) only once stored and committed. Sending the same `event_id` again
    answers 200 with `status: duplicate` and the stored event."""
    outcome = await ingest.ingest_detections(
        session, principal.company_id, [ingest.as_model(body)], prefix=""
    )
    result = outcome.results[0]
    if result.status == "error":
        problems = [
            {"field": p.field.removeprefix("[0]").removeprefix(".") or "body", "problem": p.problem}
            for p in result.errors or []
        ]
        raise Unprocessable(f"{problems[0]['field']}: {problems[0]['problem']}", details=problems)
    if result.status == "created":  # the row as written: no second read
        return DetectionAccepted.model_validate({**outcome.stored[0], "id": result.id, "status": "created"})
    detection = await service.get_detection(session, principal.company_id, result.id or 0)
    response.status_code = status.HTTP_200_OK
    return DetectionAccepted.model_validate({**_detection_dict(detection), "status": result.status})


def _detection_dict(row: Detection) -> dict[str, Any]:
    return DetectionOut.model_validate(row).model_dump()


@router.post(
    "/detections/batch",
    response_model=BatchOut,
    summary="Send up to 1,000 detections",
    openapi_extra=batch_request_schema(),
)
async def post_batch(request: Request, principal: DetectionsWrite, session: SessionDep) -> Response:
    """Each event is checked on its own: good ones are stored (and committed before this answer),
    bad ones come back with their errors by index, replays as `duplicate`. More than 1,000
    events: 413, nothing stored."""
    body = await request.body()
    outcome = await ingest.ingest_detections(session, principal.company_id, body=body)
    return _batch_answer(outcome)


def _batch_answer(outcome: ingest.Outcome) -> Response:
    """The per-row answer, serialized once (a response_model would validate 1,000 rows again)."""
    out = BatchOut(
        created=outcome.created, duplicates=outcome.duplicates, errors=outcome.errors, results=outcome.results
    )
    return Response(out.model_dump_json(), media_type="application/json")


@router.get("/detections", response_model=CursorPage[DetectionOut], summary="Detections changed since")
async def list_detections(
    principal: SafetyRead,
    session: SessionDep,
    updated_since: UpdatedSince = None,
    cursor: Cursor = None,
    limit: Limit = 100,
    site_id: int | None = None,
    state: ReviewState | None = None,
    type: DetectionType | None = None,
) -> CursorPage[DetectionOut]:
    where: list[ColumnElement[bool]] = []
    if site_id is not None:
        where.append(Detection.site_id == site_id)
    if state is not None:
        where.append(Detection.state == state)
    if type is not None:
        where.append(Detection.type == type)
    rows, following, more = await _changed(
        session, Detection, principal.company_id, updated_since, cursor, limit, where
    )
    return CursorPage(
        items=[DetectionOut.model_validate(r) for r in rows], next_cursor=following, has_more=more
    )


@router.get(
    "/detections/{detection_id}", response_model=DetectionDetail, summary="A detection and its audit trail"
)
async def get_detection(detection_id: int, principal: SafetyRead, session: SessionDep) -> DetectionDetail:
    row = await service.get_detection(session, principal.company_id, detection_id)
    reviews = await SafetyRepository.from_session(session).reviews(principal.company_id, row.id)
    return DetectionDetail.model_validate(
        {**_detection_dict(row), "reviews": [ReviewOut.model_validate(r) for r in reviews]}
    )


@router.post(
    "/detections/{detection_id}/review", response_model=DetectionDetail, summary="Review a detection"
)
async def review_detection(
    detection_id: int, body: ReviewIn, principal: SafetyWrite, session: SessionDep
) -> DetectionDetail:
    """new → acknowledged → confirmed | false_positive | resolved (a false positive or resolved
    event can be reopened to new). A note is required for false_positive, resolved and reopen."""
    row = await service.review(session, principal, detection_id, body)
    reviews = await SafetyRepository.from_session(session).reviews(principal.company_id, row.id)
    return DetectionDetail.model_validate(
        {**_detection_dict(row), "reviews": [ReviewOut.model_validate(r) for r in reviews]}
    )


@router.post(
    "/safety/observations/batch", response_model=BatchOut, summary="Send up to 1,000 PPE observations"
)
async def post_observations(
    body: ObservationBatchIn, principal: DetectionsWrite, session: SessionDep
) -> Response:
    """People seen in PPE zones: the opportunities PPE compliance divides by."""
    outcome = await ingest.ingest_observations(session, principal.company_id, body.observations)
    return _batch_answer(outcome)


# -- sites -----------------------------------------------------------------------------------
@router.get("/safety/sites", response_model=CursorPage[SiteOut], summary="Safety sites changed since")
async def list_sites(
    principal: SafetyRead,
    session: SessionDep,
    updated_since: UpdatedSince = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> CursorPage[SiteOut]:
    rows, following, more = await _changed(
        session, SafetySite, principal.company_id, updated_since, cursor, limit
    )
    return CursorPage(items=[SiteOut.model_validate(r) for r in rows], next_cursor=following, has_more=more)


@router.post(
    "/safety/sites", response_model=SiteOut, status_code=status.HTTP_201_CREATED, summary="Create a site"
)
async def create_site(body: SiteIn, principal: SafetyWrite, session: SessionDep) -> SiteOut:
    return SiteOut.model_validate(await service.create_site(session, principal.company_id, body))


@router.get("/safety/sites/{site_id}", response_model=SiteOut)
async def get_site(site_id: int, principal: SafetyRead, session: SessionDep) -> SiteOut:
    return SiteOut.model_validate(await service.get_site(session, principal.company_id, site_id))


@router.patch("/safety/sites/{site_id}", response_model=SiteOut)
async def update_site(site_id: int, body: SitePatch, principal: SafetyWrite, session: SessionDep) -> SiteOut:
    return SiteOut.model_validate(await service.update_site(session, principal.company_id, site_id, body))


# -- zones -----------------------------------------------------------------------------------
@router.get("/safety/zones", response_model=CursorPage[ZoneOut], summary="Zones changed since")
async def list_zones(
    principal: SafetyRead,
    session: SessionDep,
    updated_since: UpdatedSince = None,
    cursor: Cursor = None,
    limit: Limit = 100,
    site_id: int | None = None,
) -> CursorPage[ZoneOut]:
    where = [SafetyZone.site_id == site_id] if site_id is not None else []
    rows, following, more = await _changed(
        session, SafetyZone, principal.company_id, updated_since, cursor, limit, where
    )
    return CursorPage(items=[ZoneOut.model_validate(r) for r in rows], next_cursor=following, has_more=more)


@router.post(
    "/safety/sites/{site_id}/zones",
    response_model=ZoneOut,
    status_code=status.HTTP_201_CREATED,
    summary="Add a zone",
)
async def create_zone(site_id: int, body: ZoneIn, principal: SafetyWrite, session: SessionDep) -> ZoneOut:
    return ZoneOut.model_validate(await service.create_zone(session, principal.company_id, site_id, body))


@router.patch("/safety/zones/{zone_id}", response_model=ZoneOut, summary="Change or retire a zone")
async def update_zone(zone_id: int, body: ZonePatch, principal: SafetyWrite, session: SessionDep) -> ZoneOut:
    """`active: false` retires a zone; its detections keep pointing at it."""
    return ZoneOut.model_validate(await service.update_zone(session, principal.company_id, zone_id, body))


# -- shifts ----------------------------------------------------------------------------------
@router.get("/safety/sites/{site_id}/shifts", response_model=list[ShiftOut], summary="A site's shifts")
async def list_shifts(site_id: int, principal: SafetyRead, session: SessionDep) -> list[ShiftOut]:
    site = await service.get_site(session, principal.company_id, site_id)
    rows = await SafetyRepository.from_session(session).shifts(principal.company_id, site.id)
    return [ShiftOut.model_validate(r) for r in rows]


@router.post(
    "/safety/sites/{site_id}/shifts",
    response_model=ShiftOut,
    status_code=status.HTTP_201_CREATED,
    summary="Add a shift",
)
async def create_shift(site_id: int, body: ShiftIn, principal: SafetyWrite, session: SessionDep) -> ShiftOut:
    return ShiftOut.model_validate(
        await service.save_shift(session, principal.company_id, body, site_id=site_id)
    )


@router.put("/safety/shifts/{site_shift_id}", response_model=ShiftOut, summary="Change a shift")
async def update_shift(
    site_shift_id: int, body: ShiftIn, principal: SafetyWrite, session: SessionDep
) -> ShiftOut:
    return ShiftOut.model_validate(
        await service.save_shift(session, principal.company_id, body, shift_id=site_shift_id)
    )


@router.delete(
    "/safety/shifts/{site_shift_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Remove a shift"
)
async def delete_shift(site_shift_id: int, principal: SafetyWrite, session: SessionDep) -> Response:
    await service.delete_shift(session, principal.company_id, site_shift_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# -- worker devices --------------------------------------------------------------------------
@router.get(
    "/safety/worker-devices",
    response_model=CursorPage[AssignmentOut],
    summary="Device assignments changed since",
)
async def list_assignments(
    principal: SafetyRead,
    session: SessionDep,
    updated_since: UpdatedSince = None,
    cursor: Cursor = None,
    limit: Limit = 100,
    project_id: int | None = None,
    worker_id: int | None = None,
    device_id: Annotated[str | None, Query(max_length=120)] = None,
) -> CursorPage[AssignmentOut]:
    where: list[ColumnElement[bool]] = []
    if project_id is not None:
        where.append(WorkerDevice.project_id == project_id)
    if worker_id is not None:
        where.append(WorkerDevice.worker_id == worker_id)
    if device_id:
        where.append(WorkerDevice.device_id == device_id)
    rows, following, more = await _changed(
        session, WorkerDevice, principal.company_id, updated_since, cursor, limit, where
    )
    return CursorPage(
        items=[AssignmentOut.model_validate(r) for r in rows], next_cursor=following, has_more=more
    )


@router.post(
    "/safety/worker-devices",
    response_model=AssignmentOut,
    status_code=status.HTTP_201_CREATED,
    summary="Give a wearable or badge to a worker",
)
async def assign_device(body: AssignmentIn, principal: SafetyWrite, session: SessionDep) -> AssignmentOut:
    """The device's current holder (on that project) stops holding it at `valid_from`; the
    history is kept, so past events stay with whoever held the device then."""
    return AssignmentOut.model_validate(await service.assign_device(session, principal.company_id, body))


@router.post(
    "/safety/worker-devices/{assignment_id}/end", response_model=AssignmentOut, summary="Take a device back"
)
async def end_assignment(
    assignment_id: int, body: AssignmentEnd, principal: SafetyWrite, session: SessionDep
) -> AssignmentOut:
    row = await service.end_assignment(session, principal.company_id, assignment_id, body.valid_to)
    return AssignmentOut.model_validate(row)


# -- summaries -------------------------------------------------------------------------------
@router.get(
    "/safety/sites/{site_id}/summaries",
    response_model=list[SummaryOut],
    summary="A site's daily safety summaries",
)
async def site_summaries(
    site_id: int,
    principal: SafetyRead,
    session: SessionDep,
    day: Annotated[
        date | None, Query(alias="date", description="local date (YYYY-MM-DD); default: all")
    ] = None,
    all_versions: bool = False,
) -> list[SummaryOut]:
    """The latest version per date (all versions with `all_versions=true`), newest date first."""
    site = await service.get_site(session, principal.company_id, site_id)
    rows = await SafetyRepository.from_session(session).summaries(
        principal.company_id, site.id, day, all_versions
    )
    if day is not None and not rows:
        raise NotFound(
            f"No summary of {day} yet: it is computed at 17:00 site time, "
            "or POST to this path to compute it now.",
            code="no_summary",
        )
    return [SummaryOut.model_validate(r) for r in rows]


@router.post(
    "/safety/sites/{site_id}/summaries",
    response_model=SummaryOut,
    status_code=status.HTTP_201_CREATED,
    summary="Compute a daily summary now (a new version)",
)
async def compute_summary(
    site_id: int, body: SummaryIn, principal: SafetyWrite, session: SessionDep
) -> SummaryOut:
    site = await service.get_site(session, principal.company_id, site_id)
    return SummaryOut.model_validate(await summary.snapshot(session, site, body.date))


@router.get("/safety/summaries", response_model=CursorPage[SummaryOut], summary="Summaries computed since")
async def list_summaries(
    principal: SafetyRead,
    session: SessionDep,
    updated_since: UpdatedSince = None,
    cursor: Cursor = None,
    limit: Limit = 100,
    site_id: int | None = None,
) -> CursorPage[SummaryOut]:
    where = [SafetySummary.site_id == site_id] if site_id is not None else []
    rows, following, more = await _changed(
        session, SafetySummary, principal.company_id, updated_since, cursor, limit, where, at="computed_at"
    )
    return CursorPage(
        items=[SummaryOut.model_validate(r) for r in rows], next_cursor=following, has_more=more
    )


# Safety setup (site links, field mapping, checklist) lives in its own module.
router.include_router(link_api.router)
