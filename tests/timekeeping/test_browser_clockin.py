"""The mobile app on a phone: a foreman signs in, clocks in a crew of three, loses signal,
clocks out with a split, gets signal back, and Procore (the sandbox) holds the entries."""

import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from fieldbridge.app import create_app
from fieldbridge.kit.db import Database
from fieldbridge.kit.http import HttpClients
from fieldbridge.settings import Settings
from fieldbridge_sandbox import SandboxConfig
from fieldbridge_sandbox import create_app as create_sandbox
from tests.browser import live_fieldbridge, run_async, screenshot
from tests.factories import create_tenant_now
from tests.procore_fixtures import FIELDBRIDGE_URL, SANDBOX_URL, LateASGITransport, ProcoreEnv
from tests.timekeeping.helpers import Crew, crew_env

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}
START = datetime(2026, 11, 25, 13, 0, tzinfo=UTC)  # 08:00 in New York


def _seed(settings: Settings, sandbox_app: Any, http: HttpClients) -> Crew:
    async def go() -> Crew:
        db = Database(settings.database_url)
        app = create_app(settings, http=http)
        await app.state.db.dispose()
        app.state.db = db
        try:
            async with (
                httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=FIELDBRIDGE_URL) as client,
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=sandbox_app), base_url=SANDBOX_URL
                ) as sandbox,
            ):
                env = ProcoreEnv(
                    app=app,
                    sandbox_app=sandbox_app,
                    client=client,
                    sandbox=sandbox,
                    http=http,
                    db=db,
                    settings=settings,
                    webhook_sink=LateASGITransport(),
                )
                return await crew_env(env)
        finally:
            await db.dispose()

    return run_async(go)


def phone_crew(settings: Settings) -> tuple[Settings, Any, HttpClients, Crew]:
    """Settings of a live server, the sandbox app, clients to it, and a crew synced with it."""
    settings = settings.model_copy(update={"base_url": FIELDBRIDGE_URL})
    sandbox_app = create_sandbox(SandboxConfig(seed="demo"))
    http = HttpClients(transport=httpx.ASGITransport(app=sandbox_app))
    return settings, sandbox_app, http, _seed(settings, sandbox_app, http)


def _entries(sandbox_app: Any, project_id: int) -> list[dict[str, Any]]:
    async def go() -> list[dict[str, Any]]:
        transport = httpx.ASGITransport(app=sandbox_app)
        async with httpx.AsyncClient(transport=transport, base_url=SANDBOX_URL) as sandbox:
            rows = (await sandbox.get("/_sandbox/records/timecard_entries")).json()
        return [r for r in rows if r["project_id"] == project_id and not r["deleted_at"]]

    return run_async(go)


def _wait_for(check: Any, seconds: float) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def test_foreman_clocks_a_crew_in_and_out_offline_and_procore_gets_the_split(
    browser: Any, settings: Settings
) -> None:
    settings, sandbox_app, http, crew = phone_crew(settings)
    m0, m1 = crew.milestones[:2]
    with live_fieldbridge(settings, http) as base:
        context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="en-US")
        page = context.new_page()
        page.clock.install(time=START)
        page.goto(f"{base}/app")
        page.fill("#company", crew.tenant.company.code)
        page.fill("#pin", crew.pins[0])
        screenshot(page, "clockin-01-sign-in")
        page.click("#signin")
        page.wait_for_selector("#btn-clock-in")
        screenshot(page, "clockin-02-home")

        page.click("#btn-clock-in")
        page.click("[data-project]")
        screenshot(page, "clockin-03-pick-job")
        page.click('button.choice:has-text("Phase 1")')  # the sub job of the first milestone
        page.click(f'[data-milestone="{m0}"]')
        for worker in crew.workers[1:]:
            page.check(f"#w-{worker}")
        screenshot(page, "clockin-04-crew")
        page.click("#btn-next")
        screenshot(page, "clockin-05-confirm")
        page.click("#btn-confirm")
        expect(page.locator("#my-shifts .badge.synced")).to_have_count(3)
        screenshot(page, "clockin-06-on-the-clock")

        context.set_offline(True)
        page.wait_for_selector(".net.off")
        page.clock.set_system_time(START + timedelta(hours=8, minutes=30, seconds=30))
        page.click("button.clock-out")
        page.fill("#break", "30")
        page.press("#break", "Tab")
        page.fill(".line-value >> nth=0", "5")
        page.press(".line-value >> nth=0", "Tab")
        page.click(".add-line")
        page.select_option(".line-milestone >> nth=1", str(m1))
        page.fill(".line-value >> nth=1", "3")
        page.press(".line-value >> nth=1", "Tab")
        page.click("#injured-no")
        assert page.locator("#split-problem").count() == 0
        screenshot(page, "clockin-07-clock-out-split-offline")
        page.click("#btn-confirm-out")
        expect(page.locator("#my-shifts .badge.pending")).to_have_count(3)
        screenshot(page, "clockin-08-pending-offline")
        assert all(e["hours"] == "0.0" for e in _entries(sandbox_app, crew.procore_project_id))

        context.set_offline(False)

        def landed() -> list[dict[str, Any]]:
            rows = _entries(sandbox_app, crew.procore_project_id)
            return rows if len(rows) == 6 and sum(Decimal(r["hours"]) for r in rows) == 24 else []

        entries = _wait_for(landed, 60.0)  # a bound for a loaded machine, not a timing target
        assert entries, "the sandbox did not get the split within 60 seconds of the phone going online"
        for party in crew.parties.values():
            mine = {r["cost_code_id"]: r for r in entries if r["party_id"] == party}
            for milestone, hours in ((m0, 5), (m1, 3)):
                cost_code, category, sub_job = crew.codes[milestone]
                assert Decimal(mine[cost_code]["hours"]) == hours
                assert mine[cost_code]["line_item_type_id"] == category
                assert mine[cost_code]["sub_job_id"] == sub_job
        expect(page.locator("#my-shifts .badge.synced")).to_have_count(3)
        page.wait_for_selector("text=Sent to Procore ✓")
        screenshot(page, "clockin-09-synced-and-sent")

        page.click("#lang")
        page.wait_for_selector("text=Marcar entrada")
        screenshot(page, "clockin-10-espanol")
        context.close()


def test_companies_without_procore_see_why_there_is_no_clock_in(browser: Any, settings: Settings) -> None:
    tenant = create_tenant_now(settings, "Aspire")
    with live_fieldbridge(settings) as base:
        context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="es-US")
        page = context.new_page()
        page.goto(f"{base}/app")
        page.fill("#company", tenant.company.code)
        page.fill("#pin", f"{1000 + int((tenant.worker.employee_id or 'E0')[1:])}")
        page.click("#signin")
        gate = page.locator("#gate")
        expect(gate).to_contain_text("available with Procore")
        assert page.locator("#btn-clock-in").count() == 0
        page.click("#lang")
        expect(gate).to_contain_text("disponible con Procore")
        screenshot(page, "clockin-11-no-procore-gate")
        context.close()
