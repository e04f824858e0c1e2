"""The admin's Timesheets pages show each shift on its project's clock with the zone's name; a
correction's times are read on that clock (a time left as it was stays the same instant, a time
skipped by the clocks going forward is refused); the company's zone is set on its own page."""

from sqlalchemy import select

from fieldbridge.timekeeping.models import ClockShift
from tests.factories import PASSWORD, sign_in_browser
from tests.procore_fixtures import ProcoreEnv
from tests.timekeeping.helpers import crew_env, set_project_zone, utc, work_shift

DASH = "\u2013"


async def _started_at(env: ProcoreEnv, shift_id: int) -> object:
    async with env.db.transaction() as session:
        return await session.scalar(select(ClockShift.started_at).where(ClockShift.id == shift_id))


async def test_timesheets_show_times_on_the_projects_clock_with_the_zone(procore_env: ProcoreEnv) -> None:
    env = procore_env
    crew = await crew_env(env)
    await set_project_zone(env, crew, "Mountain Time (US & Canada)")
    shift = await work_shift(env, crew, utc("2026-11-27T06:30"), utc("2026-11-27T14:30"))
    await sign_in_browser(env.client, crew.tenant.admin.email)
    page = await env.client.get("/timesheets", params={"day": "2026-11-26"})
    assert page.status_code == 200
    assert "<td>23:30 MST</td>" in page.text
    assert "<td>07:30 MST</td>" in page.text
    assert "the company's zone, <strong>America/New_York</strong>" in page.text
    detail = await env.client.get(f"/timesheets/shifts/{shift['id']}")
    assert f"Thu 26 Nov 2026, 23:30 MST {DASH} 07:30 MST" in detail.text
    assert 'value="2026-11-26T23:30"' in detail.text
    assert "on the project's clock: America/Denver" in detail.text


async def test_a_correction_keeps_an_unchanged_fall_back_time_and_refuses_a_skipped_one(
    procore_env: ProcoreEnv,
) -> None:
    env = procore_env
    crew = await crew_env(env)
    await set_project_zone(env, crew, "America/Denver")
    # the second 01:30 of 1 November in Denver (MST, after the clocks went back)
    shift = await work_shift(env, crew, utc("2026-11-01T08:30"), utc("2026-11-01T16:30"))
    csrf = await sign_in_browser(env.client, crew.tenant.admin.email)
    detail = await env.client.get(f"/timesheets/shifts/{shift['id']}")
    assert 'value="2026-11-01T01:30"' in detail.text
    form = {
        "csrf_token": csrf,
        "started_at": "2026-11-01T01:30",
        "ended_at": "2026-11-01T09:30",
        "break_minutes": "30",
        "note": "lunch was taken",
    }
    saved = await env.client.post(f"/timesheets/shifts/{shift['id']}", data=form)
    assert saved.status_code == 303, saved.text
    assert await _started_at(env, shift["id"]) == utc("2026-11-01T08:30")

    await set_project_zone(env, crew, "Eastern Time (US & Canada)")
    spring = await work_shift(env, crew, utc("2026-03-08T04:30"), utc("2026-03-08T11:30"))
    skipped = {**form, "started_at": "2026-03-08T02:30", "ended_at": "2026-03-08T07:30"}
    refused = await env.client.post(f"/timesheets/shifts/{spring['id']}", data=skipped)
    assert refused.status_code == 422
    assert "02:30 does not exist on 2026-03-08 in America/New_York" in refused.text
    assert "03:30 EDT" in refused.text
    assert await _started_at(env, spring["id"]) == utc("2026-03-08T04:30")


async def test_the_company_zone_is_set_on_the_company_page(procore_env: ProcoreEnv) -> None:
    env = procore_env
    crew = await crew_env(env)
    csrf = await sign_in_browser(env.client, crew.tenant.admin.email)
    page = await env.client.get("/settings/company")
    assert page.status_code == 200
    assert 'value="America/New_York"' in page.text
    bad = await env.client.post("/settings/company", data={"csrf_token": csrf, "time_zone": "Denver"})
    assert bad.status_code == 422
    assert "is not a time zone FieldBridge knows" in bad.text
    assert 'value="Denver"' in bad.text  # what was typed stays in the field
    saved = await env.client.post(
        "/settings/company", data={"csrf_token": csrf, "time_zone": "Mountain Time (US & Canada)"}
    )
    assert saved.status_code == 303
    assert 'value="America/Denver"' in (await env.client.get("/settings/company")).text
    shift = await work_shift(env, crew, utc("2026-11-27T06:30"), utc("2026-11-27T14:30"))
    assert (shift["work_date"], shift["time_zone"]) == ("2026-11-26", "America/Denver")
    await env.client.post("/signout", data={"csrf_token": csrf})
    await sign_in_browser(env.client, crew.tenant.support.email, PASSWORD)
    assert (await env.client.get("/settings/company")).status_code == 403
