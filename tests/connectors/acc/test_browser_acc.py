"""Connect ACC in a real browser and follow one detection there and back: the ACC sandbox's
consent page, the hub picker, the project picked and synced, the site mapped to it (a link row,
as the mapping pages will make it), a detection confirmed, its Safety issue in the sandbox; then
a person closes the issue in ACC and FieldBridge shows the status it got back by webhook.
Screenshots in test-artifacts/ (acc-*.png)."""

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from fieldbridge.app import create_app
from fieldbridge.delivery.models import Delivery
from fieldbridge.kit.db import Database
from fieldbridge.kit.http import HttpClients
from fieldbridge.safety import ingest
from fieldbridge.safety.models import SafetySite, SafetySiteLink, SafetyZone, ZoneType
from fieldbridge.settings import Settings
from fieldbridge.sites.models import Project
from fieldbridge_sandbox_acc.app import create_app as create_sandbox
from fieldbridge_sandbox_acc.config import AccConfig
from fieldbridge_sandbox_acc.seeds import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from tests.browser import free_port, run_async, screenshot, serve_in_thread
from tests.factories import PASSWORD, Tenant, create_tenant_now

pytestmark = pytest.mark.browser
PROJECT = "Riverside Medical Office"


def _until(check: Any, what: str, timeout: float = 90.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.3)
    raise AssertionError(f"waited {timeout:.0f} s for {what}")


def _map_site(settings: Settings, tenant: Tenant, connection_id: int) -> tuple[int, int]:
    async def go() -> tuple[int, int]:
        db = Database(settings.database_url)
        try:
            async with db.transaction() as session:
                project = await session.scalar(
                    select(Project).where(Project.connection_id == connection_id, Project.name == PROJECT)
                )
                assert project is not None
                site = SafetySite(
                    company_id=tenant.company.id, project_id=project.id, name="Riverside", time_zone="UTC"
                )
                session.add(site)
                await session.flush()
                zone = SafetyZone(
                    company_id=tenant.company.id, site_id=site.id, name="Deck 3", type=ZoneType.restricted
                )
                session.add(zone)
                session.add(
                    SafetySiteLink(
                        company_id=tenant.company.id,
                        site_id=site.id,
                        connection_id=connection_id,
                        project_id=project.id,
                        remote_project_id=project.external_id,
                    )
                )
                await session.flush()
                return site.id, zone.id
        finally:
            await db.dispose()

    return run_async(go)


def _detect(settings: Settings, tenant: Tenant, site_id: int, zone_id: int) -> int:
    async def go() -> int:
        db = Database(settings.database_url)
        try:
            async with db.transaction() as session:
                outcome = await ingest.ingest_detections(
                    session,
                    tenant.company.id,
                    [
                        {
                            "event_id": "browser-acc-1",
                            "site_id": site_id,
                            "zone_id": zone_id,
                            "type": "zone_breach",
                            "priority": 4,
                            "source": "camera",
                            "source_ref": "cam-3",
                            "occurred_at": (datetime.now(UTC) - timedelta(minutes=2)).isoformat(),
                        }
                    ],
                )
            assert outcome.errors == 0, outcome.first_error
            return int(outcome.results[0].id or 0)
        finally:
            await db.dispose()

    return run_async(go)


def _delivery(settings: Settings, subject: str) -> Delivery | None:
    async def go() -> Delivery | None:
        db = Database(settings.database_url)
        try:
            async with db.sessionmaker() as session:
                return await session.scalar(
                    select(Delivery).where(Delivery.subject == subject).order_by(Delivery.id)
                )
        finally:
            await db.dispose()

    return run_async(go)


def test_connect_acc_map_a_site_and_see_the_issue_status_come_back(browser: Any, settings: Settings) -> None:
    port = free_port()
    settings = settings.model_copy(update={"base_url": f"http://127.0.0.1:{port}"})
    tenant = create_tenant_now(settings, "Northwind")
    with (
        serve_in_thread(create_sandbox(AccConfig(seed="demo"))) as sandbox_url,
        serve_in_thread(create_app(settings, http=HttpClients(allow_emulators=True)), port) as base,
    ):
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{base}/settings/integrations/acc")
        page.fill("#email", tenant.admin.email)
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/settings/integrations/acc")

        page.select_option("#environment", "offline_sandbox")
        page.fill("#offline_url", sandbox_url)
        page.fill("#client_id", DEMO_CLIENT_ID)
        page.fill("#client_secret", DEMO_CLIENT_SECRET)
        screenshot(page, "acc-1-connect-form")
        page.click("#connect-form button[type=submit]")
        page.wait_for_url(f"{sandbox_url}/authentication/v2/authorize**")
        screenshot(page, "acc-2-autodesk-consent")
        page.click("#allow")

        page.wait_for_selector("#account-picker")
        screenshot(page, "acc-3-hub-picker")
        page.get_by_label("Northwind Builders").check()
        page.click("#account-picker button[type=submit]")
        page.wait_for_url("**/projects?checked=1")
        connection_id = int(page.url.split("/settings/integrations/acc/")[1].split("/")[0])
        row = page.locator("#projects-table tr", has_text=PROJECT)
        row.locator("input[name=project_id]").check()
        page.click("#sync-selected")
        _until(
            lambda: page.locator("tr[data-state=synced]").count() >= 1 or (page.reload() and False),
            "the first sync",
        )
        screenshot(page, "acc-4-project-synced")

        site_id, zone_id = _map_site(settings, tenant, connection_id)
        detection_id = _detect(settings, tenant, site_id, zone_id)
        page.goto(f"{base}/safety/detections/{detection_id}")
        page.select_option("#to", "confirmed")
        page.click("form button[type=submit] >> nth=-1")
        assert "confirmed" in page.locator("h1").inner_text() + page.content()
        screenshot(page, "acc-5-detection-confirmed")

        subject = f"observation:{detection_id}"
        delivered = _until(
            lambda: (d := _delivery(settings, subject)) is not None and d.status == "delivered" and d,
            "the observation to reach ACC",
        )
        page.goto(f"{sandbox_url}/_sandbox/edit/issues/{delivered.remote_id}")
        assert f"[fieldbridge:{subject}]" in page.locator("#description").inner_text()
        assert page.locator("#status").inner_text() == "open"
        screenshot(page, "acc-6-safety-issue-in-acc")

        page.select_option("#status-select", "closed")
        page.click("#save")
        page.wait_for_selector("#saved")
        screenshot(page, "acc-7-closed-in-acc")

        def came_back() -> bool:
            page.goto(f"{base}/export-log/{delivered.id}")
            return '"acc_status": "closed"' in page.content()

        _until(came_back, "the closed status to come back")
        screenshot(page, "acc-8-status-back-in-fieldbridge")
        page.close()
