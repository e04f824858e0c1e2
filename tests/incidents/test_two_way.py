"""Two-way incidents with the sandbox: a safety manager's edit in Procore comes back through
its webhook and is applied within the run; FieldBridge's own writes echoing back are ignored
(no write back to Procore); a conflicting edit is recorded and shown; the reconcile pass
catches an edit whose webhook was lost."""

from typing import Any

from fastapi import FastAPI
from starlette.responses import Response

from fieldbridge.connections.connector import installed_registry
from fieldbridge.inbound.models import InboundState
from fieldbridge.incidents import inbound
from tests.factories import sign_in_browser
from tests.incidents.sync_helpers import (
    Linked,
    confirm,
    conflicts,
    deliver,
    inbound_events,
    ledger,
    link_site,
    sandbox_incidents,
    sandbox_injuries,
)
from tests.procore_fixtures import ProcoreEnv

WRITES = ("POST", "PATCH", "PUT", "DELETE")


async def _writes(env: ProcoreEnv) -> int:
    """Writes FieldBridge sent to Procore's incidents, counted by the sandbox."""
    body = (await env.sandbox.get("/_sandbox/requests")).json()
    return sum(r["count"] for r in body["requests"] if r["method"] in WRITES and "/incidents" in r["path"])


async def _drain_webhooks(env: ProcoreEnv) -> None:
    drained = await env.sandbox.post("/_sandbox/webhooks/drain", json={"timeout": 10})
    assert drained.json()["drained"], drained.text


async def _delivered(env: ProcoreEnv) -> tuple[Linked, dict[str, Any], dict[str, Any], dict[str, Any]]:
    link = await link_site(env)
    incident = await confirm(env, link)
    await deliver(env, link)
    await _drain_webhooks(env)  # our own create comes back: Incidents + Injuries events
    (made,) = await sandbox_incidents(env)
    (injury,) = [i for i in await sandbox_injuries(env) if i["incident_id"] == made["id"]]
    return link, incident, made, injury


async def test_our_own_writes_coming_back_are_ignored(procore_env: ProcoreEnv) -> None:
    env = procore_env
    _, _, _, _ = await _delivered(env)
    events = [e for e in await inbound_events(env) if e.resource in ("Incidents", "Injuries")]
    assert {e.resource for e in events} == {"Incidents", "Injuries"}
    assert all(e.state == InboundState.ignored for e in events), [(e.resource, e.outcome) for e in events]
    assert all("echo" in (e.outcome or "") for e in events)
    assert len(await ledger(env)) == 1  # nothing written back


async def test_a_disposition_edited_in_procore_is_applied_and_never_echoed(procore_env: ProcoreEnv) -> None:
    env = procore_env
    link, incident, _, injury = await _delivered(env)
    writes = await _writes(env)
    edited = await env.sandbox.post(
        f"/_sandbox/injuries/{injury['id']}",
        json={"filing_type": "medically_treated", "treatment_facility": "St. Joseph", "treated_in_er": True},
    )
    assert edited.status_code == 200
    await _drain_webhooks(env)
    shown = (await env.client.get(f"/api/v1/incidents/{incident['id']}", headers=link.auth)).json()
    assert shown["disposition"] == "medically_treated"
    assert shown["treatment_facility"] == "St. Joseph"
    assert shown["treated_in_emergency_room"] is True
    assert shown["recordable"] is True  # the OSHA facts are FieldBridge's
    applied = [
        e for e in await inbound_events(env) if e.state == InboundState.applied and e.resource == "Injuries"
    ]
    assert len(applied) == 1
    assert "applied disposition, treatment_facility, treated_in_emergency_room" in (applied[0].outcome or "")
    await deliver(env, link)
    await _drain_webhooks(env)
    assert len(await ledger(env)) == 1  # applying Procore's fields enqueued nothing
    assert await _writes(env) == writes  # and nothing went back to Procore
    sync = (await env.client.get(f"/api/v1/incidents/{incident['id']}/sync", headers=link.auth)).json()
    assert sync["conflicts"] == []
    assert sync["remotes"][0]["synced"]["disposition"] == "medically_treated"
    assert sync["owners"]["disposition"] == "remote"


async def test_a_conflicting_edit_is_recorded_and_shown(procore_env: ProcoreEnv) -> None:
    env = procore_env
    link, incident, _, injury = await _delivered(env)
    url = f"/api/v1/incidents/{incident['id']}"
    # Both sides change: FieldBridge the days away (its field) and the facility (Procore's).
    mine = await env.client.patch(
        url, json={"days_away": 4, "treatment_facility": "Clinic A"}, headers=link.auth
    )
    assert mine.status_code == 200
    await env.sandbox.post(
        f"/_sandbox/injuries/{injury['id']}",
        json={"work_days_absent": 9, "treatment_facility": "Hospital B"},
    )
    await _drain_webhooks(env)
    shown = (await env.client.get(url, headers=link.auth)).json()
    assert shown["days_away"] == 4  # FieldBridge owns the OSHA facts
    assert shown["treatment_facility"] == "Hospital B"  # Procore owns the care
    found = {c.field: c for c in await conflicts(env, incident["id"])}
    assert set(found) == {"days_away", "treatment_facility"}
    assert (found["days_away"].ours, found["days_away"].theirs, found["days_away"].kept) == (
        "4",
        "9",
        "fieldbridge",
    )
    assert (found["treatment_facility"].ours, found["treatment_facility"].kept) == ("Clinic A", "remote")
    sync = (await env.client.get(f"{url}/sync", headers=link.auth)).json()
    assert {c["field"] for c in sync["conflicts"]} == {"days_away", "treatment_facility"}
    await sign_in_browser(env.client, link.tenant.admin.email)
    page = await env.client.get(f"/incidents/{incident['id']}")
    assert page.status_code == 200
    shown_conflicts = page.text.split('aria-label="Conflicts"', 1)[1]
    assert "days away" in shown_conflicts
    assert "Hospital B" in shown_conflicts
    assert "Clinic A" in shown_conflicts
    await _drain_webhooks(env)  # the same event again changes nothing and adds no conflict
    assert len(await conflicts(env, incident["id"])) == 2
    # FieldBridge's change goes out; Procore's facility is not overwritten.
    await deliver(env, link)
    (made,) = await sandbox_incidents(env)
    (after,) = [i for i in await sandbox_injuries(env) if i["incident_id"] == made["id"]]
    assert after["work_days_absent"] == 4
    assert after["treatment_facility"] == "Hospital B"


async def test_the_reconcile_pass_catches_an_edit_whose_webhook_was_lost(procore_env: ProcoreEnv) -> None:
    env = procore_env
    link, incident, _, injury = await _delivered(env)
    fieldbridge = env.webhook_sink.app
    lost = FastAPI()
    lost.add_api_route("/{path:path}", lambda: Response(status_code=200), methods=["POST"])
    env.webhook_sink.app = lost  # Procore's webhooks go nowhere
    try:
        await env.sandbox.post(f"/_sandbox/injuries/{injury['id']}", json={"filing_type": "lost_time"})
        await _drain_webhooks(env)
    finally:
        env.webhook_sink.app = fieldbridge
    url = f"/api/v1/incidents/{incident['id']}"
    assert (await env.client.get(url, headers=link.auth)).json()["disposition"] is None
    counts = await inbound.reconcile(env.db, env.http, env.box, installed_registry())
    assert counts["applied"] == 1
    assert (await env.client.get(url, headers=link.auth)).json()["disposition"] == "lost_time"
    again = await inbound.reconcile(env.db, env.http, env.box, installed_registry())
    assert again["applied"] == 0  # re-reading the same record applies nothing twice
