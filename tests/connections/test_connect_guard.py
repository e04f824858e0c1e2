"""Connecting to an admin-typed URL (the offline sandbox) cannot reach the server's own network,
is off in production, and never shows the remote side's text."""

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from fieldbridge.app import create_app
from fieldbridge.kit.db import Database
from fieldbridge.settings import Environment, Settings
from tests.browser import free_port, serve_in_thread
from tests.factories import bearer, create_tenant, sign_in_browser

START = "/api/v1/connections/procore"
REMOTE_TEXT = "INTERNAL-ADMIN-PANEL-v9 build secret"


def service_account(url: str) -> dict[str, Any]:
    return {
        "environment": "offline_sandbox",
        "offline_url": url,
        "mode": "client_credentials",
        "client_id": "app-id",
        "client_secret": "app-secret-value",
        "procore_company_id": 42,
    }


async def _token_refused(request: Request) -> JSONResponse:
    return JSONResponse({"error": "strange_error", "error_description": REMOTE_TEXT}, status_code=400)


async def _token_ok(request: Request) -> JSONResponse:
    return JSONResponse({"access_token": "t", "token_type": "bearer", "expires_in": 5400})


async def _companies_refused(request: Request) -> JSONResponse:
    return JSONResponse({"message": REMOTE_TEXT}, status_code=403)


@pytest.fixture(scope="module")
def not_procore() -> Iterator[dict[str, str]]:
    """Two servers on loopback that answer like an internal service would, not like Procore."""
    token_refused = Starlette(routes=[Route("/oauth/token", _token_refused, methods=["POST"])])
    companies_refused = Starlette(
        routes=[
            Route("/oauth/token", _token_ok, methods=["POST"]),
            Route("/rest/v1.0/companies", _companies_refused),
        ]
    )
    with serve_in_thread(token_refused) as one, serve_in_thread(companies_refused) as two:
        yield {"token": one, "companies": two}


async def _client(settings: Settings, db: Database) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)  # real outbound network, through the guard
    await app.state.db.dispose()
    app.state.db = db
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        yield c


async def _connections(client: httpx.AsyncClient, auth: dict[str, str]) -> list[Any]:
    listed: list[Any] = (await client.get("/api/v1/connections", headers=auth)).json()
    return listed


async def test_offline_sandbox_is_off_in_production(settings: Settings, db: Database) -> None:
    production = Settings(
        **{
            **settings.model_dump(exclude_unset=True),
            "env": Environment.production,
            "secret_key": SecretStr("p" * 40),
        }
    )
    tenant = await create_tenant(db, production)
    auth = bearer(tenant.api_key)
    async for client in _client(production, db):
        answer = await client.post(START, json=service_account("http://127.0.0.1:9"), headers=auth)
        assert answer.status_code == 422
        assert answer.json()["error"]["code"] == "offline_sandbox_disabled"
        assert "FIELDBRIDGE_ALLOW_OFFLINE_SANDBOX" in answer.json()["error"]["message"]
        assert await _connections(client, auth) == []
        # The admin's connect form does not offer what the server refuses.
        await sign_in_browser(client, tenant.admin.email)
        form = (await client.get("/settings/integrations/procore")).text
        assert 'value="offline_sandbox"' not in form
        assert 'id="offline-off"' in form


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://169.254.169.254/latest/meta-data", "link-local address"),
        ("http://10.0.0.5:5432", "private address"),
        ("http://[::ffff:192.168.0.1]:8080", "private address"),
        ("http://0.0.0.0:8000", "unspecified address"),
    ],
)
async def test_private_targets_are_refused_before_anything_is_sent(
    client: httpx.AsyncClient, db: Database, settings: Settings, url: str, reason: str
) -> None:
    auth = bearer((await create_tenant(db, settings)).api_key)
    for mode in ("client_credentials", "authorization_code"):
        answer = await client.post(START, json={**service_account(url), "mode": mode}, headers=auth)
        assert answer.status_code == 422, answer.text
        assert answer.json()["error"]["code"] == "procore_address_refused"
        assert f"is a {reason}" in answer.json()["error"]["message"]
    assert await _connections(client, auth) == []


async def test_remote_text_is_never_shown(
    client: httpx.AsyncClient, db: Database, settings: Settings, not_procore: dict[str, str]
) -> None:
    auth = bearer((await create_tenant(db, settings)).api_key)
    refused = await client.post(START, json=service_account(not_procore["token"]), headers=auth)
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "procore_token_refused"
    assert REMOTE_TEXT not in refused.text
    assert "strange_error" not in refused.text

    forbidden = await client.post(START, json=service_account(not_procore["companies"]), headers=auth)
    assert forbidden.status_code == 400
    assert forbidden.json()["error"]["code"] == "procore_refused"
    assert REMOTE_TEXT not in forbidden.text

    closed = await client.post(START, json=service_account(f"http://127.0.0.1:{free_port()}"), headers=auth)
    assert closed.status_code == 400
    assert closed.json()["error"]["code"] == "procore_unreachable"
    assert closed.json()["error"]["message"].startswith("Could not reach 127.0.0.1:")
