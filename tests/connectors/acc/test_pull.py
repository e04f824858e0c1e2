"""The limited pull: ACC's signed issue webhooks bring a status change back to the ledger row
that filed the issue, the echo of FieldBridge's own write is ignored, and the reconcile
(`filter[updatedAt]`) catches a change whose webhook was lost."""

from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import select

from fieldbridge.delivery.models import Delivery
from fieldbridge.inbound.models import InboundEvent
from fieldbridge.kit.db import Database
from fieldbridge.settings import Settings
from fieldbridge.sites import tasks as sites_tasks
from tests.connectors.acc.conftest import AccEnv
from tests.connectors.acc.test_issues import linked, observation
from tests.factories import create_tenant


async def filed(env: AccEnv, db: Database, settings: Settings) -> tuple[int, Delivery]:
    tenant, connection_id, project = await linked(env, db, settings)
    await env.enqueue(
        tenant,
        connection_id,
        "acc.safety.observation",
        "observation:12",
        observation(12),
        project,
        "observation:12:v1",
    )
    await env.drain(connection_id)
    await env.sandbox.post("/_sandbox/webhooks/drain", json={"timeout": 10})
    async with db.sessionmaker() as session:
        row = await session.scalar(select(Delivery))
    assert row is not None
    assert row.status == "delivered", row.reason
    return connection_id, row


async def events(db: Database) -> list[InboundEvent]:
    async with db.sessionmaker() as session:
        return list((await session.scalars(select(InboundEvent).order_by(InboundEvent.id))).all())


async def remote_record(db: Database, row_id: int) -> dict[str, Any]:
    async with db.sessionmaker() as session:
        row = await session.get(Delivery, row_id)
        assert row is not None
        return dict(row.remote_record or {})


async def test_closing_the_issue_in_acc_comes_back_and_our_own_create_is_an_echo(
    acc_env: AccEnv, db: Database, settings: Settings
) -> None:
    connection_id, row = await filed(acc_env, db, settings)
    hooks = (await acc_env.connection(connection_id)).config["webhook_hooks"]
    assert len(hooks) == 1
    created = [e for e in await events(db) if e.event_type == "issue.created"]
    assert [e.state for e in created] == ["ignored_echo"]

    closed = await acc_env.sandbox.post(f"/_sandbox/issues/{row.remote_id}", json={"status": "closed"})
    assert closed.status_code == 200, closed.text
    await acc_env.sandbox.post("/_sandbox/webhooks/drain", json={"timeout": 10})
    updated = [e for e in await events(db) if e.event_type == "issue.updated"]
    assert [e.state for e in updated] == ["applied"], [(e.state, e.error, e.outcome) for e in updated]
    record = await remote_record(db, row.id)
    assert record["acc_status"] == "closed"
    assert record["acc_closed_at"]


async def test_a_lost_webhook_is_caught_by_the_reconcile(
    acc_env: AccEnv, db: Database, settings: Settings
) -> None:
    connection_id, row = await filed(acc_env, db, settings)
    lost = FastAPI()

    @lost.post("/api/v1/webhooks/acc/{connection_id}")
    async def swallow(connection_id: int) -> JSONResponse:
        return JSONResponse({"ok": True})  # answered, never recorded: the event is gone

    acc_env.webhook_sink.app = lost
    await acc_env.sandbox.post(f"/_sandbox/issues/{row.remote_id}", json={"status": "in_progress"})
    await acc_env.sandbox.post("/_sandbox/webhooks/drain", json={"timeout": 10})
    assert "acc_status" not in await remote_record(db, row.id)

    await sites_tasks.sync_connection(db, acc_env.http, acc_env.box, connection_id, discover=True)
    assert (await remote_record(db, row.id))["acc_status"] == "in_progress"
    # a second pass finds nothing new
    before = len(await events(db))
    await sites_tasks.sync_connection(db, acc_env.http, acc_env.box, connection_id, discover=True)
    assert len(await events(db)) == before


async def test_a_forged_webhook_is_refused(acc_env: AccEnv, db: Database, settings: Settings) -> None:
    tenant = await create_tenant(db, settings)
    connection_id, _ = await acc_env.track(tenant, ["Riverside Medical Office"])
    forged = await acc_env.client.post(
        f"/api/v1/webhooks/acc/{connection_id}",
        content=b'{"hook": {"event": "issue.updated-1.0"}, "payload": {"id": "x", "status": "closed"}}',
        headers={"x-adsk-signature": "sha1hash=00", "content-type": "application/json"},
    )
    assert forged.status_code == 404
    assert await events(db) == []
