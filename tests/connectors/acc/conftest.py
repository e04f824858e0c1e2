"""`acc_env`: FieldBridge and the offline ACC sandbox wired together in-process (as `procore_env`
does for Procore): FieldBridge's outbound HTTP reaches the sandbox through an ASGI transport, the
sandbox's webhooks come back into the same FieldBridge app, and both validate against
Autodesk's Issues.yaml (the sandbox with openapi-core; requests and responses)."""

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI

from fieldbridge.app import create_app
from fieldbridge.connections.models import Connection
from fieldbridge.delivery import service as delivery
from fieldbridge.delivery.runner import drain
from fieldbridge.kit.crypto import SecretBox
from fieldbridge.kit.db import Database
from fieldbridge.kit.http import HttpClients
from fieldbridge.settings import Settings
from fieldbridge_sandbox.config import RateLimits
from fieldbridge_sandbox_acc.app import create_app as create_sandbox
from fieldbridge_sandbox_acc.config import AccConfig
from fieldbridge_sandbox_acc.seeds import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from tests.factories import Tenant, bearer
from tests.procore_fixtures import FIELDBRIDGE_URL, LateASGITransport

SANDBOX_URL = "http://acc-sandbox.test"


class Recording(httpx.AsyncBaseTransport):
    """Keeps every exchange FieldBridge has with the sandbox (request, response, body)."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.exchanges: list[tuple[httpx.Request, httpx.Response, bytes]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        body = await response.aread()
        self.exchanges.append((request, response, body))
        return httpx.Response(response.status_code, headers=response.headers, content=body, request=request)


@dataclass
class AccEnv:
    app: FastAPI
    sandbox_app: FastAPI
    client: httpx.AsyncClient
    sandbox: httpx.AsyncClient
    http: HttpClients
    db: Database
    settings: Settings
    webhook_sink: LateASGITransport
    recording: Recording

    @property
    def box(self) -> SecretBox:
        return SecretBox(self.settings.secret)

    async def records(self, resource: str) -> list[dict[str, Any]]:
        answer = await self.sandbox.get(f"/_sandbox/records/{resource}")
        assert answer.status_code == 200, answer.text
        body = answer.json()
        return list(body if isinstance(body, list) else body.get("records", body.get("items", [])))

    async def authorize(self, authorize_url: str, user: str = "Avery Admin") -> dict[str, str]:
        """Play the user on the sandbox's consent page; the callback's query (code, state)."""
        page = await self.sandbox.get(authorize_url)
        assert page.status_code == 200, page.text
        picked = re.search(r'value="([^"]+)"[^>]*>\s*' + re.escape(user), page.text)
        assert picked is not None, page.text
        query = {k: v[0] for k, v in parse_qs(urlsplit(authorize_url).query).items()}
        hidden = dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
        consent = await self.sandbox.post(
            "/_sandbox/oauth/consent",
            data={**query, **hidden, "user_id": picked.group(1), "decision": "approve"},
        )
        assert consent.status_code in (302, 303), consent.text
        return {k: v[0] for k, v in parse_qs(urlsplit(consent.headers["location"]).query).items()}

    async def connect(
        self, tenant: Tenant, hub: str = "Northwind Builders", user: str = "Avery Admin"
    ) -> int:
        auth = bearer(tenant.api_key)
        started = await self.client.post(
            "/api/v1/connections/acc",
            json={
                "environment": "offline_sandbox",
                "offline_url": SANDBOX_URL,
                "client_id": DEMO_CLIENT_ID,
                "client_secret": DEMO_CLIENT_SECRET,
            },
            headers=auth,
        )
        assert started.status_code == 201, started.text
        answer = await self.authorize(started.json()["authorize_url"], user)
        done = await self.client.get("/api/v1/connections/acc/callback", params=answer, headers=auth)
        assert done.status_code == 200, done.text
        choice = next(c for c in done.json()["company_choices"] if c["name"] == hub)
        chosen = await self.client.post(
            f"/api/v1/connections/{done.json()['id']}/company",
            json={"account_ids": [choice["id"]]},
            headers=auth,
        )
        assert chosen.status_code == 200, chosen.text
        return int(chosen.json()[0]["id"])

    async def track(
        self, tenant: Tenant, names: list[str], connection_id: int | None = None
    ) -> tuple[int, dict[str, dict[str, Any]]]:
        """Connect (unless given), sync the hub's projects, track `names`; (connection, projects by name)."""
        auth = bearer(tenant.api_key)
        connection_id = connection_id or await self.connect(tenant)
        run = await self.client.post(f"/api/v1/connections/{connection_id}/sync", headers=auth)
        assert run.status_code == 202, run.text
        listed = await self.client.get("/api/v1/projects", params={"view": "available"}, headers=auth)
        by_name = {p["name"]: p for p in listed.json()["items"] if p["connection_id"] == connection_id}
        body = {"project_ids": [by_name[n]["id"] for n in names], "enabled": True}
        toggled = await self.client.post("/api/v1/projects/sync", json=body, headers=auth)
        assert toggled.status_code == 200, toggled.text
        return connection_id, by_name

    async def enqueue(
        self,
        tenant: Tenant,
        connection_id: int,
        kind: str,
        subject: str,
        payload: dict[str, Any],
        remote_project_id: str,
        key: str,
    ) -> int:
        async with self.db.transaction() as session:
            row = await delivery.enqueue(
                session,
                company_id=tenant.company.id,
                connection_id=connection_id,
                kind=kind,
                subject=subject,
                payload=payload,
                idempotency_key=key,
                remote_project_id=remote_project_id,
            )
            return row.id

    async def drain(self, connection_id: int) -> Any:
        return await drain(self.db, connection_id, http=self.http, settings=self.settings)

    async def connection(self, connection_id: int) -> Connection:
        async with self.db.sessionmaker() as session:
            row = await session.get(Connection, connection_id)
            assert row is not None
            return row


@pytest.fixture
async def acc_env(settings: Settings, db: Database) -> AsyncIterator[AccEnv]:
    settings = settings.model_copy(update={"base_url": FIELDBRIDGE_URL})
    back_to_fieldbridge = LateASGITransport()
    limits = RateLimits(hourly=100_000, spike=10_000)
    sandbox_app = create_sandbox(
        AccConfig(seed="demo", webhook_transport=back_to_fieldbridge, rate_limits=limits)
    )
    recording = Recording(httpx.ASGITransport(app=sandbox_app))
    http = HttpClients(transport=recording)
    app = create_app(settings, http=http)
    await app.state.db.dispose()
    app.state.db = db
    back_to_fieldbridge.app = app
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=FIELDBRIDGE_URL) as client,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox_app), base_url=SANDBOX_URL) as sandbox,
    ):
        yield AccEnv(app, sandbox_app, client, sandbox, http, db, settings, back_to_fieldbridge, recording)
        state = sandbox_app.state.sandbox
        webhooks = getattr(state, "webhooks", None)
        if webhooks is not None:
            await webhooks.drain(10)
            await webhooks.aclose()
