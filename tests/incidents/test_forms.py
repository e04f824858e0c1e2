"""The 300 log, 300A totals and the ITA CSV files against the documented columns and codes."""

import csv
import io
from datetime import date, time

from fieldbridge.incidents.forms import (
    ITA_CASE_HEADER,
    ITA_SUMMARY_HEADER,
    Case,
    Establishment,
    column_f,
    ita_case_csv,
    ita_summary_csv,
    log_rows,
    missing_for_ita,
    summary,
)
from fieldbridge.incidents.osha import CaseType, Outcome

# The documented column lists (docs: OSHA ITA CSV, case data and establishment + 300A summary).
DOCUMENTED_CASE = (
    "establishment_name,year_of_filing,case_number,job_title,date_of_incident,incident_location,"
    "incident_description,incident_outcome,dafw_num_away,djtr_num_tr,type_of_incident,date_of_birth,"
    "date_of_hire,sex,treatment_facility_type,treatment_in_patient,time_started_work,time_of_incident,"
    "time_unknown,nar_before_incident,nar_what_happened,nar_injury_illness,nar_object_substance,date_of_death"
)
DOCUMENTED_SUMMARY = (
    "establishment_name,ein,company_name,street_address,city,state,zip,naics_code,industry_description,"
    "size,establishment_type,year_filing_for,annual_average_employees,total_hours_worked,"
    "no_injuries_illnesses,total_deaths,total_dafw_cases,total_djtr_cases,total_other_cases,"
    "total_dafw_days,total_djtr_days,total_injuries,total_skin_disorders,total_respiratory_conditions,"
    "total_poisonings,total_hearing_loss,total_other_illnesses,change_reason"
)

SITE = Establishment(
    name="Tower A",
    street="1 Main St",
    city="Denver",
    state="CO",
    zip="08002",
    naics_code="236220",
    ein="123456789",
    company_name="Acme Builders",
    annual_average_employees=120,
    total_hours_worked=240000,
)


def _case(n: int, **kw: object) -> Case:
    base: dict[str, object] = {
        "incident_id": 100 + n,
        "case_number": n,
        "employee_name": f"Worker {n}",
        "privacy_case": False,
        "job_title": "Carpenter",
        "occurred_on": date(2026, 3, 9),
        "location": "Level 2 east",
        "description": "Laceration, left hand from saw blade",
        "outcome": Outcome.other_recordable,
        "case_type": CaseType.injury,
    }
    base.update(kw)
    return Case(**base)  # type: ignore[arg-type]


def _parse(chunks: object) -> list[list[str]]:
    text = "".join(chunks)  # type: ignore[call-overload]
    return list(csv.reader(io.StringIO(text)))


def test_header_lists_are_the_documented_ones_in_order() -> None:
    assert ",".join(ITA_CASE_HEADER) == DOCUMENTED_CASE
    assert len(ITA_CASE_HEADER) == 24
    assert ",".join(ITA_SUMMARY_HEADER) == DOCUMENTED_SUMMARY
    assert len(ITA_SUMMARY_HEADER) == 28


def test_privacy_case_prints_privacy_case_not_the_name() -> None:
    rows = log_rows([_case(2, privacy_case=True, employee_name="Jane Roe"), _case(1)])
    assert [r.case_number for r in rows] == [1, 2]
    assert rows[0].name == "Worker 1"
    assert rows[1].name == "Privacy Case"
    assert all("Jane Roe" not in str(v) for v in vars(rows[1]).values())
    assert rows[0].date == "03/09"


def test_totals_of_g_to_m6_and_days() -> None:
    cases = [
        _case(1, outcome=Outcome.death, date_of_death=date(2026, 3, 10)),
        _case(2, outcome=Outcome.days_away, days_away=12, days_restricted=3),
        _case(3, outcome=Outcome.days_away, days_away=170, days_restricted=30),  # capped to 180 in total
        _case(
            4, outcome=Outcome.job_transfer_restriction, days_restricted=7, case_type=CaseType.skin_disorder
        ),
        _case(5, case_type=CaseType.hearing_loss),
        _case(6, case_type=CaseType.respiratory_condition),
    ]
    result = summary(2026, SITE, cases)
    t = result.totals
    assert (t.deaths, t.days_away_cases, t.restricted_cases, t.other_cases) == (1, 2, 1, 2)
    assert t.days_away == 12 + 170
    assert t.days_restricted == 3 + 10 + 7
    assert t.by_type[CaseType.injury] == 3
    assert t.by_type[CaseType.skin_disorder] == 1
    assert t.by_type[CaseType.hearing_loss] == 1
    assert t.by_type[CaseType.respiratory_condition] == 1
    assert t.cases == sum(t.by_type.values()) == 6  # G+H+I+J == M1+...+M6
    assert result.size == 22


def test_ita_case_csv_columns_and_codes() -> None:
    cases = [
        _case(
            1,
            outcome=Outcome.death,
            case_type=CaseType.poisoning,
            date_of_death=date(2026, 3, 11),
            time_of_event=time(9, 5),
            time_began_work=time(7, 0),
            date_of_birth=date(1980, 1, 2),
            date_hired=date(2020, 6, 1),
            sex="M",
            treated_in_emergency_room=True,
            hospitalized_overnight=False,
            before_incident="Cutting rebar",
            what_happened='=HYPERLINK("http://x")',
            injury_illness="Inhaled fumes",
            object_substance="Solvent",
        ),
        _case(2, outcome=Outcome.days_away, days_away=4, time_unknown=True, time_of_event=time(3, 0)),
        _case(
            3, outcome=Outcome.job_transfer_restriction, days_restricted=2, case_type=CaseType.other_illness
        ),
    ]
    header, *rows = _parse(ita_case_csv(SITE, 2026, cases))
    assert tuple(header) == ITA_CASE_HEADER
    by = [dict(zip(header, row, strict=True)) for row in rows]
    first, second, third = by
    assert first["case_number"] == "1"
    assert first["year_of_filing"] == "2026"
    assert first["date_of_incident"] == "03/09/2026"
    assert first["incident_outcome"] == "1"
    assert first["type_of_incident"] == "4"
    assert first["date_of_death"] == "03/11/2026"
    assert first["treatment_facility_type"] == "1"
    assert first["treatment_in_patient"] == "0"
    assert first["time_started_work"] == "07:00"
    assert first["time_of_incident"] == "09:05"
    assert first["time_unknown"] == ""
    assert first["date_of_birth"] == "01/02/1980"
    assert first["nar_what_happened"].startswith("'=")  # formula injection made harmless
    assert second["incident_outcome"] == "2"
    assert second["dafw_num_away"] == "4"
    assert second["time_of_incident"] == ""
    assert second["time_unknown"] == "1"
    assert second["date_of_death"] == ""
    assert second["treatment_facility_type"] == ""
    assert third["incident_outcome"] == "3"
    assert third["djtr_num_tr"] == "2"
    assert third["type_of_incident"] == "6"
    # names never leave in the ITA file
    assert not any("Worker" in cell for row in rows for cell in row)


def test_ita_summary_csv_columns_and_codes() -> None:
    header, row = _parse(
        ita_summary_csv([summary(2026, SITE, [_case(1, outcome=Outcome.days_away, days_away=3)])])
    )
    assert tuple(header) == ITA_SUMMARY_HEADER
    got = dict(zip(header, row, strict=True))
    assert got["zip"] == "08002"  # leading zero kept
    assert got["size"] == "22"
    assert got["establishment_type"] == "1"
    assert got["year_filing_for"] == "2026"
    assert got["no_injuries_illnesses"] == "1"
    assert got["total_dafw_cases"] == "1"
    assert got["total_dafw_days"] == "3"
    assert got["total_deaths"] == "0"  # 0, not blank
    assert got["total_injuries"] == "1"
    assert got["change_reason"] == ""
    _, empty = _parse(ita_summary_csv([summary(2026, SITE, [])]))
    assert dict(zip(header, empty, strict=True))["no_injuries_illnesses"] == "2"


def test_missing_establishment_fields_are_named() -> None:
    bare = summary(2026, Establishment(name="Yard"), [])
    assert missing_for_ita(bare) == [
        "street_address",
        "city",
        "state",
        "zip",
        "naics_code",
        "annual_average_employees",
        "total_hours_worked",
    ]
    assert missing_for_ita(summary(2026, SITE, [])) == []


def test_column_f() -> None:
    assert column_f("Second degree burns", "right forearm", "acetylene torch", "") == (
        "Second degree burns, right forearm from acetylene torch"
    )
    assert column_f("", "", "", "Fell from ladder") == "Fell from ladder"
