"""Clock-in and clock-out through the public API, exported to the Procore sandbox."""

import asyncio
from decimal import Decimal

from tests.procore_fixtures import ProcoreEnv
from tests.timekeeping.helpers import clock_in_body, clock_out_body, crew_env, deliver, sandbox_entries

API = "/api/v1/time"


async def test_a_foreman_clocks_in_a_crew_and_the_split_lands_in_procore(procore_env: ProcoreEnv) -> None:
    env = procore_env
    crew = await crew_env(env)
    body = clock_in_body(crew, crew.workers)
    response = await env.client.post(f"{API}/clock-in", json=body, headers=crew.auth())
    assert response.status_code == 201, response.text
    shifts = response.json()["shifts"]
    assert [s["worker_id"] for s in shifts] == crew.workers
    assert all(s["export_status"] == "Waiting to send" for s in shifts)
    on = (await env.client.get(f"{API}/on-the-clock", headers=crew.auth(crew.workers[2]))).json()
    assert {s["worker_id"] for s in on} == set(crew.workers)

    await deliver(env, crew)
    entries = await sandbox_entries(env, crew.procore_project_id)
    assert sorted(e["party_id"] for e in entries) == sorted(crew.parties.values())
    assert {e["hours"] for e in entries} == {"0.0"}

    m0, m1 = crew.milestones[:2]
    split = {
        "mode": "percent",
        "lines": [{"milestone_id": m0, "value": "60"}, {"milestone_id": m1, "value": "40"}],
    }
    out = clock_out_body([s["shift_id"] for s in shifts], hours=8.5, split=split, injured=False)
    response = await env.client.post(f"{API}/clock-out", json=out, headers=crew.auth())
    assert response.status_code == 200, response.text
    closed = response.json()["shifts"]
    assert [[a["hours"] for a in s["allocations"]] for s in closed] == [["4.8", "3.2"]] * 3
    assert all(s["hours"] == "8" for s in closed)

    await deliver(env, crew)
    entries = await sandbox_entries(env, crew.procore_project_id)
    assert len(entries) == 6
    for worker, party in crew.parties.items():
        mine = {e["cost_code_id"]: e for e in entries if e["party_id"] == party}
        for milestone, hours in ((m0, "4.8"), (m1, "3.2")):
            cost_code, category, sub_job = crew.codes[milestone]
            entry = mine[cost_code]
            assert Decimal(entry["hours"]) == Decimal(hours), worker
            assert entry["line_item_type_id"] == category
            assert entry["sub_job_id"] == sub_job
            assert entry["date"] == "2026-11-25"
    mine = (await env.client.get(f"{API}/my-shifts", headers=crew.auth())).json()
    assert {s["export_status"] for s in mine} == {"Sent to Procore ✓"}
    assert (await env.client.get(f"{API}/on-the-clock", headers=crew.auth())).json() == []


async def test_a_worker_on_the_clock_cannot_be_clocked_in_twice(procore_env: ProcoreEnv) -> None:
    env = procore_env
    crew = await crew_env(env)
    first = await env.client.post(
        f"{API}/clock-in", json=clock_in_body(crew, crew.workers[1:2]), headers=crew.auth()
    )
    assert first.status_code == 201
    again = clock_in_body(crew, crew.workers[1:3], milestone=crew.milestones[1])
    response = await env.client.post(f"{API}/clock-in", json=again, headers=crew.auth(crew.workers[0]))
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "already_on_clock"
    assert "Crew Member 1 is already on the clock since 08:00" in error["message"]
    assert "clocked in by Crew Worker" in error["message"]
    assert first.json()["shifts"][0]["place"] in error["message"]
    # nobody of the refused crew was clocked in
    on = (await env.client.get(f"{API}/on-the-clock", headers=crew.auth())).json()
    assert [s["worker_id"] for s in on] == [crew.workers[1]]


async def test_offline_resends_are_deduplicated_by_client_ids(procore_env: ProcoreEnv) -> None:
    env = procore_env
    crew = await crew_env(env)
    body = clock_in_body(crew, crew.workers[:2])
    codes = [
        (await env.client.post(f"{API}/clock-in", json=body, headers=crew.auth())).status_code
        for _ in range(3)
    ]
    assert codes == [201, 200, 200]
    ids = [m["shift_id"] for m in body["members"]]
    out = clock_out_body(ids)
    for _ in range(2):
        response = await env.client.post(f"{API}/clock-out", json=out, headers=crew.auth())
        assert response.status_code == 200, response.text
    assert response.json()["replayed"] is True
    other = clock_out_body(ids, hours=9)
    conflict = await env.client.post(f"{API}/clock-out", json=other, headers=crew.auth())
    assert conflict.status_code == 409
    assert "already clocked out at 16:30" in conflict.json()["error"]["message"]
    await deliver(env, crew)
    entries = await sandbox_entries(env, crew.procore_project_id)
    assert sorted(Decimal(e["hours"]) for e in entries) == [Decimal(8), Decimal(8)]


async def test_only_a_foreman_clocks_in_others(procore_env: ProcoreEnv) -> None:
    env = procore_env
    crew = await crew_env(env)
    member = crew.workers[1]
    response = await env.client.post(
        f"{API}/clock-in", json=clock_in_body(crew, [member, crew.workers[2]]), headers=crew.auth(member)
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "not_foreman"
    mine = await env.client.post(
        f"{API}/clock-in", json=clock_in_body(crew, [member]), headers=crew.auth(member)
    )
    assert mine.status_code == 201


async def test_a_bad_split_is_refused_with_the_numbers(procore_env: ProcoreEnv) -> None:
    env = procore_env
    crew = await crew_env(env)
    body = clock_in_body(crew, crew.workers[:1])
    await env.client.post(f"{API}/clock-in", json=body, headers=crew.auth())
    split = {"mode": "hours", "lines": [{"milestone_id": crew.milestones[0], "value": "5"}]}
    out = clock_out_body([body["members"][0]["shift_id"]], split=split)
    response = await env.client.post(f"{API}/clock-out", json=out, headers=crew.auth())
    assert response.status_code == 422
    assert response.json()["error"]["message"] == (
        "The split adds up to 5 h; it must add up to 8 h (worked time minus breaks)."
    )


async def test_racing_phones_cannot_clock_a_worker_in_twice(procore_env: ProcoreEnv) -> None:
    env = procore_env
    crew = await crew_env(env)
    same = clock_in_body(crew, crew.workers[1:2])
    answers = await asyncio.gather(
        env.client.post(f"{API}/clock-in", json=same, headers=crew.auth()),
        env.client.post(f"{API}/clock-in", json=same, headers=crew.auth()),
    )
    assert sorted(a.status_code for a in answers) == [200, 201]
    other = clock_in_body(crew, crew.workers[2:3])
    rival = clock_in_body(crew, crew.workers[2:3], milestone=crew.milestones[1])
    answers = await asyncio.gather(
        env.client.post(f"{API}/clock-in", json=other, headers=crew.auth()),
        env.client.post(f"{API}/clock-in", json=rival, headers=crew.auth()),
    )
    assert sorted(a.status_code for a in answers) == [201, 409]
    on = (await env.client.get(f"{API}/on-the-clock", headers=crew.auth())).json()
    assert sorted(s["worker_id"] for s in on) == sorted(crew.workers[1:3])
