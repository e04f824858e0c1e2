"""REST routes of incidents (/api/v1/incidents) and the OSHA records (/api/v1/osha): the 300
log, the 300A summary and the ITA CSV files of a site and year."""

from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status
from fastapi.responses import StreamingResponse

from fieldbridge.accounts.auth import Principal, require
from fieldbridge.accounts.scopes import Scope
from fieldbridge.incidents import forms, service, sync
from fieldbridge.incidents.models import Incident
from fieldbridge.incidents.osha import CaseType
from fieldbridge.incidents.repository import IncidentRepository
from fieldbridge.incidents.schemas import (
    MAX_ID,
    EstablishmentOut,
    IdPath,
    IncidentIn,
    IncidentOut,
    IncidentPatch,
    IncidentSyncOut,
    Log300Out,
    LogRowOut,
    PrivacyListEntry,
    Summary300AOut,
    TotalsOut,
    When,
)
from fieldbridge.kit.deps import SessionDep
from fieldbridge.kit.errors import Unprocessable
from fieldbridge.kit.pagination import CursorPage, changed_key, next_page

router = APIRouter(tags=["incidents"])

IncidentsRead = Annotated[Principal, Depends(require(Scope.incidents_read), scope="function")]
IncidentsWrite = Annotated[Principal, Depends(require(Scope.incidents_write), scope="function")]
SiteQuery = Annotated[int, Query(ge=1, le=MAX_ID, description="the safety site (OSHA establishment)")]
YearQuery = Annotated[int, Query(ge=2000, le=2100, description="the calendar year of the log")]
CSV = "text/csv; charset=utf-8"
MAX_PAGE = 200


def out(incident: Incident, principal: Principal) -> IncidentOut:
    """An incident as this caller may read it: a privacy case's identity is withheld without
    incidents:write (the confidential list of 1904.29(b)(6))."""
    result = IncidentOut.model_validate(incident)
    if incident.privacy_case and not service.sees_names(principal):
        result = result.model_copy(
            update={"employee_name": None, "worker_id": None, "employee_address": "", "date_of_birth": None}
        )
    return result


def totals_out(t: forms.Totals) -> TotalsOut:
    m = t.by_type
    return TotalsOut(
        deaths=t.deaths,
        days_away_cases=t.days_away_cases,
        restricted_cases=t.restricted_cases,
        other_cases=t.other_cases,
        days_away=t.days_away,
        days_restricted=t.days_restricted,
        injuries=m[CaseType.injury],
        skin_disorders=m[CaseType.skin_disorder],
        respiratory_conditions=m[CaseType.respiratory_condition],
        poisonings=m[CaseType.poisoning],
        hearing_loss=m[CaseType.hearing_loss],
        other_illnesses=m[CaseType.other_illness],
    )


@router.get(
    "/incidents",
    response_model=CursorPage[IncidentOut],
    summary="Incidents, oldest change first (poll with the cursor)",
)
async def list_incidents(
    principal: IncidentsRead,
    session: SessionDep,
    site_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    year: Annotated[int | None, Query(ge=2000, le=2100, description="case year (recordable cases)")] = None,
    recordable: bool | None = None,
    updated_since: Annotated[
        When | None, Query(description="only incidents changed at or after this instant")
    ] = None,
    cursor: Annotated[
        str | None, Query(max_length=200, description="`next_cursor` of the previous page")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> CursorPage[IncidentOut]:
    rows = await IncidentRepository.from_session(session).page(
        principal.company_id,
        site_id=site_id,
        year=year,
        recordable=recordable,
        after=changed_key(cursor),
        updated_since=updated_since,
        limit=limit + 1,
    )
    items, following, more = next_page(rows, limit, cursor)
    return CursorPage(items=[out(i, principal) for i in items], next_cursor=following, has_more=more)


@router.post(
    "/incidents",
    response_model=IncidentOut,
    status_code=status.HTTP_201_CREATED,
    summary="Record an incident; recordability is decided and a case number given when recordable",
)
async def create_incident(body: IncidentIn, principal: IncidentsWrite, session: SessionDep) -> IncidentOut:
    return out(await service.create(session, principal, body), principal)


@router.get("/incidents/{incident_id}", response_model=IncidentOut, summary="One incident")
async def get_incident(incident_id: IdPath, principal: IncidentsRead, session: SessionDep) -> IncidentOut:
    return out(await service.get(session, principal.company_id, incident_id), principal)


@router.get(
    "/incidents/{incident_id}/sync",
    response_model=IncidentSyncOut,
    summary="Two-way sync: where the incident went, field owners, and conflicts to look at",
)
async def incident_sync(
    incident_id: IdPath, principal: IncidentsRead, session: SessionDep
) -> IncidentSyncOut:
    return IncidentSyncOut.model_validate(await sync.view(session, principal.company_id, incident_id))


@router.patch(
    "/incidents/{incident_id}",
    response_model=IncidentOut,
    summary="Change an incident (only the fields sent); recordability is decided again",
)
async def update_incident(
    incident_id: IdPath, body: IncidentPatch, principal: IncidentsWrite, session: SessionDep
) -> IncidentOut:
    return out(await service.update(session, principal, incident_id, body), principal)


@router.get("/osha/300", response_model=Log300Out, summary="OSHA Form 300: the log of a site and year")
async def osha_300(
    site: SiteQuery, year: YearQuery, principal: IncidentsRead, session: SessionDep
) -> Log300Out:
    _, establishment, cases, lined_out = await service.year_log(session, principal.company_id, site, year)
    rows = forms.log_rows(cases)
    return Log300Out(
        site_id=site,
        year=year,
        establishment=EstablishmentOut.model_validate(establishment),
        rows=[LogRowOut.model_validate(r) for r in rows],
        lined_out=lined_out,
        totals=totals_out(forms.totals(rows)),
    )


@router.get(
    "/osha/300a", response_model=Summary300AOut, summary="OSHA Form 300A: the summary of a site and year"
)
async def osha_300a(
    site: SiteQuery, year: YearQuery, principal: IncidentsRead, session: SessionDep
) -> Summary300AOut:
    _, establishment, cases, _ = await service.year_log(session, principal.company_id, site, year)
    summary = forms.summary(year, establishment, cases)
    return Summary300AOut(
        site_id=site,
        year=year,
        establishment=EstablishmentOut.model_validate(establishment),
        totals=totals_out(summary.totals),
        size=summary.size,
        missing_for_ita=forms.missing_for_ita(summary),
    )


@router.get(
    "/osha/privacy-cases",
    response_model=list[PrivacyListEntry],
    summary="The confidential list of privacy cases: case numbers and names (incidents:write)",
)
async def privacy_cases(
    site: SiteQuery, year: YearQuery, principal: IncidentsWrite, session: SessionDep
) -> list[PrivacyListEntry]:
    _, _, cases, _ = await service.year_log(session, principal.company_id, site, year)
    return [
        PrivacyListEntry(case_number=c.case_number, employee_name=c.employee_name, incident_id=c.incident_id)
        for c in sorted(cases, key=lambda c: c.case_number)
        if c.privacy_case
    ]


def _csv(chunks: Iterator[str], filename: str) -> StreamingResponse:
    return StreamingResponse(
        chunks, media_type=CSV, headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )


@router.get(
    "/osha/ita/cases.csv",
    summary="OSHA ITA case data CSV (300/301): 24 columns in the documented order, no names",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}},
)
async def ita_cases(
    site: SiteQuery, year: YearQuery, principal: IncidentsRead, session: SessionDep
) -> StreamingResponse:
    _, establishment, cases, _ = await service.year_log(session, principal.company_id, site, year)
    return _csv(forms.ita_case_csv(establishment, year, cases), f"ita-cases-{site}-{year}.csv")


@router.get(
    "/osha/ita/summary.csv",
    summary="OSHA ITA establishment + 300A summary CSV: 28 columns in the documented order",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}, 422: {"description": "establishment fields missing"}},
)
async def ita_summary(
    year: YearQuery,
    principal: IncidentsRead,
    session: SessionDep,
    site: Annotated[
        int | None,
        Query(ge=1, le=MAX_ID, description="one site; leave out for every active site (one row each)"),
    ] = None,
    change_reason: Annotated[str | None, Query(max_length=300, description="only when amending")] = None,
) -> StreamingResponse:
    if site is None:
        sites = await IncidentRepository.from_session(session).sites(principal.company_id)
        site_ids = [s.id for s in sites if s.active]
    else:
        site_ids = [site]
    summaries: list[forms.Summary300A] = []
    incomplete: dict[str, list[str]] = {}
    for site_id in site_ids:
        _, establishment, cases, _ = await service.year_log(session, principal.company_id, site_id, year)
        summary = forms.summary(year, establishment, cases)
        missing = forms.missing_for_ita(summary)
        if missing:
            incomplete[str(site_id)] = missing
        summaries.append(summary)
    if incomplete:
        named = "; ".join(f"site {k}: {', '.join(v)}" for k, v in incomplete.items())
        raise Unprocessable(
            f"The ITA needs these establishment fields ({named}). "
            "Fill them in on the safety site, then export again.",
            code="establishment_incomplete",
            details={"missing": incomplete[str(site)] if site is not None else incomplete},
        )
    name = f"ita-summary-{site}-{year}.csv" if site is not None else f"ita-summary-{year}.csv"
    return _csv(forms.ita_summary_csv(summaries, change_reason), name)
