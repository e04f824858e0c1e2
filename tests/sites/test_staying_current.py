import asyncio
import time
from datetime import datetime, timedelta
from typing import Any

from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from fieldbridge.connections.models import Connection
from fieldbridge.kit.clock import utcnow
from fieldbridge.kit.db import Database
from fieldbridge.settings import Settings
from fieldbridge.sites.service import queue_sync
from fieldbridge.sites.tasks import resync_due, run_sync_scheduler, sync_connection
from tests.factories import bearer, create_tenant
from tests.procore_fixtures import ProcoreEnv


async def _milestones(env: ProcoreEnv, auth: dict[str, str], project_id: int) -> list[dict[str, Any]]:
    response = await env.client.get(f"/api/v1/projects/{project_id}/milestones", headers=auth)
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()
    return rows


async def _a_cost_code(env: ProcoreEnv, auth: dict[str, str], project_id: int) -> tuple[str, str]:
    rows = await _milestones(env, auth, project_id)
    return rows[0]["cost_code_external_id"], rows[0]["name"]


async def black_hole(scope: Scope, receive: Receive, send: Send) -> None:
    """Accepts webhooks and does nothing with them: the delivery is lost to FieldBridge."""
    await JSONResponse({"ok": True})(scope, receive, send)


async def test_cost_code_rename_arrives_by_webhook(
    procore_env: ProcoreEnv, db: Database, settings: Settings
) -> None:
    tenant = await create_tenant(db, settings)
    auth = bearer(tenant.api_key)
    _, (project,) = await procore_env.track(tenant, 1)
    code_id, _ = await _a_cost_code(procore_env, auth, project["id"])
    # No re-sync scheduler runs here (the test transport starts no lifespan): only the webhook
    # can bring the rename. The wait is patience for a loaded machine, not a timing target.
    deadline = time.monotonic() + 60
    edit = await procore_env.sandbox.post(
        f"/_sandbox/cost_codes/{code_id}", json={"name": "Renamed By Webhook"}
    )
    assert edit.status_code == 200, edit.text
    renamed: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        renamed = [
            m
            for m in await _milestones(procore_env, auth, project["id"])
            if "Renamed By Webhook" in m["name"]
        ]
        if renamed:
            break
        await asyncio.sleep(0.05)
    assert renamed, "the rename did not arrive by webhook"
    assert all(m["cost_code_external_id"] == code_id for m in renamed)


async def test_lost_webhook_is_repaired_by_the_reconcile_sweep(
    procore_env: ProcoreEnv, db: Database, settings: Settings
) -> None:
    tenant = await create_tenant(db, settings)
    auth = bearer(tenant.api_key)
    connection_id, (project,) = await procore_env.track(tenant, 1)
    code_id, _ = await _a_cost_code(procore_env, auth, project["id"])
    procore_env.webhook_sink.app = black_hole  # Procore's log says delivered; FieldBridge lost it
    await procore_env.sandbox.post(f"/_sandbox/cost_codes/{code_id}", json={"name": "Renamed While Deaf"})
    await procore_env.sandbox.post("/_sandbox/webhooks/drain", json={"timeout": 2})
    assert not [m for m in await _milestones(procore_env, auth, project["id"]) if "Deaf" in m["name"]]
    # The sweep runs one unit per due time, spread over its interval; the project's unit finds it.
    at = utcnow()
    state: dict[str, Any] = {}
    for _ in range(6):
        assert await resync_due(db, procore_env.http, procore_env.box, now=at) == []
        async with db.sessionmaker() as session:
            connection = await session.get(Connection, connection_id, populate_existing=True)
            assert connection is not None
            state = connection.config["reconcile"]
        if state["found"]:
            break
        at = datetime.fromisoformat(state["next_unit_at"]) + timedelta(seconds=1)
    assert [m for m in await _milestones(procore_env, auth, project["id"]) if "Deaf" in m["name"]]
    assert state["found"] >= 1  # counted: no webhook announced it
    assert not state["healthy"]
    assert "no webhook announced" in state["reason"]


async def test_deleted_cost_code_archives_its_milestones_and_keeps_them(
    procore_env: ProcoreEnv, db: Database, settings: Settings
) -> None:
    tenant = await create_tenant(db, settings)
    auth = bearer(tenant.api_key)
    _, (project,) = await procore_env.track(tenant, 1)
    code_id, _ = await _a_cost_code(procore_env, auth, project["id"])
    before = len(await _milestones(procore_env, auth, project["id"]))
    await procore_env.sandbox.post(f"/_sandbox/cost_codes/{code_id}", json={"deleted": True})
    await procore_env.sandbox.post("/_sandbox/webhooks/drain", json={"timeout": 5})
    rows = await _milestones(procore_env, auth, project["id"])
    assert len(rows) == before
    gone = [m for m in rows if m["cost_code_external_id"] == code_id]
    assert gone
    assert all(m["archived"] and m["archived_reason"] for m in gone)
    tree = (await procore_env.client.get("/api/v1/milestones/tree", headers=auth)).json()
    keys = {m["key"] for p in tree["projects"] for s in p["sub_jobs"] for m in s["milestones"]}
    assert not any(f":cc:{code_id}:" in k for k in keys)


async def test_projects_that_turn_inactive_or_unpermitted_are_noticed(
    procore_env: ProcoreEnv, db: Database, settings: Settings
) -> None:
    tenant = await create_tenant(db, settings)
    auth = bearer(tenant.api_key)
    connection_id, (first, second) = await procore_env.track(tenant, 2)
    await procore_env.sandbox.post(f"/_sandbox/projects/{first['external_id']}", json={"active": False})
    await procore_env.sandbox.post(
        f"/_sandbox/projects/{second['external_id']}", json={"app_permitted": False}
    )
    await procore_env.sandbox.post("/_sandbox/webhooks/drain", json={"timeout": 5})
    await procore_env.client.post(f"/api/v1/connections/{connection_id}/sync", headers=auth)
    rows = {
        p["id"]: p for p in (await procore_env.client.get("/api/v1/projects", headers=auth)).json()["items"]
    }
    assert rows[first["id"]]["excluded_reason"] == "inactive in Procore"
    assert rows[second["id"]]["excluded_reason"] == "not permitted for this app in Procore's App Management"
    again = await procore_env.client.post(
        "/api/v1/projects/sync", json={"project_ids": [first["id"]], "enabled": True}, headers=auth
    )
    assert again.json()["skipped"][0]["reason"] == "inactive in Procore"


async def test_the_scheduler_runs_queued_projects_and_stops(
    procore_env: ProcoreEnv, db: Database, settings: Settings
) -> None:
    tenant = await create_tenant(db, settings)
    auth = bearer(tenant.api_key)
    _, (project,) = await procore_env.track(tenant, 1)
    async with db.transaction() as session:  # queued, and nothing else will run it
        assert (await queue_sync(session, tenant.company.id, project["id"])).sync_state == "queued"
    stop = asyncio.Event()
    runner = asyncio.create_task(run_sync_scheduler(procore_env.app.state, poll_seconds=0.05, stop=stop))
    for _ in range(100):
        state = (await procore_env.client.get(f"/api/v1/projects/{project['id']}", headers=auth)).json()
        if state["sync_state"] == "synced":
            break
        await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(runner, timeout=10)
    assert state["sync_state"] == "synced"


async def test_a_resync_with_no_changes_costs_about_one_request_per_project_resource(
    procore_env: ProcoreEnv, db: Database, settings: Settings
) -> None:
    tenant = await create_tenant(db, settings)
    connection_id, projects = await procore_env.track(tenant, 3)
    await procore_env.sandbox.post("/_sandbox/webhooks/drain", json={"timeout": 5})
    before = (await procore_env.sandbox.get("/_sandbox/requests")).json()["total"]
    result = await sync_connection(db, procore_env.http, procore_env.box, connection_id)  # "sync now"
    assert result.projects_synced == 3
    spent = (await procore_env.sandbox.get("/_sandbox/requests")).json()["total"] - before
    assert spent == result.requests
    assert spent <= len(projects) * 6  # (project, resource) pairs: cost codes, categories, sub jobs, ...


async def test_webhook_deliveries_need_the_secret_and_are_deduplicated_by_ulid(
    procore_env: ProcoreEnv, db: Database, settings: Settings
) -> None:
    tenant = await create_tenant(db, settings)
    connection_id, (project,) = await procore_env.track(tenant, 1)
    (hook,) = (await procore_env.sandbox.get("/_sandbox/records/webhook_hooks")).json()
    secret = hook["destination_headers"]["Authorization"]
    url = f"/api/v1/webhooks/procore/{connection_id}"
    event = {
        "ulid": "01JTESTULID0000000000000000",
        "resource_name": "Sub Jobs",
        "event_type": "update",
        "resource_id": 1,
        "project_id": project["external_id"],
        "company_id": 1,
    }
    wrong = await procore_env.client.post(url, json=event, headers={"Authorization": "Bearer guess"})
    assert wrong.status_code == 404
    first = await procore_env.client.post(url, json=event, headers={"Authorization": secret})
    assert first.json() == {"status": "accepted"}
    again = await procore_env.client.post(url, json=event, headers={"Authorization": secret})
    assert again.json() == {"status": "duplicate"}
