"""Time is held, not lost, when FieldBridge cannot reach a project: clock-out always succeeds,
and the export goes by itself once a webhook or a sync shows the project reachable again.
A refused delivery or a webhook that reveals an inactive project updates the mirror at once."""

from typing import Any

from sqlalchemy import select

from fieldbridge.connections.models import Connection
from fieldbridge.connectors.procore.sync import Target
from fieldbridge.connectors.procore.webhooks import ensure_webhooks
from fieldbridge.delivery.models import Delivery
from fieldbridge.delivery.states import Status
from fieldbridge.sites.models import Project
from fieldbridge.sites.tasks import sync_connection
from tests.factories import bearer, sign_in_browser
from tests.procore_fixtures import FIELDBRIDGE_URL, ProcoreEnv
from tests.timekeeping.helpers import (
    Crew,
    clock_in_body,
    clock_out_body,
    crew_env,
    deliver,
    link_person_by_api,
    sandbox_entries,
)

API = "/api/v1/time"


async def _webhooks_on(env: ProcoreEnv, crew: Crew) -> None:
    async with env.db.transaction() as session:
        connection = await session.get(Connection, crew.connection_id)
        assert connection is not None
        target = Target.of(connection)
    async with env.procore_client(crew.connection_id) as procore:
        await ensure_webhooks(env.db, procore, target, FIELDBRIDGE_URL)


async def _edit_project(env: ProcoreEnv, crew: Crew, **change: Any) -> None:
    """Someone changes the project in Procore; its webhooks (if any) arrive and are processed."""
    await env.sandbox.post(f"/_sandbox/projects/{crew.procore_project_id}", json=change)
    await env.sandbox.post("/_sandbox/webhooks/drain", json={"timeout": 5})


async def _clock_in(env: ProcoreEnv, crew: Crew) -> list[dict[str, Any]]:
    response = await env.client.post(
        f"{API}/clock-in", json=clock_in_body(crew, crew.workers[:1]), headers=crew.auth()
    )
    assert response.status_code == 201, response.text
    return list(response.json()["shifts"])


async def _project(env: ProcoreEnv, crew: Crew) -> dict[str, Any]:
    response = await env.client.get(
        f"/api/v1/projects/{crew.project_id}", headers=bearer(crew.tenant.api_key)
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


async def _offered(env: ProcoreEnv, crew: Crew) -> set[int]:
    picker = (await env.client.get(f"{API}/picker", headers=crew.auth())).json()
    return {m["id"] for p in picker["projects"] for s in p["sub_jobs"] for m in s["milestones"]}


async def _statuses(env: ProcoreEnv) -> list[str]:
    async with env.db.transaction() as session:
        return [str(r.status) for r in await session.scalars(select(Delivery).order_by(Delivery.id))]


async def test_clock_out_and_linking_after_access_is_lost_hold_the_time_until_access_returns(
    procore_env: ProcoreEnv,
) -> None:
    env = procore_env
    crew = await crew_env(env, map_people=False)
    await _webhooks_on(env, crew)
    shifts = await _clock_in(env, crew)
    await _edit_project(env, crew, app_permitted=False)
    assert (await _project(env, crew))["permitted"] is False  # the webhook told us at once
    out = await env.client.post(
        f"{API}/clock-out", json=clock_out_body([shifts[0]["shift_id"]]), headers=crew.auth()
    )
    assert out.status_code == 200, out.text
    (closed,) = out.json()["shifts"]
    assert closed["status"] == "closed"
    assert closed["hours"] == "8"
    # linking the worker to their Procore person works too (it used to fail the same way)
    await link_person_by_api(env, crew, crew.workers[0], "Crew Worker")
    await deliver(env, crew)
    assert await sandbox_entries(env, crew.procore_project_id) == []
    (mine,) = (await env.client.get(f"{API}/my-shifts", headers=crew.auth())).json()
    assert mine["export_state"] == "held"
    assert "FieldBridge lost access" in " ".join(mine["held_reasons"])
    assert set(await _statuses(env)) == {"held"}
    # access returns: the webhook releases what was held for the project, and it all goes out
    await _edit_project(env, crew, app_permitted=True)
    await deliver(env, crew)
    (entry,) = await sandbox_entries(env, crew.procore_project_id)
    assert entry["hours"] == "8.0"
    assert entry["party_id"] == crew.parties[crew.workers[0]]
    assert set(await _statuses(env)) == {"delivered"}


async def test_a_refused_delivery_marks_the_project_inactive_at_once_and_a_sync_releases_the_time(
    procore_env: ProcoreEnv,
) -> None:
    env = procore_env
    crew = await crew_env(env)  # no webhooks registered: the change is only seen when a delivery is refused
    await _edit_project(env, crew, active=False)
    assert (await _project(env, crew))["active"] is True
    shifts = await _clock_in(env, crew)
    await deliver(env, crew)
    project = await _project(env, crew)
    assert project["active"] is False
    assert project["excluded_reason"] == "inactive in Procore"
    assert project["excluded_why"].startswith("inactive in Procore since ")
    assert await _statuses(env) == ["held"]
    assert await _offered(env, crew) == set()
    again = await env.client.post(
        f"{API}/clock-in", json=clock_in_body(crew, crew.workers[1:2]), headers=crew.auth()
    )
    assert again.status_code == 422
    assert again.json()["error"]["code"] == "project_inactive"
    out = await env.client.post(
        f"{API}/clock-out", json=clock_out_body([shifts[0]["shift_id"]]), headers=crew.auth()
    )
    assert out.status_code == 200, out.text
    csrf = await sign_in_browser(env.client, crew.tenant.admin.email)
    assert csrf
    page = await env.client.get(
        f"/settings/integrations/procore/{crew.connection_id}/projects", params={"view": "excluded"}
    )
    assert "inactive in Procore since " in page.text
    # reactivated; the next sync (the 15-minute reconcile) sees it and releases the held time
    await _edit_project(env, crew, active=True)
    await sync_connection(env.db, env.http, env.box, crew.connection_id, project_ids=[], paced=False)
    assert (await _project(env, crew))["excluded_reason"] is None
    await deliver(env, crew)
    (entry,) = await sandbox_entries(env, crew.procore_project_id)
    assert entry["hours"] == "8.0"
    assert set(await _statuses(env)) == {"delivered"}


async def test_a_webhook_that_shows_the_project_inactive_takes_it_off_the_picker_at_once(
    procore_env: ProcoreEnv,
) -> None:
    env = procore_env
    crew = await crew_env(env)
    await _webhooks_on(env, crew)
    assert await _offered(env, crew) == set(crew.milestones)
    await _edit_project(env, crew, active=False)
    assert await _offered(env, crew) == set()
    refused = await env.client.post(
        f"{API}/clock-in", json=clock_in_body(crew, crew.workers[:1]), headers=crew.auth()
    )
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "project_inactive"
    assert (await _project(env, crew))["excluded_why"].startswith("inactive in Procore since ")
    await _edit_project(env, crew, active=True)
    assert set(crew.milestones) <= await _offered(env, crew)  # (the re-sync it queued adds the rest)
    async with env.db.transaction() as session:
        row = await session.get(Project, crew.project_id)
        assert row is not None
        assert row.excluded_since is None
    assert Status.held not in set(await _statuses(env))
