"""`procore_env`: FieldBridge and the offline Procore sandbox wired together in-process.

    async def test_x(procore_env: ProcoreEnv, db, settings):
        tenant = await create_tenant(db, settings)
        connection_id = await procore_env.connect(tenant)        # full OAuth + company pick
        async with procore_env.procore_client(connection_id) as procore:
            projects = await procore.get_all("/rest/v1.0/projects", {"company_id": ...})

- FieldBridge's outbound HTTP goes to the sandbox through `httpx.ASGITransport`
  (`create_app(settings, http=HttpClients(transport=...))`); the sandbox's webhooks come
  back into the same FieldBridge app through `SandboxConfig(webhook_transport=...)`.
- `procore_env.client` talks to FieldBridge (base URL = settings.base_url, a redirect URI the
  sandbox's demo app accepts); `procore_env.sandbox` talks to the sandbox (control API under
  `/_sandbox/`, e.g. `await procore_env.sandbox.post("/_sandbox/cost_codes/ID", json=...)`).
- `procore_env.count(method, path_template, status)` reads the sandbox's request counts.
- `procore_env.webhook_sink.app = other_asgi_app` diverts (loses) the sandbox's webhooks.
- `procore_env.track(tenant, n)`: connect, list projects, turn the first n syncable ones on
  (their first sync runs before it returns); returns (connection id, project rows).
- Rate limits: 100,000/hour and 10,000 per 10 s (lower them with `PUT /_sandbox/rate_limits`).
- Seed: the sandbox's `demo` seed (one company, 12 projects: 2 inactive, 1 not permitted).
"""

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI

from fieldbridge.app import create_app
from fieldbridge.connectors.procore.client import ProcoreClient
from fieldbridge.kit.crypto import SecretBox
from fieldbridge.kit.db import Database
from fieldbridge.kit.http import HttpClients
from fieldbridge.settings import Settings
from fieldbridge_sandbox import SandboxConfig
from fieldbridge_sandbox import create_app as create_sandbox
from fieldbridge_sandbox.config import RateLimits
from fieldbridge_sandbox.seeds import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from tests.factories import Tenant, bearer

SANDBOX_URL = "http://procore-sandbox.test"
FIELDBRIDGE_URL = "http://127.0.0.1:8000"  # registered as a redirect URI in the sandbox's demo app


class LateASGITransport(httpx.AsyncBaseTransport):
    """An ASGI transport whose app is attached after construction (the two apps point at each other)."""

    def __init__(self) -> None:
        self.app: Any = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert self.app is not None, "LateASGITransport used before its app was attached"
        return await httpx.ASGITransport(app=self.app).handle_async_request(request)


@dataclass
class ProcoreEnv:
    app: FastAPI
    sandbox_app: FastAPI
    client: httpx.AsyncClient
    sandbox: httpx.AsyncClient
    http: HttpClients
    db: Database
    settings: Settings
    # Where the sandbox's webhooks go; point `.app` elsewhere to lose them.
    webhook_sink: LateASGITransport

    @property
    def box(self) -> SecretBox:
        return SecretBox(self.settings.secret)

    def procore_client(self, connection_id: int, **kwargs: Any) -> ProcoreClient:
        return ProcoreClient(self.db, self.http, self.box, connection_id, **kwargs)

    async def count(self, method: str, path: str, status: int | None = None) -> int:
        body = (await self.sandbox.get("/_sandbox/requests")).json()
        return sum(
            r["count"]
            for r in body["requests"]
            if r["method"] == method and r["path"] == path and (status is None or r["status"] == status)
        )

    async def authorize(self, authorize_url: str, decision: str = "approve") -> dict[str, str]:
        """Play the admin on the sandbox's consent page; returns the callback's query (code, state)."""
        page = await self.sandbox.get(authorize_url)
        assert page.status_code == 200, page.text
        user = re.search(r'name="user_id" value="(\d+)"', page.text)
        assert user is not None
        query = parse_qs(urlsplit(authorize_url).query)
        consent = await self.sandbox.post(
            "/_sandbox/oauth/consent",
            data={
                "client_id": query["client_id"][0],
                "redirect_uri": query["redirect_uri"][0],
                "state": query["state"][0],
                "user_id": user.group(1),
                "decision": decision,
            },
        )
        assert consent.status_code == 302, consent.text
        return {k: v[0] for k, v in parse_qs(urlsplit(consent.headers["location"]).query).items()}

    async def connect(self, tenant: Tenant, *, pick: int | None = None) -> int:
        """Connect Procore for `tenant` through the API and the consent page; returns the connection id."""
        auth = bearer(tenant.api_key)
        started = await self.client.post(
            "/api/v1/connections/procore",
            json={
                "environment": "offline_sandbox",
                "offline_url": SANDBOX_URL,
                "client_id": DEMO_CLIENT_ID,
                "client_secret": DEMO_CLIENT_SECRET,
            },
            headers=auth,
        )
        assert started.status_code == 201, started.text
        answer = await self.authorize(started.json()["authorize_url"])
        done = await self.client.get("/api/v1/connections/procore/callback", params=answer, headers=auth)
        assert done.status_code == 200, done.text
        choices = done.json()["company_choices"]
        chosen = await self.client.post(
            f"/api/v1/connections/{done.json()['id']}/company",
            json={"procore_company_ids": [pick or choices[0]["id"]]},
            headers=auth,
        )
        assert chosen.status_code == 200, chosen.text
        return int(chosen.json()[0]["id"])

    async def track(self, tenant: Tenant, n: int = 1) -> tuple[int, list[dict[str, Any]]]:
        auth = bearer(tenant.api_key)
        connection_id = await self.connect(tenant)
        run = await self.client.post(f"/api/v1/connections/{connection_id}/sync", headers=auth)
        assert run.status_code == 202, run.text
        listed = await self.client.get("/api/v1/projects", params={"view": "available"}, headers=auth)
        chosen = listed.json()["items"][:n]
        body = {"project_ids": [p["id"] for p in chosen], "enabled": True}
        toggled = await self.client.post("/api/v1/projects/sync", json=body, headers=auth)
        assert toggled.status_code == 200, toggled.text
        return connection_id, chosen


@pytest.fixture
async def procore_env(settings: Settings, db: Database) -> AsyncIterator[ProcoreEnv]:
    """FieldBridge + the Procore sandbox (demo seed) in one process; see the module docstring."""
    settings = settings.model_copy(update={"base_url": FIELDBRIDGE_URL})
    back_to_fieldbridge = LateASGITransport()
    # Generous rate limits so tests are not paced by the budget; lower them per test with
    # `PUT /_sandbox/rate_limits` when the limits are what a test is about.
    limits = RateLimits(hourly=100_000, spike=10_000)
    sandbox_app = create_sandbox(
        SandboxConfig(seed="demo", webhook_transport=back_to_fieldbridge, rate_limits=limits)
    )
    http = HttpClients(transport=httpx.ASGITransport(app=sandbox_app))
    app = create_app(settings, http=http)
    await app.state.db.dispose()
    app.state.db = db
    back_to_fieldbridge.app = app
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=FIELDBRIDGE_URL) as client,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox_app), base_url=SANDBOX_URL) as sandbox,
    ):
        yield ProcoreEnv(app, sandbox_app, client, sandbox, http, db, settings, back_to_fieldbridge)
        state = sandbox_app.state.sandbox
        if state.webhooks is not None:  # let in-flight deliveries (and what they trigger) finish
            await state.webhooks.drain(10)
            await state.webhooks.aclose()
