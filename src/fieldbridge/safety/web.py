"""Admin pages of the safety domain: sites (zones, shifts, device assignments), the review
queue with each detection's audit trail, and the daily summary with its trend charts."""

from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from fieldbridge.accounts.auth import WebPrincipal, checked_form, require_web_scope
from fieldbridge.kit.clock import utcnow
from fieldbridge.kit.deps import SessionDep
from fieldbridge.kit.errors import FieldBridgeError, NotFound
from fieldbridge.kit.zones import at_local, day_bounds, zone
from fieldbridge.safety import charts, link_service, service, setup_web, summary
from fieldbridge.safety.models import DetectionType, ReviewState, SafetySite, SafetyZone, WorkerDevice
from fieldbridge.safety.repository import SafetyRepository
from fieldbridge.safety.schemas import AssignmentIn, ReviewIn, ShiftIn, SiteIn, SitePatch, ZoneIn
from fieldbridge.web.render import form_problem, render

router = APIRouter(include_in_schema=False)
PER_PAGE = 50
TREND_DAYS = 14
OPEN_STATES = (ReviewState.new.value, ReviewState.acknowledged.value)
SITE_FIELDS = tuple(SitePatch.model_fields)


_problem = form_problem


def _clean(form: dict[str, str], fields: tuple[str, ...] | list[str]) -> dict[str, Any]:
    return {k: form[k].strip() for k in fields if form.get(k, "").strip()}


def _list(text: str) -> list[str]:
    return [p for p in (s.strip() for s in text.replace(";", ",").split(",")) if p]


# -- sites -----------------------------------------------------------------------------------
async def _sites_page(
    request: Request,
    principal: WebPrincipal,
    session: SessionDep,
    error: str | None = None,
    status: int = 200,
) -> Response:
    repo = SafetyRepository.from_session(session)
    sites = await repo.sites(principal.company_id)
    taken = {s.project_id for s in sites}
    projects = [p for p in await repo.projects(principal.company_id) if p.id not in taken]
    _, open_count = await repo.queue(principal.company_id, states=OPEN_STATES, limit=0)
    return render(
        request,
        "safety_sites.html",
        principal,
        section="safety",
        sites=sites,
        projects=projects,
        open_count=open_count,
        error=error,
        status_code=status,
    )


@router.get("/safety", response_class=HTMLResponse)
async def sites_page(request: Request, principal: WebPrincipal, session: SessionDep) -> Response:
    return await _sites_page(request, principal, session)


@router.post("/safety/sites", response_class=HTMLResponse)
async def create_site(request: Request, principal: WebPrincipal, session: SessionDep) -> Response:
    form = await checked_form(request, principal)
    require_web_scope(principal, "safety:write")
    try:
        async with session.begin_nested():
            data = SiteIn.model_validate(_clean(form, ("project_id", "name", "time_zone")))
            site = await service.create_site(session, principal.company_id, data)
    except (ValidationError, FieldBridgeError) as exc:
        return await _sites_page(request, principal, session, _problem(exc), 422)
    return RedirectResponse(f"/safety/sites/{site.id}", status_code=303)


async def _site_page(
    request: Request,
    principal: WebPrincipal,
    session: SessionDep,
    site_id: int,
    error: str | None = None,
    status: int = 200,
) -> Response:
    site = await service.get_site(session, principal.company_id, site_id)
    repo = SafetyRepository.from_session(session)
    devices = await repo.changed(
        WorkerDevice,
        principal.company_id,
        since=None,
        key=None,
        limit=500,
        where=[WorkerDevice.project_id == site.project_id],
    )
    workers = await repo.active_workers(principal.company_id)
    project = await repo.project(principal.company_id, site.project_id)
    return render(
        request,
        "safety_site.html",
        principal,
        section="safety",
        site=site,
        project=project,
        tz=zone(site.time_zone),
        zones=await repo.zones(principal.company_id, [site.id]),
        shifts=await repo.shifts(principal.company_id, site.id),
        devices=sorted(devices, key=lambda d: (d.device_id, d.valid_from)),
        workers=workers,
        worker_names={w.id: w.name for w in workers},
        weekdays=("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
        error=error,
        status_code=status,
        **await setup_web.site_links_context(session, principal.company_id, site.id),
    )


# The links section's routes (safety/setup_web.py) show this page again when a change is refused.
site_page_response = _site_page


@router.get("/safety/sites/{site_id}", response_class=HTMLResponse)
async def site_page(request: Request, site_id: int, principal: WebPrincipal, session: SessionDep) -> Response:
    return await _site_page(request, principal, session, site_id)


async def _site_change(
    request: Request, principal: WebPrincipal, session: SessionDep, site_id: int, change: Any
) -> Response:
    """Run one change of a site's page; show the page again with the problem if it fails."""
    form = await checked_form(request, principal)
    site = await service.get_site(session, principal.company_id, site_id)
    require_web_scope(principal, "safety:write")
    try:
        async with session.begin_nested():
            await change(site, form)
    except (ValidationError, FieldBridgeError) as exc:
        return await _site_page(request, principal, session, site.id, _problem(exc), 422)
    return RedirectResponse(f"/safety/sites/{site.id}", status_code=303)


@router.post("/safety/sites/{site_id}", response_class=HTMLResponse)
async def update_site(
    request: Request, site_id: int, principal: WebPrincipal, session: SessionDep
) -> Response:
    async def change(site: SafetySite, form: dict[str, str]) -> None:
        fields: dict[str, Any] = {k: (form.get(k, "").strip() or None) for k in SITE_FIELDS if k != "active"}
        fields["active"] = form.get("active") == "on"
        await service.update_site(session, principal.company_id, site.id, SitePatch.model_validate(fields))

    return await _site_change(request, principal, session, site_id, change)


@router.post("/safety/sites/{site_id}/zones", response_class=HTMLResponse)
async def add_zone(request: Request, site_id: int, principal: WebPrincipal, session: SessionDep) -> Response:
    async def change(site: SafetySite, form: dict[str, str]) -> None:
        fields: dict[str, Any] = _clean(form, ("name", "type", "ppe_start", "ppe_end"))
        fields["required_ppe"] = _list(form.get("required_ppe", ""))
        await service.create_zone(session, principal.company_id, site.id, ZoneIn.model_validate(fields))

    return await _site_change(request, principal, session, site_id, change)


@router.post("/safety/zones/{zone_id}/active", response_class=HTMLResponse)
async def toggle_zone(
    request: Request, zone_id: int, principal: WebPrincipal, session: SessionDep
) -> Response:
    await checked_form(request, principal)
    found = await service.get_zone(session, principal.company_id, zone_id)
    require_web_scope(principal, "safety:write")
    found.active = not found.active
    return RedirectResponse(f"/safety/sites/{found.site_id}", status_code=303)


@router.post("/safety/sites/{site_id}/shifts", response_class=HTMLResponse)
async def add_shift(request: Request, site_id: int, principal: WebPrincipal, session: SessionDep) -> Response:
    async def change(site: SafetySite, form: dict[str, str]) -> None:
        fields: dict[str, Any] = _clean(form, ("name", "start_time", "end_time"))
        fields["days"] = [d for d in range(1, 8) if form.get(f"day{d}") == "on"] or list(range(1, 8))
        await service.save_shift(
            session, principal.company_id, ShiftIn.model_validate(fields), site_id=site.id
        )

    return await _site_change(request, principal, session, site_id, change)


@router.post("/safety/shifts/{site_shift_id}/delete", response_class=HTMLResponse)
async def remove_shift(
    request: Request, site_shift_id: int, principal: WebPrincipal, session: SessionDep
) -> Response:
    await checked_form(request, principal)
    found = await service.get_shift(session, principal.company_id, site_shift_id)
    require_web_scope(principal, "safety:write")
    await service.delete_shift(session, principal.company_id, found.id)
    return RedirectResponse(f"/safety/sites/{found.site_id}", status_code=303)


@router.post("/safety/sites/{site_id}/devices", response_class=HTMLResponse)
async def assign_device(
    request: Request, site_id: int, principal: WebPrincipal, session: SessionDep
) -> Response:
    async def change(site: SafetySite, form: dict[str, str]) -> None:
        fields: dict[str, Any] = {
            **_clean(form, ("worker_id", "device_id", "kind")),
            "project_id": site.project_id,
        }
        if form.get("valid_from", "").strip():
            wall = datetime.fromisoformat(form["valid_from"].strip())
            fields["valid_from"] = at_local(wall.replace(tzinfo=None), zone(site.time_zone))
        await service.assign_device(session, principal.company_id, AssignmentIn.model_validate(fields))

    return await _site_change(request, principal, session, site_id, change)


@router.post("/safety/worker-devices/{assignment_id}/end", response_class=HTMLResponse)
async def end_device(
    request: Request, assignment_id: int, principal: WebPrincipal, session: SessionDep
) -> Response:
    await checked_form(request, principal)
    found = await SafetyRepository.from_session(session).get(
        WorkerDevice, principal.company_id, assignment_id
    )
    if found is None:
        raise NotFound("No such device assignment in this company.")
    require_web_scope(principal, "safety:write")
    row = await service.end_assignment(session, principal.company_id, found.id, None)
    site = await SafetyRepository.from_session(session).site_of_project(row.project_id)
    return RedirectResponse(f"/safety/sites/{site.id}" if site else "/safety", status_code=303)


# -- review ----------------------------------------------------------------------------------
@router.get("/safety/review", response_class=HTMLResponse)
async def review_queue(
    request: Request,
    principal: WebPrincipal,
    session: SessionDep,
    site_id: int | None = None,
    state: str = "open",
    type: str = "",
    day: str = "",
    page: int = 1,
) -> Response:
    """The review queue; also the summary's drill-down (site, local day, type, any state)."""
    repo = SafetyRepository.from_session(session)
    sites = {s.id: s for s in await repo.sites(principal.company_id)}
    states: tuple[str, ...] = (
        OPEN_STATES if state == "open" else (state,) if state in set(ReviewState) else ()
    )
    start = end = None
    picked = sites.get(site_id) if site_id is not None else None
    if picked is not None and day:
        try:
            start, end = day_bounds(date.fromisoformat(day), zone(picked.time_zone))
        except ValueError:
            day = ""
    page = max(1, min(page, 100_000))
    rows, total = await repo.queue(
        principal.company_id,
        states=states,
        site_id=picked.id if picked else None,
        type_=type if type in set(DetectionType) else None,
        start=start,
        end=end,
        offset=(page - 1) * PER_PAGE,
        limit=PER_PAGE,
    )
    zones = {z.id: z.name for z in await repo.zones(principal.company_id, sites)} if sites else {}
    workers = await repo.workers(principal.company_id, {r.worker_id for r in rows if r.worker_id})
    query = {"site_id": picked.id if picked else "", "state": state, "type": type, "day": day}
    return render(
        request,
        "safety_review.html",
        principal,
        section="safety",
        rows=rows,
        total=total,
        sites=sites,
        zones=zones,
        workers=workers,
        site_id=picked.id if picked else None,
        state=state,
        type=type,
        day=day,
        page=page,
        pages=max(1, -(-total // PER_PAGE)),
        query=urlencode(query),
        states=[s.value for s in ReviewState],
        types=[t.value for t in DetectionType],
        transitions={s.value: sorted(t.value for t in service.TRANSITIONS[s]) for s in ReviewState},
    )


async def _detection_page(
    request: Request,
    principal: WebPrincipal,
    session: SessionDep,
    detection_id: int,
    error: str | None = None,
) -> Response:
    row = await service.get_detection(session, principal.company_id, detection_id)
    repo = SafetyRepository.from_session(session)
    site = await service.get_site(session, principal.company_id, row.site_id)
    zone_row = await repo.get(SafetyZone, principal.company_id, row.zone_id) if row.zone_id else None
    worker = await repo.worker(principal.company_id, row.worker_id) if row.worker_id else None
    return render(
        request,
        "safety_detection.html",
        principal,
        section="safety",
        d=row,
        site=site,
        zone=zone_row,
        worker=worker,
        tz=zone(site.time_zone),
        reviews=await repo.reviews(principal.company_id, row.id),
        remotes=await link_service.remote_records(session, principal.company_id, f"observation:{row.id}"),
        allowed=sorted(t.value for t in service.TRANSITIONS[ReviewState(row.state)]),
        note_required=sorted(s.value for s in service.NOTE_REQUIRED),
        error=error,
        status_code=422 if error else 200,
    )


@router.get("/safety/detections/{detection_id}", response_class=HTMLResponse)
async def detection_page(
    request: Request, detection_id: int, principal: WebPrincipal, session: SessionDep
) -> Response:
    return await _detection_page(request, principal, session, detection_id)


@router.post("/safety/detections/{detection_id}/review", response_class=HTMLResponse)
async def review(
    request: Request, detection_id: int, principal: WebPrincipal, session: SessionDep
) -> Response:
    form = await checked_form(request, principal)
    await service.get_detection(session, principal.company_id, detection_id)
    require_web_scope(principal, "safety:write")
    try:
        async with session.begin_nested():
            data = ReviewIn.model_validate(
                {"to": form.get("to", ""), "note": form.get("note", "").strip() or None}
            )
            await service.review(session, principal, detection_id, data)
    except (ValidationError, FieldBridgeError) as exc:
        return await _detection_page(request, principal, session, detection_id, _problem(exc))
    back = form.get("back", "")
    target = (
        back if back.startswith("/safety/") and "//" not in back else f"/safety/detections/{detection_id}"
    )
    return RedirectResponse(target, status_code=303)


# -- summary ---------------------------------------------------------------------------------
@router.get("/safety/sites/{site_id}/summary", response_class=HTMLResponse)
async def summary_page(
    request: Request, site_id: int, principal: WebPrincipal, session: SessionDep, day: str = ""
) -> Response:
    site = await service.get_site(session, principal.company_id, site_id)
    tz = zone(site.time_zone)
    try:
        picked = date.fromisoformat(day) if day else utcnow().astimezone(tz).date()
    except ValueError:
        picked = utcnow().astimezone(tz).date()
    repo = SafetyRepository.from_session(session)
    stored = await repo.summaries(principal.company_id, site.id, picked, True)
    days = await summary.trend(session, site, picked, TREND_DAYS)
    labels = [d.isoformat() for d, _ in days]
    kinds = sorted({k for _, data in days for k in data["alerts"]["by_type"]})
    counts = {k: [data["alerts"]["by_type"].get(k, {}).get("total", 0) for _, data in days] for k in kinds}
    shift_names = sorted({s["name"] for _, data in days for s in data["ppe"]["by_shift"]})
    rates = {
        name: [
            next((s["rate"] for s in data["ppe"]["by_shift"] if s["name"] == name), None) for _, data in days
        ]
        for name in shift_names
    }

    def drill(day_text: str, kind: str = "") -> str:
        return "/safety/review?" + urlencode(
            {"site_id": site.id, "day": day_text, "type": kind, "state": "all"}
        )

    current = stored[0].data if stored else days[-1][1]
    return render(
        request,
        "safety_summary.html",
        principal,
        section="safety",
        site=site,
        day=picked,
        prev_day=picked - timedelta(days=1),
        next_day=picked + timedelta(days=1),
        snapshot=stored[0] if stored else None,
        versions=stored,
        data=current,
        alerts_chart=charts.alerts_by_type(labels, counts, drill),
        ppe_chart=charts.compliance_by_shift(labels, rates, lambda d: drill(d, "ppe_violation")),
        legend=[(k, charts.TYPE_COLOURS.get(k, "#999999")) for k in kinds],
        shift_legend=[
            (n, charts.SHIFT_COLOURS[i % len(charts.SHIFT_COLOURS)]) for i, n in enumerate(shift_names)
        ],
        drill=drill,
    )


@router.post("/safety/sites/{site_id}/summary", response_class=HTMLResponse)
async def compute_summary(
    request: Request, site_id: int, principal: WebPrincipal, session: SessionDep
) -> Response:
    form = await checked_form(request, principal)
    site = await service.get_site(session, principal.company_id, site_id)
    require_web_scope(principal, "safety:write")
    try:
        picked = date.fromisoformat(form.get("day", ""))
    except ValueError:
        picked = utcnow().astimezone(zone(site.time_zone)).date()
    await summary.snapshot(session, site, picked)
    return RedirectResponse(f"/safety/sites/{site.id}/summary?day={picked.isoformat()}", status_code=303)


# Safety setup pages: a site's project links, a connection's field mapping, the checklist.
router.include_router(setup_web.router)
