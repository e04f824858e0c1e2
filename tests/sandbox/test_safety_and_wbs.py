"""Incidents with injuries, observations, notes logs, locations, cost codes and budgets."""

from __future__ import annotations

import httpx

from fieldbridge_sandbox.state import SandboxState

from .conftest import Demo


async def test_incident_with_injuries_and_custom_fields(
    client: httpx.AsyncClient, demo: Demo, headers: dict[str, str], state: SandboxState
) -> None:
    base = f"/rest/v1.0/projects/{demo.project_id}/incidents"
    hazard = state.store["hazards"].by(demo.company_id)[0]["id"]
    r = await client.post(
        base,
        json={
            "incident": {
                "title": "Ladder fall",
                "event_date": "2025-02-03T15:00:00Z",
                "recordable": True,
                "hazard_id": hazard,
                "custom_field_5001": "Crew 4",
                "injuries": [{"description": "Sprained wrist", "filing_type": "first_aid"}],
            }
        },
        headers=headers,
    )
    assert r.status_code == 201, r.text
    incident = r.json()
    assert incident["number"] == 1
    assert incident["status"] == "open"
    assert incident["hazard"]["id"] == hazard
    assert incident["custom_fields"] == {"custom_field_5001": {"data_type": "string", "value": "Crew 4"}}
    assert [i["filing_type"] for i in incident["injuries"]] == ["first_aid"]
    injury = await client.post(
        f"{base}/injuries",
        json={"injury": {"incident_id": incident["id"], "filing_type": "lost_time", "work_days_absent": 3}},
        headers=headers,
    )
    assert injury.status_code == 201
    shown = (await client.get(f"{base}/{incident['id']}", headers=headers)).json()
    assert len(shown["injuries"]) == 2
    assert shown["records_count"] == 2
    recordable = await client.get(
        base, params={"filters[recordable]": "true", "filters[status][]": "open"}, headers=headers
    )
    assert [i["id"] for i in recordable.json()] == [incident["id"]]
    assert recordable.headers["per-page"] == "1000"
    closed = await client.patch(
        f"{base}/{incident['id']}", json={"incident": {"status": "closed"}}, headers=headers
    )
    assert closed.json()["status"] == "closed"
    assert (await client.delete(f"{base}/{incident['id']}", headers=headers)).status_code == 204
    statuses = await client.get(f"/rest/v1.0/companies/{demo.company_id}/incidents/statuses", headers=headers)
    assert {s["value"] for s in statuses.json()} == {"open", "closed"}
    hazards = await client.get(f"/rest/v1.0/companies/{demo.company_id}/hazards", headers=headers)
    assert len(hazards.json()) == 4


async def test_observations(client: httpx.AsyncClient, demo: Demo, headers: dict[str, str]) -> None:
    types = (
        await client.get(
            "/rest/v1.0/observations/types", params={"project_id": demo.project_id}, headers=headers
        )
    ).json()
    safety = [t for t in types if t["category"] == "Safety"]
    assert {t["name"] for t in safety} == {"Near-Miss", "Safety Hazard", "Safety Notice", "Safety Violation"}
    r = await client.post(
        "/rest/v1.0/observations/items",
        files={
            "project_id": (None, str(demo.project_id)),
            "observation[name]": (None, "Unguarded edge"),
            "observation[type_id]": (None, str(safety[0]["id"])),
            "observation[priority]": (None, "High"),
        },
        headers=headers,
    )
    assert r.status_code == 201, r.text
    item = r.json()
    assert item["type"]["category"] == "Safety"
    assert item["status"] == "initiated"
    listed = await client.get(
        "/rest/v1.0/observations/items",
        params={"project_id": demo.project_id, "filters[status][]": "0"},
        headers=headers,
    )
    assert [i["id"] for i in listed.json()] == [item["id"]]
    closed = await client.patch(
        f"/rest/v1.0/observations/items/{item['id']}",
        json={
            "project_id": demo.project_id,
            "observation": {"name": "Unguarded edge", "type_id": safety[0]["id"], "status": "closed"},
        },
        headers=headers,
    )
    assert closed.json()["closed_at"] is not None
    bad_type = await client.post(
        "/rest/v1.0/observations/items",
        json={"project_id": demo.project_id, "observation": {"name": "x", "type_id": 1}},
        headers=headers,
    )
    assert bad_type.status_code == 400  # observation create documents 400, no 422


async def test_notes_logs_default_to_today_and_approved(
    client: httpx.AsyncClient, demo: Demo, headers: dict[str, str]
) -> None:
    base = f"/rest/v1.0/projects/{demo.project_id}/notes_logs"
    today = await client.post(
        base, json={"notes_log": {"comment": "Daily safety summary", "is_issue_day": False}}, headers=headers
    )
    old = await client.post(
        base, json={"notes_log": {"comment": "old", "date": "2025-01-02"}}, headers=headers
    )
    assert today.json()["status"] == "approved"
    listed = (await client.get(base, headers=headers)).json()
    assert [n["id"] for n in listed] == [today.json()["id"]]
    dated = (await client.get(base, params={"log_date": "2025-01-02"}, headers=headers)).json()
    assert [n["id"] for n in dated] == [old.json()["id"]]
    pending = await client.get(base, params={"filters[status]": "pending"}, headers=headers)
    assert pending.json() == []


async def test_locations(client: httpx.AsyncClient, demo: Demo, headers: dict[str, str]) -> None:
    base = f"/rest/v1.0/projects/{demo.project_id}/locations"
    seeded = (await client.get(base, headers=headers)).json()
    building = next(loc for loc in seeded if loc["name"] == "Building A")
    r = await client.post(
        base, json={"location": {"node_name": "Level 2", "parent_id": building["id"]}}, headers=headers
    )
    assert r.status_code == 201
    assert r.json()["name"] == "Building A>Level 2"
    assert r.json()["parent_id"] == building["id"]


async def test_cost_codes_line_item_types_budget(
    client: httpx.AsyncClient, demo: Demo, headers: dict[str, str], state: SandboxState
) -> None:
    q = {"project_id": demo.project_id}
    codes = (await client.get("/rest/v1.0/cost_codes", params=q, headers=headers)).json()
    child = next(c for c in codes if c["parent"])
    for field in (
        "id",
        "name",
        "code",
        "full_code",
        "biller",
        "biller_type",
        "line_item_types",
        "origin_id",
        "position",
        "long_name",
    ):
        assert field in child
    assert "labor" in {t["base_type"] for t in child["line_item_types"]}
    sub_job_codes = await client.get(
        "/rest/v1.0/cost_codes",
        headers=headers,
        params={**q, "sub_job_id": state.store["sub_jobs"].by(demo.project_id)[0]["id"]},
    )
    assert sub_job_codes.json()
    assert {c["biller_type"] for c in sub_job_codes.json()} == {"SubJob"}
    lits = await client.get(
        "/rest/v1.0/line_item_types", params={"company_id": demo.company_id}, headers=headers
    )
    assert [t["code"] for t in lits.json()] == ["L", "M", "E", "S", "O"]
    subs = await client.get("/rest/v1.0/sub_jobs", params=q, headers=headers)
    assert len(subs.json()) == 2
    views = (await client.get("/rest/v1.0/budget_views", params=q, headers=headers)).json()
    assert views[0]["links"]["detail_rows"].startswith(f"/rest/v1.0/budget_views/{views[0]['id']}")
    labor = lits.json()[0]["id"]
    await client.post(
        f"/rest/v1.0/projects/{demo.project_id}/timecard_entries",
        json={
            "timecard_entry": {
                "hours": "7.5",
                "date": "2025-02-03",
                "cost_code_id": child["id"],
                "line_item_type_id": labor,
            }
        },
        headers=headers,
    )
    rows = await client.get(
        f"/rest/v1.0/budget_views/{views[0]['id']}/detail_rows",
        params={**q, "cost_code_id[]": child["id"]},
        headers=headers,
    )
    row = next(r for r in rows.json() if r["category_id"] == labor)
    assert float(row["budgeted_hours"]) > 0
    assert row["timecard_entry_hours"] == "7.5"
    assert row["biller_type"] == "Project"
    assert row["id"] is not None
    created = await client.post(
        "/rest/v1.0/cost_codes",
        json={
            "project_id": demo.project_id,
            "cost_code": {"name": "Site Safety", "code": "600", "parent_id": codes[0]["id"]},
        },
        headers=headers,
    )
    assert created.status_code == 201
    assert created.json()["full_code"] == f"{codes[0]['full_code']}-600"


async def test_observation_shapes_follow_the_published_spec(
    client: httpx.AsyncClient, demo: Demo, headers: dict[str, str]
) -> None:
    """Items carry the full `ObservationItem` field set with nested objects; `name_translations`
    is an object on `/observations/types` and an item's `type`, a string on the project and
    company type lists."""
    params = {"project_id": demo.project_id}
    types = (await client.get("/rest/v1.0/observations/types", params=params, headers=headers)).json()
    assert types[0]["name_translations"]["en"] == types[0]["name"]
    assert set(types[0]["name_translations"]) == {"en", "en-AU", "es", "fr-CA"}
    for url in (
        f"/rest/v1.0/projects/{demo.project_id}/observation_types",
        f"/rest/v1.0/companies/{demo.company_id}/observation_types",
    ):
        listed = (await client.get(url, headers=headers)).json()
        assert listed[0]["name_translations"] == listed[0]["name"]
    made = await client.post(
        "/rest/v1.0/observations/items",
        json={"project_id": demo.project_id, "observation": {"name": "Open edge", "type_id": types[0]["id"]}},
        headers=headers,
    )
    assert made.status_code == 201, made.text
    item = made.json()
    assert {
        "id",
        "number",
        "name",
        "description",
        "status",
        "checklist_item",
        "checklist_list",
        "priority",
        "date_notified",
        "due_date",
        "closed_at",
        "created_at",
        "updated_at",
        "deleted_at",
        "description_rich_text",
        "personal",
        "current_drawing_revision_ids",
        "drawing_revisions",
        "drawing_ids",
        "origin",
        "attachments",
        "assignee",
        "distribution_members",
        "created_by",
        "specification_section",
        "location",
        "trade",
        "type",
        "contributing_behavior",
        "contributing_condition",
        "hazard",
        "custom_fields",
    } <= set(item)
    assert isinstance(item["type"]["name_translations"], dict)
    assert {"id", "name", "login", "vendor"} <= set(item["created_by"])
    assert item["current_drawing_revision_ids"] == []
