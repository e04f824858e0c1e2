"""Admin pages of incidents: the list, the incident form (recordability and case number shown
as they are decided), and the printable OSHA 300 log, 300A summary and 301 report."""

from datetime import datetime
from types import SimpleNamespace
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from fieldbridge.accounts.auth import Principal, WebPrincipal, checked_form, require_web_scope
from fieldbridge.accounts.scopes import Scope
from fieldbridge.incidents import forms, service, sync
from fieldbridge.incidents.models import Incident
from fieldbridge.incidents.osha import FIRST_AID, CaseType, PrivacyReason, Treatment
from fieldbridge.incidents.repository import IncidentRepository
from fieldbridge.incidents.schemas import MAX_ID, IdPath, IncidentFields, IncidentIn, IncidentPatch
from fieldbridge.kit.clock import utcnow
from fieldbridge.kit.deps import SessionDep
from fieldbridge.kit.errors import FieldBridgeError, NotFound, Unprocessable
from fieldbridge.kit.zones import LocalTimeError, at_local
from fieldbridge.kit.zones import zone as zone_of
from fieldbridge.safety.models import SafetySite
from fieldbridge.web.render import render

router = APIRouter(include_in_schema=False)
WALL = "%Y-%m-%dT%H:%M"  # a datetime-local input's value
BOOLS = [n for n, f in IncidentFields.model_fields.items() if f.annotation is bool]
MAYBE_BOOLS = ("treated_in_emergency_room", "hospitalized_overnight")
OPTIONAL = frozenset(
    {"zone_id", "worker_id", "date_of_birth", "date_hired", "sex", "date_of_death", "time_began_work"}
    | {"privacy_reason", "employee_name"}
)
SKIP = {"occurred_at", "occurred_on", "time_unknown", *BOOLS, *MAYBE_BOOLS}
SiteQuery = Annotated[int, Query(ge=1, le=MAX_ID)]
YearQuery = Annotated[int, Query(ge=2000, le=2100)]


def _raw(form: dict[str, str]) -> dict[str, Any]:
    """The incident form as API fields, but for when it happened: checkboxes to booleans,
    empty optionals to None."""
    values: dict[str, Any] = {
        name: (form.get(name) or None) if name in OPTIONAL else form.get(name, "")
        for name in IncidentFields.model_fields
        if name not in SKIP and name in form
    }
    for name in BOOLS:
        values[name] = name in form
    for name in MAYBE_BOOLS:
        values[name] = {"yes": True, "no": False}.get(form.get(name, ""))
    return values


def _fields(form: dict[str, str], tz: ZoneInfo) -> dict[str, Any]:
    """The incident form as API fields; the local wall time at the site becomes an instant."""
    values = _raw(form)
    wall = form.get("occurred_local", "")
    if "time_unknown" in form:
        values["time_unknown"] = True
        values["occurred_on"] = form.get("occurred_on") or (wall[:10] if wall else None)
        values["occurred_at"] = None
        return values
    values["time_unknown"] = False
    try:
        values["occurred_at"] = at_local(datetime.strptime(wall, WALL), tz).isoformat() if wall else None
    except ValueError as exc:
        message = str(exc) if isinstance(exc, LocalTimeError) else "the date and time of the event"
        raise Unprocessable(f"occurred_at: {message}", code="invalid_request") from exc
    return values


def _as_typed(form: dict[str, str]) -> dict[str, Any]:
    """What the person typed, as values the form can show again (fields that do not parse keep
    the stored value)."""
    typed: dict[str, Any] = {}
    for name, value in _raw(form).items():
        annotation = IncidentFields.model_fields[name].annotation
        if annotation is None:
            continue
        try:
            typed[name] = TypeAdapter(annotation).validate_python(value)
        except ValidationError:
            continue
    typed["time_unknown"] = "time_unknown" in form
    return typed


def _shown(incident: Incident | None, principal: Principal, typed: dict[str, Any] | None) -> SimpleNamespace:
    """The values the form shows: the incident's (or a new one's), then what was typed."""
    values: dict[str, Any] = IncidentFields(completed_by=principal.name[:200]).model_dump()
    if incident is not None:
        values.update({name: getattr(incident, name) for name in IncidentFields.model_fields})
    values.update(typed or {})
    return SimpleNamespace(**values)


async def _site(session: AsyncSession, company_id: int, site_id: int) -> SafetySite:
    site = await IncidentRepository.from_session(session).site(company_id, site_id)
    if site is None:
        raise NotFound(f"No safety site {site_id} in your company.")
    return site


async def _form_page(
    request: Request,
    session: AsyncSession,
    principal: Principal,
    site: SafetySite,
    incident: Incident | None,
    error: str | None = None,
    status_code: int = 200,
    notice: str | None = None,
    form: dict[str, str] | None = None,
) -> HTMLResponse:
    repo = IncidentRepository.from_session(session)
    tz = zone_of(site.time_zone)
    local = incident.occurred_at.astimezone(tz).strftime(WALL) if incident and incident.occurred_at else ""
    if form is not None:
        local = form.get("occurred_local", "")
    return render(
        request,
        "incident_form.html",
        principal,
        status_code=status_code,
        section="incidents",
        site=site,
        incident=incident,
        v=_shown(incident, principal, _as_typed(form) if form is not None else None),
        occurred_local=local,
        zones=await repo.zones(principal.company_id, site.id),
        workers=await repo.workers(principal.company_id),
        case_types=list(CaseType),
        treatments=list(Treatment),
        privacy_reasons=list(PrivacyReason),
        first_aid=FIRST_AID,
        error=error,
        notice=notice,
        can_write=principal.has(Scope.incidents_write),
        sync=await sync.view(session, principal.company_id, incident.id) if incident else None,
    )


@router.get("/incidents", response_class=HTMLResponse)
async def incidents_page(
    request: Request, principal: WebPrincipal, session: SessionDep, site: SiteQuery | None = None
) -> Response:
    require_web_scope(principal, Scope.incidents_read)
    repo = IncidentRepository.from_session(session)
    sites = await repo.sites(principal.company_id)
    rows = await repo.recent(principal.company_id, site)
    names = {s.id: s.name for s in sites}
    years = {s.id: service.local_now_year(s, utcnow()) for s in sites}
    return render(
        request,
        "incidents.html",
        principal,
        section="incidents",
        sites=sites,
        site_filter=site,
        rows=rows,
        site_names=names,
        years=years,
        sees_names=service.sees_names(principal),
    )


@router.get("/incidents/new", response_class=HTMLResponse)
async def new_incident(
    request: Request, principal: WebPrincipal, session: SessionDep, site: SiteQuery
) -> Response:
    require_web_scope(principal, Scope.incidents_write)
    return await _form_page(
        request, session, principal, await _site(session, principal.company_id, site), None
    )


@router.post("/incidents/new", response_class=HTMLResponse)
async def create_incident(
    request: Request, principal: WebPrincipal, session: SessionDep, site: SiteQuery
) -> Response:
    require_web_scope(principal, Scope.incidents_write)
    form = await checked_form(request, principal)
    row = await _site(session, principal.company_id, site)
    try:
        body = IncidentIn.model_validate({"site_id": site, **_fields(form, zone_of(row.time_zone))})
        incident = await service.create(session, principal, body)
    except (ValidationError, FieldBridgeError) as exc:
        await session.rollback()
        message, status = _problem(exc)
        row = await _site(session, principal.company_id, site)
        return await _form_page(request, session, principal, row, None, message, status, form=form)
    return RedirectResponse(f"/incidents/{incident.id}?saved=1", status_code=303)


def _problem(exc: ValidationError | FieldBridgeError) -> tuple[str, int]:
    """What to tell the person, and the status of the page that says it."""
    if isinstance(exc, FieldBridgeError):
        return exc.message, exc.status_code
    err = exc.errors()[0]
    return f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}", 422


@router.get("/incidents/{incident_id}", response_class=HTMLResponse)
async def incident_page(
    request: Request, incident_id: IdPath, principal: WebPrincipal, session: SessionDep, saved: bool = False
) -> Response:
    require_web_scope(principal, Scope.incidents_read)
    incident = await service.get(session, principal.company_id, incident_id)
    site = await _site(session, principal.company_id, incident.site_id)
    notice = None
    if saved:
        notice = "Saved." + (f" OSHA 300 case {incident.case_number}." if incident.case_number else "")
    return await _form_page(request, session, principal, site, incident, notice=notice)


@router.post("/incidents/{incident_id}", response_class=HTMLResponse)
async def update_incident(
    request: Request, incident_id: IdPath, principal: WebPrincipal, session: SessionDep
) -> Response:
    require_web_scope(principal, Scope.incidents_write)
    form = await checked_form(request, principal)
    incident = await service.get(session, principal.company_id, incident_id)
    site = await _site(session, principal.company_id, incident.site_id)
    try:
        body = IncidentPatch.model_validate(_fields(form, zone_of(site.time_zone)))
        await service.update(session, principal, incident_id, body)
    except (ValidationError, FieldBridgeError) as exc:
        await session.rollback()  # nothing half-applied is saved
        message, status = _problem(exc)
        fresh = await service.get(session, principal.company_id, incident_id)
        site = await _site(session, principal.company_id, fresh.site_id)
        return await _form_page(request, session, principal, site, fresh, message, status, form=form)
    return RedirectResponse(f"/incidents/{incident_id}?saved=1", status_code=303)


@router.get("/incidents/{incident_id}/301", response_class=HTMLResponse)
async def form_301(
    request: Request, incident_id: IdPath, principal: WebPrincipal, session: SessionDep
) -> Response:
    require_web_scope(principal, Scope.incidents_read)
    incident = await service.get(session, principal.company_id, incident_id)
    site = await _site(session, principal.company_id, incident.site_id)
    tz = zone_of(site.time_zone)
    hide = incident.privacy_case and not service.sees_names(principal)
    return render(
        request,
        "osha_301.html",
        principal,
        section="incidents",
        incident=incident,
        site=site,
        local=incident.occurred_at.astimezone(tz) if incident.occurred_at else None,
        hide=hide,
        injury=forms.column_f(incident.nature, incident.body_part, "", ""),
    )


@router.get("/osha/300", response_class=HTMLResponse)
async def log_300(
    request: Request, principal: WebPrincipal, session: SessionDep, site: SiteQuery, year: YearQuery
) -> Response:
    require_web_scope(principal, Scope.incidents_read)
    row, establishment, cases, lined_out = await service.year_log(session, principal.company_id, site, year)
    rows = forms.log_rows(cases)
    return render(
        request,
        "osha_300.html",
        principal,
        section="incidents",
        site=row,
        year=year,
        establishment=establishment,
        rows=rows,
        lined_out=lined_out,
        totals=forms.totals(rows),
        case_types=list(CaseType),
    )


@router.get("/osha/300a", response_class=HTMLResponse)
async def summary_300a(
    request: Request, principal: WebPrincipal, session: SessionDep, site: SiteQuery, year: YearQuery
) -> Response:
    require_web_scope(principal, Scope.incidents_read)
    row, establishment, cases, _ = await service.year_log(session, principal.company_id, site, year)
    summary = forms.summary(year, establishment, cases)
    return render(
        request,
        "osha_300a.html",
        principal,
        section="incidents",
        site=row,
        year=year,
        summary=summary,
        t=summary.totals,
        missing=forms.missing_for_ita(summary),
        case_types=list(CaseType),
    )
