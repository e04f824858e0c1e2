"""The time events, from a real clock-in and clock-out against the Procore sandbox, checked
against the JSON Schemas FieldBridge serves."""

from typing import Any

import jsonschema
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook

from fieldbridge.delivery.models import Delivery
from tests.procore_fixtures import ProcoreEnv
from tests.timekeeping.helpers import API, clock_in_body, clock_out_body, crew_env, deliver
from tests.webhooks.helpers import Receiver, create_endpoint, drain_endpoint


async def _schema(env: ProcoreEnv, type: str) -> dict[str, Any]:
    response = await env.client.get(f"/schemas/events/{type}.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/schema+json")
    schema: dict[str, Any] = response.json()
    return schema


async def test_clock_out_sends_shift_closed_and_delivered_time_sends_timecard_exported(
    procore_env: ProcoreEnv, receiver: Receiver
) -> None:
    env = procore_env
    crew = await crew_env(env)
    created = await create_endpoint(
        env.client, crew.tenant, receiver.url, event_types=["shift.closed", "timecard.exported"]
    )
    body = clock_in_body(crew, crew.workers[:1])
    shift = (await env.client.post(f"{API}/clock-in", json=body, headers=crew.auth())).json()["shifts"][0]
    await deliver(env, crew)  # the clock-in entry (0 hours, shift open): no timecard.exported
    out = clock_out_body([shift["shift_id"]], hours=8.5)
    assert (await env.client.post(f"{API}/clock-out", json=out, headers=crew.auth())).status_code == 200
    await deliver(env, crew)  # the clock-out's hours reach Procore
    await drain_endpoint(env.db, env.settings, created["endpoint"]["connection_id"])
    events = {}
    for got in receiver.received:
        Webhook(created["secret"]).verify(got.body, got.headers)
        events[got.json["type"]] = got.json
    assert sorted(events) == ["shift.closed", "timecard.exported"]
    closed, exported = events["shift.closed"], events["timecard.exported"]
    jsonschema.validate(closed, await _schema(env, "shift.closed"))
    jsonschema.validate(exported, await _schema(env, "timecard.exported"))
    assert closed["data"]["shift_id"] == shift["id"]
    assert closed["data"]["worked_hours"] == "8.00"  # 8.5 h less a 30-minute break
    assert closed["data"]["project"]["id"] == crew.project_id
    assert "name" not in closed["data"]["worker"]
    assert exported["data"]["hours"] == "8.00"
    assert exported["data"]["platform"] == "procore"
    assert exported["data"]["remote_project_id"] == crew.procore_project_id
    assert exported["data"]["remote_id"] is not None
    async with env.db.sessionmaker() as session:
        kinds = (await session.scalars(select(Delivery.kind).where(Delivery.kind == "webhook.deliver"))).all()
    assert len(kinds) == 2  # exactly one of each


async def test_every_example_matches_its_published_schema(procore_env: ProcoreEnv) -> None:
    from fieldbridge.kit.clock import utcnow
    from fieldbridge.webhooks.events import EVENTS
    from fieldbridge.webhooks.service import envelope

    index = (await procore_env.client.get("/schemas/events")).json()["events"]
    assert sorted(e["type"] for e in index) == sorted(EVENTS)
    for event in EVENTS.values():
        schema = await _schema(procore_env, event.name)
        jsonschema.Draft202012Validator.check_schema(schema)
        for internal in (True, False):
            data = event.dump(event.validate(event.example), internal=internal)
            jsonschema.validate(
                envelope(event, data, message_id="msg_x", at=utcnow(), fmt="standard", base_url="https://x"),
                schema,
            )
            assert ("Dana Ortiz" in str(data)) is (internal and "Dana Ortiz" in str(event.example))
    assert (await procore_env.client.get("/schemas/events/nope.json")).status_code == 404
