"""The race behind a flaky browser clock-in test, replayed in a fixed order.

A live FieldBridge server's scheduler re-syncs a connection that never finished a sync as soon
as it starts. The crew fixture used to put its first milestone under the sub job "Phase 1"
although Procore bills that cost code to the project; the start-up sync corrected the milestone
(no sub job), so whether an exported entry carried the sub job depended on whether the sync
finished before the clock-in/out read the milestone. Here the sync runs first, every time.
"""

from fieldbridge.sites.tasks import sync_connection
from tests.procore_fixtures import ProcoreEnv
from tests.timekeeping.helpers import clock_in_body, clock_out_body, crew_env, deliver, sandbox_entries

API = "/api/v1/time"


async def test_a_start_up_resync_before_clock_in_keeps_the_milestones_sub_job(
    procore_env: ProcoreEnv,
) -> None:
    env = procore_env
    crew = await crew_env(env)
    m0 = crew.milestones[0]
    cost_code, category, sub_job = crew.codes[m0]
    assert sub_job is not None  # RMO-1001's first milestone sits under a sub job

    # What the live server's scheduler does at start-up (the connection was never synced).
    synced = await sync_connection(env.db, env.http, env.box, crew.connection_id, paced=False)
    assert synced.projects_synced == 1, synced.failures

    body = clock_in_body(crew, crew.workers[:1], milestone=m0)
    response = await env.client.post(f"{API}/clock-in", json=body, headers=crew.auth())
    assert response.status_code == 201, response.text
    shift_ids = [s["shift_id"] for s in response.json()["shifts"]]
    out = await env.client.post(f"{API}/clock-out", json=clock_out_body(shift_ids), headers=crew.auth())
    assert out.status_code == 200, out.text
    await deliver(env, crew)

    (entry,) = await sandbox_entries(env, crew.procore_project_id)
    assert (entry["cost_code_id"], entry["line_item_type_id"]) == (cost_code, category)
    assert entry["sub_job_id"] == sub_job
