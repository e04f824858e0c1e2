"""Rules of incidents: create and change an incident, decide recordability on every change,
give a case number when a case becomes recordable, and build the OSHA forms of a site's year.

Takes a session, never commits: the route or job that calls it owns the transaction, so a case
number is only ever taken together with the change that made the case recordable.
"""

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from fieldbridge.accounts.auth import Principal
from fieldbridge.accounts.scopes import Scope
from fieldbridge.incidents import events, sync
from fieldbridge.incidents.forms import Case, Establishment, column_f
from fieldbridge.incidents.models import Incident
from fieldbridge.incidents.osha import (
    CaseFacts,
    CaseType,
    Outcome,
    Treatment,
    case_type_for,
    check_privacy,
    decide,
    suggested_privacy,
)
from fieldbridge.incidents.repository import IncidentRepository
from fieldbridge.incidents.schemas import IncidentFields, IncidentIn, IncidentPatch
from fieldbridge.kit.errors import Conflict, NotFound, Unprocessable
from fieldbridge.kit.zones import zone as zone_of
from fieldbridge.safety import service as safety_service
from fieldbridge.safety.models import Detection, DetectionType, SafetySite

# Detection types whose confirmation means a person was (or may have been) hurt: confirming
# one through the review creates an incident draft linked to it.
INJURY_TYPES: frozenset[str] = frozenset({DetectionType.fall, DetectionType.self_report})


def _invalid(field: str, message: str) -> Unprocessable:
    return Unprocessable(
        f"{field}: {message}", code="invalid_request", details=[{"field": field, "problem": message}]
    )


def actor(principal: Principal) -> str:
    return principal.name if principal.kind != "api_key" else f"api key {principal.name}"


def sees_names(principal: Principal) -> bool:
    """Names of privacy cases are the confidential list (1904.29(b)(6)): incidents:write only."""
    return principal.has(Scope.incidents_write)


def facts(incident: Incident) -> CaseFacts:
    return CaseFacts(
        work_related=incident.work_related,
        new_case=incident.new_case,
        died=incident.died,
        days_away=incident.days_away,
        days_restricted=incident.days_restricted,
        treatment=Treatment(incident.treatment),
        loss_of_consciousness=incident.loss_of_consciousness,
        significant_diagnosed=incident.significant_diagnosed,
        contaminated_sharps=incident.contaminated_sharps,
        medical_removal=incident.medical_removal,
        hearing_loss_sts=incident.hearing_loss_sts,
        tuberculosis=incident.tuberculosis,
    )


async def _site(repo: IncidentRepository, company_id: int, site_id: int) -> SafetySite:
    site = await repo.site(company_id, site_id)
    if site is None:
        raise _invalid("site_id", f"no safety site {site_id} in your company; see GET /api/v1/safety/sites")
    return site


async def _check_refs(repo: IncidentRepository, company_id: int, incident: Incident, sent: set[str]) -> None:
    """Zone and worker must be the company's (another company's id reads as unknown)."""
    if "zone_id" in sent and incident.zone_id is not None:
        zone = await repo.zone(company_id, incident.zone_id)
        if zone is None or zone.site_id != incident.site_id:
            raise _invalid("zone_id", f"no zone {incident.zone_id} at safety site {incident.site_id}")
    if "worker_id" in sent and incident.worker_id is not None:
        worker = await repo.worker(company_id, incident.worker_id)
        if worker is None:
            raise _invalid("worker_id", f"no worker {incident.worker_id} in your company")
        if "employee_name" not in sent or not incident.employee_name:
            incident.employee_name = worker.name
        if "job_title" not in sent or not incident.job_title:
            incident.job_title = worker.title or worker.trade or ""


def _place_in_time(incident: Incident, site: SafetySite, sent: set[str]) -> None:
    """The local date at the site follows the instant; a time that cannot be determined keeps
    only the date (Form 301 (13))."""
    if incident.time_unknown:
        if incident.occurred_at is not None and "occurred_on" not in sent:
            incident.occurred_on = incident.occurred_at.astimezone(zone_of(site.time_zone)).date()
        incident.occurred_at = None
    elif incident.occurred_at is not None:
        local = incident.occurred_at.astimezone(zone_of(site.time_zone)).date()
        if "occurred_on" in sent and incident.occurred_on != local:
            raise _invalid(
                "occurred_on",
                f"{incident.occurred_on} is not the local date of occurred_at at the site ({local}); "
                "send one of them",
            )
        incident.occurred_on = local
    if incident.occurred_on is None:
        raise _invalid(
            "occurred_at", "send occurred_at, or occurred_on with time_unknown when the time is not known"
        )


async def _decide(repo: IncidentRepository, incident: Incident) -> None:
    """Recordability and its basis, the G-J box, privacy, and the case number when recordable."""
    case_facts = facts(incident)
    if incident.died and incident.date_of_death is None:
        raise _invalid("date_of_death", "required when died is true (Form 301 (18))")
    if incident.date_of_death is not None and not incident.died:
        raise _invalid("died", "set died to true with a date_of_death, or clear date_of_death")
    incident.case_type = case_type_for(case_facts, CaseType(incident.case_type))
    required = suggested_privacy(case_facts)
    if required is not None and not incident.privacy_case:
        incident.privacy_case, incident.privacy_reason = True, required  # (b)(7)(iv)/(v) always are
    problem = check_privacy(incident.privacy_case, incident.privacy_reason, CaseType(incident.case_type))
    if problem is not None:
        raise _invalid("privacy_reason", problem)
    if not incident.privacy_case:
        incident.privacy_reason = None
    decision = decide(case_facts)
    incident.recordable = decision.recordable
    incident.recordability_basis = decision.basis
    incident.outcome = decision.outcome
    year = incident.occurred_on.year
    if incident.case_number is not None and incident.case_year != year:
        raise Conflict(
            f"This incident is case {incident.case_number} of the {incident.case_year} log; its date cannot "
            f"move to {year}. Record it as a new incident and mark this one not work-related.",
            code="case_year_fixed",
        )
    if incident.recordable and incident.case_number is None:
        incident.case_number = await repo.allocate_case_number(incident.company_id, incident.site_id, year)
        incident.case_year = year


def _apply(incident: Incident, values: dict[str, Any]) -> None:
    for name, value in values.items():
        setattr(incident, name, value)


async def create(session: AsyncSession, principal: Principal, body: IncidentIn) -> Incident:
    repo = IncidentRepository.from_session(session)
    site = await _site(repo, principal.company_id, body.site_id)
    sent = set(body.model_fields_set)
    if body.detection_id is not None:
        detection = await repo.detection(principal.company_id, body.detection_id)
        if detection is None:
            raise _invalid("detection_id", f"no detection {body.detection_id} in your company")
        if await repo.for_detection(principal.company_id, detection.id) is not None:
            raise Conflict(f"Detection {detection.id} already has an incident.", code="incident_exists")
    incident = Incident(company_id=principal.company_id, created_by=actor(principal))
    _apply(incident, body.model_dump())
    await _check_refs(repo, principal.company_id, incident, sent)
    _place_in_time(incident, site, sent)
    await _decide(repo, incident)
    session.add(incident)
    await session.flush()
    await events.confirmed(session, incident)
    await sync.after_change(session, incident)
    return incident


async def update(
    session: AsyncSession, principal: Principal, incident_id: int, body: IncidentPatch
) -> Incident:
    repo = IncidentRepository.from_session(session)
    incident = await repo.lock(principal.company_id, incident_id)
    if incident is None:
        raise NotFound(f"No incident {incident_id} in your company.")
    site = await _site(repo, principal.company_id, incident.site_id)
    sent = set(body.model_fields_set)
    before = events.state(incident)
    _apply(incident, body.model_dump(include=sent))
    if "occurred_at" in sent and body.occurred_at is not None and "time_unknown" not in sent:
        incident.time_unknown = False
    await _check_refs(repo, principal.company_id, incident, sent)
    _place_in_time(incident, site, sent)
    await _decide(repo, incident)
    await session.flush()
    await events.updated(session, incident, before)
    await sync.after_change(session, incident)
    return incident


async def get(session: AsyncSession, company_id: int, incident_id: int) -> Incident:
    incident = await IncidentRepository.from_session(session).get(company_id, incident_id)
    if incident is None:
        raise NotFound(f"No incident {incident_id} in your company.")
    return incident


async def from_detection(session: AsyncSession, detection: Detection, by: str) -> Incident:
    """The incident draft of a confirmed injury event, linked to it (once: a second
    confirmation returns the same incident). The draft is not recordable until someone
    records the injury's outcome."""
    repo = IncidentRepository.from_session(session)
    existing = await repo.for_detection(detection.company_id, detection.id)
    if existing is not None:
        return existing
    site = await repo.site(detection.company_id, detection.site_id)
    assert site is not None  # a detection's site is the company's (foreign key, same company)
    zone = await repo.zone(detection.company_id, detection.zone_id) if detection.zone_id else None
    worker = await repo.worker(detection.company_id, detection.worker_id) if detection.worker_id else None
    kind = str(detection.type).replace("_", " ")
    values = {
        **IncidentFields().model_dump(),
        "company_id": detection.company_id,
        "site_id": detection.site_id,
        "zone_id": detection.zone_id,
        "detection_id": detection.id,
        "occurred_at": detection.occurred_at,
        "occurred_on": detection.occurred_at.astimezone(zone_of(site.time_zone)).date(),
        "location": zone.name if zone else site.name,
        "description": detection.description or f"{kind.capitalize()} reported by {detection.source}.",
        "worker_id": worker.id if worker else None,
        "employee_name": worker.name if worker else None,
        "job_title": (worker.title or worker.trade or "") if worker else "",
        "created_by": by,
    }
    incident = Incident(**values)
    await _decide(repo, incident)
    session.add(incident)
    await session.flush()
    await events.confirmed(session, incident)
    await sync.after_change(session, incident)
    return incident


async def on_confirmed(
    session: AsyncSession, detection: Detection, principal: Principal, note: str | None
) -> None:
    """Safety's confirm hook: confirming an injury event (a fall, a self-report) creates its
    incident draft in the same transaction."""
    if detection.type in INJURY_TYPES:
        await from_detection(session, detection, actor(principal))


if on_confirmed not in safety_service.CONFIRM_HOOKS:
    safety_service.CONFIRM_HOOKS.append(on_confirmed)


def establishment(site: SafetySite, company_name: str | None) -> Establishment:
    return Establishment(
        name=site.establishment_name or site.name,
        street=site.street_address,
        city=site.city,
        state=site.state,
        zip=site.zip,
        naics_code=site.naics_code,
        industry_description=site.industry_description,
        ein=site.ein,
        company_name=company_name,
        establishment_type=site.establishment_type or 1,
        annual_average_employees=site.annual_average_employees,
        total_hours_worked=site.total_hours_worked,
    )


def case(incident: Incident, site_zone: ZoneInfo) -> Case:
    """A recordable incident as the forms print it (times on the site's clock)."""
    assert incident.case_number is not None
    assert incident.outcome is not None
    local = incident.occurred_at.astimezone(site_zone) if incident.occurred_at else None
    return Case(
        incident_id=incident.id,
        case_number=incident.case_number,
        employee_name=incident.employee_name,
        privacy_case=incident.privacy_case,
        job_title=incident.job_title,
        occurred_on=incident.occurred_on,
        location=incident.location,
        description=column_f(
            incident.nature, incident.body_part, incident.object_substance, incident.description
        ),
        outcome=Outcome(incident.outcome),
        case_type=CaseType(incident.case_type),
        days_away=incident.days_away,
        days_restricted=incident.days_restricted,
        time_of_event=local.time().replace(second=0, microsecond=0) if local else None,
        time_unknown=incident.time_unknown or local is None,
        time_began_work=incident.time_began_work,
        date_of_birth=incident.date_of_birth,
        date_hired=incident.date_hired,
        sex=incident.sex,
        treated_in_emergency_room=incident.treated_in_emergency_room,
        hospitalized_overnight=incident.hospitalized_overnight,
        before_incident=incident.before_incident,
        what_happened=incident.what_happened or incident.description,
        injury_illness=column_f(incident.nature, incident.body_part, "", ""),
        object_substance=incident.object_substance,
        date_of_death=incident.date_of_death,
    )


async def year_log(
    session: AsyncSession, company_id: int, site_id: int, year: int
) -> tuple[SafetySite, Establishment, list[Case], list[int]]:
    """A site's log for a year: the establishment, its recordable cases, and the case numbers
    given and later lined out (no longer recordable)."""
    repo = IncidentRepository.from_session(session)
    site = await repo.site(company_id, site_id)
    if site is None:
        raise NotFound(f"No safety site {site_id} in your company.")
    company = await repo.company(company_id)
    numbered = await repo.numbered(company_id, site_id, year)
    tz = zone_of(site.time_zone)
    cases = [case(i, tz) for i in numbered if i.recordable]
    lined_out = [i.case_number for i in numbered if not i.recordable and i.case_number is not None]
    return site, establishment(site, company.name if company else None), cases, lined_out


def local_now_year(site: SafetySite, now: datetime) -> int:
    return now.astimezone(zone_of(site.time_zone)).year


def today_at(site: SafetySite, now: datetime) -> date:
    return now.astimezone(zone_of(site.time_zone)).date()
