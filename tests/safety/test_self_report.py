"""The clock-out question "Were you injured today?": Yes becomes a self_report for review."""

from tests.factories import bearer
from tests.procore_fixtures import ProcoreEnv
from tests.timekeeping.helpers import clock_in_body, clock_out_body, crew_env

API = "/api/v1/time"


async def test_injured_yes_at_clock_out_is_a_self_report_on_the_site(procore_env: ProcoreEnv) -> None:
    env = procore_env
    crew = await crew_env(env)
    admin = bearer(crew.tenant.api_key)
    r = await env.client.post(
        "/api/v1/safety/sites",
        json={"project_id": crew.project_id, "name": "Crew site", "time_zone": "America/New_York"},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    site_id = r.json()["id"]
    hurt, fine = crew.workers[1], crew.workers[2]
    shifts = (
        await env.client.post(f"{API}/clock-in", json=clock_in_body(crew, [hurt, fine]), headers=crew.auth())
    ).json()["shifts"]
    by_worker = {s["worker_id"]: s["shift_id"] for s in shifts}
    body = clock_out_body([by_worker[hurt]], injured=True)
    r = await env.client.post(f"{API}/clock-out", json=body, headers=crew.auth())
    assert r.status_code == 200, r.text
    r = await env.client.post(f"{API}/clock-out", json=body, headers=crew.auth())  # a phone's replay
    assert r.status_code == 200, r.text
    r = await env.client.post(
        f"{API}/clock-out", json=clock_out_body([by_worker[fine]], injured=False), headers=crew.auth()
    )
    assert r.status_code == 200, r.text
    found = (await env.client.get("/api/v1/detections", params={"site_id": site_id}, headers=admin)).json()[
        "items"
    ]
    assert len(found) == 1
    report = found[0]
    assert (report["type"], report["source"], report["worker_id"], report["state"]) == (
        "self_report",
        "person",
        hurt,
        "new",
    )
    assert report["occurred_at"] == body["ended_at"].replace("+00:00", "Z")
    assert "Were you injured today?" in report["description"]
