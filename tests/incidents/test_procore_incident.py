"""`procore.safety.incident` over the sandbox's HTTP: a confirmed recordable incident becomes
one Procore incident with its injury, later changes update it, and a lost response never makes
a second incident."""

import pytest

from fieldbridge.connections.models import Connection
from fieldbridge.delivery.states import Status
from fieldbridge_sandbox.routes import webhooks_api
from tests.delivery.helpers import faults, make_due
from tests.incidents.sync_helpers import (
    confirm,
    deliver,
    ledger,
    link_site,
    remote_of,
    sandbox_incidents,
    sandbox_injuries,
)
from tests.procore_fixtures import ProcoreEnv


async def test_a_recordable_incident_is_created_then_updated_in_place(procore_env: ProcoreEnv) -> None:
    env = procore_env
    link = await link_site(env)
    incident = await confirm(env, link)
    assert incident["recordable"] is True
    await deliver(env, link)
    (row,) = await ledger(env)
    assert row.status == Status.delivered, row.last_error
    assert row.subject == f"incident:{incident['id']}"
    assert row.idempotency_key == f"incident:{incident['id']}:v1"
    (made,) = await sandbox_incidents(env)
    assert made["title"] == "Case 2026-001: Injury at East stair"
    assert made["event_date"] == "2026-03-09T15:05:00Z"
    assert made["recordable"] is True
    assert f"{env.settings.base_url}/incidents/{incident['id']} " in made["description"]
    assert "OSHA 300 case 2026-001." in made["description"]
    locations = (await env.sandbox.get("/_sandbox/records/locations")).json()
    assert next(loc for loc in locations if loc["id"] == made["location_id"])["name"] == "East stair"
    (injury,) = [i for i in await sandbox_injuries(env) if i["incident_id"] == made["id"]]
    assert "Role: Foreman. Trade: Carpentry" in injury["description"]
    assert injury["work_days_absent"] == 2
    assert injury["affected_party_id"] is None
    assert injury["affected_person_id"] is None
    remote = await remote_of(env, incident["id"])
    assert remote.remote_id == str(made["id"])
    assert remote.remote_version is not None
    assert remote.synced["days_away"] == 2

    # A change to what was sent goes as v2 and updates the same incident and injury.
    patched = await env.client.patch(
        f"/api/v1/incidents/{incident['id']}", json={"days_away": 5}, headers=link.auth
    )
    assert patched.status_code == 200, patched.text
    # A save that changes nothing sent enqueues nothing.
    same = await env.client.patch(
        f"/api/v1/incidents/{incident['id']}", json={"days_away": 5}, headers=link.auth
    )
    assert same.status_code == 200
    await deliver(env, link)
    first, second = await ledger(env)
    assert second.idempotency_key == f"incident:{incident['id']}:v2"
    assert second.status == Status.delivered, second.last_error
    assert second.remote_id == first.remote_id
    (still,) = await sandbox_incidents(env)
    injuries = [i for i in await sandbox_injuries(env) if i["incident_id"] == still["id"]]
    assert [i["work_days_absent"] for i in injuries] == [5]
    assert await env.count("POST", "/rest/v1.0/projects/{project_id}/incidents") == 1


async def test_not_recordable_is_not_sent_until_it_becomes_recordable(procore_env: ProcoreEnv) -> None:
    env = procore_env
    link = await link_site(env)
    incident = await confirm(env, link, treatment="first_aid", days_away=0)
    assert incident["recordable"] is False
    assert await ledger(env) == []
    await env.client.patch(f"/api/v1/incidents/{incident['id']}", json={"days_away": 1}, headers=link.auth)
    (row,) = await ledger(env)
    assert row.payload["recordable"] is True


async def test_a_lost_response_is_looked_up_and_never_makes_a_second_incident(
    procore_env: ProcoreEnv,
) -> None:
    env = procore_env
    link = await link_site(env)
    incident = await confirm(env, link)
    # The create commits in Procore, then the connection drops before the answer arrives.
    await faults(env, drop_next=1, path_prefixes=[f"/rest/v1.0/projects/{link.remote_project_id}/incidents"])
    await deliver(env, link)
    (row,) = await ledger(env)
    assert row.status == Status.retrying, row.status
    assert row.outcome_unknown
    assert len(await sandbox_incidents(env)) == 1
    await make_due(env)
    await deliver(env, link)
    (row,) = await ledger(env)
    assert row.status == Status.delivered, row.last_error
    (made,) = await sandbox_incidents(env)
    assert row.remote_id == str(made["id"])
    assert len([i for i in await sandbox_injuries(env) if i["incident_id"] == made["id"]]) == 1
    assert (await remote_of(env, incident["id"])).remote_id == str(made["id"])


async def test_a_refused_injuries_trigger_leaves_the_other_webhooks_registered(
    procore_env: ProcoreEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Procore may not offer "Injuries" as a webhook resource: the hook and the other triggers
    still register (incidents come back through the Incidents events and the reconcile pass)."""
    monkeypatch.setattr(webhooks_api, "RESOURCES", [r for r in webhooks_api.RESOURCES if r != "Injuries"])
    env = procore_env
    link = await link_site(env)
    async with env.db.sessionmaker() as session:
        connection = await session.get(Connection, link.connection_id)
        assert connection is not None
        assert connection.config.get("webhook_hook_id")  # registration finished
    triggers = (await env.sandbox.get("/_sandbox/records/webhook_triggers")).json()
    names = {t["resource_name"] for t in triggers}
    assert "Incidents" in names
    assert "Injuries" not in names
    assert "Projects" in names
