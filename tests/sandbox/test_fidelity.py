"""Fidelity fixes and gap fills from the review against the shared Procore references:
flat timecard update/delete, crews update/delete/ids, sub job and line item type updates."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx

from fieldbridge_sandbox.state import SandboxState

from .conftest import Demo

FLAT = "/rest/v1.0/timecard_entries"


def _entry(state: SandboxState, demo: Demo, day: str, **extra: Any) -> dict[str, Any]:
    return {"hours": "8", "date": day, "party_id": demo.person_ids(state, demo.project_id)[0], **extra}


def _days(state: SandboxState, *offsets: int) -> list[str]:
    today = date.fromisoformat(state.store.today())
    return [(today + timedelta(days=n)).isoformat() for n in offsets]


async def _flat_create(
    client: httpx.AsyncClient, headers: dict[str, str], demo: Demo, entry: dict[str, Any]
) -> dict[str, Any]:
    r = await client.post(
        FLAT, json={"project_id": demo.project_id, "timecard_entry": entry}, headers=headers
    )
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


async def test_flat_form_show_update_delete(
    client: httpx.AsyncClient, demo: Demo, headers: dict[str, str], state: SandboxState
) -> None:
    (day,) = _days(state, 0)
    created = await _flat_create(client, headers, demo, _entry(state, demo, day, origin_id=77))
    url = f"{FLAT}/{created['id']}"
    scope = {"project_id": demo.project_id}
    assert (await client.get(url, headers=headers)).status_code == 400  # project_id is required
    shown = await client.get(url, params=scope, headers=headers)
    assert shown.status_code == 200
    assert shown.json()["origin_id"] == 77
    patched = await client.patch(
        url,
        json={"project_id": demo.project_id, "timecard_entry": {"description": "fixed", "hours": "7.5"}},
        headers=headers,
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["hours"] == "7.5"
    assert patched.json()["description"] == "fixed"
    assert isinstance(patched.json()["cost_code"], str | None)  # the flat shape
    assert state.store["timecard_entries"].get(created["id"])["description"] == "fixed"
    missing = await client.patch(url, json={"timecard_entry": {"hours": "1"}}, headers=headers)
    assert missing.status_code == 400
    assert missing.json() == {"errors": {"project_id": ["is missing"]}}
    bad = await client.patch(
        url, json={"project_id": demo.project_id, "timecard_entry": {"hours": "30"}}, headers=headers
    )
    assert bad.status_code == 400  # the flat update documents 400, not 422
    assert bad.json() == {"errors": {"hours": ["must be between 0 and 24"]}}
    deleted = await client.delete(url, params=scope, headers=headers)
    assert deleted.status_code == 200
    assert state.store["timecard_entries"].get(created["id"])["deleted_at"]
    assert (await client.get(url, params=scope, headers=headers)).status_code == 404
    assert (await client.delete(url, params=scope, headers=headers)).status_code == 404


async def test_flat_list_defaults_to_the_last_week_up_to_today(
    client: httpx.AsyncClient, demo: Demo, headers: dict[str, str], state: SandboxState
) -> None:
    recent, old, future = _days(state, -3, -10, 2)
    ids = {}
    for name, day in (("recent", recent), ("old", old), ("future", future)):
        ids[name] = (await _flat_create(client, headers, demo, _entry(state, demo, day)))["id"]

    async def listed(**params: str) -> set[int]:
        r = await client.get(FLAT, params={"project_id": demo.project_id, **params}, headers=headers)
        assert r.status_code == 200
        return {e["id"] for e in r.json()}

    assert await listed() == {ids["recent"]}
    # start_date alone: end_date still defaults to today, so the future entry stays out
    assert await listed(start_date=old) == {ids["recent"], ids["old"]}
    assert await listed(end_date=future) == {ids["recent"], ids["future"]}


async def test_company_form_lunch_time_is_a_string(
    client: httpx.AsyncClient, demo: Demo, headers: dict[str, str], state: SandboxState
) -> None:
    (day,) = _days(state, 0)
    url = f"/rest/v1.0/companies/{demo.company_id}/timecard_entries"
    body = {"project_id": demo.project_id, "timecard_entry": _entry(state, demo, day, lunch_time="30")}
    r = await client.post(url, json=body, headers=headers)
    assert r.status_code == 201, r.text
    assert r.json()["lunch_time"] == "30"
    project_form = await client.get(
        f"/rest/v1.0/projects/{demo.project_id}/timecard_entries/{r.json()['id']}", headers=headers
    )
    assert project_form.json()["lunch_time"] == 30


async def test_crews_update_delete_and_ids(
    client: httpx.AsyncClient, demo: Demo, headers: dict[str, str], state: SandboxState
) -> None:
    people = demo.person_ids(state, demo.project_id)
    base = f"/rest/v1.0/projects/{demo.project_id}/crews"
    crew = (
        await client.post(
            base, json={"crew": {"name": "Framing", "lead_party_id": people[0]}}, headers=headers
        )
    ).json()
    other = (await client.post(base, json={"crew": {"name": "Drywall"}}, headers=headers)).json()
    ids = await client.get(f"{base}/ids", headers=headers)
    assert ids.status_code == 200
    assert ids.json() == [crew["id"], other["id"]]
    assert ids.headers["per-page"]
    patched = await client.patch(
        f"{base}/{crew['id']}",
        json={"crew": {"name": "Framing B", "party_ids": people[1:3]}},
        headers=headers,
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["name"] == "Framing B"
    assert [m["id"] for m in patched.json()["members"]] == people[1:3]
    assert patched.json()["lead_party"]["id"] == people[0]
    bad = await client.patch(f"{base}/{crew['id']}", json={"crew": {"party_ids": [1]}}, headers=headers)
    assert bad.status_code == 422
    assert bad.json() == {"errors": {"base": ["Error creating a Crew"]}}
    assert (await client.patch(f"{base}/{crew['id']}", json={}, headers=headers)).status_code == 400
    deleted = await client.delete(f"{base}/{crew['id']}", headers=headers)
    assert deleted.status_code == 200
    assert (await client.get(f"{base}/{crew['id']}", headers=headers)).status_code == 404
    assert (await client.get(f"{base}/ids", headers=headers)).json() == [other["id"]]


async def test_sub_job_update_and_delete(
    client: httpx.AsyncClient, demo: Demo, headers: dict[str, str], state: SandboxState
) -> None:
    created = await client.post(
        "/rest/v1.0/sub_jobs",
        json={"project_id": demo.project_id, "sub_job": {"name": "Phase 9", "code": "P9"}},
        headers=headers,
    )
    assert created.status_code == 201
    url = f"/rest/v1.0/sub_jobs/{created.json()['id']}"
    patched = await client.patch(
        url, json={"project_id": demo.project_id, "sub_job": {"name": "Phase 9b"}}, headers=headers
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["name"] == "Phase 9b"
    assert patched.json()["code"] == "P9"
    scope = {"project_id": demo.project_id}
    assert (await client.delete(url, params=scope, headers=headers)).status_code == 200
    assert (await client.get(url, params=scope, headers=headers)).status_code == 404


async def test_line_item_type_show_and_update(
    client: httpx.AsyncClient, demo: Demo, headers: dict[str, str], state: SandboxState
) -> None:
    lit = next(t for t in state.store["line_item_types"].by(demo.company_id) if t["code"] == "O")
    url = f"/rest/v1.0/line_item_types/{lit['id']}"
    assert (await client.get(url, headers=headers)).status_code == 400  # company_id is required
    shown = await client.get(url, params={"company_id": demo.company_id}, headers=headers)
    assert shown.status_code == 200
    assert set(shown.json()) == {"id", "name", "code", "base_type", "origin_id", "origin_data"}
    patched = await client.patch(
        url,
        json={"company_id": demo.company_id, "line_item_type": {"name": "Other costs", "origin_id": "X-1"}},
        headers=headers,
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["name"] == "Other costs"
    assert patched.json()["origin_id"] == "X-1"
    bad = await client.patch(
        url, json={"company_id": demo.company_id, "line_item_type": {"base_type": "bogus"}}, headers=headers
    )
    assert bad.status_code == 400  # documents 400, no 422


async def test_incident_list_filters_by_contributing_behavior_and_condition(
    client: httpx.AsyncClient, demo: Demo, headers: dict[str, str], state: SandboxState
) -> None:
    base = f"/rest/v1.0/projects/{demo.project_id}/incidents"
    behavior = state.store["contributing_behaviors"].by(demo.company_id)[0]["id"]
    condition = state.store["contributing_conditions"].by(demo.company_id)[0]["id"]
    ids = []
    for extra in ({"contributing_behavior_id": behavior}, {"contributing_condition_id": condition}):
        r = await client.post(base, json={"incident": {"title": "Slip", **extra}}, headers=headers)
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    by_behavior = await client.get(
        base, params={"filters[contributing_behavior_id][]": behavior}, headers=headers
    )
    assert [i["id"] for i in by_behavior.json()] == ids[:1]
    by_condition = await client.get(
        base, params={"filters[contributing_condition_id][]": condition}, headers=headers
    )
    assert [i["id"] for i in by_condition.json()] == ids[1:]


async def test_injury_list_filters_show_update_delete(
    client: httpx.AsyncClient, demo: Demo, headers: dict[str, str], state: SandboxState
) -> None:
    base = f"/rest/v1.0/projects/{demo.project_id}/incidents"
    incidents = []
    for title in ("Cut", "Strain"):
        body = {"incident": {"title": title, "injuries": [{"filing_type": "first_aid"}]}}
        incidents.append((await client.post(base, json=body, headers=headers)).json())
    first, second = incidents
    listed = await client.get(f"{base}/injuries", params={"incident_id": first["id"]}, headers=headers)
    assert [i["incident_id"] for i in listed.json()] == [first["id"]]
    injury_url = f"{base}/injuries/{first['injuries'][0]['id']}"
    shown = await client.get(injury_url, headers=headers)
    assert shown.status_code == 200
    assert shown.json()["filing_type"] == "first_aid"
    wrong_incident = await client.get(injury_url, params={"incident_id": second["id"]}, headers=headers)
    assert wrong_incident.status_code == 404
    patched = await client.patch(
        injury_url, json={"injury": {"filing_type": "lost_time", "work_days_absent": 2}}, headers=headers
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["work_days_absent"] == 2
    lost = await client.get(
        f"{base}/injuries", params={"filters[filing_type][]": "lost_time"}, headers=headers
    )
    assert [i["id"] for i in lost.json()] == [first["injuries"][0]["id"]]
    assert (await client.patch(injury_url, json={}, headers=headers)).status_code == 400
    assert (await client.delete(injury_url, headers=headers)).status_code == 204
    assert (await client.get(injury_url, headers=headers)).status_code == 404
    incident = (await client.get(f"{base}/{first['id']}", headers=headers)).json()
    assert incident["injuries"] == []
    assert incident["records_count"] == 0


async def test_company_timecard_data_groups_by_worker_for_the_current_week(
    client: httpx.AsyncClient, demo: Demo, headers: dict[str, str], state: SandboxState
) -> None:
    today, old = _days(state, 0, -10)
    worker_a, worker_b = demo.person_ids(state, demo.project_id)[:2]
    made = {}
    for name, day, party in (
        ("a_now", today, worker_a),
        ("a_old", old, worker_a),
        ("b_now", today, worker_b),
    ):
        entry = _entry(state, demo, day, party_id=party)
        made[name] = (await _flat_create(client, headers, demo, entry))["id"]
    url = f"/rest/v1.0/companies/{demo.company_id}/timesheets"
    week = await client.get(url, headers=headers)
    assert week.status_code == 200, week.text
    assert [(g["party"]["id"], [e["id"] for e in g["timecard_entries"]]) for g in week.json()] == [
        (worker_a, [made["a_now"]]),
        (worker_b, [made["b_now"]]),
    ]
    assert week.json()[0]["other_hours"] == []
    assert week.headers["total"] == "2"
    ranged = await client.get(url, params={"start_date": old, "end_date": today}, headers=headers)
    assert [e["id"] for e in ranged.json()[0]["timecard_entries"]] == [made["a_old"], made["a_now"]]


async def test_company_observation_types(
    client: httpx.AsyncClient, demo: Demo, headers: dict[str, str]
) -> None:
    r = await client.get(f"/rest/v1.0/companies/{demo.company_id}/observation_types", headers=headers)
    assert r.status_code == 200
    safety = {t["name"] for t in r.json() if t["category"] == "Safety"}
    assert safety == {"Near-Miss", "Safety Hazard", "Safety Notice", "Safety Violation"}
    assert {"id", "category_key", "company_active", "localized_name"} <= set(r.json()[0])


async def test_budget_detail_rows_default_and_requested_sort(
    client: httpx.AsyncClient, demo: Demo, headers: dict[str, str], state: SandboxState
) -> None:
    view = state.store["budget_views"].by(demo.project_id)[0]["id"]
    url = f"/rest/v1.0/budget_views/{view}/detail_rows"
    params: dict[str, Any] = {"project_id": demo.project_id, "per_page": 1000}
    rows = (await client.get(url, params=params, headers=headers)).json()
    keys = [
        (r["biller_type"], r["biller"], r["root_cost_code"], r["cost_code"], r["category_id"]) for r in rows
    ]
    assert len(rows) > 10
    assert keys == sorted(keys)
    by_category = (await client.get(url, params={**params, "sort": "-category_id"}, headers=headers)).json()
    categories = [r["category_id"] for r in by_category]
    assert categories == sorted(categories, reverse=True)


async def test_user_lists_take_the_directory_filters(
    client: httpx.AsyncClient, demo: Demo, headers: dict[str, str], state: SandboxState
) -> None:
    url = f"/rest/v1.0/companies/{demo.company_id}/users"
    everyone = (await client.get(url, headers=headers)).json()
    alex = demo.users["alex"]
    found = await client.get(url, params={"filters[search]": alex["last_name"]}, headers=headers)
    assert [u["id"] for u in found.json()] == [alex["id"]]
    by_id = await client.get(url, params={"filters[id]": alex["id"]}, headers=headers)
    assert [u["id"] for u in by_id.json()] == [alex["id"]]
    state.store["users"].get(alex["id"])["updated_at"] = "2030-01-02T03:04:05Z"
    state.store.touch()
    recent = await client.get(url, params={"filters[updated_at]": "2030-01-01...2030-01-03"}, headers=headers)
    assert [u["id"] for u in recent.json()] == [alex["id"]]
    project = await client.get(
        f"/rest/v1.0/projects/{demo.project_id}/users",
        params={"filters[updated_at]": "2030-01-01...2030-01-03"},
        headers=headers,
    )
    assert demo.project_id in alex["_project_ids"]
    assert [u["id"] for u in project.json()] == [alex["id"]]
    assert len(everyone) > 1


async def test_company_list_filters_on_time_in(
    client: httpx.AsyncClient, demo: Demo, headers: dict[str, str], state: SandboxState
) -> None:
    (day,) = _days(state, 0)
    base = f"/rest/v1.0/companies/{demo.company_id}/timecard_entries"
    made = []
    for start in ("06:00", "13:00"):
        entry = _entry(state, demo, day, time_in=f"{day}T{start}:00Z", time_out=f"{day}T{start[:2]}:30:00Z")
        r = await client.post(
            base, json={"project_id": demo.project_id, "timecard_entry": entry}, headers=headers
        )
        assert r.status_code == 201, r.text
        made.append(r.json()["id"])
    window = {"start_time_in": f"{day}T05:00:00Z", "end_time_in": f"{day}T07:00:00-00:00"}
    found = await client.get(base, params=window, headers=headers)
    assert [e["id"] for e in found.json()] == made[:1]
    after = await client.get(base, params={"start_time_in": f"{day}T12:00:00Z"}, headers=headers)
    assert [e["id"] for e in after.json()] == made[1:]


async def test_show_project_user(client: httpx.AsyncClient, demo: Demo, headers: dict[str, str]) -> None:
    alex = demo.users["alex"]
    r = await client.get(f"/rest/v1.0/projects/{demo.project_id}/users/{alex['id']}", headers=headers)
    assert r.status_code == 200
    assert r.json()["id"] == alex["id"]
    assert r.json()["initials"] == "AC"
    missing = await client.get(f"/rest/v1.0/projects/{demo.project_id}/users/5999999999", headers=headers)
    assert missing.status_code == 404
