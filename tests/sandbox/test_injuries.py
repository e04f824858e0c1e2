"""Injuries answer with the nested shapes of Procore's spec, and injury changes fire webhooks
(`Injuries` for the injury, `Incidents` update for its incident), person edits included."""

from __future__ import annotations

from typing import Any

import httpx

from fieldbridge_sandbox.state import SandboxState

from . import test_webhooks
from .conftest import Demo
from .test_webhooks import Receiver, _hook

# The webhook receiver fixtures of test_webhooks, used here too.
receiver = test_webhooks.receiver
wh_app = test_webhooks.wh_app
wh = test_webhooks.wh


async def test_an_injury_nests_its_references_as_the_spec_shapes_them(
    client: httpx.AsyncClient, demo: Demo, headers: dict[str, str], state: SandboxState
) -> None:
    store = state.store
    affliction = store["affliction_types"].by(demo.company_id)[0]
    source = store["harm_sources"].by(demo.company_id)[1]
    activity = store["work_activities"].by(demo.company_id)[0]
    hand = next(p for p in store["body_parts"].by(demo.company_id) if p["name"] == "Hand")
    party = demo.person_ids(state, demo.project_id)[0]
    base = f"/rest/v1.0/projects/{demo.project_id}/incidents"
    incident = (await client.post(base, json={"incident": {"title": "Cut"}}, headers=headers)).json()
    created = await client.post(
        f"{base}/injuries",
        json={
            "injury": {
                "incident_id": incident["id"],
                "filing_type": "first_aid",
                "affected_party_id": party,
                "affliction_type_id": affliction["id"],
                "harm_source_id": source["id"],
                "work_activity_id": activity["id"],
                "body_part_ids": [hand["id"]],
                "description": "<p>Cut on the <b>hand</b></p>",
            }
        },
        headers=headers,
    )
    assert created.status_code == 201, created.text
    injury = created.json()
    assert injury["affected_party"] == {"id": party, "name": store["people"].get(party)["name"]}
    assert injury["affliction_type"]["id"] == affliction["id"]
    assert set(injury["affliction_type"]) == {"id", "name", "active", "global", "created_at", "updated_at"}
    assert injury["harm_source"]["name"] == source["name"]
    assert injury["work_activity"]["name"] == activity["name"]
    assert injury["body_parts"] == [
        {k: hand[k] for k in ("id", "name", "selectable", "parent_id", "created_at", "updated_at")}
    ]
    assert "affected_party_id" not in injury
    assert "body_part_ids" not in injury
    assert injury["description_plain_text"] == "Cut on the hand"
    assert injury["incident_title"] == "Cut"
    assert injury["summary"] == f"{affliction['name']}, Hand, {source['name']}"
    assert injury["full_number"] == f"{incident['number']}-1"
    shown = (await client.get(f"{base}/{incident['id']}", headers=headers)).json()
    assert shown["injuries"][0]["affected_party"]["id"] == party
    lists = {
        name: (
            await client.get(f"/rest/v1.0/companies/{demo.company_id}/incidents/{name}", headers=headers)
        ).json()
        for name in (
            "affliction_types",
            "harm_sources",
            "work_activities",
            "body_parts",
            "injury_filing_types",
        )
    }
    assert {r["name"] for r in lists["affliction_types"]} >= {affliction["name"]}
    assert any(not p["selectable"] for p in lists["body_parts"])
    assert {f["value"] for f in lists["injury_filing_types"]} >= {"first_aid", "medically_treated"}


async def test_injury_changes_and_a_person_edit_fire_injury_and_incident_events(
    wh: tuple[httpx.AsyncClient, dict[str, str], Any], receiver: Receiver
) -> None:
    client, headers, demo = wh
    await _hook(client, headers, demo.company_id, "Injuries", "create", "update")
    await _hook(client, headers, demo.company_id, "Incidents", "update")
    base = f"/rest/v1.0/projects/{demo.project_id}/incidents"
    incident = (await client.post(base, json={"incident": {"title": "Fall"}}, headers=headers)).json()
    injury = (
        await client.post(
            f"{base}/injuries", json={"injury": {"incident_id": incident["id"]}}, headers=headers
        )
    ).json()
    edited = await client.post(
        f"/_sandbox/injuries/{injury['id']}",
        json={"filing_type": "medically_treated", "treatment_facility": "St. Joseph"},
    )
    assert edited.status_code == 200, edited.text
    bad = await client.post(f"/_sandbox/injuries/{injury['id']}", json={"filing_type": "sprained"})
    assert bad.status_code == 400
    assert (await client.post("/_sandbox/webhooks/drain")).json()["drained"]
    events = [(p["resource_name"], p["event_type"], p["resource_id"]) for p, _ in receiver.calls]
    # One queue per hook: each hook's events arrive in order.
    assert [e for e in events if e[0] == "Injuries"] == [
        ("Injuries", "create", injury["id"]),
        ("Injuries", "update", injury["id"]),
    ]
    assert [e for e in events if e[0] == "Incidents"] == [("Incidents", "update", incident["id"])] * 2
    person = next(
        p for p, _ in receiver.calls if p["resource_name"] == "Injuries" and p["event_type"] == "update"
    )
    assert person["metadata"]["source_application_id"] is None  # a person in Procore's UI
    shown = (await client.get(f"{base}/injuries/{injury['id']}", headers=headers)).json()
    assert (shown["filing_type"], shown["treatment_facility"]) == ("medically_treated", "St. Joseph")
    page = await client.get(f"/_sandbox/edit/incidents/{incident['id']}")
    assert 'action="/_sandbox/edit/injuries/' in page.text
    submitted = await client.post(
        f"/_sandbox/edit/injuries/{injury['id']}", data={"filing_type": "lost_time"}
    )
    assert submitted.status_code == 303
    shown = (await client.get(f"{base}/injuries/{injury['id']}", headers=headers)).json()
    assert shown["filing_type"] == "lost_time"
