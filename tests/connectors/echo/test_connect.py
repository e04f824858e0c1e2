"""Seams 1 and 5 for echo: connecting through the generic OAuth lifecycle (API and pages)
against Echo's own server, refresh rotation through the shared token manager, and the
connector catalogue listing echo with what it really has."""

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import update

from fieldbridge import wiring
from fieldbridge.connections.connector import Outbound
from fieldbridge.connections.credentials import OAuthSecrets
from fieldbridge.connections.models import Connection, ConnectionStatus
from fieldbridge.connectors.registry import connector_modules
from fieldbridge.delivery.runner import registry
from fieldbridge.inbound.handlers import installed_handlers
from fieldbridge.kit.clock import utcnow
from fieldbridge.kit.crypto import SecretBox
from fieldbridge.kit.db import Database
from fieldbridge.settings import Settings
from tests.connectors.echo import connector, inbound
from tests.connectors.echo.conftest import (
    CONNECTOR_MODULES,
    Linked,
    connect_body,
    connection_row,
    consent,
    http_clients,
)
from tests.connectors.echo.provider import EchoServer
from tests.factories import bearer, create_tenant, sign_in_browser


async def test_echo_connects_with_pkce_and_a_string_account_id(linked: Linked, db: Database) -> None:
    row = await connection_row(db, linked.connection_id)
    assert (row.company_id, row.provider, row.external_account_id) == (linked.company_id, "echo", "acct_7Hq2")
    assert (row.status, row.label) == (ConnectionStatus.connected, "Echo Notes · Echo North")
    assert linked.server.grants["authorization_code"] == 1  # the server checked the PKCE verifier


async def test_a_refresh_rotates_echos_single_use_refresh_token(
    linked: Linked, db: Database, settings: Settings
) -> None:
    box = SecretBox(settings.secret)
    before = await connection_row(db, linked.connection_id)
    first = OAuthSecrets.open(box, before.sealed_credentials).refresh_token
    assert first is not None
    async with db.transaction() as session:  # the access token has expired
        await session.execute(
            update(Connection)
            .where(Connection.id == linked.connection_id)
            .values(token_expires_at=utcnow() - timedelta(minutes=1))
        )
    tokens = connector.token_manager(Outbound(db, http_clients(), settings), linked.connection_id)
    token = await tokens.current()
    assert token.value in linked.server.access_tokens
    after = await connection_row(db, linked.connection_id)
    rotated = OAuthSecrets.open(box, after.sealed_credentials).refresh_token
    assert rotated is not None
    assert rotated.get_secret_value() != first.get_secret_value()
    assert first.get_secret_value() not in linked.server.refresh_tokens  # spent at Echo
    assert rotated.get_secret_value() in linked.server.refresh_tokens
    assert after.credentials_version == before.credentials_version + 1
    assert linked.server.grants["refresh_token"] == 1


async def test_echo_connects_through_the_generic_pages(
    echo_server: tuple[EchoServer, str], client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    _, url = echo_server
    tenant = await create_tenant(db, settings)
    csrf = await sign_in_browser(client, tenant.admin.email)
    body = connect_body(url)
    del body["provider"]
    onward = await client.post("/settings/integrations/echo/connect", data={"csrf_token": csrf, **body})
    assert onward.status_code == 200, onward.text
    assert "Continue to Echo Notes" in onward.text
    authorize = next(
        part.split('"')[0] for part in onward.text.split('href="')[1:] if part.startswith(url)
    ).replace("&amp;", "&")
    query = "&".join(f"{k}={v}" for k, v in (await consent(authorize)).items())
    back = await client.get(f"/settings/integrations/echo/callback?{query}")
    assert back.status_code == 303, back.text
    picker = await client.get(back.headers["location"])
    assert "Echo North" in picker.text
    assert "Echo South" in picker.text
    chosen = await client.post(
        back.headers["location"] + "/company", data={"csrf_token": csrf, "account_id": "acct_9Zp4"}
    )
    assert chosen.status_code == 303, chosen.text
    assert "Echo Notes · Echo South" in (await client.get(chosen.headers["location"])).text


async def test_the_catalogue_lists_echo_with_its_true_capabilities(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    tenant = await create_tenant(db, settings)
    listed = await client.get("/api/v1/connectors", headers=bearer(tenant.api_key))
    assert listed.status_code == 200
    (echo,) = [c for c in listed.json() if c["provider"] == "echo"]
    assert echo == {
        "provider": "echo",
        "name": "Echo Notes",
        "summary": "A test platform: notes out, note events in.",
        "status": "available",
        "capabilities": ["daily_log"],
        "delivery_kinds": ["echo.note.create"],
        "connect_url": "/settings/integrations/echo",
        "connect": {
            "environments": [{"value": "local", "label": "Echo on this machine", "emulator": True}],
            "modes": ["authorization_code"],
            "account": "Echo account",
        },
    }
    assert {"procore", "webhook"} <= {c["provider"] for c in listed.json()}  # the shipped ones stay


def test_a_connector_module_that_cannot_serve_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match=r"FIELDBRIDGE_CONNECTOR_MODULES names 'tests\.no_such_module'"):
        connector_modules(["tests.no_such_module"])
    with pytest.raises(ValueError, match="has no spec"):
        connector_modules(["tests.connectors.echo.inbound"])
    assert Settings(connector_modules=" a.b , c ", secret_key="x" * 32).connector_module_names == ["a.b", "c"]


def test_the_one_registry_line_is_the_connector_modules_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    wiring.install()  # what ships: no echo
    assert "echo" not in registry().specs
    assert installed_handlers().handler("echo", "notes") is None
    monkeypatch.setenv("FIELDBRIDGE_ENV", "test")
    monkeypatch.setenv("FIELDBRIDGE_CONNECTOR_MODULES", CONNECTOR_MODULES)
    wiring.install(Settings())  # what every entry point does at start, from the environment
    assert registry().spec("echo").display_name == "Echo Notes"
    assert registry().handler("echo.note.create") is not None
    assert installed_handlers().handler("echo", "notes") is inbound.note_changed
