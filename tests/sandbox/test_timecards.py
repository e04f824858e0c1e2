"""Timecard entries in every form, origin lookup, bulk_create, timesheet locks, permissions."""

from __future__ import annotations

from typing import Any

import httpx

from fieldbridge_sandbox.state import SandboxState

from .conftest import Demo, user_headers

DAY = "2025-02-03"


def _code(state: SandboxState, project_id: int) -> dict[str, Any]:
    return next(c for c in state.store["cost_codes"].by(project_id) if c["parent_id"])


def _labor(state: SandboxState, company_id: int) -> int:
    return int(
        next(t["id"] for t in state.store["line_item_types"].by(company_id) if t["base_type"] == "labor")
    )


def _entry(state: SandboxState, demo: Demo, **extra: Any) -> dict[str, Any]:
    party = demo.person_ids(state, demo.project_id)[0]
    return {
        "hours": "8",
        "date": DAY,
        "party_id": party,
        "cost_code_id": _code(state, demo.project_id)["id"],
        "line_item_type_id": _labor(state, demo.company_id),
        **extra,
    }


async def test_project_form_create_show_list_update_delete(
    client: httpx.AsyncClient, demo: Demo, headers: dict[str, str], state: SandboxState
) -> None:
    base = f"/rest/v1.0/projects/{demo.project_id}/timecard_entries"
    r = await client.post(
        base,
        json={"timecard_entry": _entry(state, demo, origin_id=9001, origin_data="fb:ledger:1")},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["id"] > 2**32
    assert created["hours"] == "8.0"
    assert created["origin_id"] == 9001
    assert created["origin_data"] == "fb:ledger:1"
    for field in (
        "party",
        "cost_code",
        "timecard_time_type",
        "timesheet",
        "created_by",
        "approval_status",
        "line_item_type_id",
        "datetime",
    ):
        assert field in created
    assert created["timecard_time_type"]["abbreviated_time_type"] == "REG"
    shown = await client.get(f"{base}/{created['id']}", headers=headers)
    assert shown.json() == created
    listed = (await client.get(base, params={"log_date": DAY}, headers=headers)).json()
    assert [e["id"] for e in listed] == [created["id"]]
    ranged = await client.get(base, params={"start_date": "2025-02-01", "end_date": DAY}, headers=headers)
    assert len(ranged.json()) == 1
    assert (await client.get(base, headers=headers)).json() == []  # default: today only
    patched = await client.patch(
        f"{base}/{created['id']}", json={"timecard_entry": {"hours": "6.5"}}, headers=headers
    )
    assert patched.status_code == 200
    assert patched.json()["hours"] == "6.5"
    deleted = await client.delete(f"{base}/{created['id']}", headers=headers)
    assert deleted.status_code == 200
    assert (await client.get(f"{base}/{created['id']}", headers=headers)).status_code == 404


async def test_find_entry_by_origin_data_after_lost_response(
    client: httpx.AsyncClient, demo: Demo, headers: dict[str, str], state: SandboxState
) -> None:
    """The documented lookup: list the day's entries and match origin_id/origin_data."""
    base = f"/rest/v1.0/projects/{demo.project_id}/timecard_entries"
    await client.put("/_sandbox/faults", json={"drop_next": 1})
    try:
        await client.post(
            base,
            json={"timecard_entry": _entry(state, demo, origin_id=77, origin_data="ledger-77")},
            headers=headers,
        )
    except httpx.TransportError:
        pass
    else:
        raise AssertionError("the response should have been dropped")
    day = (await client.get(base, params={"log_date": DAY}, headers=headers)).json()
    assert [e["origin_data"] for e in day if e["origin_id"] == 77] == ["ledger-77"]
    company = await client.get(
        f"/rest/v1.0/companies/{demo.company_id}/timecard_entries",
        params={"start_date": DAY, "end_date": DAY},
        headers=headers,
    )
    assert [e["origin_id"] for e in company.json()] == [77]


async def test_company_and_flat_forms(
    client: httpx.AsyncClient, demo: Demo, headers: dict[str, str], state: SandboxState
) -> None:
    company_base = f"/rest/v1.0/companies/{demo.company_id}/timecard_entries"
    r = await client.post(
        company_base,
        json={"project_id": demo.project_id, "timecard_entry": _entry(state, demo)},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    assert r.json()["project"]["id"] == demo.project_id
    missing_date = await client.post(
        company_base, json={"project_id": demo.project_id, "timecard_entry": {"hours": "1"}}, headers=headers
    )
    assert missing_date.status_code == 400
    assert missing_date.json() == {"errors": {"timecard_entry.date": ["is missing"]}}
    flat = await client.post(
        "/rest/v1.0/timecard_entries",
        json={"project_id": demo.project_id, "timecard_entry": _entry(state, demo)},
        headers=headers,
    )
    assert flat.status_code == 201
    assert isinstance(flat.json()["cost_code"], str)
    today = state.store.today()
    window = {"filters[updated_at]": f"{today}...{today}"}
    updated = await client.get(company_base, params=window, headers=headers)
    assert len(updated.json()) == 2
    shown = await client.get(f"{company_base}/{r.json()['id']}", headers=headers)
    assert shown.status_code == 200


async def test_v11_create_and_bulk_create(
    client: httpx.AsyncClient, demo: Demo, headers: dict[str, str], state: SandboxState
) -> None:
    base = f"/rest/v1.1/projects/{demo.project_id}/project_timecard_entries"
    single = await client.post(base, json=_entry(state, demo), headers=headers)
    assert single.status_code == 200, single.text  # documented: 200 "Timecard Entry created"
    entries = [
        {**_entry(state, demo), "project_id": demo.project_id, "origin_id": f"fb-{n}"} for n in range(25)
    ]
    bulk = await client.post(f"{base}/bulk_create", json={"timecard_entries": entries}, headers=headers)
    assert bulk.status_code == 201, bulk.text
    created = bulk.json()["timecard_entries"]
    assert [e["origin_id"] for e in created] == [f"fb-{n}" for n in range(25)]
    too_many = await client.post(
        f"{base}/bulk_create", json={"timecard_entries": [*entries, entries[0]]}, headers=headers
    )
    assert too_many.status_code == 400


async def test_bulk_create_is_all_or_nothing_with_per_entry_errors(
    client: httpx.AsyncClient, demo: Demo, headers: dict[str, str], state: SandboxState
) -> None:
    good = {**_entry(state, demo), "project_id": demo.project_id}
    bad = {**good, "hours": "thirty"}
    before = len(state.store["timecard_entries"])
    r = await client.post(
        f"/rest/v1.1/projects/{demo.project_id}/project_timecard_entries/bulk_create",
        json={"timecard_entries": [good, bad, {**good, "cost_code_id": 1}]},
        headers=headers,
    )
    assert r.status_code == 422
    assert r.json() == {
        "errors": {
            "timecard_entries[1].hours": ["is not a number"],
            "timecard_entries[2].cost_code_id": ["does not exist"],
        }
    }
    assert len(state.store["timecard_entries"]) == before


async def test_start_stop_project_computes_hours(
    client: httpx.AsyncClient, demo: Demo, headers: dict[str, str]
) -> None:
    base = f"/rest/v1.0/projects/{demo.start_stop_project_id}/timecard_entries"
    missing = await client.post(base, json={"timecard_entry": {"hours": "8", "date": DAY}}, headers=headers)
    assert missing.status_code == 400  # the project create documents 400, no 422
    assert "timecard_entry.time_in" not in missing.json()["errors"]  # conditional, not literal
    r = await client.post(
        base,
        json={
            "timecard_entry": {
                "date": DAY,
                "time_in": f"{DAY}T07:00:00Z",
                "time_out": f"{DAY}T15:30:00Z",
                "lunch_time": "30",
            }
        },
        headers=headers,
    )
    assert r.status_code == 201, r.text
    assert r.json()["hours"] == "8"
    assert r.json()["lunch_time"] == 30


async def test_approved_timesheet_locks_entries(
    client: httpx.AsyncClient, demo: Demo, headers: dict[str, str], state: SandboxState
) -> None:
    sheets = f"/rest/v1.0/projects/{demo.project_id}/timesheets"
    sheet = (await client.post(sheets, json={"timesheet": {"date": DAY}}, headers=headers)).json()
    assert sheet["name"] == f"{DAY} - 01"
    assert sheet["status"] == "pending"
    base = f"/rest/v1.0/projects/{demo.project_id}/timecard_entries"
    entry = (
        await client.post(
            base, json={"timecard_entry": _entry(state, demo, timesheet_id=sheet["id"])}, headers=headers
        )
    ).json()
    bad = await client.patch(
        f"{sheets}/update_approval",
        json={"timesheets": [{"id": sheet["id"], "status": "done"}]},
        headers=headers,
    )
    assert bad.status_code == 400
    ok = await client.patch(
        f"{sheets}/update_approval",
        json={"timesheets": [{"id": sheet["id"], "status": "approved"}]},
        headers=headers,
    )
    assert ok.status_code == 200
    assert ok.json()[0]["status"] == "approved"
    assert ok.json()[0]["timecard_entries"][0]["approval_status"] == "approved"
    update = await client.patch(
        f"{base}/{entry['id']}", json={"timecard_entry": {"hours": "1"}}, headers=headers
    )
    assert update.status_code == 422
    assert "approved" in update.json()["errors"]["base"][0]
    delete = await client.delete(f"{base}/{entry['id']}", headers=headers)
    assert delete.status_code == 400


async def test_timecard_permissions(client: httpx.AsyncClient, demo: Demo, state: SandboxState) -> None:
    base = f"/rest/v1.0/projects/{demo.project_id}/timecard_entries"
    body = {"timecard_entry": _entry(state, demo)}
    nora = await user_headers(client, demo, "nora")  # no Timecard permission
    r = await client.post(base, json=body, headers=nora)
    assert r.status_code == 403
    assert r.json()["message"] == "User does not have permission to create Timecard Entries"
    assert (await client.get(base, headers=nora)).status_code == 403
    priya = await user_headers(client, demo, "priya")  # read only
    assert (await client.get(base, headers=priya)).status_code == 200
    assert (await client.post(base, json=body, headers=priya)).status_code == 403
    maria = await user_headers(client, demo, "maria")
    assert (await client.post(base, json=body, headers=maria)).status_code == 201


async def test_inactive_and_blocked_projects(
    client: httpx.AsyncClient, demo: Demo, headers: dict[str, str], state: SandboxState
) -> None:
    body = {"timecard_entry": {"hours": "8", "date": DAY}}
    blocked = await client.post(
        f"/rest/v1.0/projects/{demo.blocked_project_id}/timecard_entries", json=body, headers=headers
    )
    assert blocked.status_code == 403
    await client.post(f"/_sandbox/projects/{demo.project_id}", json={"active": False})
    inactive = await client.post(
        f"/rest/v1.0/projects/{demo.project_id}/timecard_entries", json=body, headers=headers
    )
    assert inactive.status_code == 403
    assert inactive.json()["message"] == "Project is inactive"


async def test_time_types_and_crews(
    client: httpx.AsyncClient, demo: Demo, headers: dict[str, str], state: SandboxState
) -> None:
    types = (
        await client.get(
            "/rest/v1.0/timecard_time_types", params={"project_id": demo.project_id}, headers=headers
        )
    ).json()
    assert {"REG", "OT", "DT"} <= {t["abbreviated_time_type"] for t in types}
    company_types = (
        await client.get(f"/rest/v1.0/companies/{demo.company_id}/timecard_time_types", headers=headers)
    ).json()
    assert set(company_types[0]) == {"id", "time_type", "name", "available", "default", "pay_rate"}
    people = demo.person_ids(state, demo.project_id)
    crew = await client.post(
        f"/rest/v1.0/projects/{demo.project_id}/crews",
        json={"crew": {"name": "Concrete A", "lead_party_id": people[0], "party_ids": people[1:4]}},
        headers=headers,
    )
    assert crew.status_code == 201
    assert len(crew.json()["members"]) == 3
    assert crew.json()["lead_party"]["id"] == people[0]
    listed = await client.get(f"/rest/v1.0/projects/{demo.project_id}/crews", headers=headers)
    assert [c["name"] for c in listed.json()] == ["Concrete A"]
