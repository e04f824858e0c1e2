"""The connector registry: GET /api/v1/connectors and the Integrations page are built from
it, and the recording channel sends raw bytes and headers as given."""

import hashlib
import hmac
import json

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from fieldbridge.connections.connector import Capability, ConnectorSpec, Planned, Registry
from fieldbridge.connections.models import Connection
from fieldbridge.connectors.procore.provider import RATE_LIMIT
from fieldbridge.delivery.budget import Budget
from fieldbridge.delivery.channel import RecordingChannel
from fieldbridge.delivery.runner import install_registry, registry
from fieldbridge.kit.db import Database
from fieldbridge.settings import Settings
from tests.factories import bearer, create_tenant, sign_in_browser


async def test_api_lists_shipped_connectors_with_true_capabilities_then_the_coming_ones(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    tenant = await create_tenant(db, settings)
    assert (await client.get("/api/v1/connectors")).status_code == 401
    answer = await client.get("/api/v1/connectors", headers=bearer(tenant.api_key))
    assert answer.status_code == 200
    listed = answer.json()
    procore = listed[0]
    assert procore["provider"] == "procore"
    assert procore["status"] == "available"
    assert procore["capabilities"] == [
        "clock_in",
        "daily_log",
        "incident_pull",
        "incidents",
        "observations",
        "project_sync",
        "time_export",
    ]
    assert procore["delivery_kinds"] == [
        "procore.safety.daily_summary",
        "procore.safety.incident",
        "procore.safety.observation",
        "procore.timecard.create",
        "procore.timecard.update",
    ]
    assert procore["connect"]["modes"] == ["authorization_code", "client_credentials"]
    assert [e["value"] for e in procore["connect"]["environments"]] == [
        "production",
        "developer_sandbox",
        "offline_sandbox",
    ]
    webhook = listed[1]
    assert webhook["provider"] == "webhook"
    assert webhook["status"] == "available"
    assert webhook["capabilities"] == ["webhook_out"]
    assert webhook["delivery_kinds"] == ["webhook.deliver"]
    assert webhook["connect_url"] == "/settings/webhooks"
    acc = listed[2]
    assert acc["provider"] == "acc"
    assert acc["status"] == "available"
    assert acc["capabilities"] == ["daily_log", "incidents", "observations", "project_sync"]
    assert acc["delivery_kinds"] == [
        "acc.safety.daily_summary",
        "acc.safety.incident",
        "acc.safety.observation",
    ]
    assert acc["connect"]["modes"] == ["authorization_code"]
    assert [e["value"] for e in acc["connect"]["environments"]] == ["production", "offline_sandbox"]
    coming = [c["provider"] for c in listed if c["status"] == "coming"]
    assert coming == ["trimble", "fieldwire"]
    assert all(c["capabilities"] == [] and c["connect_url"] is None for c in listed[3:])
    assert all(c["connect"] is None for c in listed[3:])


async def test_integrations_page_shows_what_the_registry_holds(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    tenant = await create_tenant(db, settings)
    await sign_in_browser(client, tenant.admin.email)
    shipped = registry()
    try:
        reg = Registry(planned=(Planned("zeta", "Zeta Field", "Punch lists both ways."),))
        reg.register(shipped.spec("procore"))
        install_registry(reg)
        page = await client.get("/settings/integrations")
    finally:
        install_registry(shipped)
    assert page.status_code == 200
    assert 'id="integration-procore"' in page.text
    assert "Zeta Field" in page.text
    assert "Punch lists both ways." in page.text
    assert "Autodesk Construction Cloud" not in page.text  # nothing hand-written on the page
    cards = page.text.split('<ul class="cards"', 1)[1]  # the page, less the nav (it links /incidents)
    assert "issues" not in cards  # no capability without a handler behind it (Procore has none)


async def test_channel_sends_raw_content_and_headers_byte_for_byte(db: Database, settings: Settings) -> None:
    tenant = await create_tenant(db, settings)
    async with db.transaction() as session:
        connection = Connection(company_id=tenant.company.id, provider="procore", label="Hooks")
        session.add(connection)
        await session.flush()
        connection_id = connection.id
    seen: list[tuple[bytes, str | None]] = []

    async def receive(request: Request) -> JSONResponse:
        seen.append((await request.body(), request.headers.get("webhook-signature")))
        return JSONResponse({"ok": True}, headers={"X-Rate-Limit-Limit": "100"})

    receiver = Starlette(routes=[Route("/hook", receive, methods=["POST"])])
    body = b'{"b": 1,  "a": "\xc3\xa9"}'  # spacing and key order a re-encode would change
    signature = hmac.new(b"secret", body, hashlib.sha256).hexdigest()
    transport = httpx.ASGITransport(app=receiver)
    async with httpx.AsyncClient(transport=transport, base_url="http://receiver") as http:
        channel = RecordingChannel(http, Budget(db, connection_id, RATE_LIMIT), connection_id, None, 5.0)
        await channel.send(
            "POST", "/hook", for_ids=[7], content=body, headers={"webhook-signature": signature}
        )
    assert seen == [(body, signature)]
    (exchange,) = channel.take_exchanges()
    assert exchange.request["body"] == json.loads(body)
    assert "webhook-signature" not in json.dumps(exchange.request)  # headers are never stored
    assert exchange.rate_limit == {"x-rate-limit-limit": "100"}


def test_a_capability_is_only_claimed_by_the_spec_that_declares_it() -> None:
    spec = registry().spec("procore")
    assert isinstance(spec, ConnectorSpec)
    assert Capability.issues not in spec.capabilities
    assert Capability.incident_pull in spec.capabilities  # with its flow (Registry.register checks)
    assert spec.incident_pull is not None
    assert spec.rate_limit is RATE_LIMIT
