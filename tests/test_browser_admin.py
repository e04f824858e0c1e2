"""The admin shell in a real browser: sign in, open Integrations, manage a worker."""

from typing import Any

import pytest

from fieldbridge.settings import Settings
from tests.browser import live_fieldbridge, screenshot
from tests.factories import PASSWORD, create_tenant_now

pytestmark = pytest.mark.browser


def test_admin_signs_in_and_sees_integrations(browser: Any, settings: Settings) -> None:
    tenant = create_tenant_now(settings, "Browser")
    with live_fieldbridge(settings) as base:
        page = browser.new_page(viewport={"width": 1280, "height": 860})
        page.goto(f"{base}/settings/integrations")
        assert "/signin" in page.url
        page.fill("#email", tenant.admin.email)
        page.fill("#password", "wrong-password-x")
        page.click("button[type=submit]")
        assert "not right" in page.locator("[role=alert]").inner_text()
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/settings/integrations")
        for name in ("Procore", "Autodesk Construction Cloud", "Trimble Connect", "Fieldwire", "Webhooks"):
            assert page.get_by_role("heading", name=name).is_visible()
        screenshot(page, "admin-integrations")

        page.click("text=Workers")
        page.fill("#name", "Keyboard Kate")
        page.fill("#employee_id", "K-1")
        page.fill("#pin", "24680")
        page.click("text=Add worker")
        page.wait_for_url("**/settings/workers")
        assert page.get_by_role("link", name="Keyboard Kate").is_visible()
        screenshot(page, "admin-workers")
        page.close()
