"""The clock-in path keeps a company's clock-in connection, its milestone targets and its time
policy in a per-process cache (`kit/cache.py`). A change is seen by the very next call, however
it is made: an admin's route, an ORM change, or plain SQL."""

from typing import Any

from sqlalchemy import text, update

from fieldbridge.connections.models import Connection, ConnectionStatus
from fieldbridge.sites.models import Project
from tests.factories import bearer
from tests.procore_fixtures import ProcoreEnv
from tests.timekeeping.helpers import Crew, clock_in_body, clock_out_body, crew_env

API = "/api/v1/time"


async def _clock_in(env: ProcoreEnv, crew: Crew, worker: int, **extra: Any) -> Any:
    return await env.client.post(
        f"{API}/clock-in", json=clock_in_body(crew, [worker], **extra), headers=crew.auth(worker)
    )


async def test_disconnecting_procore_closes_the_clock_in_gate_at_once(procore_env: ProcoreEnv) -> None:
    env = procore_env
    crew = await crew_env(env)
    assert (await _clock_in(env, crew, crew.workers[0])).status_code == 201  # the gate is cached now
    async with env.db.transaction() as session:
        await session.execute(
            update(Connection)
            .where(Connection.id == crew.connection_id)
            .values(status=ConnectionStatus.disconnected)
        )
    refused = await _clock_in(env, crew, crew.workers[1])
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["code"] == "clock_in_unavailable"
    gate = await env.client.get(f"{API}/capability", headers=crew.auth(crew.workers[1]))
    assert gate.json()["clock_in"] is False
    async with env.db.transaction() as session:
        connection = await session.get(Connection, crew.connection_id)
        assert connection is not None
        connection.status = ConnectionStatus.connected  # an ORM change this time
    assert (await _clock_in(env, crew, crew.workers[1])).status_code == 201


async def test_a_project_made_inactive_or_active_again_is_seen_by_the_next_clock_in(
    procore_env: ProcoreEnv,
) -> None:
    env = procore_env
    crew = await crew_env(env)
    assert (await _clock_in(env, crew, crew.workers[0])).status_code == 201  # the target is cached now
    async with env.db.transaction() as session:
        project = await session.get(Project, crew.project_id)
        assert project is not None
        project.active = False
    refused = await _clock_in(env, crew, crew.workers[1])
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["code"] == "project_inactive"
    async with env.db.transaction() as session:  # plain SQL, as an operator might
        await session.execute(
            text("UPDATE projects SET active = :on WHERE id = :id"), {"on": True, "id": crew.project_id}
        )
    assert (await _clock_in(env, crew, crew.workers[1])).status_code == 201


async def test_a_site_boundary_set_by_the_admin_applies_to_the_next_clock_in(procore_env: ProcoreEnv) -> None:
    env = procore_env
    crew = await crew_env(env)
    here = {"latitude": 40.0, "longitude": -105.0}
    assert (await _clock_in(env, crew, crew.workers[0], location=here)).status_code == 201
    fence = {
        "time_entry_mode": "hours",
        "latitude": 41.0,
        "longitude": -105.0,
        "radius_m": 300,
        "geofence_mode": "block",
    }
    response = await env.client.put(
        f"{API}/projects/{crew.project_id}/settings", json=fence, headers=bearer(crew.tenant.api_key)
    )
    assert response.status_code == 200, response.text
    refused = await _clock_in(env, crew, crew.workers[1], location=here)
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["code"] == "outside_geofence"


async def test_a_new_time_policy_applies_to_the_next_clock_out(procore_env: ProcoreEnv) -> None:
    env = procore_env
    crew = await crew_env(env)
    first = await _clock_in(env, crew, crew.workers[0])  # the policy is cached now
    assert first.status_code == 201, first.text
    shift_id = first.json()["shifts"][0]["shift_id"]
    policy = {"max_days_back": 7, "max_shift_hours": 4}
    response = await env.client.put(f"{API}/policy", json=policy, headers=bearer(crew.tenant.api_key))
    assert response.status_code == 200, response.text
    body = clock_out_body([shift_id], hours=8.5)
    closed = await env.client.post(f"{API}/clock-out", json=body, headers=crew.auth(crew.workers[0]))
    assert closed.status_code == 200, closed.text
    (shift,) = closed.json()["shifts"]
    assert shift["export_state"] == "held"
    assert any("the policy allows 4" in reason for reason in shift["held_reasons"]), shift
