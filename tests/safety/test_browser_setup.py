"""The safety setup checklist in a real browser against the Procore sandbox: an empty checklist,
connect Procore and sync a project, add a site, map it to its project (tools checked, one
disabled in Procore and shown with its reason, then re-checked), fetch the field-mapping values
and override one, and every step done. Screenshots in test-artifacts/ (safety-setup-*.png)."""

import re
from typing import Any

import httpx
import pytest

from fieldbridge.app import create_app
from fieldbridge.kit.http import HttpClients
from fieldbridge.settings import Settings
from fieldbridge_sandbox import SandboxConfig
from fieldbridge_sandbox import create_app as create_sandbox
from fieldbridge_sandbox.seeds import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from tests.browser import free_port, screenshot, serve_in_thread, sign_in_at
from tests.connections.test_browser_connect import _wait_synced
from tests.factories import bearer, create_tenant_now

pytestmark = pytest.mark.browser


def _step(page: Any, key: str) -> str:
    return str(page.locator(f"li[data-step={key}]").get_attribute("data-done"))


def _connect_and_sync_one(page: Any, base: str, sandbox_url: str) -> None:
    page.goto(f"{base}/settings/integrations/procore")
    page.select_option("#environment", "offline_sandbox")
    page.fill("#offline_url", sandbox_url)
    page.fill("#client_id", DEMO_CLIENT_ID)
    page.fill("#client_secret", DEMO_CLIENT_SECRET)
    page.click("#connect-form button[type=submit]")
    page.wait_for_url(f"{sandbox_url}/oauth/authorize**")
    page.click("button[value=approve]")
    page.wait_for_selector("#company-picker")
    page.locator("#company-picker input[name=procore_company_id]").first.check()
    page.click("#company-picker button[type=submit]")
    page.wait_for_url("**/projects?checked=1")
    page.locator("#projects-table input[name=project_id]").first.check()
    page.click("#sync-selected")
    _wait_synced(page, 1)


def test_safety_manager_walks_the_setup_checklist(browser: Any, settings: Settings) -> None:
    port = free_port()
    settings = settings.model_copy(update={"base_url": f"http://127.0.0.1:{port}"})
    tenant = create_tenant_now(settings, "Ridge")
    with (
        serve_in_thread(create_sandbox(SandboxConfig(seed="demo"))) as sandbox_url,
        serve_in_thread(create_app(settings, http=HttpClients(allow_emulators=True)), port) as base,
    ):
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        sign_in_at(page, base, "/safety/setup", tenant.admin.email)
        assert page.inner_text("#setup-progress") == "0 of 6 done"
        screenshot(page, "safety-setup-1-empty")

        _connect_and_sync_one(page, base, sandbox_url)
        tracked = httpx.get(
            f"{base}/api/v1/projects", params={"view": "tracked"}, headers=bearer(tenant.api_key)
        )
        synced = tracked.json()["items"][0]
        page.goto(f"{base}/safety")
        page.select_option("#project_id", str(synced["id"]))
        page.fill("#name", "Riverside tower")
        page.click("form[action='/safety/sites'] button[type=submit]")
        page.wait_for_url(re.compile(r".*/safety/sites/\d+$"))
        site_url = page.url

        # Procore has the Daily Log tool off in this project: the link is made and says so.
        remote_id = synced["external_id"]
        assert page.locator("#link-target option:checked").get_attribute("value").endswith(f":{synced['id']}")
        httpx.post(f"{sandbox_url}/_sandbox/projects/{remote_id}", json={"tools_disabled": ["daily_log"]})
        page.select_option("#new-threshold", "4")
        page.fill("#new-summary", "16:30")
        page.click("#add-link-button")
        page.wait_for_url(f"{site_url}#links")
        card = page.locator(".link-card").first
        assert card.locator("[data-tool=daily_log]").inner_text() == "Daily Log: tool not enabled"
        assert card.locator("[data-tool=incidents]").inner_text() == "Incidents: usable"
        assert card.locator("#threshold-" + str(card.get_attribute("data-link"))).input_value() == "4"
        page.locator("#links").scroll_into_view_if_needed()
        screenshot(page, "safety-setup-2-site-mapped-tool-off")

        page.goto(f"{base}/safety/setup")
        assert (_step(page, "connect"), _step(page, "map_sites"), _step(page, "tools")) == (
            "yes",
            "yes",
            "no",
        )
        assert "Daily Log tool not enabled" in page.inner_text("li[data-step=tools]")
        screenshot(page, "safety-setup-3-checklist-halfway")

        # Turned on in Procore, checked again: usable.
        httpx.post(f"{sandbox_url}/_sandbox/projects/{remote_id}", json={"tools_disabled": []})
        page.goto(site_url)
        page.click(".link-card form[action$='/check'] button")
        page.wait_for_url(f"{site_url}#links")
        assert page.locator("[data-tool=daily_log]").inner_text() == "Daily Log: usable"

        # Field mapping: fetch the company's values, override one, save.
        page.goto(f"{base}/safety/setup")
        page.click("li[data-step=mapping] a")
        page.wait_for_url("**/safety/mapping/*")
        page.click("#refresh-values")
        page.wait_for_url("**?refreshed=1")
        default = page.locator("table[data-category=observation_type] tr[data-key=ppe_violation]")
        assert default.get_attribute("data-origin") == "default"
        near = page.locator("table[data-category=observation_type] tr[data-key=near_miss] select")
        near.select_option(label="Safety Hazard")
        page.click("#save-mapping")
        page.wait_for_url(re.compile(r".*/safety/mapping/\d+$"))
        edited = page.locator("table[data-category=observation_type] tr[data-key=near_miss]")
        assert edited.get_attribute("data-origin") == "edited"
        screenshot(page, "safety-setup-4-mapping")

        page.goto(f"{base}/safety/setup")
        assert page.inner_text("#setup-progress") == "6 of 6 done"
        screenshot(page, "safety-setup-5-all-done")
