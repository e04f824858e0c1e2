"""Webhooks end to end: emit in a transaction, drain through the ledger, a real receiver on
loopback. Signatures are checked with `standardwebhooks` and `svix`; retries, Retry-After and
the disable rules run on a frozen clock (time-machine)."""

from datetime import timedelta
from typing import Any

import httpx
import svix.webhooks
import time_machine
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook

from fieldbridge.delivery.models import Delivery, DeliveryAttempt
from fieldbridge.kit.clock import utcnow
from fieldbridge.kit.db import Database
from fieldbridge.settings import Settings
from fieldbridge.webhooks import service
from fieldbridge.webhooks.events import EVENTS
from tests.factories import Tenant, bearer, create_tenant, sign_in_browser
from tests.webhooks.helpers import Receiver, create_endpoint, drain_endpoint

SHIFT = EVENTS["shift.closed"].example


async def _emit(db: Database, tenant: Tenant, type: str = "shift.closed", data: Any = None) -> list[Delivery]:
    async with db.transaction() as session:
        return await service.emit(
            session, tenant.company.id, type, data or EVENTS[type].example, base_url="http://testserver"
        )


async def _rows(db: Database, connection_id: int) -> list[Delivery]:
    async with db.sessionmaker() as session:
        found = await session.scalars(
            select(Delivery).where(Delivery.connection_id == connection_id).order_by(Delivery.id)
        )
        return list(found.all())


async def _setup(
    client: httpx.AsyncClient, db: Database, settings: Settings, receiver: Receiver, **fields: Any
) -> tuple[Tenant, dict[str, Any]]:
    tenant = await create_tenant(db, settings)
    created = await create_endpoint(client, tenant, receiver.url, **fields)
    return tenant, created


async def test_an_event_arrives_signed_over_the_exact_bytes(
    client: httpx.AsyncClient, db: Database, settings: Settings, receiver: Receiver
) -> None:
    tenant, created = await _setup(
        client,
        db,
        settings,
        receiver,
        event_types=["shift.closed"],
        headers={"Authorization": "Bearer r-123"},
    )
    secret, connection_id = created["secret"], created["endpoint"]["connection_id"]
    (row,) = await _emit(db, tenant)
    assert await _emit(db, tenant, "incident.confirmed") == []  # not subscribed
    report = await drain_endpoint(db, settings, connection_id)
    assert report.outcomes == {"delivered": 1}
    (got,) = receiver.received
    assert got.headers["webhook-id"] == row.idempotency_key
    assert row.idempotency_key.startswith("msg_")
    assert got.headers["authorization"] == "Bearer r-123"
    assert got.headers["content-type"] == "application/json"
    Webhook(secret).verify(got.body, got.headers)
    svix.webhooks.Webhook(secret).verify(got.body, got.headers)
    event = got.json
    assert event["type"] == "shift.closed"
    assert event["version"] == 1
    assert event["id"] == row.idempotency_key
    assert event["data"]["worker"] == {"id": 31, "employee_id": "E031"}  # no name: not internal
    assert "Dana" not in got.body.decode()
    (done,) = await _rows(db, connection_id)
    assert done.status == "delivered"


async def test_internal_endpoints_get_names_and_activity_endpoints_a_compact_form(
    client: httpx.AsyncClient, db: Database, settings: Settings, receiver: Receiver
) -> None:
    tenant, internal = await _setup(client, db, settings, receiver, internal=True)
    activity = await create_endpoint(client, tenant, receiver.url, format="activity")
    rows = await _emit(db, tenant)
    assert len(rows) == 2
    assert len({r.idempotency_key for r in rows}) == 1
    for created in (internal, activity):
        await drain_endpoint(db, settings, created["endpoint"]["connection_id"])
    by_secret = {}
    for got in receiver.received:
        for created in (internal, activity):
            try:
                Webhook(created["secret"]).verify(got.body, got.headers)
            except Exception:
                continue
            by_secret[created["endpoint"]["id"]] = got.json
    full, compact = by_secret[internal["endpoint"]["id"]], by_secret[activity["endpoint"]["id"]]
    assert full["data"]["worker"]["name"] == "Dana Ortiz"
    assert set(compact) == {"id", "type", "version", "timestamp", "title", "text", "link"}
    assert compact["title"] == "Shift closed: 8.00 h"
    assert "Worker #31" in compact["text"]
    assert "Dana" not in compact["text"]
    assert compact["link"] == "http://testserver/timesheets/shifts/4107"


async def test_retries_keep_the_webhook_id_follow_the_schedule_and_give_up_after_eight(
    client: httpx.AsyncClient, db: Database, settings: Settings, receiver: Receiver
) -> None:
    tenant, created = await _setup(client, db, settings, receiver)
    connection_id = created["endpoint"]["connection_id"]
    receiver.answer(*[(500, {}, "boom")] * 8)
    start = utcnow()
    waits = [5, 300, 1800, 7200, 18000, 36000, 36000]
    with time_machine.travel(start, tick=False) as clock:
        (row,) = await _emit(db, tenant)
        for attempt in range(1, 9):
            await drain_endpoint(db, settings, connection_id)
            (now,) = await _rows(db, connection_id)
            assert now.attempts == attempt
            if attempt < 8:
                assert now.status == "retrying"
                wait = (now.next_attempt_at - utcnow()).total_seconds()
                assert waits[attempt - 1] <= wait <= waits[attempt - 1] * 1.2 + 1
                clock.shift(timedelta(seconds=wait + 1))
    assert now.status == "failed"
    assert "Gave up after 8 attempts" in (now.reason or "")
    ids = {got.headers["webhook-id"] for got in receiver.received}
    assert ids == {row.idempotency_key}
    assert len(receiver.received) == 8
    # Recover everything that failed since before it was sent: the receiver now answers 200.
    recovered = await client.post(
        f"/api/v1/webhooks/endpoints/{created['endpoint']['id']}/recover",
        json={"since": (start - timedelta(minutes=1)).isoformat()},
        headers=bearer(tenant.api_key),
    )
    assert recovered.json() == {"queued": 1}
    await drain_endpoint(db, settings, connection_id)
    assert (await _rows(db, connection_id))[0].status == "delivered"
    assert receiver.received[-1].headers["webhook-id"] == row.idempotency_key
    Webhook(created["secret"]).verify(receiver.received[-1].body, receiver.received[-1].headers)


async def test_429_waits_as_long_as_retry_after_says(
    client: httpx.AsyncClient, db: Database, settings: Settings, receiver: Receiver
) -> None:
    tenant, created = await _setup(client, db, settings, receiver)
    receiver.answer((429, {"Retry-After": "600"}, "slow down"))
    with time_machine.travel(utcnow(), tick=False):
        await _emit(db, tenant)
        await drain_endpoint(db, settings, created["endpoint"]["connection_id"])
        (row,) = await _rows(db, created["endpoint"]["connection_id"])
        assert row.status == "retrying"
        assert (row.next_attempt_at - utcnow()).total_seconds() >= 600  # not the schedule's 5 s
        assert "429" in (row.reason or "")


async def test_410_disables_the_endpoint_and_new_events_skip_it(
    client: httpx.AsyncClient, db: Database, settings: Settings, receiver: Receiver
) -> None:
    tenant, created = await _setup(client, db, settings, receiver)
    endpoint_id = created["endpoint"]["id"]
    receiver.answer((410, {}, "gone"))
    await _emit(db, tenant)
    await drain_endpoint(db, settings, created["endpoint"]["connection_id"])
    (row,) = await _rows(db, created["endpoint"]["connection_id"])
    assert row.status == "rejected"
    assert "410" in (row.reason or "")
    got = (
        await client.get(f"/api/v1/webhooks/endpoints/{endpoint_id}", headers=bearer(tenant.api_key))
    ).json()
    assert got["enabled"] is False
    assert "410 Gone" in got["disabled_notice"]
    assert await _emit(db, tenant) == []
    again = await client.patch(
        f"/api/v1/webhooks/endpoints/{endpoint_id}", json={"enabled": True}, headers=bearer(tenant.api_key)
    )
    assert again.json()["enabled"] is True
    assert again.json()["disabled_notice"] is None
    assert len(await _emit(db, tenant)) == 1


async def test_five_days_of_failures_disable_the_endpoint_with_a_notice_to_admins(
    client: httpx.AsyncClient, db: Database, settings: Settings, receiver: Receiver
) -> None:
    tenant, created = await _setup(client, db, settings, receiver, description="Trimble relay")
    connection_id = created["endpoint"]["connection_id"]
    receiver.answer(*[(503, {}, "down")] * 10)
    start = utcnow()
    with time_machine.travel(start, tick=False) as clock:
        await _emit(db, tenant)
        await drain_endpoint(db, settings, connection_id)
        clock.shift(timedelta(days=4, hours=23))
        await _emit(db, tenant)
        await drain_endpoint(db, settings, connection_id)  # 4 d 23 h: still enabled
        got = (await client.get("/api/v1/webhooks/endpoints", headers=bearer(tenant.api_key))).json()[0]
        assert got["enabled"] is True
        assert got["failing_since"] is not None
        clock.shift(timedelta(hours=2))
        await _emit(db, tenant)
        await drain_endpoint(db, settings, connection_id)
    got = (await client.get("/api/v1/webhooks/endpoints", headers=bearer(tenant.api_key))).json()[0]
    assert got["enabled"] is False
    assert "(5 days)" in got["disabled_notice"]
    await sign_in_browser(client, tenant.admin.email)
    page = await client.get("/settings/webhooks", headers={"accept": "text/html"})
    assert "Trimble relay was disabled" in page.text
    assert "5 days" in page.text


async def test_a_success_clears_the_failure_run(
    client: httpx.AsyncClient, db: Database, settings: Settings, receiver: Receiver
) -> None:
    tenant, created = await _setup(client, db, settings, receiver)
    connection_id = created["endpoint"]["connection_id"]
    receiver.answer((500, {}, "x"))
    await _emit(db, tenant)
    await drain_endpoint(db, settings, connection_id)
    await _emit(db, tenant)
    await drain_endpoint(db, settings, connection_id)
    got = (await client.get("/api/v1/webhooks/endpoints", headers=bearer(tenant.api_key))).json()[0]
    assert got["failing_since"] is None
    assert got["enabled"] is True


async def test_resend_sends_the_same_message_again_and_the_log_shows_every_attempt(
    client: httpx.AsyncClient, db: Database, settings: Settings, receiver: Receiver
) -> None:
    tenant, created = await _setup(client, db, settings, receiver)
    endpoint_id, connection_id = created["endpoint"]["id"], created["endpoint"]["connection_id"]
    sent = await client.post(
        f"/api/v1/webhooks/endpoints/{endpoint_id}/test", json={}, headers=bearer(tenant.api_key)
    )
    assert sent.status_code == 202, sent.text
    await drain_endpoint(db, settings, connection_id)
    message = sent.json()
    resent = await client.post(
        f"/api/v1/webhooks/messages/{message['id']}/resend", headers=bearer(tenant.api_key)
    )
    assert resent.status_code == 202
    assert resent.json()["status"] == "pending"
    await drain_endpoint(db, settings, connection_id)
    assert [g.headers["webhook-id"] for g in receiver.received] == [message["message_id"]] * 2
    assert receiver.received[0].json["test"] is True
    detail = (
        await client.get(f"/api/v1/webhooks/messages/{message['id']}", headers=bearer(tenant.api_key))
    ).json()
    assert detail["status"] == "delivered"
    assert len(detail["attempt_log"]) == 2
    assert all(a["http_status"] == 200 and a["response_excerpt"] == "ok" for a in detail["attempt_log"])
    listed = (await client.get("/api/v1/webhooks/messages", headers=bearer(tenant.api_key))).json()
    assert listed["total"] == 1
    assert listed["items"][0]["endpoint_id"] == endpoint_id
    async with db.sessionmaker() as session:
        attempts = (await session.scalars(select(DeliveryAttempt))).all()
    assert "Bearer" not in str([a.request for a in attempts])  # headers are never recorded
