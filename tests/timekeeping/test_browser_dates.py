"""The phone's shift list: each shift with its day and its times on its project's clock (with the
zone's name), whatever zone the phone is in, and a held shift in the worker's words (EN and ES)."""

from typing import Any

import httpx
import pytest
from playwright.sync_api import expect
from sqlalchemy import delete, update

from fieldbridge.kit.db import Database
from fieldbridge.settings import Settings
from fieldbridge.sites.models import ProcorePerson, Project
from tests.browser import live_fieldbridge, run_async, screenshot
from tests.factories import bearer
from tests.timekeeping.helpers import Crew, new_id
from tests.timekeeping.test_browser_clockin import PHONE, phone_crew

pytestmark = pytest.mark.browser
DASH = "\u2013"


def _denver_and_unlinked(settings: Settings, crew: Crew) -> None:
    """The project is on Mountain time (as Procore has it) and nobody is linked to a Procore person."""

    async def go() -> None:
        db = Database(settings.database_url)
        try:
            async with db.transaction() as session:
                await session.execute(
                    update(Project)
                    .where(Project.id == crew.project_id)
                    .values(time_zone="Mountain Time (US & Canada)")
                )
                await session.execute(
                    delete(ProcorePerson).where(ProcorePerson.company_id == crew.tenant.company.id)
                )
        finally:
            await db.dispose()

    run_async(go)


def _night_shift(base: str, crew: Crew) -> None:
    """23:30 to 07:30 in Denver: 06:30Z to 14:30Z on 27 November."""
    shift_id = new_id()
    with httpx.Client(base_url=base, headers=bearer(crew.tokens[crew.workers[0]])) as api:
        clock_in = {
            "id": new_id(),
            "milestone_id": crew.milestones[0],
            "started_at": "2026-11-27T06:30:00Z",
            "members": [{"worker_id": crew.workers[0], "shift_id": shift_id}],
        }
        assert api.post("/api/v1/time/clock-in", json=clock_in).status_code == 201
        out = {
            "id": new_id(),
            "shift_ids": [shift_id],
            "ended_at": "2026-11-27T14:30:00Z",
            "break_minutes": 0,
            "injured": False,
        }
        assert api.post("/api/v1/time/clock-out", json=out).status_code == 200


def test_the_phone_shows_the_day_and_zone_of_a_night_shift_and_held_time_in_workers_words(
    browser: Any, settings: Settings
) -> None:
    settings, _sandbox, http, crew = phone_crew(settings)
    _denver_and_unlinked(settings, crew)
    with live_fieldbridge(settings, http) as base:
        _night_shift(base, crew)
        # a phone on New York time: the shift still reads 23:30 on the 26th, Mountain time
        context = browser.new_context(
            viewport=PHONE, is_mobile=True, has_touch=True, locale="en-US", timezone_id="America/New_York"
        )
        page = context.new_page()
        page.goto(f"{base}/app")
        page.fill("#company", crew.tenant.company.code)
        page.fill("#pin", crew.pins[0])
        page.click("#signin")
        row = page.locator("#my-shifts li.shift")
        expect(row.locator(".when")).to_contain_text(f"Thu, Nov 26 · 11:30 PM {DASH} 07:30 AM MST")
        held = row.locator(".export")
        expect(held).to_have_text("Your time is saved; the office has been told.", timeout=15_000)
        for setup_step in ("Integrations", "Procore person", "admin"):
            assert setup_step not in row.inner_text()
        screenshot(page, "dates-01-night-shift-held")
        page.click("#lang")
        expect(held).to_have_text("Su tiempo está guardado; la oficina ya está avisada.")
        expect(row.locator(".when")).to_contain_text(f"jue, 26 nov · 23:30 {DASH} 07:30 GMT-7")
        screenshot(page, "dates-02-espanol")
        context.close()
