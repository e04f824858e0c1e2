"""The OSHA forms as data: the 300 log, the 300A summary, the 301 report and the ITA CSV files.

Pure functions over `Case` and `Establishment` values (the service builds them from rows), so
every column, total and code is tested without a database. Pages and the API render these.
"""

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, time

from fieldbridge.incidents.osha import (
    OUTCOME_CODE,
    OUTCOME_COLUMN,
    PRIVACY_NAME,
    TYPE_CODE,
    CaseType,
    Outcome,
    establishment_size,
    log_days,
)
from fieldbridge.kit.csvsafe import Cell, CsvWriter

# OSHA ITA "case data" CSV (300/301): 24 columns, in this order.
ITA_CASE_HEADER: tuple[str, ...] = (
    "establishment_name",
    "year_of_filing",
    "case_number",
    "job_title",
    "date_of_incident",
    "incident_location",
    "incident_description",
    "incident_outcome",
    "dafw_num_away",
    "djtr_num_tr",
    "type_of_incident",
    "date_of_birth",
    "date_of_hire",
    "sex",
    "treatment_facility_type",
    "treatment_in_patient",
    "time_started_work",
    "time_of_incident",
    "time_unknown",
    "nar_before_incident",
    "nar_what_happened",
    "nar_injury_illness",
    "nar_object_substance",
    "date_of_death",
)
# OSHA ITA establishment + 300A summary CSV: 28 columns, in this order.
ITA_SUMMARY_HEADER: tuple[str, ...] = (
    "establishment_name",
    "ein",
    "company_name",
    "street_address",
    "city",
    "state",
    "zip",
    "naics_code",
    "industry_description",
    "size",
    "establishment_type",
    "year_filing_for",
    "annual_average_employees",
    "total_hours_worked",
    "no_injuries_illnesses",
    "total_deaths",
    "total_dafw_cases",
    "total_djtr_cases",
    "total_other_cases",
    "total_dafw_days",
    "total_djtr_days",
    "total_injuries",
    "total_skin_disorders",
    "total_respiratory_conditions",
    "total_poisonings",
    "total_hearing_loss",
    "total_other_illnesses",
    "change_reason",
)


@dataclass(frozen=True)
class Establishment:
    """The OSHA establishment (a safety site) and its numbers for one year."""

    name: str
    street: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = None
    naics_code: str | None = None
    industry_description: str | None = None
    ein: str | None = None
    company_name: str | None = None
    establishment_type: int = 1  # 1 not a government entity, 2 state, 3 local government
    annual_average_employees: int | None = None
    total_hours_worked: int | None = None


@dataclass(frozen=True)
class Case:
    """One recordable case with what the 300, 301 and ITA files print."""

    incident_id: int
    case_number: int
    employee_name: str | None
    privacy_case: bool
    job_title: str
    occurred_on: date
    location: str
    description: str  # column F
    outcome: Outcome
    case_type: CaseType
    days_away: int = 0
    days_restricted: int = 0
    time_of_event: time | None = None  # local wall time; None with time_unknown
    time_unknown: bool = False
    time_began_work: time | None = None
    date_of_birth: date | None = None
    date_hired: date | None = None
    sex: str | None = None
    treated_in_emergency_room: bool | None = None
    hospitalized_overnight: bool | None = None
    before_incident: str = ""
    what_happened: str = ""
    injury_illness: str = ""
    object_substance: str = ""
    date_of_death: date | None = None
    extra_301: dict[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class LogRow:
    case_number: int
    name: str  # the employee, or "Privacy Case"
    job_title: str
    date: str  # mo./day
    where: str
    description: str
    outcome: Outcome
    days_away: int  # K
    days_restricted: int  # L
    case_type: CaseType
    incident_id: int

    @property
    def column(self) -> str:
        return OUTCOME_COLUMN[self.outcome]


@dataclass(frozen=True)
class Totals:
    """The totals row of the 300 log, which is also the body of the 300A."""

    deaths: int = 0  # G
    days_away_cases: int = 0  # H
    restricted_cases: int = 0  # I
    other_cases: int = 0  # J
    days_away: int = 0  # K
    days_restricted: int = 0  # L
    by_type: dict[CaseType, int] = field(default_factory=lambda: dict.fromkeys(CaseType, 0))  # M1-M6

    @property
    def cases(self) -> int:
        return self.deaths + self.days_away_cases + self.restricted_cases + self.other_cases


@dataclass(frozen=True)
class Summary300A:
    year: int
    establishment: Establishment
    totals: Totals

    @property
    def size(self) -> int | None:
        return establishment_size(self.establishment.annual_average_employees)


def column_f(nature: str, body_part: str, object_substance: str, description: str) -> str:
    """Column F: the injury or illness, the parts of the body, and what caused it."""
    parts = [p.strip() for p in (nature, body_part) if p and p.strip()]
    text = ", ".join(parts)
    if object_substance.strip():
        text = f"{text} from {object_substance.strip()}" if text else object_substance.strip()
    return text or description.strip()


def log_row(case: Case) -> LogRow:
    away, restricted = log_days(case.days_away, case.days_restricted)
    return LogRow(
        case_number=case.case_number,
        name=PRIVACY_NAME if case.privacy_case else (case.employee_name or ""),
        job_title=case.job_title,
        date=f"{case.occurred_on.month:02d}/{case.occurred_on.day:02d}",
        where=case.location,
        description=case.description,
        outcome=case.outcome,
        days_away=away,
        days_restricted=restricted,
        case_type=case.case_type,
        incident_id=case.incident_id,
    )


def log_rows(cases: Iterable[Case]) -> list[LogRow]:
    return [log_row(c) for c in sorted(cases, key=lambda c: c.case_number)]


def totals(rows: Iterable[LogRow]) -> Totals:
    counts = dict.fromkeys(Outcome, 0)
    by_type = dict.fromkeys(CaseType, 0)
    away = restricted = 0
    for row in rows:
        counts[row.outcome] += 1
        by_type[row.case_type] += 1
        away += row.days_away
        restricted += row.days_restricted
    return Totals(
        deaths=counts[Outcome.death],
        days_away_cases=counts[Outcome.days_away],
        restricted_cases=counts[Outcome.job_transfer_restriction],
        other_cases=counts[Outcome.other_recordable],
        days_away=away,
        days_restricted=restricted,
        by_type=by_type,
    )


def summary(year: int, establishment: Establishment, cases: Sequence[Case]) -> Summary300A:
    return Summary300A(year, establishment, totals(log_rows(cases)))


def _mdy(value: date | None) -> str | None:
    return value.strftime("%m/%d/%Y") if value is not None else None


def _hm(value: time | None) -> str | None:
    return value.strftime("%H:%M") if value is not None else None


def _flag(value: bool | None) -> int | None:
    return None if value is None else int(value)


def ita_case_row(establishment: Establishment, year: int, case: Case) -> list[Cell]:
    """One case as the ITA case-data CSV wants it. No name, address, physician or facility."""
    away, restricted = log_days(case.days_away, case.days_restricted)
    return [
        establishment.name,
        year,
        str(case.case_number),
        case.job_title,
        _mdy(case.occurred_on),
        case.location,
        case.description,
        OUTCOME_CODE[case.outcome],
        away,
        restricted,
        TYPE_CODE[case.case_type],
        _mdy(case.date_of_birth),
        _mdy(case.date_hired),
        case.sex,
        _flag(case.treated_in_emergency_room),
        _flag(case.hospitalized_overnight),
        _hm(case.time_began_work),
        None if case.time_unknown else _hm(case.time_of_event),
        1 if case.time_unknown else None,
        case.before_incident,
        case.what_happened,
        case.injury_illness,
        case.object_substance,
        _mdy(case.date_of_death) if case.outcome is Outcome.death else None,
    ]


def ita_summary_row(summary: Summary300A, change_reason: str | None = None) -> list[Cell]:
    e, t = summary.establishment, summary.totals
    return [
        e.name,
        e.ein,
        e.company_name,
        e.street,
        e.city,
        e.state,
        e.zip,
        e.naics_code,
        e.industry_description,
        summary.size,
        e.establishment_type,
        summary.year,
        e.annual_average_employees,
        e.total_hours_worked,
        1 if t.cases > 0 else 2,
        t.deaths,
        t.days_away_cases,
        t.restricted_cases,
        t.other_cases,
        t.days_away,
        t.days_restricted,
        t.by_type[CaseType.injury],
        t.by_type[CaseType.skin_disorder],
        t.by_type[CaseType.respiratory_condition],
        t.by_type[CaseType.poisoning],
        t.by_type[CaseType.hearing_loss],
        t.by_type[CaseType.other_illness],
        change_reason,
    ]


def ita_case_csv(establishment: Establishment, year: int, cases: Sequence[Case]) -> Iterator[str]:
    rows = (ita_case_row(establishment, year, c) for c in sorted(cases, key=lambda c: c.case_number))
    return CsvWriter().chunks(ITA_CASE_HEADER, rows)


def ita_summary_csv(summaries: Sequence[Summary300A], change_reason: str | None = None) -> Iterator[str]:
    return CsvWriter().chunks(ITA_SUMMARY_HEADER, (ita_summary_row(s, change_reason) for s in summaries))


def missing_for_ita(summary: Summary300A) -> list[str]:
    """Fields the ITA requires that the establishment does not have yet (the export names them)."""
    e = summary.establishment
    required = {
        "street_address": e.street,
        "city": e.city,
        "state": e.state,
        "zip": e.zip,
        "naics_code": e.naics_code,
        "annual_average_employees": e.annual_average_employees,
        "total_hours_worked": e.total_hours_worked,
    }
    return [name for name, value in required.items() if value in (None, "")]
