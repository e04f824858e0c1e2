"""Right day, right zone: a shift is dated by its start on its project's clock (Procore's project
zone, else the company's), across midnight and daylight-saving changes, and a time sent with any
UTC offset is the instant it names."""

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest

from tests.factories import bearer
from tests.procore_fixtures import ProcoreEnv
from tests.timekeeping.helpers import crew_env, deliver, sandbox_entries, set_project_zone, utc, work_shift

API = "/api/v1/time"


@dataclass(frozen=True)
class Case:
    project_zone: str | None  # as Procore names it; None = the company's zone
    start: datetime
    end: datetime
    date: str
    zone: str
    hours: str


CASES = [
    # A Mountain-time project (ESS-1003 in the report): 23:30 MST on the 26th is 06:30Z on the 27th.
    Case(
        "Mountain Time (US & Canada)",
        utc("2026-11-27T06:30"),
        utc("2026-11-27T14:30"),
        "2026-11-26",
        "America/Denver",
        "8",
    ),
    # Spring forward in New York: 23:30 EST on 7 March to 07:30 EDT is 7 hours, not 8.
    Case(
        "Eastern Time (US & Canada)",
        utc("2026-03-08T04:30"),
        utc("2026-03-08T11:30"),
        "2026-03-07",
        "America/New_York",
        "7",
    ),
    # No daylight saving in Hawaii: 23:30 HST on the 26th.
    Case("Hawaii", utc("2026-11-27T09:30"), utc("2026-11-27T17:30"), "2026-11-26", "Pacific/Honolulu", "8"),
    # Fall back in London: 23:30 BST on 24 October to 07:00 GMT is 8.5 hours.
    Case("London", utc("2026-10-24T22:30"), utc("2026-10-25T07:00"), "2026-10-24", "Europe/London", "8.5"),
    # Fall back in Denver: the second 01:30 (MST) on 1 November.
    Case(
        "America/Denver",
        utc("2026-11-01T08:30"),
        utc("2026-11-01T16:30"),
        "2026-11-01",
        "America/Denver",
        "8",
    ),
    # A project without a zone: the company's (New York by default), 23:30 EST on the 26th.
    Case(None, utc("2026-11-27T04:30"), utc("2026-11-27T12:30"), "2026-11-26", "America/New_York", "8"),
]


async def test_shifts_are_dated_in_their_projects_zone_across_midnight_and_dst(
    procore_env: ProcoreEnv,
) -> None:
    env = procore_env
    crew = await crew_env(env)  # a Mountain-time project, like ESS-1003 of the report
    # The cases are one worker's shifts, some at the same instants in other zones: not overlaps
    # to hold here (the time policy has its own tests).
    policy = await env.client.put(
        f"{API}/policy",
        json={"max_days_back": 366, "max_minutes_ahead": 15, "max_shift_hours": 16, "hold_overlaps": False},
        headers=bearer(crew.tenant.api_key),
    )
    assert policy.status_code == 200, policy.text
    sandbox_project = next(
        p
        for p in (await env.sandbox.get("/_sandbox/records/projects")).json()
        if p["id"] == crew.procore_project_id
    )
    assert sandbox_project["time_zone"] == CASES[0].project_zone  # what the project sync copies
    for case in CASES:
        await set_project_zone(env, crew, case.project_zone)
        shift = await work_shift(env, crew, case.start, case.end)
        assert (shift["work_date"], shift["time_zone"], shift["hours"]) == (
            case.date,
            case.zone,
            case.hours,
        ), case
    await deliver(env, crew)
    entries = await sandbox_entries(env, crew.procore_project_id)
    assert Counter((e["date"], e["hours"]) for e in entries) == Counter(
        (c.date, f"{float(c.hours):.1f}") for c in CASES
    )
    for case in CASES:  # the timesheet of that day lists it, in its zone
        day = await env.client.get(
            f"{API}/shifts", params={"day": case.date}, headers=bearer(crew.tenant.api_key)
        )
        assert (case.date, case.zone) in {(s["work_date"], s["time_zone"]) for s in day.json()}


async def test_the_company_zone_is_the_fallback_and_is_settable(procore_env: ProcoreEnv) -> None:
    env = procore_env
    crew = await crew_env(env)
    admin = bearer(crew.tenant.api_key)
    assert (await env.client.get("/api/v1/company", headers=admin)).json()["time_zone"] == "America/New_York"
    changed = await env.client.patch("/api/v1/company", json={"time_zone": "Hawaii"}, headers=admin)
    assert changed.status_code == 200, changed.text
    assert changed.json()["time_zone"] == "Pacific/Honolulu"
    shift = await work_shift(env, crew, utc("2026-11-27T09:30"), utc("2026-11-27T17:30"))
    assert (shift["work_date"], shift["time_zone"]) == ("2026-11-26", "Pacific/Honolulu")
    # a project's own zone wins over the company's
    await set_project_zone(env, crew, "Mountain Time (US & Canada)")
    shift = await work_shift(env, crew, utc("2026-11-28T06:30"), utc("2026-11-28T14:30"))
    assert (shift["work_date"], shift["time_zone"]) == ("2026-11-27", "America/Denver")


async def test_a_zone_nobody_knows_is_refused_with_examples(procore_env: ProcoreEnv) -> None:
    env = procore_env
    crew = await crew_env(env)
    response = await env.client.patch(
        "/api/v1/company", json={"time_zone": "Mars/Olympus"}, headers=bearer(crew.tenant.api_key)
    )
    assert response.status_code == 422
    assert "America/Denver" in str(response.json()["error"])
    worker = await env.client.patch("/api/v1/company", json={"time_zone": "UTC"}, headers=crew.auth())
    assert worker.status_code == 403
    assert (await env.client.get("/api/v1/company", headers=crew.auth())).json()[
        "time_zone"
    ] == "America/New_York"


async def test_a_correction_to_the_day_before_moves_the_date_in_procore(procore_env: ProcoreEnv) -> None:
    env = procore_env
    crew = await crew_env(env)
    await set_project_zone(env, crew, "Mountain Time (US & Canada)")
    shift = await work_shift(env, crew, utc("2026-11-27T14:00"), utc("2026-11-27T22:00"))
    assert shift["work_date"] == "2026-11-27"
    await deliver(env, crew)
    fixed = await env.client.post(
        f"{API}/shifts/{shift['id']}/corrections",
        json={"started_at": "2026-11-26T23:30:00-07:00", "note": "Started the night pour"},
        headers=bearer(crew.tenant.api_key),
    )
    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["work_date"] == "2026-11-26"
    await deliver(env, crew)
    (entry,) = await sandbox_entries(env, crew.procore_project_id)
    assert entry["date"] == "2026-11-26"


OFFSETS = [timedelta(hours=14), timedelta(hours=-12), timedelta(hours=5, minutes=45)]


@pytest.mark.parametrize("offset", OFFSETS, ids=["+14:00", "-12:00", "+05:45"])
async def test_times_with_any_offset_are_the_instants_they_name(
    procore_env: ProcoreEnv, offset: timedelta
) -> None:
    """Clock in at +14:00 and out an hour later written at -12:00 (and +05:45 the other way)."""
    env = procore_env
    crew = await crew_env(env)
    start = utc("2026-11-25T13:00")
    other = timezone(-offset)
    shift = await work_shift(
        env, crew, start.astimezone(timezone(offset)), (start + timedelta(hours=1)).astimezone(other)
    )
    assert shift["hours"] == "1"
    assert shift["work_date"] == "2026-11-25"  # 08:00 in New York, the company's zone
    day = await env.client.get(
        f"{API}/shifts", params={"day": "2026-11-25"}, headers=bearer(crew.tenant.api_key)
    )
    (read,) = day.json()
    assert read["started_at"] == "2026-11-25T13:00:00Z"
    assert read["ended_at"] == "2026-11-25T14:00:00Z"
