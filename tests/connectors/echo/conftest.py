"""Fixtures of the echo connector's tests: Echo Notes served for real on loopback, and
FieldBridge started with the one registry line, FIELDBRIDGE_CONNECTOR_MODULES."""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from fieldbridge import wiring
from fieldbridge.connections.models import Connection
from fieldbridge.kit.db import Database
from fieldbridge.kit.http import HttpClients
from fieldbridge.settings import Environment, Settings
from tests.browser import serve_in_thread
from tests.connections import acme_oauth
from tests.connectors.echo.provider import EchoServer
from tests.factories import bearer, create_tenant

# The one line that registers the echo connector (an environment variable in a deployment).
CONNECTOR_MODULES = "tests.connectors.echo.connector"
REDIRECT = "http://testserver/settings/integrations/echo/callback"


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        env=Environment.test,
        database_url=database_url,
        base_url="http://testserver",
        connector_modules=CONNECTOR_MODULES,
    )


@pytest.fixture(autouse=True)
def echo_installed(settings: Settings) -> Iterator[None]:
    """What every entry point does with these settings; the shipped set again afterwards."""
    wiring.install(settings)
    yield
    wiring.install()


@pytest.fixture
def echo_server() -> Iterator[tuple[EchoServer, str]]:
    state = EchoServer()
    with serve_in_thread(state.app()) as url:
        yield state, url


def http_clients() -> HttpClients:
    return HttpClients(allow_emulators=True)


@dataclass
class Linked:
    """A company with a connected Echo account."""

    company_id: int
    auth: dict[str, str]
    connection_id: int
    server: EchoServer
    url: str


def connect_body(url: str) -> dict[str, Any]:
    return {
        "provider": "echo",
        "environment": "local",
        "offline_url": url,
        "client_id": acme_oauth.CLIENT_ID,
        "client_secret": acme_oauth.CLIENT_SECRET,
    }


async def consent(authorize_url: str) -> dict[str, str]:
    """The admin approves at Echo: the callback's query (code, state)."""
    async with httpx.AsyncClient() as browser:
        answer = await browser.get(authorize_url)
    assert answer.status_code == 302, answer.text
    assert answer.headers["location"].startswith(REDIRECT)
    return {k: v[0] for k, v in parse_qs(urlsplit(answer.headers["location"]).query).items()}


async def connect_echo(
    client: httpx.AsyncClient, auth: dict[str, str], url: str, account_id: str = "acct_7Hq2"
) -> dict[str, Any]:
    """Connect through the generic API: start, consent (PKCE), callback, pick the account."""
    started = await client.post("/api/v1/connections", json=connect_body(url), headers=auth)
    assert started.status_code == 201, started.text
    done = await client.get(
        "/api/v1/connections/echo/callback",
        params=await consent(started.json()["authorize_url"]),
        headers=auth,
    )
    assert done.status_code == 200, done.text
    picked = await client.post(
        f"/api/v1/connections/{done.json()['id']}/company", json={"account_ids": [account_id]}, headers=auth
    )
    assert picked.status_code == 200, picked.text
    (connection,) = picked.json()
    result: dict[str, Any] = connection
    return result


@pytest.fixture
async def linked(
    echo_server: tuple[EchoServer, str], client: httpx.AsyncClient, db: Database, settings: Settings
) -> Linked:
    server, url = echo_server
    tenant = await create_tenant(db, settings)
    auth = bearer(tenant.api_key)
    connection = await connect_echo(client, auth, url)
    return Linked(tenant.company.id, auth, int(connection["id"]), server, url)


async def connection_row(db: Database, connection_id: int) -> Connection:
    async with db.sessionmaker() as session:
        row = await session.get(Connection, connection_id, populate_existing=True)
        assert row is not None
        return row
