"""Pydantic I/O of the incidents and OSHA API."""

from datetime import UTC, date, datetime, time
from typing import Annotated, Any, Literal

from fastapi import Path
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, JsonValue

from fieldbridge.incidents.osha import MAX_COUNTED_DAYS, CaseType, Outcome, PrivacyReason, Treatment

MAX_ID = 2**63 - 1
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def _plausible(value: datetime) -> datetime:
    if not EARLIEST <= value <= LATEST:
        raise ValueError("must be between 2000 and 2100")
    return value.astimezone(UTC)


def _plausible_day(value: date) -> date:
    if not EARLIEST.date() <= value <= LATEST.date():
        raise ValueError("must be between 2000-01-01 and 2100-01-01")
    return value


def _born(value: date) -> date:
    if not date(1900, 1, 1) <= value <= LATEST.date():
        raise ValueError("must be between 1900-01-01 and 2100-01-01")
    return value


When = Annotated[AwareDatetime, AfterValidator(_plausible)]
Day = Annotated[date, AfterValidator(_plausible_day)]
Born = Annotated[date, AfterValidator(_born)]
Days = Annotated[
    int,
    Field(ge=0, le=MAX_COUNTED_DAYS, description="calendar days from the day after; counting stops at 180"),
]
Text = Annotated[str, Field(max_length=5000)]
Short = Annotated[str, Field(max_length=200)]


class IncidentFields(BaseModel):
    """Everything about an incident a person can set. On PATCH, only the fields sent change."""

    model_config = ConfigDict(extra="forbid")

    zone_id: Id | None = None
    occurred_at: When | None = Field(
        default=None, description="when it happened, with its offset; leave out if the time is unknown"
    )
    occurred_on: Day | None = Field(
        default=None, description="the local date at the site; required when occurred_at is left out"
    )
    time_unknown: bool = Field(default=False, description="Form 301 (13): the time cannot be determined")
    location: Short = ""
    description: Text = ""
    worker_id: Id | None = Field(default=None, description="the injured worker (a worker of your company)")
    employee_name: Short | None = Field(
        default=None, description="the name, when the person has no worker record"
    )
    job_title: Annotated[str, Field(max_length=120)] = ""
    case_type: CaseType = CaseType.injury
    body_part: Annotated[str, Field(max_length=120)] = ""
    nature: Short = ""
    treatment: Treatment = Field(
        default=Treatment.none,
        description="first aid is the closed list of 1904.7(b)(5)(ii); beyond it is medical",
    )
    treatment_notes: Text = ""
    work_related: bool = True
    new_case: bool = True
    died: bool = False
    days_away: Days = 0
    days_restricted: Days = 0
    loss_of_consciousness: bool = False
    significant_diagnosed: bool = Field(
        default=False,
        description="cancer, chronic irreversible disease, fracture, punctured eardrum (1904.7(b)(7))",
    )
    contaminated_sharps: bool = False
    medical_removal: bool = False
    hearing_loss_sts: bool = False
    tuberculosis: bool = False
    privacy_case: bool = False
    privacy_reason: PrivacyReason | None = None
    employee_address: Text = ""
    date_of_birth: Born | None = None
    date_hired: Born | None = None
    sex: Literal["M", "F", "X"] | None = None
    physician_name: Short = ""
    treatment_facility: Text = ""
    treated_in_emergency_room: bool | None = None
    hospitalized_overnight: bool | None = None
    time_began_work: time | None = None
    before_incident: Text = ""
    what_happened: Text = ""
    object_substance: Text = ""
    date_of_death: Day | None = None
    completed_by: Short = ""
    completed_title: Annotated[str, Field(max_length=120)] = ""
    completed_phone: Annotated[str, Field(max_length=40)] = ""


INCIDENT_EXAMPLE: dict[str, JsonValue] = {
    "site_id": 1,
    "zone_id": 2,
    "occurred_at": "2026-03-09T09:05:00-06:00",
    "location": "Level 2, east stair",
    "description": "Slipped on the wet stair and cut the left hand on the rail bracket.",
    "worker_id": 7,
    "case_type": "injury",
    "body_part": "left hand",
    "nature": "laceration",
    "treatment": "medical_treatment",
    "treatment_notes": "four sutures at the urgent care",
    "days_restricted": 3,
    "what_happened": "Slipped on the wet stair; the hand hit the rail bracket.",
    "object_substance": "rail bracket",
}


class IncidentIn(IncidentFields):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [INCIDENT_EXAMPLE]})

    site_id: Id
    detection_id: Id | None = Field(default=None, description="the safety detection this incident came from")


class IncidentPatch(IncidentFields):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"treatment": "medical_treatment", "days_away": 2}]},
    )


class IncidentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    site_id: int
    zone_id: int | None
    detection_id: int | None
    occurred_on: date
    occurred_at: datetime | None
    time_unknown: bool
    location: str
    description: str
    worker_id: int | None
    employee_name: str | None = Field(description="withheld on privacy cases without incidents:write")
    job_title: str
    case_type: CaseType
    body_part: str
    nature: str
    treatment: Treatment
    treatment_notes: str
    work_related: bool
    new_case: bool
    died: bool
    days_away: int
    days_restricted: int
    loss_of_consciousness: bool
    significant_diagnosed: bool
    contaminated_sharps: bool
    medical_removal: bool
    hearing_loss_sts: bool
    tuberculosis: bool
    privacy_case: bool
    privacy_reason: PrivacyReason | None
    recordable: bool
    recordability_basis: str
    outcome: Outcome | None
    case_number: int | None
    case_year: int | None
    employee_address: str
    date_of_birth: date | None
    date_hired: date | None
    sex: str | None
    physician_name: str
    treatment_facility: str
    treated_in_emergency_room: bool | None
    hospitalized_overnight: bool | None
    time_began_work: time | None
    before_incident: str
    what_happened: str
    object_substance: str
    date_of_death: date | None
    completed_by: str
    completed_title: str
    completed_phone: str
    created_by: str
    created_at: datetime
    updated_at: datetime
    disposition: str | None = Field(description="the injury's disposition on the linked platform (two-way)")
    remote_status: str | None = Field(description="the record's status on the linked platform (two-way)")
    sync_version: int = Field(description="the version last sent to the linked platforms (0: never sent)")


class IncidentRemoteOut(BaseModel):
    """The incident as delivered through one connection."""

    connection_id: int
    provider: str
    remote_project_id: str
    remote_id: str | None = Field(description="the platform's record id (a string); null until delivered")
    remote_version: str | None
    url: str | None = Field(description="the record's page on the platform, when the connector knows it")
    synced: dict[str, Any] = Field(description="two-way field -> the value both sides last agreed on")
    pulled_at: datetime | None


class IncidentConflictOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    connection_id: int
    field: str
    ours: str | None = Field(description="FieldBridge's value when the conflict was found")
    theirs: str | None = Field(description="the platform's value")
    kept: str = Field(description="whose value stands: fieldbridge or remote (the field's owner)")
    detected_at: datetime


class IncidentSyncOut(BaseModel):
    """Two-way sync of one incident: where it went, who owns which field, and the conflicts."""

    incident_id: int
    sync_version: int
    owners: dict[str, str] = Field(description="two-way field -> its owner (fieldbridge or remote)")
    remotes: list[IncidentRemoteOut]
    conflicts: list[IncidentConflictOut]


class EstablishmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    street: str | None
    city: str | None
    state: str | None
    zip: str | None
    naics_code: str | None
    industry_description: str | None
    ein: str | None
    company_name: str | None
    establishment_type: int
    annual_average_employees: int | None
    total_hours_worked: int | None


class LogRowOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    case_number: int
    name: str = Field(description='the employee, or "Privacy Case" (1904.29(b)(6))')
    job_title: str
    date: str
    where: str
    description: str
    outcome: Outcome
    column: str = Field(description="the one checked box of G-J")
    days_away: int
    days_restricted: int
    case_type: CaseType
    incident_id: int


class TotalsOut(BaseModel):
    deaths: int
    days_away_cases: int
    restricted_cases: int
    other_cases: int
    days_away: int
    days_restricted: int
    injuries: int
    skin_disorders: int
    respiratory_conditions: int
    poisonings: int
    hearing_loss: int
    other_illnesses: int


class Log300Out(BaseModel):
    site_id: int
    year: int
    establishment: EstablishmentOut
    rows: list[LogRowOut]
    lined_out: list[int] = Field(description="case numbers given and later found not recordable")
    totals: TotalsOut


class Summary300AOut(BaseModel):
    site_id: int
    year: int
    establishment: EstablishmentOut
    totals: TotalsOut
    size: int | None = Field(description="ITA size code: 1 <20, 21 20-99, 22 100-249, 3 250+")
    missing_for_ita: list[str] = Field(description="establishment fields the ITA needs that are still empty")


class PrivacyListEntry(BaseModel):
    """One line of the confidential list of privacy cases (1904.29(b)(6))."""

    case_number: int
    employee_name: str | None
    incident_id: int
