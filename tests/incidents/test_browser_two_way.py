"""Two-way incidents in a real browser against the Procore sandbox (issue 11's "Done when"):
a safety manager maps a site to its Procore project, records a recordable incident, sees it
in Procore (the sandbox), edits its injury's disposition there as a safety manager would, and
sees it come back to FieldBridge, with no write back to Procore afterwards (counted by the
sandbox in /_sandbox/requests). Screenshots in test-artifacts/ (incident-two-way-*.png)."""

import re
import time
from typing import Any

import httpx
import pytest

from fieldbridge.app import create_app
from fieldbridge.kit.http import HttpClients
from fieldbridge.settings import Settings
from fieldbridge_sandbox import SandboxConfig
from fieldbridge_sandbox import create_app as create_sandbox
from tests.browser import free_port, screenshot, serve_in_thread, sign_in_at
from tests.factories import bearer, create_tenant_now
from tests.safety.test_browser_setup import _connect_and_sync_one

pytestmark = pytest.mark.browser
WRITES = ("POST", "PATCH", "PUT", "DELETE")


def _incident_writes(sandbox_url: str) -> int:
    """Writes to Procore's incidents and injuries, as the sandbox counted them."""
    body = httpx.get(f"{sandbox_url}/_sandbox/requests", timeout=10).json()
    return sum(r["count"] for r in body["requests"] if r["method"] in WRITES and "/incidents" in r["path"])


def _until(page: Any, check: Any, what: str, timeout: float = 30.0) -> None:
    """Reload until `check(page)` holds (a wait for the runner or a webhook, not a timing check)."""
    deadline = time.monotonic() + timeout
    while not check(page):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: {page.locator('main').inner_text()[:800]}")
        page.wait_for_timeout(300)
        page.reload()


def test_an_incident_goes_to_procore_and_its_disposition_comes_back(browser: Any, settings: Settings) -> None:
    port = free_port()
    settings = settings.model_copy(update={"base_url": f"http://127.0.0.1:{port}"})
    tenant = create_tenant_now(settings, "Ridge")
    auth = bearer(tenant.api_key)
    with (
        serve_in_thread(create_sandbox(SandboxConfig(seed="demo"))) as sandbox_url,
        serve_in_thread(create_app(settings, http=HttpClients(allow_emulators=True)), port) as base,
    ):
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        sign_in_at(page, base, "/safety/setup", tenant.admin.email)

        # Map a site: connect Procore, sync a project, add the site, link it to the project.
        _connect_and_sync_one(page, base, sandbox_url)
        tracked = httpx.get(f"{base}/api/v1/projects", params={"view": "tracked"}, headers=auth, timeout=30)
        synced = tracked.json()["items"][0]
        page.goto(f"{base}/safety")
        page.select_option("#project_id", str(synced["id"]))
        page.fill("#name", "Riverside tower")
        page.click("form[action='/safety/sites'] button[type=submit]")
        page.wait_for_url(re.compile(r".*/safety/sites/\d+$"))
        site_id = int(page.url.rsplit("/", 1)[1])
        page.click("#add-link-button")
        page.wait_for_url("**#links")
        assert page.locator(".link-card [data-tool=incidents]").first.inner_text() == "Incidents: usable"
        screenshot(page, "incident-two-way-1-site-mapped")
        zone = httpx.post(
            f"{base}/api/v1/safety/sites/{site_id}/zones",
            json={"name": "East stair", "type": "hazard"},
            headers=auth,
            timeout=30,
        )
        assert zone.status_code == 201, zone.text

        # Record a recordable incident (medical treatment beyond first aid).
        page.goto(f"{base}/incidents/new?site={site_id}")
        page.fill("#occurred_local", "2026-11-30T09:05")
        page.select_option("#zone_id", str(zone.json()["id"]))
        page.select_option("#worker_id", str(tenant.worker.id))
        page.fill("#description", "Slipped on the wet stair; cut to the left hand.")
        page.fill("#body_part", "left hand")
        page.fill("#nature", "laceration")
        page.select_option("#treatment", "medical_treatment")
        page.click("form[action^='/incidents/new'] button[type=submit]")
        page.wait_for_url(re.compile(r".*/incidents/\d+\?saved=1$"))
        incident_id = int(page.url.split("/incidents/", 1)[1].split("?", 1)[0])
        assert "Recordable" in page.locator("section[aria-label=Recordability] h2").inner_text()

        # The runner delivers it: the page shows Procore's record, linked to its page there.
        linked = page.locator("section[aria-label='Linked platforms'] a")
        _until(
            page, lambda p: p.locator("section[aria-label='Linked platforms'] a").count() == 1, "delivered"
        )
        screenshot(page, "incident-two-way-2-recorded-and-sent")
        remote_id = linked.inner_text().lstrip("#")
        incidents = httpx.get(f"{sandbox_url}/_sandbox/records/incidents", timeout=10).json()
        (made,) = [i for i in incidents if str(i["id"]) == remote_id]
        assert made["recordable"] is True
        assert f"[fieldbridge:incident:{incident_id}]" in made["description"]
        assert f"{base}/incidents/{incident_id} " in made["description"]  # the link back, this server
        assert tenant.worker.name not in str(made)

        # In Procore (the sandbox's edit page), a safety manager sets the injury's disposition.
        linked.click()
        page.wait_for_url(f"{sandbox_url}/_sandbox/edit/incidents/{remote_id}")
        injury = page.locator("form[aria-label='Injury 1']")
        injury.locator("select[name=filing_type]").select_option("medically_treated")
        injury.locator("input[name=treatment_facility]").fill("St. Joseph Hospital")
        screenshot(page, "incident-two-way-3-procore-disposition")
        writes_before = _incident_writes(sandbox_url)
        injury.get_by_role("button", name="Save injury").click()
        page.wait_for_url("**?saved=1")

        # Back in FieldBridge: the webhook brought the disposition and the facility back.
        page.goto(f"{base}/incidents/{incident_id}")
        _until(page, lambda p: p.locator("#disposition").inner_text() == "medically treated", "came back")
        assert page.locator("#treatment_facility").input_value() == "St. Joseph Hospital"
        screenshot(page, "incident-two-way-4-disposition-back")

        # No echo: every webhook delivered, nothing queued, and no write to Procore afterwards.
        drained = httpx.post(f"{sandbox_url}/_sandbox/webhooks/drain", json={"timeout": 10}, timeout=20)
        assert drained.json()["drained"], drained.text
        sync = httpx.get(f"{base}/api/v1/incidents/{incident_id}/sync", headers=auth, timeout=30).json()
        assert sync["sync_version"] == 1
        assert sync["conflicts"] == []
        page.wait_for_timeout(1000)  # give a (wrong) write back every chance to happen
        assert _incident_writes(sandbox_url) == writes_before
