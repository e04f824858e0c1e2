"""`fieldbridge procore sync` against a sandbox served on a real port."""

import pytest

from fieldbridge.connections import service as connections_service
from fieldbridge.connections.schemas import ConnectIn
from fieldbridge.connectors.procore.cli import _sync
from fieldbridge.connectors.procore.config import AuthMode
from fieldbridge.connectors.procore.provider import Environment
from fieldbridge.kit.db import Database
from fieldbridge.kit.http import HttpClients
from fieldbridge.settings import Settings
from fieldbridge.sites import service as sites_service
from fieldbridge.sites.repository import SitesRepository
from fieldbridge_sandbox import SandboxConfig
from fieldbridge_sandbox import create_app as create_sandbox
from fieldbridge_sandbox.config import RateLimits
from fieldbridge_sandbox.seeds import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from tests.browser import serve_in_thread
from tests.factories import create_tenant


async def test_cli_sync_lists_and_syncs_tracked_projects(
    db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = await create_tenant(db, settings)
    limits = RateLimits(hourly=100_000, spike=10_000)
    with serve_in_thread(create_sandbox(SandboxConfig(seed="demo", rate_limits=limits))) as sandbox_url:
        http = HttpClients(allow_emulators=settings.offline_sandbox_allowed)
        async with http.client(base_url=sandbox_url, emulator=True) as control:
            apps = (await control.get("/_sandbox/apps")).json()
        company = next(a for a in apps if a["client_id"] == DEMO_CLIENT_ID)["installs"][0]["company_id"]
        async with db.transaction() as session:
            pending, _ = await connections_service.start_connect(
                session,
                settings,
                http,
                tenant.company.id,
                ConnectIn(
                    provider="procore",
                    environment=Environment.offline_sandbox,
                    offline_url=sandbox_url,
                    mode=AuthMode.client_credentials,
                    client_id=DEMO_CLIENT_ID,
                    client_secret=DEMO_CLIENT_SECRET,
                    account_id=str(company),
                ),
            )
            await connections_service.choose_accounts(
                session, settings, tenant.company.id, pending.id, [str(company)]
            )
        monkeypatch.setenv("FIELDBRIDGE_ENV", "test")
        monkeypatch.setenv("FIELDBRIDGE_DATABASE_URL", settings.database_url)
        assert await _sync(None, False) == 0  # lists the projects
        async with db.transaction() as session:
            rows, _ = await SitesRepository.from_session(session).projects_page(
                tenant.company.id, view="available", limit=2
            )
            await sites_service.set_sync(session, tenant.company.id, [p.id for p in rows], True)
        assert await _sync(None, False) == 0
        async with db.transaction() as session:
            tracked, _ = await SitesRepository.from_session(session).projects_page(
                tenant.company.id, view="tracked"
            )
        assert {p.sync_state for p in tracked} == {"synced"}
