"""What a worker's phone says about a shift: what the worker can do, never a Procore setup
step; the office reads the reason and what to do."""

from typing import Any

from tests.factories import bearer
from tests.procore_fixtures import ProcoreEnv
from tests.timekeeping.helpers import (
    Crew,
    clock_in_body,
    clock_out_body,
    crew_env,
    deliver,
    lock_day_in_procore,
)

API = "/api/v1/time"
SETUP_WORDS = ("Integrations", "link", "Procore person", "admin", "permission", "sync")


async def _mine(env: ProcoreEnv, crew: Crew) -> dict[str, Any]:
    (shift,) = (await env.client.get(f"{API}/my-shifts", headers=crew.auth())).json()
    return dict(shift)


async def _work(env: ProcoreEnv, crew: Crew) -> dict[str, Any]:
    response = await env.client.post(
        f"{API}/clock-in", json=clock_in_body(crew, crew.workers[:1]), headers=crew.auth()
    )
    assert response.status_code == 201, response.text
    (shift,) = response.json()["shifts"]
    return dict(shift)


async def _clock_out(env: ProcoreEnv, crew: Crew, shift: dict[str, Any]) -> None:
    out = clock_out_body([shift["shift_id"]])
    assert (await env.client.post(f"{API}/clock-out", json=out, headers=crew.auth())).status_code == 200


async def test_held_time_tells_the_worker_it_is_saved_and_the_office_knows(procore_env: ProcoreEnv) -> None:
    env = procore_env
    crew = await crew_env(env, map_people=False)
    await _work(env, crew)
    await deliver(env, crew)
    shift = await _mine(env, crew)
    assert shift["export_status"].startswith("Held: Crew Worker is not linked to a Procore person.")
    assert shift["worker_state"] == "held"
    assert shift["worker_status"] == "Your time is saved; the office has been told."
    assert not any(word in shift["worker_status"] for word in SETUP_WORDS)


async def test_a_refused_correction_says_the_original_time_arrived(procore_env: ProcoreEnv) -> None:
    env = procore_env
    crew = await crew_env(env)
    shift = await _work(env, crew)
    await _clock_out(env, crew, shift)
    await deliver(env, crew)
    assert (await _mine(env, crew))["worker_state"] == "sent"
    await lock_day_in_procore(env, crew, shift["work_date"])
    fixed = await env.client.post(
        f"{API}/shifts/{shift['id']}/corrections",
        json={"break_minutes": 45, "note": "Longer lunch"},
        headers=bearer(crew.tenant.api_key),
    )
    assert fixed.status_code == 200, fixed.text
    await deliver(env, crew)
    mine = await _mine(env, crew)
    assert mine["export_state"] == "not_sent"
    assert "locked" in mine["export_status"]
    assert "The first entry is in Procore; this change is not." in mine["export_status"]
    assert mine["worker_state"] == "correction_held"
    assert mine["worker_status"] == (
        "Your original time arrived in Procore; the correction is with the office."
    )


async def test_a_refused_clock_out_says_the_clock_in_arrived(procore_env: ProcoreEnv) -> None:
    env = procore_env
    crew = await crew_env(env)
    shift = await _work(env, crew)
    await deliver(env, crew)
    await lock_day_in_procore(env, crew, shift["work_date"])
    await _clock_out(env, crew, shift)
    await deliver(env, crew)
    mine = await _mine(env, crew)
    assert mine["worker_state"] == "clock_out_held"
    assert mine["worker_status"] == "Your clock-in arrived in Procore; your clock-out is with the office."
