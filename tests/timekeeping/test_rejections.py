"""Rejections a person can act on: each shows on the shift and in the export log with what to do."""

from typing import Any

from sqlalchemy import select

from fieldbridge.accounts.models import Worker
from fieldbridge.connectors.procore import mapping
from fieldbridge.delivery.models import Delivery
from fieldbridge.sites.people import apply_people
from tests.factories import bearer
from tests.procore_fixtures import ProcoreEnv
from tests.timekeeping.helpers import (
    Crew,
    clock_in_body,
    clock_out_body,
    crew_env,
    deliver,
    link_person_by_api,
    lock_day_in_procore,
    sandbox_entries,
)

API = "/api/v1/time"


async def _clock_in(env: ProcoreEnv, crew: Crew, workers: list[int]) -> list[dict[str, Any]]:
    response = await env.client.post(
        f"{API}/clock-in", json=clock_in_body(crew, workers), headers=crew.auth()
    )
    assert response.status_code == 201, response.text
    return list(response.json()["shifts"])


async def _status(env: ProcoreEnv, crew: Crew) -> set[str]:
    return {
        s["export_status"] for s in (await env.client.get(f"{API}/my-shifts", headers=crew.auth())).json()
    }


async def _reasons(env: ProcoreEnv, status: str = "rejected") -> list[str]:
    async with env.db.transaction() as session:
        rows = await session.scalars(select(Delivery).where(Delivery.status == status))
        return [r.reason or "" for r in rows]


async def test_a_project_that_is_not_synced_is_not_offered_and_is_explained(procore_env: ProcoreEnv) -> None:
    env = procore_env
    crew = await crew_env(env)
    picker = (await env.client.get(f"{API}/picker", headers=crew.auth())).json()
    offered = {m["id"] for p in picker["projects"] for s in p["sub_jobs"] for m in s["milestones"]}
    assert offered == set(crew.milestones)
    body = clock_in_body(crew, crew.workers[:1], milestone=crew.unsynced_milestone)
    response = await env.client.post(f"{API}/clock-in", json=body, headers=crew.auth())
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "project_not_synced"
    assert "is not synced to Procore" in response.json()["error"]["message"]
    assert "ask an admin to turn on sync" in response.json()["error"]["message"]


async def test_a_worker_without_a_procore_person(procore_env: ProcoreEnv) -> None:
    env = procore_env
    crew = await crew_env(env, map_people=False)
    await _clock_in(env, crew, crew.workers[:1])
    await deliver(env, crew)
    (status,) = await _status(env, crew)
    assert status.startswith("Held: Crew Worker is not linked to a Procore person.")
    assert any("links the worker" in r for r in await _reasons(env, "held"))
    assert await sandbox_entries(env, crew.procore_project_id) == []


async def _unlinked_worker_clocked_out(env: ProcoreEnv) -> tuple[Any, list[dict[str, Any]]]:
    """A worker with no Procore person works a shift: its time is held back ("Held")."""
    crew = await crew_env(env, map_people=False)
    shifts = await _clock_in(env, crew, crew.workers[:1])
    out = clock_out_body([shifts[0]["shift_id"]])
    assert (await env.client.post(f"{API}/clock-out", json=out, headers=crew.auth())).status_code == 200
    await deliver(env, crew)
    assert (await _status(env, crew)).pop().startswith("Held: ")
    return crew, shifts


async def test_linking_the_person_in_the_admin_api_sends_the_held_time(procore_env: ProcoreEnv) -> None:
    env = procore_env
    crew, _shifts = await _unlinked_worker_clocked_out(env)
    await link_person_by_api(env, crew, crew.workers[0], "Unlinked")
    await deliver(env, crew)
    assert await _status(env, crew) == {"Sent to Procore ✓"}
    (entry,) = await sandbox_entries(env, crew.procore_project_id)
    assert entry["party_id"] == crew.parties[crew.workers[0]]


async def test_a_connection_user_without_timecard_permission(procore_env: ProcoreEnv) -> None:
    env = procore_env
    crew = await crew_env(env)
    for user in (await env.sandbox.get("/_sandbox/records/users")).json():
        await env.sandbox.post(f"/_sandbox/users/{user['id']}", json={"timecards": "none"})
    await _clock_in(env, crew, crew.workers[:1])
    await deliver(env, crew)
    (status,) = await _status(env, crew)
    assert status.startswith("Not sent: ")
    assert "no Timecard permission" in status
    assert "Ask a Procore admin to grant it" in status


async def test_a_project_inactive_in_procore(procore_env: ProcoreEnv) -> None:
    env = procore_env
    crew = await crew_env(env)
    await env.sandbox.post(f"/_sandbox/projects/{crew.procore_project_id}", json={"active": False})
    await _clock_in(env, crew, crew.workers[:1])
    await deliver(env, crew)
    (status,) = await _status(env, crew)
    assert status.startswith("Held: ")
    assert "is inactive" in status
    assert "by itself once the project is active again" in status


async def test_an_entry_locked_by_an_approved_timesheet(procore_env: ProcoreEnv) -> None:
    env = procore_env
    crew = await crew_env(env)
    shifts = await _clock_in(env, crew, crew.workers[:1])
    await deliver(env, crew)
    await lock_day_in_procore(env, crew, "2026-11-25")
    out = clock_out_body([shifts[0]["shift_id"]])
    assert (await env.client.post(f"{API}/clock-out", json=out, headers=crew.auth())).status_code == 200
    await deliver(env, crew)
    (status,) = await _status(env, crew)
    assert "locked" in status
    assert "approved" in status
    assert "reopen" in status


async def test_a_people_sync_that_links_the_worker_sends_the_held_time(procore_env: ProcoreEnv) -> None:
    env = procore_env
    crew, shifts = await _unlinked_worker_clocked_out(env)
    async with env.db.transaction() as session:
        worker = await session.get(Worker, crew.workers[0])
        assert worker is not None
        person = {"id": crew.parties[crew.workers[0]], "name": "C. Worker", "employee_id": worker.employee_id}
        fields = mapping.person_fields(person)
        await apply_people(
            session, crew.tenant.company.id, crew.connection_id, {mapping.pid(person["id"]): fields}
        )
    await deliver(env, crew)
    assert await _status(env, crew) == {"Sent to Procore ✓"}
    (entry,) = [e for e in await sandbox_entries(env, crew.procore_project_id)]
    assert entry["party_id"] == crew.parties[crew.workers[0]]
    assert entry["hours"] == "8.0"
    # an admin can also resend one shift by hand; nothing is duplicated
    again = await env.client.post(
        f"{API}/shifts/{shifts[0]['id']}/resend", headers=bearer(crew.tenant.api_key)
    )
    assert again.status_code == 200, again.text
    await deliver(env, crew)
    assert len(await sandbox_entries(env, crew.procore_project_id)) == 1
