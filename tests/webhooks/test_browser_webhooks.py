"""An admin in a real browser: add an endpoint, send a test event, see the attempt, resend it.
A live server with its local runner delivers to a real receiver on loopback."""

import time
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook

from fieldbridge.settings import Settings
from tests.browser import live_fieldbridge, screenshot, sign_in_at
from tests.factories import create_tenant_now
from tests.webhooks.helpers import running_receiver

pytestmark = pytest.mark.browser


def _until(page: Any, selector: str, text: str, patience: float = 60.0) -> None:
    """Reload until `selector` shows `text` (the runner works in the background; a wait, not a
    timing check)."""
    deadline = time.monotonic() + patience
    while text not in page.locator(selector).inner_text():
        assert time.monotonic() < deadline, f"{selector} never showed {text!r}"
        time.sleep(0.3)
        page.reload()


def test_admin_adds_an_endpoint_sends_a_test_event_sees_the_attempt_and_resends(
    browser: Any, settings: Settings
) -> None:
    tenant = create_tenant_now(settings)
    with running_receiver() as receiver, live_fieldbridge(settings) as base:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        sign_in_at(page, base, "/settings/webhooks", tenant.admin.email)
        page.fill("input[name=url]", receiver.url)
        page.fill("input[name=description]", "Fieldwire relay")
        page.check("input[name=event_types][value='shift.closed']")
        page.fill("textarea[name=headers]", "Authorization: Bearer relay-token")
        screenshot(page, "webhooks-new-endpoint")
        page.click("#new-endpoint button[type=submit]")
        secret = page.locator("#secret").inner_text()
        assert secret.startswith("whsec_")
        assert "Authorization" in page.locator("dl.facts").inner_text()
        screenshot(page, "webhooks-endpoint-created")

        page.click("#test-form button[type=submit]")
        page.wait_for_selector("#notice")
        assert "Test event shift.closed queued" in page.locator("#notice").inner_text()
        _until(page, "#messages", "delivered")
        screenshot(page, "webhooks-test-delivered")

        page.click("#messages tbody a")
        page.wait_for_selector("#attempts")
        attempts = page.locator("#attempts tbody tr")
        assert attempts.count() == 1
        assert "200" in attempts.first.inner_text()
        assert "delivered" in attempts.first.inner_text()
        screenshot(page, "webhooks-message-attempt")

        page.click("text=Resend")
        page.wait_for_selector("#notice")
        _until(page, "#attempt-count", "2")
        _until(page, "#status", "delivered")
        assert page.locator("#attempts tbody tr").count() == 2
        screenshot(page, "webhooks-message-resent")

    assert len(receiver.received) == 2
    first, second = receiver.received
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert first.headers["authorization"] == "Bearer relay-token"
    for got in receiver.received:
        event = Webhook(secret).verify(got.body, got.headers)
        assert event["type"] == "shift.closed"
        assert event["test"] is True
