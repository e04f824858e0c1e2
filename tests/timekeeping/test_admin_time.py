"""The admin side: corrections flow to Procore as updates, approval, progress, geofences, the gate."""

import re
from datetime import timedelta
from decimal import Decimal

import httpx

from fieldbridge.kit.db import Database
from fieldbridge.settings import Settings
from tests.factories import bearer, create_tenant, sign_in_browser
from tests.procore_fixtures import ProcoreEnv
from tests.timekeeping.helpers import (
    SHIFT_START,
    clock_in_body,
    clock_out_body,
    crew_env,
    deliver,
    sandbox_entries,
    sign_in,
)

API = "/api/v1/time"


async def test_clock_in_is_offered_only_with_procore(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    tenant = await create_tenant(db, settings, "Aspire")
    token = await sign_in(
        client, tenant.company.code, f"{1000 + int((tenant.worker.employee_id or 'E0')[1:])}"
    )
    capability = (await client.get(f"{API}/capability", headers=bearer(token))).json()
    message = (
        "Clock-in in the FieldBridge app is available with Procore; with other systems, "
        "time comes from that system's own app"
    )
    assert capability == {"clock_in": False, "message": message}
    body = {
        "id": "a" * 32,
        "milestone_id": 1,
        "started_at": SHIFT_START.isoformat(),
        "members": [{"worker_id": tenant.worker.id, "shift_id": "b" * 32}],
    }
    response = await client.post(f"{API}/clock-in", json=body, headers=bearer(token))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "clock_in_unavailable"
    assert response.json()["error"]["message"].startswith(message)


async def test_corrections_flow_to_procore_as_updates(procore_env: ProcoreEnv) -> None:
    env = procore_env
    crew = await crew_env(env)
    m0, m1, m2 = crew.milestones
    body = clock_in_body(crew, crew.workers[:1])
    shift = (await env.client.post(f"{API}/clock-in", json=body, headers=crew.auth())).json()["shifts"][0]
    split = {
        "mode": "hours",
        "lines": [{"milestone_id": m0, "value": "6"}, {"milestone_id": m1, "value": "2"}],
    }
    out = clock_out_body([shift["shift_id"]], split=split)
    assert (await env.client.post(f"{API}/clock-out", json=out, headers=crew.auth())).status_code == 200
    await deliver(env, crew)
    admin = bearer(crew.tenant.api_key)

    # one more hour: the split keeps its proportions (6:2 of 9 h = 6.75 + 2.25)
    fix = {"ended_at": (SHIFT_START + timedelta(hours=9.5)).isoformat(), "note": "left at 17:30, not 16:30"}
    response = await env.client.post(f"{API}/shifts/{shift['id']}/corrections", json=fix, headers=admin)
    assert response.status_code == 200, response.text
    fixed = response.json()
    assert [a["hours"] for a in fixed["allocations"]] == ["6.75", "2.25"]
    assert fixed["corrected"] is True
    assert fixed["export_status"] == "Waiting to send"
    await deliver(env, crew)
    entries = await sandbox_entries(env, crew.procore_project_id)
    assert len(entries) == 2, "corrections update the entries, never add duplicates"
    by_code = {e["cost_code_id"]: Decimal(e["hours"]) for e in entries}
    assert by_code == {crew.codes[m0][0]: Decimal("6.75"), crew.codes[m1][0]: Decimal("2.25")}

    # all on a third milestone: the first entry moves, the second goes to 0 h
    move = {
        "split": {"mode": "percent", "lines": [{"milestone_id": m2, "value": "100"}]},
        "note": "wrong code",
    }
    response = await env.client.post(f"{API}/shifts/{shift['id']}/corrections", json=move, headers=admin)
    assert response.status_code == 200, response.text
    await deliver(env, crew)
    entries = await sandbox_entries(env, crew.procore_project_id)
    by_code = {e["cost_code_id"]: Decimal(e["hours"]) for e in entries}
    assert by_code == {crew.codes[m2][0]: Decimal(9), crew.codes[m1][0]: Decimal(0)}
    mine = (await env.client.get(f"{API}/my-shifts", headers=crew.auth())).json()
    assert mine[0]["export_status"] == "Sent to Procore ✓"
    assert mine[0]["correction_note"] == "wrong code"

    approved = await env.client.post(f"{API}/shifts/{shift['id']}/approve", headers=admin)
    assert approved.json()["status"] == "approved"
    refused = await env.client.post(f"{API}/shifts/{shift['id']}/approve", headers=crew.auth())
    assert refused.status_code == 403

    day = await env.client.get(f"{API}/shifts", params={"day": "2026-11-25", "week": "true"}, headers=admin)
    assert [s["id"] for s in day.json()] == [shift["id"]]
    progress = (await env.client.get(f"{API}/projects/{crew.project_id}/progress", headers=admin)).json()
    used = {p["milestone_id"]: p["hours_used"] for p in progress}
    assert used == {m0: "0", m1: "0", m2: "9"}
    assert next(p for p in progress if p["milestone_id"] == m2)["percent_used"] == 22.5


async def test_geofence_warns_or_blocks(procore_env: ProcoreEnv) -> None:
    env = procore_env
    crew = await crew_env(env)
    admin = bearer(crew.tenant.api_key)
    fence = {"latitude": 39.74, "longitude": -104.99, "radius_m": 300, "geofence_mode": "warn"}
    put = await env.client.put(f"{API}/projects/{crew.project_id}/settings", json=fence, headers=admin)
    assert put.status_code == 200, put.text
    far = {"latitude": 39.80, "longitude": -104.99, "accuracy_m": 20}
    body = clock_in_body(crew, crew.workers[:1], location=far)
    response = await env.client.post(f"{API}/clock-in", json=body, headers=crew.auth())
    assert response.status_code == 201
    (warning,) = response.json()["warnings"]
    assert "6.7 km from" in warning
    assert response.json()["shifts"][0]["geofence_note"] == warning

    await env.client.put(
        f"{API}/projects/{crew.project_id}/settings", json={**fence, "geofence_mode": "block"}, headers=admin
    )
    body = clock_in_body(crew, crew.workers[1:2], location=far)
    response = await env.client.post(f"{API}/clock-in", json=body, headers=crew.auth())
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "outside_geofence"
    near = {"latitude": 39.7405, "longitude": -104.9902}
    body = clock_in_body(crew, crew.workers[1:2], location=near)
    assert (await env.client.post(f"{API}/clock-in", json=body, headers=crew.auth())).status_code == 201


async def test_start_stop_projects_get_times_and_recent_choices_come_first(procore_env: ProcoreEnv) -> None:
    env = procore_env
    crew = await crew_env(env, project_number="WBT-1010")
    admin = bearer(crew.tenant.api_key)
    await env.client.put(
        f"{API}/projects/{crew.project_id}/settings", json={"time_entry_mode": "start_stop"}, headers=admin
    )
    m2 = crew.milestones[2]
    body = clock_in_body(crew, crew.workers[:1], milestone=m2)
    shift = (await env.client.post(f"{API}/clock-in", json=body, headers=crew.auth())).json()["shifts"][0]
    picker = (await env.client.get(f"{API}/picker", headers=crew.auth())).json()
    first = picker["projects"][0]["sub_jobs"][0]["milestones"][0]
    assert first["id"] == m2
    assert first["recent"] is True
    assert [w["on_clock"] for w in picker["workers"] if w["id"] == crew.workers[0]] == [True]
    out = clock_out_body([shift["shift_id"]], hours=8.5, break_minutes=30)
    await env.client.post(f"{API}/clock-out", json=out, headers=crew.auth())
    await deliver(env, crew)
    (entry,) = await sandbox_entries(env, crew.procore_project_id)
    assert entry["time_in"] == "2026-11-25T13:00:00Z"
    assert entry["time_out"] == "2026-11-25T21:30:00Z"
    assert entry["lunch_time"] == 30
    assert Decimal(entry["hours"]) == 8


async def test_the_timesheet_page_shows_corrects_and_approves(procore_env: ProcoreEnv) -> None:
    env = procore_env
    crew = await crew_env(env)
    body = clock_in_body(crew, crew.workers[:2])
    shifts = (await env.client.post(f"{API}/clock-in", json=body, headers=crew.auth())).json()["shifts"]
    out = clock_out_body([shifts[0]["shift_id"]], injured=True)
    await env.client.post(f"{API}/clock-out", json=out, headers=crew.auth())
    csrf = await sign_in_browser(env.client, crew.tenant.admin.email)
    page = await env.client.get("/timesheets", params={"day": "2026-11-25", "by": "worker", "week": "true"})
    assert page.status_code == 200
    assert "Crew Member 1" in page.text
    assert "On the clock" in page.text
    assert "injured" in page.text
    shift_id = shifts[0]["id"]
    form = {
        "csrf_token": csrf,
        "started_at": "2026-11-25T08:00",
        "ended_at": "2026-11-25T17:00",
        "break_minutes": "60",
        f"hours_{crew.milestones[0]}": "5",
        f"hours_{crew.milestones[1]}": "3",
        "note": "forgot to clock out",
    }
    saved = await env.client.post(f"/timesheets/shifts/{shift_id}", data=form)
    assert saved.status_code == 303, saved.text
    bad = await env.client.post(
        f"/timesheets/shifts/{shift_id}", data={**form, f"hours_{crew.milestones[1]}": "1"}
    )
    assert bad.status_code == 422
    assert "must add up to 8 h" in bad.text
    detail = await env.client.get(f"/timesheets/shifts/{shift_id}")
    assert "forgot to clock out" in detail.text
    assert "5 h" in detail.text
    approved = await env.client.post(f"/timesheets/shifts/{shift_id}/approve", data={"csrf_token": csrf})
    assert approved.status_code == 303
    mine = (await env.client.get(f"{API}/my-shifts", headers=crew.auth())).json()
    assert next(s for s in mine if s["id"] == shift_id)["status"] == "approved"
    chart = await env.client.get(f"/timesheets/progress/{crew.project_id}")
    assert chart.status_code == 200
    assert "<svg" in chart.text
    assert "5 / 40 h" in chart.text
    page_title = chart.text.split("<title>", 1)[1].split("</title>", 1)[0]
    assert page_title.startswith("Milestone progress")
    assert "<" not in page_title
    assert chart.text.count('action="/timesheets/progress/') == 1
    fence = {"csrf_token": csrf, "time_entry_mode": "start_stop", "latitude": "39.74", "longitude": "-104.99"}
    saved = await env.client.post(
        f"/timesheets/progress/{crew.project_id}/settings", data={**fence, "radius_m": "250"}
    )
    assert saved.status_code == 303
    bad = await env.client.post(
        f"/timesheets/progress/{crew.project_id}/settings", data={**fence, "radius_m": "5"}
    )
    assert bad.status_code == 422
    assert "radius_m" in bad.text
    page = await env.client.get(f"/timesheets/progress/{crew.project_id}")
    assert 'value="250"' in page.text


async def test_the_app_is_installable_and_keeps_scripts_out_of_the_page(client: httpx.AsyncClient) -> None:
    page = await client.get("/app")
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "<script>" not in page.text
    assert not re.search(r"\son[a-z]+=", page.text), "no inline event handlers"
    manifest = (await client.get("/app/manifest.webmanifest")).json()
    assert manifest["display"] == "standalone"
    assert manifest["start_url"] == "/app"
    worker = await client.get("/app/sw.js")
    assert worker.headers["service-worker-allowed"] == "/app"
    words = (await client.get("/static/app/i18n.json")).json()
    assert set(words["en"]) == set(words["es"])
