"""The company time policy: time a phone reports outside it is stored, and its export is held
with the reason until an admin approves or corrects it."""

from datetime import UTC, datetime, timedelta
from typing import Any

from fieldbridge.kit.clock import utcnow
from tests.factories import bearer, sign_in_browser
from tests.procore_fixtures import ProcoreEnv
from tests.timekeeping.helpers import Crew, clock_in_body, crew_env, deliver, new_id, sandbox_entries

API = "/api/v1/time"


def _hour(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)


async def _clock(
    env: ProcoreEnv, crew: Crew, start: datetime, end: datetime | None, worker: int | None = None
) -> dict[str, Any]:
    """One shift of one worker (a non-foreman's own device), clocked in and maybe out."""
    who = worker or crew.workers[1]
    body = clock_in_body(crew, [who], started_at=start.isoformat())
    response = await env.client.post(f"{API}/clock-in", json=body, headers=crew.auth(who))
    assert response.status_code == 201, response.text
    (shift,) = response.json()["shifts"]
    if end is not None:
        out = {
            "id": new_id(),
            "shift_ids": [shift["shift_id"]],
            "ended_at": end.isoformat(),
            "break_minutes": 0,
            "injured": False,
        }
        closed = await env.client.post(f"{API}/clock-out", json=out, headers=crew.auth(who))
        assert closed.status_code == 200, closed.text
    return dict(shift)


async def _held(env: ProcoreEnv, crew: Crew) -> dict[int, list[str]]:
    response = await env.client.get(f"{API}/held", headers=bearer(crew.tenant.api_key))
    assert response.status_code == 200, response.text
    return {s["id"]: s["held_reasons"] for s in response.json()}


async def _policy(env: ProcoreEnv, crew: Crew, **rules: Any) -> None:
    response = await env.client.put(
        f"{API}/policy", json={"max_days_back": 7, **rules}, headers=bearer(crew.tenant.api_key)
    )
    assert response.status_code == 200, response.text


async def test_a_shift_in_2099_is_stored_held_and_sent_once_an_admin_corrects_it(
    procore_env: ProcoreEnv,
) -> None:
    env = procore_env
    crew = await crew_env(env)
    await _policy(env, crew)
    shift = await _clock(env, crew, datetime(2099, 1, 5, 13, 0, tzinfo=UTC), None)
    await deliver(env, crew)
    assert await sandbox_entries(env, crew.procore_project_id) == []
    (why,) = (await _held(env, crew))[shift["id"]]
    assert "Held for approval: the clock-in (2099-01-05 08:00) is in the future" in why
    # an open shift cannot be approved as it is; the admin corrects it, and it goes out
    admin = bearer(crew.tenant.api_key)
    assert (await env.client.post(f"{API}/shifts/{shift['id']}/approve", headers=admin)).status_code == 409
    start = _hour(utcnow()) - timedelta(hours=9)
    fix = {
        "started_at": start.isoformat(),
        "ended_at": (start + timedelta(hours=8)).isoformat(),
        "note": "phone",
    }
    fixed = await env.client.post(f"{API}/shifts/{shift['id']}/corrections", json=fix, headers=admin)
    assert fixed.status_code == 200, fixed.text
    await deliver(env, crew)
    assert await _held(env, crew) == {}
    (entry,) = await sandbox_entries(env, crew.procore_project_id)
    assert entry["hours"] == "8.0"
    assert entry["date"] == fixed.json()["work_date"]


async def test_a_167_hour_shift_is_held_at_clock_out_until_an_admin_corrects_it(
    procore_env: ProcoreEnv,
) -> None:
    env = procore_env
    crew = await crew_env(env)
    await _policy(env, crew)
    end = _hour(utcnow())
    shift = await _clock(env, crew, end - timedelta(hours=167), end)
    await deliver(env, crew)
    (entry,) = await sandbox_entries(env, crew.procore_project_id)
    assert entry["hours"] == "0.0"  # the clock-in was within the policy; the 167 hours are not
    (why,) = (await _held(env, crew))[shift["id"]]
    assert "the shift is 167.0 hours long; the policy allows 16" in why
    mine = (await env.client.get(f"{API}/my-shifts", headers=crew.auth(crew.workers[1]))).json()
    assert mine[0]["export_state"] == "held"
    assert mine[0]["export_status"].startswith("Held: Held for approval: the shift is 167.0 hours")
    fix = {"ended_at": (end - timedelta(hours=158)).isoformat(), "note": "forgot to clock out"}
    admin = bearer(crew.tenant.api_key)
    fixed = await env.client.post(f"{API}/shifts/{shift['id']}/corrections", json=fix, headers=admin)
    assert fixed.status_code == 200, fixed.text
    await deliver(env, crew)
    (entry,) = await sandbox_entries(env, crew.procore_project_id)
    assert entry["hours"] == "9.0"
    assert await _held(env, crew) == {}


async def test_backdated_and_overlapping_shifts_are_held_and_none_reach_procore(
    procore_env: ProcoreEnv,
) -> None:
    env = procore_env
    crew = await crew_env(env)
    await _policy(env, crew)
    day = _hour(utcnow()) - timedelta(days=30)
    backdated = [
        await _clock(env, crew, day + timedelta(days=n), day + timedelta(days=n, hours=8)) for n in range(10)
    ]
    start = _hour(utcnow()) - timedelta(hours=10)
    first = await _clock(env, crew, start, start + timedelta(hours=8), crew.workers[2])
    twin = await _clock(env, crew, start, start + timedelta(hours=8), crew.workers[2])
    await deliver(env, crew)
    held = await _held(env, crew)
    assert set(held) == {s["id"] for s in backdated} | {twin["id"]}
    assert "is 30 days back; the policy allows 7" in held[backdated[0]["id"]][0]
    assert "it overlaps the worker's shift from" in held[twin["id"]][0]
    entries = await sandbox_entries(env, crew.procore_project_id)
    assert [e["hours"] for e in entries] == ["8.0"]  # only the first of the twins
    assert first["id"] not in held


async def test_a_looser_policy_set_by_the_admin_lets_backdated_time_through(procore_env: ProcoreEnv) -> None:
    env = procore_env
    crew = await crew_env(env)
    await _policy(env, crew, max_days_back=60, max_shift_hours=24, hold_overlaps=False)
    got = (await env.client.get(f"{API}/policy", headers=bearer(crew.tenant.api_key))).json()
    assert got == {
        "max_days_back": 60,
        "max_minutes_ahead": 15,
        "max_shift_hours": 24,
        "hold_overlaps": False,
    }
    day = _hour(utcnow()) - timedelta(days=30)
    await _clock(env, crew, day, day + timedelta(hours=20))
    await deliver(env, crew)
    assert await _held(env, crew) == {}
    assert [e["hours"] for e in await sandbox_entries(env, crew.procore_project_id)] == ["20.0"]


async def test_policy_input_is_checked_and_only_an_admin_sets_it(procore_env: ProcoreEnv) -> None:
    env = procore_env
    crew = await crew_env(env)
    admin = bearer(crew.tenant.api_key)
    bad = await env.client.put(f"{API}/policy", json={"max_shift_hours": 0}, headers=admin)
    assert bad.status_code == 422
    assert bad.json()["error"]["details"][0]["field"] == "body.max_shift_hours"
    worker = await env.client.put(f"{API}/policy", json={}, headers=crew.auth())
    assert worker.status_code == 403
    assert (await env.client.get(f"{API}/held", headers=crew.auth())).status_code == 403
    # impossible input is still refused outright: nothing is stored or held
    shift = await _clock(env, crew, _hour(utcnow()) - timedelta(hours=2), None)
    out = {
        "id": new_id(),
        "shift_ids": [shift["shift_id"]],
        "ended_at": (utcnow() - timedelta(hours=5)).isoformat(),
        "injured": False,
    }
    before = await env.client.post(f"{API}/clock-out", json=out, headers=crew.auth(crew.workers[1]))
    assert before.status_code == 422
    assert before.json()["error"]["code"] == "bad_times"


async def test_the_timesheets_page_lists_held_shifts_with_reasons_and_sets_the_policy(
    procore_env: ProcoreEnv,
) -> None:
    env = procore_env
    crew = await crew_env(env)
    await _policy(env, crew)
    end = _hour(utcnow())
    shift = await _clock(env, crew, end - timedelta(hours=20), end)
    client = env.client
    csrf = await sign_in_browser(client, crew.tenant.admin.email)
    page = await client.get("/timesheets")
    assert page.status_code == 200
    assert "Held for approval" in page.text
    assert "the shift is 20.0 hours long; the policy allows 16" in page.text
    assert f'action="/timesheets/shifts/{shift["id"]}/approve"' in page.text
    assert f'name="csrf_token" value="{csrf}"' in page.text
    detail = await client.get(f"/timesheets/shifts/{shift['id']}")
    assert "Approve and send" in detail.text
    assert "the policy allows 16" in detail.text
    saved = await client.post(
        "/timesheets/policy",
        data={"csrf_token": csrf, "max_days_back": "3", "max_minutes_ahead": "5", "max_shift_hours": "12"},
    )
    assert saved.status_code == 303
    got = (await env.client.get(f"{API}/policy", headers=bearer(crew.tenant.api_key))).json()
    assert got == {"max_days_back": 3, "max_minutes_ahead": 5, "max_shift_hours": 12, "hold_overlaps": False}
    refused = await client.post("/timesheets/policy", data={"csrf_token": csrf, "max_days_back": "-1"})
    assert refused.status_code == 422
    assert "max_days_back" in refused.text
    approved = await client.post(
        f"/timesheets/shifts/{shift['id']}/approve", data={"csrf_token": csrf, "back": "/timesheets#held"}
    )
    assert approved.status_code == 303
    await deliver(env, crew)
    assert [e["hours"] for e in await sandbox_entries(env, crew.procore_project_id)] == ["20.0"]
