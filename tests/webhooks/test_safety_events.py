"""The safety events (detection.created, incident.confirmed, incident.updated,
daily_summary.posted) from the real safety and incidents routes and the 17:00 job, delivered to
a real receiver and checked against the JSON Schemas FieldBridge serves."""

from datetime import date
from typing import Any

import httpx
import jsonschema
from sqlalchemy import func, select
from standardwebhooks.webhooks import Webhook

from fieldbridge.delivery.models import Delivery
from fieldbridge.jobs.registry import LocalRun, load_job_modules
from fieldbridge.kit.db import Database
from fieldbridge.settings import Settings
from fieldbridge.sites.models import Project
from tests.factories import bearer
from tests.procore_fixtures import ProcoreEnv
from tests.safety.helpers import event, make_site
from tests.safety.test_summary import utc
from tests.timekeeping.helpers import API, clock_in_body, clock_out_body, crew_env
from tests.webhooks.helpers import Receiver, create_endpoint, drain_endpoint


async def _messages(db: Database, company_id: int) -> int:
    async with db.sessionmaker() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(Delivery)
            .where(Delivery.company_id == company_id, Delivery.kind == "webhook.deliver")
        )
    return int(count or 0)


async def _received(
    client: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    receiver: Receiver,
    created: dict[str, Any],
) -> list[dict[str, Any]]:
    """Drain the endpoint; every body it got, signature verified and valid against its schema."""
    before = len(receiver.received)
    await drain_endpoint(db, settings, created["endpoint"]["connection_id"])
    bodies = []
    for got in receiver.received[before:]:
        Webhook(created["secret"]).verify(got.body, got.headers)
        body = got.json
        if "data" in body:  # the standard format (the schema's); `activity` is title/text/link
            schema = await client.get(f"/schemas/events/{body['type']}.json")
            assert schema.status_code == 200
            jsonschema.validate(body, schema.json())
        bodies.append(body)
    return bodies


async def test_new_detections_emit_detection_created_and_replays_emit_nothing(
    client: httpx.AsyncClient, db: Database, settings: Settings, receiver: Receiver
) -> None:
    site = await make_site(client, db, settings, shifts=False)
    created = await create_endpoint(
        client, site.tenant, receiver.url, event_types=["detection.created"], description="Safety relay"
    )
    one = await client.post("/api/v1/detections", json=event(site, "a", priority=5), headers=site.edge)
    assert one.status_code == 201, one.text
    replay = await client.post("/api/v1/detections", json=event(site, "a", priority=5), headers=site.edge)
    assert replay.status_code == 200
    batch = {
        "events": [
            event(site, "a"),  # stored before: a replay
            event(site, "b", type="zone_breach", zone_id=site.zones["Crane swing"], missing_items=[]),
            event(site, "b"),  # the same id twice in one batch: the second is a replay
            event(site, "c", confidence=0.5, description="No vest at the hoist", evidence=[]),
            event(site, "d", site_id=999_999),  # bad row: no such site
        ]
    }
    answer = await client.post("/api/v1/detections/batch", json=batch, headers=site.edge)
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert [r["status"] for r in results] == ["duplicate", "created", "duplicate", "created", "error"]
    assert await _messages(db, site.tenant.company.id) == 3

    again = await client.post(
        "/api/v1/detections/batch", json={"events": batch["events"][:4]}, headers=site.edge
    )
    assert again.json()["created"] == 0
    assert await _messages(db, site.tenant.company.id) == 3  # replays add nothing

    bodies = await _received(client, db, settings, receiver, created)
    by_id = {b["data"]["detection_id"]: b for b in bodies}
    assert sorted(by_id) == sorted([one.json()["id"], results[1]["id"], results[3]["id"]])
    assert len({b["id"] for b in bodies}) == 3  # one message id each
    first = by_id[one.json()["id"]]["data"]
    assert first["kind"] == "ppe_violation"
    assert first["severity"] == "critical"  # priority 5
    assert first["source"] == "cam-1"
    assert first["image_url"] == "https://edge.example.com/f/1.jpg"
    assert first["summary"] == "Ppe violation (missing: hard hat)."
    assert first["project"]["id"] == site.project_id
    breach, vest = by_id[results[1]["id"]]["data"], by_id[results[3]["id"]]["data"]
    assert (breach["kind"], breach["severity"]) == ("zone_breach", "medium")
    assert (vest["summary"], vest["confidence"], vest["image_url"]) == ("No vest at the hoist", 0.5, None)


async def test_no_subscribed_endpoint_means_no_ledger_rows(
    client: httpx.AsyncClient, db: Database, settings: Settings, receiver: Receiver
) -> None:
    site = await make_site(client, db, settings, shifts=False)
    await create_endpoint(client, site.tenant, receiver.url, event_types=["shift.closed"])
    off = await create_endpoint(client, site.tenant, receiver.url, event_types=["detection.created"])
    disabled = await client.patch(
        f"/api/v1/webhooks/endpoints/{off['endpoint']['id']}",
        json={"enabled": False},
        headers=site.auth,
    )
    assert disabled.status_code == 200, disabled.text
    answer = await client.post(
        "/api/v1/detections/batch", json={"events": [event(site, n) for n in range(20)]}, headers=site.edge
    )
    assert answer.json()["created"] == 20
    summary = await client.post(
        f"/api/v1/safety/sites/{site.site_id}/summaries", json={"date": "2026-06-01"}, headers=site.auth
    )
    assert summary.status_code == 201, summary.text
    assert await _messages(db, site.tenant.company.id) == 0


async def test_incident_confirmed_then_updated_without_names_unless_internal(
    client: httpx.AsyncClient, db: Database, settings: Settings, receiver: Receiver
) -> None:
    site = await make_site(client, db, settings, shifts=False)
    worker = site.tenant.worker
    types = ["incident.confirmed", "incident.updated"]
    outside = await create_endpoint(client, site.tenant, receiver.url, event_types=types)
    fall = event(site, "fall", type="fall", missing_items=[], worker_id=worker.id, zone_id=site.zones["Pit"])
    made = await client.post("/api/v1/detections", json=fall, headers=site.edge)
    assert made.status_code == 201, made.text
    confirm = await client.post(
        f"/api/v1/detections/{made.json()['id']}/review", json={"to": "confirmed"}, headers=site.auth
    )
    assert confirm.status_code == 200, confirm.text
    (incident,) = (await client.get("/api/v1/incidents", headers=site.auth)).json()["items"]

    (confirmed,) = await _received(client, db, settings, receiver, outside)
    assert confirmed["type"] == "incident.confirmed"
    data = confirmed["data"]
    assert (data["incident_id"], data["status"], data["severity"]) == (incident["id"], "confirmed", "low")
    assert data["title"] == "Injury at Pit"
    assert data["project"]["id"] == site.project_id
    assert data["people"] == [{"id": worker.id, "employee_id": worker.employee_id}]  # no name
    assert worker.name not in str(confirmed)

    inside = await create_endpoint(client, site.tenant, receiver.url, event_types=types, internal=True)
    url = f"/api/v1/incidents/{incident['id']}"
    patched = await client.patch(url, json={"days_away": 3}, headers=site.auth)
    assert patched.status_code == 200, patched.text
    same = await client.patch(url, json={"days_away": 3}, headers=site.auth)
    assert same.status_code == 200  # nothing changed: no event
    (updated,) = await _received(client, db, settings, receiver, outside)
    (named,) = await _received(client, db, settings, receiver, inside)
    for body in (updated, named):
        assert body["type"] == "incident.updated"
        assert body["data"]["status"] == "recordable"
        assert body["data"]["severity"] == "high"  # days away: column H
        assert {"days_away", "recordable", "case_number", "outcome"} <= set(body["data"]["changed"])
    assert "name" not in updated["data"]["people"][0]
    assert named["data"]["people"][0]["name"] == worker.name

    private = await client.patch(
        url, json={"privacy_case": True, "privacy_reason": "intimate_body_part"}, headers=site.auth
    )
    assert private.status_code == 200, private.text
    (hidden,) = await _received(client, db, settings, receiver, inside)
    assert "privacy_case" in hidden["data"]["changed"]
    assert hidden["data"]["people"][0].get("name") is None  # a privacy case: not even internal ones
    assert worker.name not in str(hidden)


async def test_the_17_00_job_and_a_recompute_post_the_daily_summary(
    client: httpx.AsyncClient, db: Database, settings: Settings, receiver: Receiver
) -> None:
    site = await make_site(client, db, settings, shifts=False)
    created = await create_endpoint(
        client, site.tenant, receiver.url, event_types=["daily_summary.posted"], format="activity"
    )
    standard = await create_endpoint(client, site.tenant, receiver.url, event_types=["daily_summary.posted"])
    for n, kind in enumerate(("zone_breach", "fall")):
        body = event(site, n, type=kind, missing_items=[], occurred_at="2026-06-01T15:00:00Z")
        body["zone_id"] = site.zones["Pit"]
        assert (await client.post("/api/v1/detections", json=body, headers=site.edge)).status_code == 201
    job = next(j for j in load_job_modules() if j.name == "safety.daily_summary")
    async with db.transaction() as session:
        project = await session.get(Project, site.project_id)
        assert project is not None
        await job.run(LocalRun(session, job.name, project, date(2026, 6, 1), utc(2026, 6, 1, 21, 0)))

    (posted,) = await _received(client, db, settings, receiver, standard)
    data = posted["data"]
    assert (data["local_date"], data["detections"], data["incidents"], data["observations"]) == (
        "2026-06-01",
        2,
        0,
        1,
    )
    assert data["project"]["id"] == site.project_id
    assert data["text"] == "2 alerts, 0 confirmed, 1 zone breaches; PPE compliance: no observations."
    (activity,) = await _received(client, db, settings, receiver, created)
    assert activity["title"].startswith("Daily summary: ")
    assert activity["text"] == data["text"]

    again = await client.post(
        f"/api/v1/safety/sites/{site.site_id}/summaries", json={"date": "2026-06-01"}, headers=site.auth
    )
    assert again.status_code == 201
    (recomputed,) = await _received(client, db, settings, receiver, standard)
    assert recomputed["data"]["text"].endswith("(recomputed: version 2)")


async def test_injured_yes_at_clock_out_emits_detection_created_once(
    procore_env: ProcoreEnv, receiver: Receiver
) -> None:
    env = procore_env
    crew = await crew_env(env)
    r = await env.client.post(
        "/api/v1/safety/sites",
        json={"project_id": crew.project_id, "name": "Crew site"},
        headers=bearer(crew.tenant.api_key),
    )
    assert r.status_code == 201, r.text
    created = await create_endpoint(env.client, crew.tenant, receiver.url, event_types=["detection.created"])
    (shift,) = (
        await env.client.post(
            f"{API}/clock-in", json=clock_in_body(crew, crew.workers[:1]), headers=crew.auth()
        )
    ).json()["shifts"]
    body = clock_out_body([shift["shift_id"]], injured=True)
    for _ in range(2):  # the phone's replay adds nothing
        r = await env.client.post(f"{API}/clock-out", json=body, headers=crew.auth())
        assert r.status_code == 200, r.text
    (report,) = await _received(env.client, env.db, env.settings, receiver, created)
    data = report["data"]
    assert (data["kind"], data["severity"], data["source"]) == ("self_report", "high", "person")
    assert data["project"]["id"] == crew.project_id
    assert data["summary"].startswith("Answered 'Were you injured today?' Yes at clock-out")
