"""Admin pages of timekeeping (timesheet by day or week, by project or by worker, corrections,
approval, milestone progress as a server-rendered SVG bar chart) and the mobile app shell."""

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from fieldbridge.accounts.auth import WebPrincipal, checked_form, require_web_scope
from fieldbridge.accounts.scopes import Scope
from fieldbridge.accounts.service import company_zone
from fieldbridge.kit.deps import SessionDep
from fieldbridge.kit.errors import FieldBridgeError
from fieldbridge.kit.zones import LocalTimeError, at_local, zone
from fieldbridge.timekeeping import policy, service, views
from fieldbridge.timekeeping.models import ClockShift
from fieldbridge.timekeeping.repository import ShiftRepository
from fieldbridge.timekeeping.schemas import (
    Correction,
    Day,
    IdPath,
    ProjectTimeSettingsIn,
    ShiftOut,
    TimePolicyIn,
)
from fieldbridge.timekeeping.targets import project_milestones, tree
from fieldbridge.web.render import STATIC_DIR, render, templates

router = APIRouter(include_in_schema=False)
APP_DIR: Path = STATIC_DIR / "app"
BAR_HEIGHT = 28
CHART_WIDTH = 640
LABEL_WIDTH = 260
WALL = "%Y-%m-%dT%H:%M"  # a datetime-local input's value


def _groups(shifts: list[ShiftOut], by: str) -> list[tuple[str, list[ShiftOut], str]]:
    """(heading, shifts, total hours) per project or per worker."""
    out: dict[str, list[ShiftOut]] = {}
    for s in shifts:
        key = s.place.split(" / ")[0] if by == "project" else s.worker_name
        out.setdefault(key, []).append(s)
    rows = []
    for key in sorted(out):
        total = sum(float(s.hours or 0) for s in out[key])
        rows.append((key, out[key], f"{total:g}"))
    return rows


@router.get("/timesheets", response_class=HTMLResponse)
async def timesheets(
    request: Request,
    principal: WebPrincipal,
    session: SessionDep,
    day: Day | None = None,
    week: bool = False,
    by: str = "project",
    notice: str | None = None,
    error: str | None = None,
) -> Response:
    require_web_scope(principal, Scope.time_read)
    tz = await company_zone(session, principal.company_id)
    first = day or datetime.now(tz).date()
    last = first
    if week:
        first, last = (
            first - timedelta(days=first.weekday()),
            first - timedelta(days=first.weekday()) + timedelta(days=6),
        )
    repo = ShiftRepository.from_session(session)
    shifts = await views.shifts_out(
        session, principal.company_id, await repo.between(principal.company_id, first, last)
    )
    open_now = await views.shifts_out(
        session, principal.company_id, await repo.on_the_clock(principal.company_id)
    )
    projects = await tree(session, principal.company_id)
    return render(
        request,
        "timesheets.html",
        principal,
        section="timesheets",
        held=await views.held_shifts(session, principal.company_id),
        policy=await policy.rules(session, principal.company_id),
        error=error,
        status_code=422 if error else 200,
        day=day or first,
        first=first,
        last=last,
        week=week,
        by="worker" if by == "worker" else "project",
        groups=_groups(shifts, "worker" if by == "worker" else "project"),
        open_now=open_now,
        projects=projects,
        tz=tz,
        prev_day=(day or first) - timedelta(days=7 if week else 1),
        next_day=(day or first) + timedelta(days=7 if week else 1),
        notice=notice,
    )


async def _shift_page(
    request: Request, principal: WebPrincipal, session: SessionDep, shift_id: IdPath, error: str | None = None
) -> Response:
    shift = await service.get_shift(session, principal.company_id, shift_id)
    (out,) = await views.shifts_out(session, principal.company_id, [shift])
    milestones = await project_milestones(session, principal.company_id, shift.project_id)
    current = {a.milestone_id: a.hours for a in out.allocations}
    tz = zone(out.time_zone)
    return render(
        request,
        "timesheet_shift.html",
        principal,
        section="timesheets",
        shift=out,
        milestones=milestones,
        current=current,
        started=shift.started_at.astimezone(tz).strftime(WALL),
        ended=shift.ended_at.astimezone(tz).strftime(WALL) if shift.ended_at else "",
        tz=tz,
        error=error,
        status_code=422 if error else 200,
    )


@router.get("/timesheets/shifts/{shift_id}", response_class=HTMLResponse)
async def shift_page(
    request: Request, shift_id: IdPath, principal: WebPrincipal, session: SessionDep
) -> Response:
    require_web_scope(principal, Scope.time_read)
    return await _shift_page(request, principal, session, shift_id)


def _correction(form: dict[str, str], shift: ClockShift, tz: ZoneInfo) -> Correction:
    """The posted form as a correction. Times are wall times on the shift's clock; a time left as
    it was keeps the shift's instant (so 01:30 on a fall-back night is not moved an hour)."""
    shown = {"started_at": shift.started_at, "ended_at": shift.ended_at}

    def when(name: str) -> str | None:
        raw = form.get(name, "").strip()
        was = shown[name]
        if not raw or (was is not None and raw == was.astimezone(tz).strftime(WALL)):
            return None
        return at_local(datetime.fromisoformat(raw), tz).isoformat()

    lines = [
        {"milestone_id": int(k.removeprefix("hours_")), "value": v.strip()}
        for k, v in form.items()
        if k.startswith("hours_") and v.strip() not in ("", "0")
    ]
    return Correction.model_validate(
        {
            "started_at": when("started_at"),
            "ended_at": when("ended_at"),
            "break_minutes": int(form["break_minutes"]) if form.get("break_minutes", "").strip() else None,
            "split": {"mode": "hours", "lines": lines} if lines else None,
            "note": form.get("note", "").strip(),
        }
    )


def _message(exc: Exception) -> str:
    if isinstance(exc, FieldBridgeError):
        return exc.message
    if isinstance(exc, LocalTimeError):
        return str(exc)
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        return f"{'.'.join(map(str, first['loc']))}: {first['msg']}"
    return "Check the dates and numbers."


async def _shift_form(
    request: Request, principal: WebPrincipal, session: SessionDep, shift_id: int
) -> tuple[ClockShift, dict[str, str]]:
    """A posted shift form: the shift exists in this company, the CSRF token and the scope are right."""
    shift = await service.get_shift(session, principal.company_id, shift_id)
    form = await checked_form(request, principal)
    require_web_scope(principal, Scope.time_write)
    return shift, form


async def _act(
    request: Request,
    principal: WebPrincipal,
    session: SessionDep,
    shift_id: int,
    action: Callable[[], Awaitable[object]],
) -> Response:
    """Run a change in a savepoint; a refusal re-renders the shift page with the reason."""
    try:
        async with session.begin_nested():
            await action()
    except (ValidationError, FieldBridgeError, ValueError) as exc:
        return await _shift_page(request, principal, session, shift_id, error=_message(exc))
    return RedirectResponse(f"/timesheets/shifts/{shift_id}", status_code=303)


@router.post("/timesheets/shifts/{shift_id}", response_class=HTMLResponse)
async def correct_shift(
    request: Request, shift_id: IdPath, principal: WebPrincipal, session: SessionDep
) -> Response:
    shift, form = await _shift_form(request, principal, session, shift_id)
    tz = service.shift_zone(shift, await company_zone(session, principal.company_id))
    return await _act(
        request,
        principal,
        session,
        shift_id,
        lambda: service.correct(session, principal, shift_id, _correction(form, shift, tz)),
    )


@router.post("/timesheets/shifts/{shift_id}/approve", response_class=HTMLResponse)
async def approve_shift(
    request: Request, shift_id: IdPath, principal: WebPrincipal, session: SessionDep
) -> Response:
    shift, form = await _shift_form(request, principal, session, shift_id)
    await service.approve(session, principal, shift_id)
    back = form.get("back", "")
    target = back if back.startswith("/timesheets") else f"/timesheets?day={shift.work_date.isoformat()}"
    return RedirectResponse(target, status_code=303)


@router.post("/timesheets/policy", response_class=HTMLResponse)
async def set_policy(request: Request, principal: WebPrincipal, session: SessionDep) -> Response:
    form = await checked_form(request, principal)
    require_web_scope(principal, Scope.time_write)
    service.require_admin(principal)
    fields = {
        k: v.strip() for k, v in form.items() if k in TimePolicyIn.model_fields and k != "hold_overlaps"
    }
    try:
        data = TimePolicyIn.model_validate({**fields, "hold_overlaps": form.get("hold_overlaps") == "on"})
    except ValidationError as exc:
        return await timesheets(request, principal, session, error=_message(exc))
    await policy.set_rules(session, principal.company_id, data)
    return RedirectResponse("/timesheets?notice=Time+policy+saved.", status_code=303)


@router.post("/timesheets/shifts/{shift_id}/resend", response_class=HTMLResponse)
async def resend_shift(
    request: Request, shift_id: IdPath, principal: WebPrincipal, session: SessionDep
) -> Response:
    await _shift_form(request, principal, session, shift_id)
    return await _act(
        request, principal, session, shift_id, lambda: service.resend(session, principal, shift_id)
    )


def bars(rows: list[tuple[str, float, float | None]]) -> dict[str, object]:
    """Geometry of a horizontal bar chart: used hours against budget, one row per milestone."""
    top = max([1.0] + [max(used, budget or 0) for _, used, budget in rows])
    scale = (CHART_WIDTH - LABEL_WIDTH - 70) / top
    items = []
    for n, (label, used, budget) in enumerate(rows):
        y = n * (BAR_HEIGHT + 14) + 8
        over = budget is not None and used > budget
        items.append(
            {
                "label": label if len(label) <= 38 else label[:37] + "…",
                "full": label,
                "y": y,
                "text_y": y + BAR_HEIGHT * 0.7,
                "used_w": round(used * scale, 1),
                "budget_x": None if budget is None else round(LABEL_WIDTH + budget * scale, 1),
                "value_x": round(LABEL_WIDTH + max(used, budget or 0) * scale + 6, 1),
                "value": f"{used:g} / {budget:g} h" if budget is not None else f"{used:g} h (no budget)",
                "over": over,
            }
        )
    return {
        "items": items,
        "height": len(rows) * (BAR_HEIGHT + 14) + 16,
        "width": CHART_WIDTH,
        "label_width": LABEL_WIDTH,
        "bar_height": BAR_HEIGHT,
    }


@router.get("/timesheets/progress/{project_id}", response_class=HTMLResponse)
async def progress_page(
    request: Request, project_id: IdPath, principal: WebPrincipal, session: SessionDep
) -> Response:
    require_web_scope(principal, Scope.time_read)
    await views.require_project(session, principal.company_id, project_id)
    return await _progress(request, principal, session, project_id)


async def _progress(
    request: Request, principal: WebPrincipal, session: SessionDep, project_id: int, error: str | None = None
) -> Response:
    rows = await views.progress(session, principal.company_id, project_id)
    milestones = await project_milestones(session, principal.company_id, project_id)
    name = milestones[0].project_name if milestones else "Project"
    chart = bars(
        [
            (r.label, float(r.hours_used), None if r.hours_budgeted is None else float(r.hours_budgeted))
            for r in rows
        ]
    )
    current = await ShiftRepository.from_session(session).project_settings(principal.company_id, project_id)
    return render(
        request,
        "timesheet_progress.html",
        principal,
        section="timesheets",
        rows=rows,
        chart=chart,
        name=name,
        project_id=project_id,
        settings=ProjectTimeSettingsIn.model_validate(current, from_attributes=True) if current else None,
        error=error,
        status_code=422 if error else 200,
    )


@router.post("/timesheets/progress/{project_id}/settings", response_class=HTMLResponse)
async def project_settings(
    request: Request, project_id: IdPath, principal: WebPrincipal, session: SessionDep
) -> Response:
    await views.require_project(session, principal.company_id, project_id)
    form = await checked_form(request, principal)
    require_web_scope(principal, Scope.projects_write)
    fields = {k: v.strip() or None for k, v in form.items() if k in ProjectTimeSettingsIn.model_fields}
    try:
        data = ProjectTimeSettingsIn.model_validate({k: v for k, v in fields.items() if v is not None})
        await service.set_project_settings(session, principal.company_id, project_id, data)
    except ValidationError as exc:
        return await _progress(request, principal, session, project_id, error=_message(exc))
    return RedirectResponse(f"/timesheets/progress/{project_id}", status_code=303)


# -- the mobile app -------------------------------------------------------------------------
@router.get("/app", response_class=HTMLResponse)
async def mobile_app(request: Request) -> Response:
    return templates.TemplateResponse(request, "app.html", {}, headers={"Cache-Control": "no-cache"})


@router.get("/app/sw.js")
async def service_worker() -> Response:
    """Served under /app/ so it may control the app's pages."""
    return FileResponse(
        APP_DIR / "sw.js",
        media_type="text/javascript",
        headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/app"},
    )


@router.get("/app/manifest.webmanifest")
async def manifest() -> Response:
    return FileResponse(APP_DIR / "manifest.webmanifest", media_type="application/manifest+json")
