"""A support engineer, in a real browser, takes time Procore would not take from the export
log to its fix: a project made inactive in Procore (reactivated there, then "Check Procore for
project changes now" releases the held rows), a worker nobody linked to a Procore person ("Link
this worker"), and a clock-out's change held in order behind its clock-in. Each shift's time lands in
Procore exactly once. Screenshots at 1280 x 800 and on a phone."""

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from fieldbridge.accounts.auth import Principal
from fieldbridge.accounts.models import Company, Worker
from fieldbridge.accounts.scopes import WORKER_SCOPES
from fieldbridge.bench.testbed import served_sandbox
from fieldbridge.delivery.models import Delivery
from fieldbridge.delivery.runner import drain
from fieldbridge.demo import crew as clock_demo
from fieldbridge.demo.company import DEMO_COMPANY_CODE, DEMO_PASSWORD, seed_demo
from fieldbridge.kit.clock import utcnow
from fieldbridge.kit.db import Database
from fieldbridge.kit.http import HttpClients
from fieldbridge.settings import Settings
from fieldbridge.sites.models import Project
from fieldbridge.timekeeping import service as timekeeping
from fieldbridge.timekeeping.models import ClockShift
from fieldbridge.timekeeping.schemas import ClockIn, ClockOut, Member
from fieldbridge.timekeeping.targets import tree
from tests.browser import live_fieldbridge, run_async, screenshot

pytestmark = pytest.mark.browser
ADMIN = "admin@demo-builders.com"


async def _setup(settings: Settings, sandbox_url: str) -> dict[str, Any]:
    """The demo company on the sandbox; its crew clocked in on a project that then goes
    inactive in Procore; a worker whose name matches nobody in Procore clocked in elsewhere."""
    db = Database(settings.database_url)
    try:
        async with db.transaction() as session:
            await seed_demo(session, settings)
            await session.execute(  # "Gracie" to FieldBridge, "Grace" to Procore: no automatic match
                update(Worker)
                .where(Worker.name == "Grace Kim")
                .values(name="Gracie Kim", email="gracie@demo-builders.com", employee_id=None)
            )
        path = await clock_demo.wire(settings, sandbox_url, DEMO_COMPANY_CODE)
        async with db.transaction() as session:
            company = await session.scalar(select(Company).where(Company.code == DEMO_COMPANY_CODE))
            assert company is not None
            crew = {s.worker_id: s for s in await session.scalars(select(ClockShift))}
            rows = list(await session.scalars(select(Delivery)))
            inactive = rows[0].remote_project_id
            jobs = await tree(session, company.id)
            stopped = await session.scalar(select(Project.id).where(Project.external_id == inactive))
            other = next(m for j in jobs for sub in j.sub_jobs for m in sub.milestones if j.id != stopped)
            gracie, maria = [await _worker(session, company, name) for name in ("Gracie Kim", "Maria Lopez")]
            start = utcnow() - timedelta(hours=2)
            member = Member(worker_id=gracie[1].id, shift_id=uuid.uuid4().hex)
            body = ClockIn(
                id=uuid.uuid4().hex, milestone_id=other.milestone_id, started_at=start, members=[member]
            )
            await timekeeping.clock_in(session, gracie[0], body)
            shift_ids = [crew[maria[1].id].client_id]
            done = ClockOut(id=uuid.uuid4().hex, shift_ids=shift_ids, ended_at=utcnow(), injured=False)
            await timekeeping.clock_out(session, maria[0], done)
        async with httpx.AsyncClient(base_url=sandbox_url) as sandbox:  # a Procore admin's change
            await sandbox.post(f"/_sandbox/projects/{inactive}", json={"active": False})
        connection_id = rows[0].connection_id
        await _deliver(db, settings, connection_id)
        return {"connection_id": connection_id, "inactive": inactive, "crew": path.clocked_in}
    finally:
        await db.dispose()


async def _worker(session: AsyncSession, company: Company, name: str) -> tuple[Principal, Worker]:
    """A demo worker and the phone principal acting as them."""
    worker = await session.scalar(select(Worker).where(Worker.company_id == company.id, Worker.name == name))
    assert worker is not None
    return Principal(company.id, company.name, "worker", worker.id, worker.name, WORKER_SCOPES), worker


async def _deliver(db: Database, settings: Settings, connection_id: int) -> None:
    """What the runner does after each fix (the live server runs none: tests assert what, not when)."""
    for _ in range(3):
        async with db.transaction() as session:
            await session.execute(
                update(Delivery).where(Delivery.status == "retrying").values(next_attempt_at=utcnow())
            )
        await drain(db, connection_id, http=HttpClients(allow_emulators=True), settings=settings)


def _deliver_now(settings: Settings, connection_id: int) -> None:
    async def go() -> None:
        db = Database(settings.database_url)
        try:
            await _deliver(db, settings, connection_id)
        finally:
            await db.dispose()

    run_async(go)


def _signed_in(browser: Any, base: str, *, width: int, height: int) -> tuple[Any, Any]:
    """A browser context in Denver's time zone, signed in as the demo admin on the export log."""
    context = browser.new_context(
        viewport={"width": width, "height": height}, is_mobile=width < 500, timezone_id="America/Denver"
    )
    page = context.new_page()
    page.goto(f"{base}/export-log")
    page.fill("#email", ADMIN)
    page.fill("#password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/export-log")
    return context, page


def _fits(page: Any, width: int) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth")
    assert overflow <= width, f"the page scrolls sideways: {overflow} px > {width} px"


def test_support_takes_refused_time_to_its_fix_and_it_lands_once(browser: Any, settings: Settings) -> None:
    with served_sandbox(seed="demo") as sandbox_url:
        facts = run_async(lambda: _setup(settings, sandbox_url))
        connection_id = facts["connection_id"]
        with live_fieldbridge(settings.model_copy(update={"runner": "none"})) as base:
            context, page = _signed_in(browser, base, width=1280, height=800)

            # What a person reads first is on screen at 1280 px: status, what, why; local times.
            table = page.locator("table.log")
            for header in ("Status", "What", "Why · what to do", "When"):
                box = page.get_by_role("columnheader", name=header, exact=True).bounding_box()
                assert box is not None
                assert box["x"] + box["width"] <= 1280, header
            _fits(page, 1280)
            first_time = page.locator("td.when time").first.inner_text()
            assert "MST" in first_time, first_time
            assert table.get_by_text("Maria Lopez · ").first.is_visible()
            held = page.locator("tbody tr", has_text="is inactive in Procore")
            assert held.count() >= 3, "the crew's rows wait for the project, with the reason"
            screenshot(page, "support-fix-1-export-log-1280")

            # The clock-out's change is held with its clock-in, for the same reason, in order.
            page.locator("td.what a", has_text="Change #").first.click()
            assert "is inactive in Procore" in page.locator("main").inner_text()
            assert page.locator("#chain li").count() == 2, "the clock-in, then its change"
            screenshot(page, "support-fix-2-held-change-1280")

            # Reactivated in Procore; the fix link leads to the projects page, whose check for
            # project changes releases everything held for that project.
            httpx.post(f"{sandbox_url}/_sandbox/projects/{facts['inactive']}", json={"active": True})
            page.goto(f"{base}/export-log")
            page.locator("tbody tr", has_text="is inactive in Procore").first.get_by_role(
                "link", name="See the project →"
            ).click()
            page.wait_for_url("**/projects*")
            page.get_by_role("button", name="Check Procore for project changes now").click()
            page.wait_for_url("**/projects?discover=1")
            page.wait_for_url("**/projects?checked=1")  # the listing job finished; the page reloaded
            _deliver_now(settings, connection_id)
            page.goto(f"{base}/export-log")
            assert page.locator("tbody tr", has_text="is inactive in Procore").count() == 0

            # The worker nobody linked: the reason names her and links to the fix.
            page.goto(f"{base}/export-log?status=held")
            row = page.locator("tbody tr", has_text="Gracie Kim")
            assert "Gracie Kim is not linked to a Procore person" in row.inner_text()
            screenshot(page, "support-fix-3-unlinked-worker-1280")
            row.get_by_role("link", name="Link this worker →").click()
            page.wait_for_url("**/people?*")
            grace = page.locator("tbody tr", has_text="Grace Kim")
            grace.get_by_label("Worker for Grace Kim").select_option(label="Gracie Kim")
            grace.get_by_role("button", name="Save").click()
            page.wait_for_url("**/people")
            _deliver_now(settings, connection_id)

            page.goto(f"{base}/export-log")
            for status in ("rejected", "held", "pending"):
                assert page.locator(f"tbody .tag.status-{status}").count() == 0, status
            screenshot(page, "support-fix-4-all-delivered-1280")
            context.close()

            phone, small = _signed_in(browser, base, width=390, height=844)
            _fits(small, 390)
            assert small.get_by_text("Gracie Kim · ").first.is_visible()
            screenshot(small, "support-fix-5-export-log-phone")
            phone.close()

        # Every shift's time is in Procore exactly once.
        entries = httpx.get(f"{sandbox_url}/_sandbox/records/timecard_entries").json()
        ours = [e for e in entries if str(e.get("origin_data") or "").startswith("fieldbridge:")]
        by_origin: dict[str, int] = {}
        for e in ours:
            by_origin[str(e["origin_data"])] = by_origin.get(str(e["origin_data"]), 0) + 1
        assert len(ours) == 4, ours  # Maria, James, Aisha and Gracie: one entry each
        assert set(by_origin.values()) == {1}
