"""In a real browser: a safety manager confirms a fall, records it as a recordable incident,
finds it on the OSHA 300 log, and opens the site's daily summary with its charts."""

from typing import Any

import httpx
import pytest

from fieldbridge.settings import Settings
from tests.browser import live_fieldbridge, run_async, screenshot
from tests.factories import PASSWORD, bearer, create_tenant_now
from tests.incidents.helpers import create_site

pytestmark = pytest.mark.browser
DAY = "2026-10-05"


def _post(base: str, key: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(f"{base}/api/v1{path}", json=body, headers=bearer(key), timeout=30)
    assert response.status_code in (200, 201), response.text
    result: dict[str, Any] = response.json()
    return result


def _site_day(base: str, key: str, site_id: int, zone_id: int) -> int:
    """Shifts, a PPE zone with people seen in it, and DAY's events, through the public API;
    returns the fall's detection id."""
    deck = _post(
        base,
        key,
        f"/safety/sites/{site_id}/zones",
        {"name": "Level 3 deck", "type": "ppe_required", "required_ppe": ["hard_hat", "hi_vis"]},
    )["id"]
    for name, start, end in (("Day", "06:00", "14:00"), ("Swing", "14:00", "22:00")):
        _post(
            base, key, f"/safety/sites/{site_id}/shifts", {"name": name, "start_time": start, "end_time": end}
        )
    seen = [("08:00", 12), ("11:00", 8), ("15:00", 10)]
    _post(
        base,
        key,
        "/safety/observations/batch",
        {
            "observations": [
                {
                    "event_id": f"obs-{n}",
                    "site_id": site_id,
                    "zone_id": deck,
                    "observed_at": f"{DAY}T{at}:00-06:00",
                    "persons": persons,
                }
                for n, (at, persons) in enumerate(seen)
            ]
        },
    )
    events = [
        {
            "type": "fall",
            "zone_id": zone_id,
            "source": "wearable",
            "description": "Fall detected by the belt clip",
            "at": "14:20",
        },
        {
            "type": "ppe_violation",
            "zone_id": deck,
            "source": "camera",
            "missing_items": ["hard_hat"],
            "at": "09:10",
        },
        {
            "type": "ppe_violation",
            "zone_id": deck,
            "source": "camera",
            "missing_items": ["hi_vis"],
            "at": "15:45",
        },
        {"type": "zone_breach", "zone_id": zone_id, "source": "camera", "at": "11:30"},
    ]
    ids = []
    for n, e in enumerate(events):
        at = e.pop("at")
        body = {"event_id": f"browser-{n}", "site_id": site_id, **e, "occurred_at": f"{DAY}T{at}:00-06:00"}
        ids.append(int(_post(base, key, "/detections", body)["id"]))
    return ids[0]


def test_confirm_a_fall_record_it_and_find_it_on_the_300_log(browser: Any, settings: Settings) -> None:
    tenant = create_tenant_now(settings, "Safety")

    async def make_site() -> Any:
        from fieldbridge.kit.db import Database

        db = Database(settings.database_url)
        try:
            return await create_site(db, tenant.company.id, name="Tower A")
        finally:
            await db.dispose()

    site = run_async(make_site)
    with live_fieldbridge(settings) as base:
        fall = _site_day(base, tenant.api_key, site.id, site.zone_id)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(f"{base}/signin")
        page.fill("#email", tenant.admin.email)
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state()

        # Review: confirm the fall.
        page.goto(f"{base}/safety/detections/{fall}")
        page.select_option("#to", "confirmed")
        page.fill("#note", "Worker slipped on the east stair; first aid on site, then urgent care")
        screenshot(page, "incident-1-review-detection")
        page.click("text=Save review")
        page.wait_for_load_state()
        assert "confirmed" in page.content()

        # The confirmation opened an incident draft: record the outcome.
        page.goto(f"{base}/incidents")
        page.click("text=Open")
        page.wait_for_load_state()
        assert "Not recordable" in page.content()
        page.select_option("#worker_id", str(tenant.worker.id))
        page.fill("#nature", "sprain")
        page.fill("#body_part", "left ankle")
        page.select_option("#treatment", "medical_treatment")
        page.fill("#days_away", "2")
        page.fill("#object_substance", "wet stair tread")
        page.fill("#what_happened", "Slipped on the wet stair and twisted the ankle.")
        page.click("text=Save")
        page.wait_for_load_state()
        recordable = page.get_by_role("region", name="Recordability").inner_text()
        assert "OSHA 300 case 1 (2026)" in recordable
        assert "days away from work (1904.7(b)(3))" in recordable
        screenshot(page, "incident-2-recorded")

        # The 300 log of the site's year.
        page.click("text=OSHA 300 log 2026")
        page.wait_for_load_state()
        log = page.get_by_role("article", name="OSHA Form 300").inner_text()
        assert "sprain, left ankle from wet stair tread" in log
        assert tenant.worker.name in log
        screenshot(page, "incident-3-osha-300-log")

        # The site's daily summary with its charts.
        page.goto(f"{base}/safety/sites/{site.id}/summary?day={DAY}")
        page.wait_for_load_state()
        assert page.get_by_role("heading", name="Alerts by type per day").is_visible()
        assert page.get_by_role("heading", name="Trends (14 days)").is_visible()
        assert "Swing" in page.content()
        assert page.locator("svg").count() > 2
        screenshot(page, "incident-4-daily-summary")
        page.close()
