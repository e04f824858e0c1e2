"""The time half against the references: which forms take `datetime`, time type fields, and the
response types (strings vs integers, objects vs scalars) of every timecard response."""

from __future__ import annotations

from typing import Any

import httpx

from fieldbridge_sandbox.state import SandboxState
from fieldbridge_sandbox.validation import load_operations

from .conftest import Demo

DAY = "2025-02-03"


def _entry(state: SandboxState, demo: Demo, **extra: Any) -> dict[str, Any]:
    return {"hours": "8", "date": DAY, "party_id": demo.person_ids(state, demo.project_id)[0], **extra}


async def test_company_create_accepts_date_with_datetime_as_procore_does(
    client: httpx.AsyncClient, demo: Demo, headers: dict[str, str], state: SandboxState
) -> None:
    """Only the project form documents `datetime` (mutually exclusive with `date`); the company
    form has no `datetime` and takes both, as propycore sends them."""
    body = {
        "project_id": demo.project_id,
        "timecard_entry": _entry(state, demo, datetime=f"{DAY}T12:00:00Z"),
    }
    company = await client.post(
        f"/rest/v1.0/companies/{demo.company_id}/timecard_entries", json=body, headers=headers
    )
    assert company.status_code == 201, company.text
    assert company.json()["date"] == DAY
    entry_id = company.json()["id"]
    updated = await client.patch(
        f"/rest/v1.0/companies/{demo.company_id}/timecard_entries/{entry_id}",
        json={
            "project_id": demo.project_id,
            "timecard_entry": {"date": DAY, "datetime": "2025-02-09T12:00:00Z"},
        },
        headers=headers,
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["date"] == DAY  # `datetime` is not a field of this form

    project = await client.post(
        f"/rest/v1.0/projects/{demo.project_id}/timecard_entries",
        json={"timecard_entry": _entry(state, demo, datetime=f"{DAY}T12:00:00Z")},
        headers=headers,
    )
    assert project.status_code == 400, project.text  # documented 400, no 422
    assert project.json()["errors"]["date"] == ["is mutually exclusive with datetime"]


def _mismatches(schema: dict[str, Any], value: Any, path: str = "") -> list[str]:
    """Where `value` departs from a response schema of procore-operations.json: a wrong JSON
    type, or a documented field that is missing. `null` is accepted anywhere (the references
    mark nothing non-nullable); "(nested object)" placeholders say nothing and are skipped."""
    if value is None or not schema or schema.get("description") == "(nested object)":
        return []
    kind = schema.get("type") or ("object" if "properties" in schema else None)
    ok = {
        "object": isinstance(value, dict),
        "array": isinstance(value, list),
        "string": isinstance(value, str),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, int | float) and not isinstance(value, bool),
        "boolean": isinstance(value, bool),
    }.get(kind or "", True)
    if not ok:
        return [f"{path or '.'}: {kind} expected, got {type(value).__name__} {value!r:.40}"]
    out: list[str] = []
    if isinstance(value, dict):
        for name, sub in (schema.get("properties") or {}).items():
            if "%" in name:
                continue
            if name not in value:
                out.append(f"{path}.{name}: missing")
            else:
                out += _mismatches(sub, value[name], f"{path}.{name}")
    if isinstance(value, list):
        for n, item in enumerate(value[:3]):
            out += _mismatches(schema.get("items") or {}, item, f"{path}[{n}]")
    return out


async def test_time_responses_match_the_documented_types(
    client: httpx.AsyncClient, demo: Demo, headers: dict[str, str], state: SandboxState
) -> None:
    """Every time-half response with a schema in procore-operations.json, walked field by field."""
    project = f"/rest/v1.0/projects/{demo.project_id}"
    company = f"/rest/v1.0/companies/{demo.company_id}"
    sheet = await client.post(f"{project}/timesheets", json={"timesheet": {"date": DAY}}, headers=headers)
    party = demo.person_ids(state, demo.project_id)[0]
    crew = await client.post(
        f"{project}/crews", json={"crew": {"name": "Framers", "lead_party_id": party}}, headers=headers
    )
    code = next(c for c in state.store["cost_codes"].by(demo.project_id) if c["parent_id"])
    sub_job = next(iter(state.store["sub_jobs"].by(demo.project_id)))
    entry = _entry(
        state,
        demo,
        timesheet_id=sheet.json()["id"],
        cost_code_id=code["id"],
        sub_job_id=sub_job["id"],
        origin_id=7,
        origin_data="fb:1",
    )
    created = await client.post(
        f"{project}/timecard_entries", json={"timecard_entry": entry}, headers=headers
    )
    assert created.status_code == 201, created.text
    bulk_entry = {
        **_entry(state, demo),
        "project_id": demo.project_id,
        "hours": 4,
        "crew_id": crew.json()["id"],
    }
    window = {"start_date": DAY, "end_date": DAY}
    calls = {
        ("GET", "/rest/v1.0/projects/{project_id}/timecard_entries"): client.get(
            f"{project}/timecard_entries", params={"log_date": DAY}, headers=headers
        ),
        ("GET", "/rest/v1.0/companies/{company_id}/timecard_entries"): client.get(
            f"{company}/timecard_entries", params=window, headers=headers
        ),
        ("POST", "/rest/v1.0/companies/{company_id}/timesheets"): client.post(
            f"{company}/timesheets", json={"timecard_entries": [bulk_entry]}, headers=headers
        ),
        ("GET", "/rest/v1.0/companies/{company_id}/timesheets"): client.get(
            f"{company}/timesheets", params=window, headers=headers
        ),
        ("GET", "/rest/v1.0/projects/{project_id}/timesheets"): client.get(
            f"{project}/timesheets", headers=headers
        ),
        ("GET", "/rest/v1.0/projects/{project_id}/crews"): client.get(f"{project}/crews", headers=headers),
        ("GET", "/rest/v1.0/timecard_time_types"): client.get(
            "/rest/v1.0/timecard_time_types", params={"project_id": demo.project_id}, headers=headers
        ),
        ("GET", "/rest/v1.0/companies/{company_id}/timecard_time_types"): client.get(
            f"{company}/timecard_time_types", headers=headers
        ),
        ("POST", "/rest/v1.1/projects/{project_id}/project_timecard_entries/bulk_create"): client.post(
            f"/rest/v1.1/projects/{demo.project_id}/project_timecard_entries/bulk_create",
            json={"timecard_entries": [{**bulk_entry, "hours": "4"}]},
            headers=headers,
        ),
    }
    operations = load_operations()
    found: dict[str, list[str]] = {}
    answers = {
        "POST /rest/v1.0/projects/{project_id}/timesheets": sheet,
        "POST /rest/v1.0/projects/{project_id}/crews": crew,
    }
    for (method, path), call in calls.items():
        answers[f"{method} {path}"] = await call
    for key, response in answers.items():
        method, path = key.split(" ")
        assert response.status_code < 300, (key, response.text)
        documented = operations[(method, path)]["responses"][str(response.status_code)]["schema"]
        body = response.json()
        assert body, key
        found[key] = _mismatches(documented, body)
    assert {k: v for k, v in found.items() if v} == {}


async def test_time_types_carry_name_available_default_and_pay_rate(
    client: httpx.AsyncClient, demo: Demo, headers: dict[str, str], state: SandboxState
) -> None:
    company = await client.get(f"/rest/v1.0/companies/{demo.company_id}/timecard_time_types", headers=headers)
    project = await client.get(
        "/rest/v1.0/timecard_time_types", params={"project_id": demo.project_id}, headers=headers
    )
    for listed in (company.json(), project.json()):
        by_name = {t["name"]: t for t in listed}  # how propycore's find_time_type looks them up
        assert set(by_name) == {"Regular Time", "Overtime", "Double Time", "Salary"}
        assert by_name["Overtime"]["pay_rate"] == "1.5"
        assert [t["name"] for t in listed if t["default"]] == ["Regular Time"]
        assert all(t["available"] is True and t["time_type"] == t["name"] for t in listed)
    salary = by_name["Salary"]["id"]
    entry = _entry(state, demo, timecard_time_type_id=salary)
    made = await client.post(
        f"/rest/v1.0/companies/{demo.company_id}/timecard_entries",
        json={"project_id": demo.project_id, "timecard_entry": entry},
        headers=headers,
    )
    assert made.json()["timecard_time_type"]["id"] == salary
    plain = await client.post(
        f"/rest/v1.0/projects/{demo.project_id}/timecard_entries",
        json={"timecard_entry": _entry(state, demo)},
        headers=headers,
    )
    assert plain.json()["timecard_time_type"]["time_type"] == "Regular Time"  # the company default


async def test_nested_objects_of_the_project_and_company_forms(
    client: httpx.AsyncClient, demo: Demo, headers: dict[str, str], state: SandboxState
) -> None:
    """Shapes procore-api-endpoints.md gives for the forms without a schema in the JSON file:
    the project form's crew is the full crew object, the company form's `{id, name}`; the company
    form's `clock_in`/`clock_out` are `{id}` objects; timesheet entries carry `party_id`."""
    project = f"/rest/v1.0/projects/{demo.project_id}"
    party = demo.person_ids(state, demo.project_id)[0]
    crew = await client.post(f"{project}/crews", json={"crew": {"name": "Crew B"}}, headers=headers)
    sheet = await client.post(f"{project}/timesheets", json={"timesheet": {"date": DAY}}, headers=headers)
    entry = _entry(state, demo, crew_id=crew.json()["id"], timesheet_id=sheet.json()["id"])
    made = await client.post(f"{project}/timecard_entries", json={"timecard_entry": entry}, headers=headers)
    assert made.status_code == 201, made.text
    assert set(made.json()["crew"]) == {
        "id",
        "name",
        "project_id",
        "company_id",
        "employees",
        "created_by",
        "lead",
        "created_at",
        "updated_at",
    }
    assert made.json()["crew"]["created_by"]["id"] == made.json()["created_by"]["id"]
    assert made.json()["timesheet"]["created_by"] is not None
    body = {
        "project_id": demo.project_id,
        "timecard_entry": _entry(state, demo, crew_id=crew.json()["id"], clock_in_id=31, clock_out_id=32),
    }
    mine = await client.post(
        f"/rest/v1.0/companies/{demo.company_id}/timecard_entries", json=body, headers=headers
    )
    assert mine.status_code == 201, mine.text
    assert mine.json()["crew"] == {"id": crew.json()["id"], "name": "Crew B"}
    assert (mine.json()["clock_in"], mine.json()["clock_out"]) == ({"id": 31}, {"id": 32})
    sheets = (await client.get(f"{project}/timesheets", headers=headers)).json()
    assert [e["party_id"] for s in sheets for e in s["timecard_entries"]] == [party]
