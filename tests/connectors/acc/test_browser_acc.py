"""Connect ACC in a real browser and follow one detection there and back, all through the
pages an admin uses: the ACC sandbox's consent page, the hub picker, the project picked and
synced, a safety site added for it and mapped to the ACC project on the site's page (links
section; the tools checked in ACC), a zone, the setup checklist with the field mapping fetched
from ACC, a detection (sent by a camera through the API) confirmed, its Safety issue opened in
the sandbox from the detection's page; then a person closes the issue in ACC and FieldBridge
shows the status it got back by webhook, on the detection's page and in the export log.
Screenshots in test-artifacts/ (acc-*.png)."""

import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from fieldbridge.app import create_app
from fieldbridge.kit.http import HttpClients
from fieldbridge.settings import Settings
from fieldbridge_sandbox_acc.app import create_app as create_sandbox
from fieldbridge_sandbox_acc.config import AccConfig
from fieldbridge_sandbox_acc.seeds import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from tests.browser import free_port, screenshot, serve_in_thread, sign_in_at
from tests.factories import bearer, create_tenant_now
from tests.safety.test_browser_setup import _step

pytestmark = pytest.mark.browser
PROJECT = "Riverside Medical Office"


def _until(page: Any, check: Any, what: str, timeout: float = 90.0) -> None:
    """Reload until `check(page)` holds (a wait for the runner or a webhook, not a timing check)."""
    deadline = time.monotonic() + timeout
    while not check(page):
        if time.monotonic() > deadline:
            raise AssertionError(
                f"waited {timeout:.0f} s for {what}: {page.locator('main').inner_text()[:800]}"
            )
        page.wait_for_timeout(300)
        page.reload()


def _connect_acc(page: Any, base: str, sandbox_url: str) -> None:
    page.goto(f"{base}/settings/integrations/acc")
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
    row = page.locator("#projects-table tr", has_text=PROJECT)
    row.locator("input[name=project_id]").check()
    page.click("#sync-selected")
    _until(page, lambda p: p.locator("tr[data-state=synced]").count() >= 1, "the first sync")
    screenshot(page, "acc-4-project-synced")


def _add_site_mapped_to_acc(page: Any, base: str) -> int:
    """A site for the synced project, then its link to the ACC project on the site's page."""
    page.goto(f"{base}/safety")
    page.select_option("#project_id", label=PROJECT)
    page.fill("#name", "Riverside")
    page.fill("#time_zone", "UTC")
    page.click("form[action='/safety/sites'] button[type=submit]")
    page.wait_for_url(re.compile(r".*/safety/sites/\d+$"))
    site_url = page.url
    links = page.locator("#links").inner_text() + page.locator("#add-link").inner_text()
    assert "Procore" not in links, links  # an ACC-only company is not told about Procore
    target = page.locator("#link-target option:checked")
    assert target.inner_text().startswith(PROJECT)
    assert "Autodesk Construction Cloud" in str(target.locator("xpath=..").get_attribute("label"))
    page.select_option("#new-threshold", "4")
    page.select_option("#new-route", "native")
    page.click("#add-link-button")
    page.wait_for_url(f"{site_url}#links")
    card = page.locator(".link-card").first
    assert "Autodesk Construction Cloud" in card.locator("h3").inner_text()
    assert card.locator("[data-tool=observations]").inner_text() == "Safety issues (observations): usable"
    assert card.locator("[data-tool=daily_log]").inner_text() == "Daily summary (form or comment): usable"
    assert card.locator("ul.link-problems").count() == 0

    page.fill("#zone_name", "Deck 3")
    page.select_option("#zone_type", "restricted")
    page.click("form[action$='/zones'] button[type=submit]")
    page.wait_for_url(site_url)
    page.locator("#links").scroll_into_view_if_needed()
    screenshot(page, "acc-5-site-mapped-to-acc-project")
    return int(site_url.rsplit("/", 1)[1])


def _checklist(page: Any, base: str) -> None:
    """The setup checklist with ACC: connected, mapped, tools checked; the field mapping fetched
    from ACC's custom attributes (Severity) and every step done."""
    page.goto(f"{base}/safety/setup")
    assert (_step(page, "connect"), _step(page, "map_sites"), _step(page, "tools")) == ("yes", "yes", "yes")
    assert "Autodesk Construction Cloud" in page.inner_text("li[data-step=connect]")
    assert "Procore" not in page.inner_text("ol.checklist")
    page.click("li[data-step=mapping] a")
    page.wait_for_url("**/safety/mapping/*")
    assert "Fetch values from Autodesk Construction Cloud" in page.inner_text("#refresh-values")
    page.click("#refresh-values")
    page.wait_for_url("**?refreshed=1")
    high = page.locator("table[data-category=priority] tr[data-key='4']")
    assert high.get_attribute("data-origin") == "default"
    assert "(High)" in high.locator("select option").first.inner_text()
    # No Hazard attribute in this account: nothing to pick and nothing sent, not "not found".
    fall = page.locator("table[data-category=hazard] tr[data-key=fall]")
    assert fall.locator("select option").first.inner_text() == "Default (nothing sent)"
    screenshot(page, "acc-6-field-mapping-from-acc")
    page.goto(f"{base}/safety/setup")
    assert page.inner_text("#setup-progress") == "6 of 6 done", page.inner_text("ol.checklist")
    screenshot(page, "acc-7-setup-checklist-done")


def test_connect_acc_map_a_site_and_see_the_issue_status_come_back(browser: Any, settings: Settings) -> None:
    port = free_port()
    settings = settings.model_copy(update={"base_url": f"http://127.0.0.1:{port}"})
    tenant = create_tenant_now(settings, "Northwind")
    with (
        serve_in_thread(create_sandbox(AccConfig(seed="demo"))) as sandbox_url,
        serve_in_thread(create_app(settings, http=HttpClients(allow_emulators=True)), port) as base,
    ):
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        sign_in_at(page, base, "/safety/setup", tenant.admin.email)
        assert page.inner_text("#setup-progress") == "0 of 6 done"

        _connect_acc(page, base, sandbox_url)
        site_id = _add_site_mapped_to_acc(page, base)
        _checklist(page, base)

        # A camera sends a zone breach (priority 4, at the link's threshold) through the API.
        zones = httpx.get(f"{base}/api/v1/safety/zones", headers=bearer(tenant.api_key), timeout=30)
        (zone,) = [z for z in zones.json()["items"] if z["site_id"] == site_id]
        sent = httpx.post(
            f"{base}/api/v1/detections",
            json={
                "event_id": "browser-acc-1",
                "site_id": site_id,
                "zone_id": zone["id"],
                "type": "zone_breach",
                "priority": 4,
                "source": "camera",
                "source_ref": "cam-3",
                "occurred_at": (datetime.now(UTC) - timedelta(minutes=2)).isoformat(),
            },
            headers=bearer(tenant.api_key),
            timeout=30,
        )
        assert sent.status_code == 201, sent.text
        detection_id = sent.json()["id"]

        page.goto(f"{base}/safety/detections/{detection_id}")
        page.select_option("#to", "confirmed")
        page.click("form[action$='/review'] button[type=submit]")
        page.locator("ol.audit li", has_text="confirmed").wait_for()
        assert "confirmed" in page.locator("h1").inner_text()

        # The runner files the Safety issue: the detection's page links to it.
        linked = page.locator("section[aria-label='Linked platforms'] a.remote-record")
        _until(
            page,
            lambda p: p.locator("section[aria-label='Linked platforms'] a.remote-record").count() == 1,
            "the issue in ACC",
        )
        assert page.locator("section[aria-label='Linked platforms'] td.remote-status").inner_text() == "open"
        screenshot(page, "acc-8-detection-confirmed-and-filed")

        remote_id = linked.inner_text().lstrip("#")
        linked.click()
        page.wait_for_url(f"{sandbox_url}/_sandbox/edit/issues/{remote_id}")
        subject = f"observation:{detection_id}"
        assert f"[fieldbridge:{subject}]" in page.locator("#description").inner_text()
        assert f"{base}/safety/detections/{detection_id}" in page.locator("#description").inner_text()
        assert page.locator("#status").inner_text() == "open"
        screenshot(page, "acc-9-safety-issue-in-acc")

        # A person closes it in ACC.
        page.select_option("#status-select", "closed")
        page.click("#save")
        page.wait_for_selector("#saved")
        screenshot(page, "acc-10-closed-in-acc")

        # Back in FieldBridge: the webhook brought the status back.
        page.goto(f"{base}/safety/detections/{detection_id}")
        _until(
            page,
            lambda p: (
                p.locator("section[aria-label='Linked platforms'] td.remote-status").inner_text() == "closed"
            ),
            "the closed status to come back",
        )
        screenshot(page, "acc-11-status-back-on-the-detection")
        page.locator("section[aria-label='Linked platforms'] a.delivery-log").click()
        page.wait_for_url(re.compile(r".*/export-log/\d+$"))
        assert '"acc_status": "closed"' in page.content()
        screenshot(page, "acc-12-status-in-the-export-log")
        page.close()
