import asyncio

import pytest
from sqlalchemy import update

from fieldbridge.connections.models import Connection, ConnectionStatus
from fieldbridge.connections.repository import ConnectionRepository
from fieldbridge.connectors.procore.errors import RateLimited, ReconnectRequired
from fieldbridge.kit.clock import utcnow
from fieldbridge.kit.db import Database
from fieldbridge.settings import Settings
from tests.factories import create_tenant
from tests.procore_fixtures import ProcoreEnv

TOKEN = "/oauth/token"


async def _company(env: ProcoreEnv, connection_id: int) -> str:
    async with env.db.transaction() as session:
        connection = await ConnectionRepository.from_session(session).get_for_job(connection_id)
        assert connection is not None
        assert connection.external_account_id is not None
        return connection.external_account_id


async def _expire(db: Database, connection_id: int) -> None:
    async with db.transaction() as session:
        await session.execute(
            update(Connection).where(Connection.id == connection_id).values(token_expires_at=utcnow())
        )


async def _status(db: Database, connection_id: int) -> Connection:
    async with db.transaction() as session:
        connection = await ConnectionRepository.from_session(session).get_for_job(connection_id)
        assert connection is not None
        return connection


async def test_client_sends_company_header_and_lists_projects(
    procore_env: ProcoreEnv, db: Database, settings: Settings
) -> None:
    tenant = await create_tenant(db, settings)
    connection_id = await procore_env.connect(tenant)
    company = await _company(procore_env, connection_id)
    async with procore_env.procore_client(connection_id) as procore:
        projects = await procore.get_all("/rest/v1.0/projects", {"company_id": company})
    assert len(projects) == 9  # 12 seeded: 2 inactive and 1 not permitted are not listed
    async with procore_env.db.transaction() as session:
        stored = await ConnectionRepository.from_session(session).get_for_job(connection_id)
    assert stored is not None
    assert stored.sealed_credentials is not None
    assert "sbx_" not in stored.sealed_credentials  # tokens are sealed, never stored in clear
    assert "sbx_" not in str(stored.config)


async def test_fifty_concurrent_callers_with_an_expired_token_refresh_once(
    procore_env: ProcoreEnv, db: Database, settings: Settings
) -> None:
    tenant = await create_tenant(db, settings)
    connection_id = await procore_env.connect(tenant)
    company = await _company(procore_env, connection_id)
    await _expire(db, connection_id)
    before = await procore_env.count("POST", TOKEN, 200)

    async def call() -> int:
        # A separate client per caller: only the database lock can keep them to one refresh.
        async with procore_env.procore_client(connection_id) as procore:
            return len(await procore.get_json("/rest/v1.0/projects", {"company_id": company}))

    sizes = await asyncio.gather(*(call() for _ in range(50)))
    assert set(sizes) == {9}
    assert await procore_env.count("POST", TOKEN, 200) - before == 1
    connection = await _status(db, connection_id)
    assert connection.status == ConnectionStatus.connected
    assert connection.token_expires_at is not None
    assert connection.token_expires_at > utcnow()


async def test_lost_refresh_response_needs_reconnect(
    procore_env: ProcoreEnv, db: Database, settings: Settings
) -> None:
    tenant = await create_tenant(db, settings)
    connection_id = await procore_env.connect(tenant)
    company = await _company(procore_env, connection_id)
    await _expire(db, connection_id)
    await procore_env.sandbox.put("/_sandbox/faults", json={"drop_next": 1, "path_prefixes": [TOKEN]})
    async with procore_env.procore_client(connection_id) as procore:
        with pytest.raises(ReconnectRequired) as caught:
            await procore.get_json("/rest/v1.0/projects", {"company_id": company})
    assert "lost" in caught.value.message
    connection = await _status(db, connection_id)
    assert connection.status == ConnectionStatus.needs_reconnect
    assert connection.status_reason is not None
    assert "Reconnect" in connection.status_reason
    # The reconnect banner's button brings it back.
    auth = {"Authorization": f"Bearer {tenant.api_key}"}
    reconnect = await procore_env.client.post(f"/api/v1/connections/{connection_id}/reconnect", headers=auth)
    url = reconnect.json()
    answer = await procore_env.authorize(url["authorize_url"])
    done = await procore_env.client.get("/api/v1/connections/procore/callback", params=answer, headers=auth)
    assert done.json()["status"] == "connected", done.text


async def test_revoked_token_needs_reconnect(
    procore_env: ProcoreEnv, db: Database, settings: Settings
) -> None:
    tenant = await create_tenant(db, settings)
    connection_id = await procore_env.connect(tenant)
    company = await _company(procore_env, connection_id)
    await procore_env.sandbox.post("/_sandbox/revoke_all")
    async with procore_env.procore_client(connection_id) as procore:
        with pytest.raises(ReconnectRequired):
            await procore.get_json("/rest/v1.0/projects", {"company_id": company})
        with pytest.raises(ReconnectRequired):  # later calls fail fast, without asking Procore
            await procore.get_json("/rest/v1.0/projects", {"company_id": company})
    assert (await _status(db, connection_id)).status == ConnectionStatus.needs_reconnect


async def test_rate_limit_retry_after_is_obeyed(
    procore_env: ProcoreEnv, db: Database, settings: Settings
) -> None:
    tenant = await create_tenant(db, settings)
    connection_id = await procore_env.connect(tenant)
    company = await _company(procore_env, connection_id)
    await procore_env.sandbox.put("/_sandbox/faults", json={"throttle_next": 1, "path_prefixes": ["/rest/"]})
    # Retry-After (5 s) is longer than this caller will wait: it gets RateLimited, not a retry storm.
    async with procore_env.procore_client(connection_id, max_rate_wait=1) as procore:
        with pytest.raises(RateLimited) as caught:
            await procore.get_json("/rest/v1.0/projects", {"company_id": company})
        assert caught.value.retry_after == 5
        assert len(await procore.get_json("/rest/v1.0/projects", {"company_id": company})) == 9
    assert await procore_env.count("GET", "/rest/v1.0/projects", 429) == 1
