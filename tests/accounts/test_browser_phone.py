"""The phone app when its sign-in ends: a new PIN revokes the token, and the app goes back to
the sign-in screen by itself instead of failing quietly; the new PIN signs it in again."""

from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from fieldbridge.settings import Settings
from tests.browser import live_fieldbridge, screenshot
from tests.factories import bearer, create_tenant_now

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}


def test_a_revoked_phone_returns_to_sign_in(browser: Any, settings: Settings) -> None:
    tenant = create_tenant_now(settings, "Revoke")
    pin = f"{1000 + int((tenant.worker.employee_id or 'E0')[1:])}"
    with live_fieldbridge(settings) as base:
        context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="en-US")
        page = context.new_page()
        page.goto(f"{base}/app")
        page.fill("#company", tenant.company.code)
        page.fill("#pin", pin)
        page.click("#signin")
        expect(page.locator(".hello")).to_contain_text(tenant.worker.name)
        device_id = page.evaluate("localStorage.getItem('fieldbridge.time.device_id')")
        assert len(device_id or "") >= 8

        changed = httpx.patch(
            f"{base}/api/v1/workers/{tenant.worker.id}",
            json={"pin": "246802"},
            headers=bearer(tenant.api_key),
        )
        assert changed.status_code == 200
        expect(page.locator("#pin")).to_be_visible(timeout=20_000)  # the app's next sync saw the 401
        screenshot(page, "phone-signed-out-after-new-pin")

        page.fill("#company", tenant.company.code)
        page.fill("#pin", "246802")
        page.click("#signin")
        expect(page.locator(".hello")).to_contain_text(tenant.worker.name)
        assert page.evaluate("localStorage.getItem('fieldbridge.time.device_id')") == device_id
        context.close()
