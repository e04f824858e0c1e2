"""Connect Procore in a real browser: the sandbox's consent page, the company picker, three
projects turned on, the first sync finishing, the milestone tree. Screenshots in test-artifacts/."""

import time
from typing import Any

import pytest

from fieldbridge.app import create_app
from fieldbridge.kit.http import HttpClients
from fieldbridge.settings import Settings
from fieldbridge_sandbox import SandboxConfig
from fieldbridge_sandbox import create_app as create_sandbox
from fieldbridge_sandbox.seeds import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from tests.browser import free_port, screenshot, serve_in_thread, sign_in_at
from tests.factories import Tenant, create_tenant_now

pytestmark = pytest.mark.browser


def _seed(settings: Settings) -> Tenant:
    return create_tenant_now(settings, "Summit")


def _wait_synced(page: Any, rows: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if page.locator("tr[data-state=synced]").count() >= rows:
            return
        page.wait_for_timeout(300)
    raise AssertionError(f"the first sync did not finish: {page.locator('#projects-table').inner_text()}")


def test_admin_connects_procore_and_syncs_three_projects(browser: Any, settings: Settings) -> None:
    port = free_port()
    settings = settings.model_copy(update={"base_url": f"http://127.0.0.1:{port}"})
    tenant = _seed(settings)
    with (
        serve_in_thread(create_sandbox(SandboxConfig(seed="demo"))) as sandbox_url,
        serve_in_thread(create_app(settings, http=HttpClients(allow_emulators=True)), port) as base,
    ):
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        sign_in_at(page, base, "/settings/integrations/procore", tenant.admin.email)

        page.select_option("#environment", "offline_sandbox")
        page.fill("#offline_url", sandbox_url)
        page.fill("#client_id", DEMO_CLIENT_ID)
        page.fill("#client_secret", DEMO_CLIENT_SECRET)
        screenshot(page, "procore-1-connect-form")
        page.click("#connect-form button[type=submit]")
        page.wait_for_url(f"{sandbox_url}/oauth/authorize**")
        screenshot(page, "procore-2-sandbox-consent")
        page.click("button[value=approve]")

        page.wait_for_selector("#company-picker")
        screenshot(page, "procore-3-company-picker")
        page.locator("#company-picker input[name=procore_company_id]").first.check()
        page.click("#company-picker button[type=submit]")
        page.wait_for_url("**/projects?discover=1")
        page.wait_for_url("**/projects?checked=1")  # the listing job finished; the page reloaded
        excluded = page.locator(".excluded-reason").all_inner_texts()
        assert any("inactive in Procore" in t for t in excluded)
        assert any("App Management" in t for t in excluded)
        screenshot(page, "procore-4-projects")

        boxes = page.locator("#projects-table input[name=project_id]")
        for i in range(3):
            boxes.nth(i).check()
        page.click("#sync-selected")
        _wait_synced(page, 3)
        screenshot(page, "procore-5-first-sync-done")

        page.click("#milestones-link")
        tree = page.locator("#milestone-tree")
        assert tree.locator(".tree-project").count() == 3
        assert tree.locator(".milestone").count() > 0
        assert "Labor" in tree.inner_text()
        screenshot(page, "procore-6-milestone-tree")
        page.close()
