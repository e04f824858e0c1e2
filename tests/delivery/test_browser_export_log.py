"""Support walks the export log in a real browser: filter, open a rejected row, read why, retry."""

from typing import Any

import pytest

from fieldbridge.bench.testbed import ExportRig, clock_out, served_sandbox, setup_testbed
from fieldbridge.delivery.runner import drain
from fieldbridge.kit.db import Database
from fieldbridge.kit.http import HttpClients
from fieldbridge.settings import Settings
from tests.browser import live_fieldbridge, run_async, screenshot, sign_in_at
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser


def _seed(settings: Settings, sandbox_url: str) -> tuple[ExportRig, int]:
    """Two real clock-outs against the sandbox: one delivered, one refused (an unknown person)."""

    async def go() -> tuple[ExportRig, int]:
        db = Database(settings.database_url)
        try:
            bed = await setup_testbed(db, settings, sandbox_url, projects=2)
            await clock_out(db, bed, bed.projects[0], bed.people[0], 1)
            refused = await clock_out(db, bed, bed.projects[0], 999_999_999, 2)
            await drain(db, bed.connection_id, http=HttpClients(allow_emulators=True), settings=settings)
            return bed, refused
        finally:
            await db.dispose()

    return run_async(go)


async def _support_user(settings: Settings, company_id: int) -> str:
    from fieldbridge.accounts import service
    from fieldbridge.accounts.models import Role
    from fieldbridge.accounts.schemas import UserIn

    db = Database(settings.database_url)
    try:
        async with db.transaction() as session:
            user = await service.create_user(
                session,
                company_id,
                UserIn(
                    email=f"support{company_id}@bench.example",
                    name="Sam Support",
                    role=Role.support,
                    password=PASSWORD,
                ),
            )
            return user.email
    finally:
        await db.dispose()


def test_support_filters_opens_a_rejected_row_reads_why_and_retries(browser: Any, settings: Settings) -> None:
    with served_sandbox(seed="large") as sandbox_url:
        bed, refused = _seed(settings, sandbox_url)
    email = run_async(lambda: _support_user(settings, bed.company_id))
    # No runner in the live server: the retried row stays visibly queued for the assertion.
    with live_fieldbridge(settings.model_copy(update={"runner": "none"})) as base:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        sign_in_at(page, base, "/export-log", email)
        assert page.get_by_role("link", name="Export log").is_visible()
        page.select_option("select[name=status]", "rejected")
        page.click("text=Filter")
        page.wait_for_url("**/export-log?*status=rejected*")
        rows = page.locator("tbody tr")
        assert rows.count() == 1
        screenshot(page, "export-log-filtered")
        page.click(f"a[href='/export-log/{refused}']")
        page.wait_for_url(f"**/export-log/{refused}")
        reason = page.locator("#reason").inner_text()
        assert "not a person in this Procore company" in reason
        assert page.locator("#status").inner_text() == "rejected"
        screenshot(page, "export-log-rejected-row")
        page.get_by_role("button", name="Retry").click()
        page.wait_for_url(f"**/export-log/{refused}?notice=*")
        assert page.locator("[role=status]").inner_text() == "Queued to send again."
        assert page.locator("#status").inner_text() == "pending"
        screenshot(page, "export-log-retried")
        page.close()
