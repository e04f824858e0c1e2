"""Connect ACC against the offline ACC sandbox: APS OAuth with PKCE, the hub picker (ids without
`b.`), the project sync into sites' projects, the hub's region, and rotating refresh tokens."""

from datetime import timedelta

from sqlalchemy import select

from fieldbridge.connections.models import Connection
from fieldbridge.connectors.acc.client import AccClient
from fieldbridge.kit.clock import utcnow
from fieldbridge.kit.db import Database
from fieldbridge.settings import Settings
from fieldbridge.sites.models import Project
from tests.connectors.acc.conftest import AccEnv
from tests.factories import bearer, create_tenant


async def test_connect_picks_a_hub_and_mirrors_its_projects(
    acc_env: AccEnv, db: Database, settings: Settings
) -> None:
    tenant = await create_tenant(db, settings)
    connection_id, projects = await acc_env.track(tenant, ["Riverside Medical Office"])
    connection = await acc_env.connection(connection_id)
    assert connection.status == "connected"
    assert connection.external_account_id is not None
    assert not connection.external_account_id.startswith("b.")
    assert connection.config["region"] == "US"
    hubs = await acc_env.records("hubs")
    assert any(
        h["id"] in (connection.external_account_id, "b." + connection.external_account_id) for h in hubs
    )
    assert {"Riverside Medical Office", "Harbor Logistics Center", "Old Mill Lofts"} <= set(projects)
    assert all(not p["external_id"].startswith("b.") for p in projects.values())
    async with db.sessionmaker() as session:
        row = await session.scalar(select(Project).where(Project.name == "Riverside Medical Office"))
    assert row is not None
    assert row.sync_state == "synced", row.sync_error


async def test_an_emea_hub_sends_its_region(acc_env: AccEnv, db: Database, settings: Settings) -> None:
    tenant = await create_tenant(db, settings)
    connection_id, projects = await acc_env.track(
        tenant, ["Bergen Tower"], await acc_env.connect(tenant, "Fjord Bygg AS")
    )
    assert (await acc_env.connection(connection_id)).config["region"] == "EMEA"
    assert "Bergen Tower" in projects
    assert "Riverside Medical Office" not in projects


async def test_refresh_tokens_rotate_and_the_new_one_is_stored(
    acc_env: AccEnv, db: Database, settings: Settings
) -> None:
    tenant = await create_tenant(db, settings)
    connection_id = await acc_env.connect(tenant)
    async with db.transaction() as session:
        row = await session.get(Connection, connection_id)
        assert row is not None
        row.token_expires_at = utcnow() - timedelta(minutes=1)
        version = row.credentials_version
    async with AccClient(db, acc_env.http, acc_env.box, connection_id) as acc:
        hubs = await acc.get_json("/project/v1/hubs")
        assert hubs["data"]
        assert acc.tokens.refreshes == 1
    after = await acc_env.connection(connection_id)
    assert after.credentials_version == version + 1
    assert after.status == "connected"
    # the old refresh token is spent: a second refresh works only with the stored new one
    async with db.transaction() as session:
        row = await session.get(Connection, connection_id)
        assert row is not None
        row.token_expires_at = utcnow() - timedelta(minutes=1)
    async with AccClient(db, acc_env.http, acc_env.box, connection_id) as acc:
        await acc.get_json("/project/v1/hubs")
    assert (await acc_env.connection(connection_id)).credentials_version == version + 2


async def test_the_api_lists_hubs_for_the_picker(acc_env: AccEnv, db: Database, settings: Settings) -> None:
    tenant = await create_tenant(db, settings)
    started = await acc_env.client.post(
        "/api/v1/connections/acc",
        json={
            "environment": "offline_sandbox",
            "offline_url": "http://acc-sandbox.test",
            "client_id": "fb-acc-demo-client",
            "client_secret": "fb-acc-demo-secret-0123456789abcdef",
        },
        headers=bearer(tenant.api_key),
    )
    assert started.status_code == 201, started.text
    url = started.json()["authorize_url"]
    assert "code_challenge_method=S256" in url
    assert (
        "scope=data%3Aread+data%3Awrite+account%3Aread" in url
        or "data%3Aread%20data%3Awrite%20account%3Aread" in url
    )
