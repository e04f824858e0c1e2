"""Local-time jobs in one process: due at HH:MM in each project's zone, once per (project, local
date), across DST changes, with two tickers racing on every step."""

import asyncio
import time as time_module
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from fieldbridge.jobs.models import LocalJobRun
from fieldbridge.jobs.registry import LocalRun, LocalTimeJob, at_local_time, parse_hhmm
from fieldbridge.jobs.runner import tick
from fieldbridge.jobs.service import due_dates
from fieldbridge.kit.clock import FakeClock
from fieldbridge.kit.db import Database
from fieldbridge.settings import Settings
from tests.factories import create_tenant
from tests.jobs.helpers import projects_in_zones

NY = ZoneInfo("America/New_York")
SIX_HOURS = timedelta(hours=6)


def test_17_00_new_york_is_22_00_utc_before_spring_forward_and_21_00_after() -> None:
    at = time(17, 0)
    before = list(due_dates(at, NY, datetime(2026, 3, 7, 22, 0, tzinfo=UTC), SIX_HOURS))
    after = list(due_dates(at, NY, datetime(2026, 3, 8, 21, 0, tzinfo=UTC), SIX_HOURS))
    assert before == [(date(2026, 3, 7), datetime(2026, 3, 7, 22, 0, tzinfo=UTC))]
    assert after == [(date(2026, 3, 8), datetime(2026, 3, 8, 21, 0, tzinfo=UTC))]
    # A minute before 17:00 EDT nothing of March 8 is due (22:00 UTC would be an hour late).
    assert list(due_dates(at, NY, datetime(2026, 3, 8, 20, 59, tzinfo=UTC), SIX_HOURS)) == []
    # Fall back: 17:00 EST on November 1 is 22:00 UTC again.
    back = list(due_dates(at, NY, datetime(2026, 11, 1, 22, 30, tzinfo=UTC), SIX_HOURS))
    assert back == [(date(2026, 11, 1), datetime(2026, 11, 1, 22, 0, tzinfo=UTC))]


def test_a_run_missed_by_more_than_the_catch_up_window_is_not_run_late() -> None:
    late = datetime(2026, 3, 8, 21, 0, tzinfo=UTC) + SIX_HOURS
    assert list(due_dates(time(17, 0), NY, late, SIX_HOURS)) == []
    assert list(due_dates(time(17, 0), NY, late - timedelta(minutes=1), SIX_HOURS)) != []


def test_a_time_in_the_spring_forward_gap_runs_once_that_day_an_hour_later() -> None:
    # 02:30 does not exist in New York on March 8, 2026: it is read as 03:30 EDT (07:30 UTC).
    due = list(due_dates(time(2, 30), NY, datetime(2026, 3, 8, 8, 0, tzinfo=UTC), SIX_HOURS))
    assert due == [(date(2026, 3, 8), datetime(2026, 3, 8, 7, 30, tzinfo=UTC))]


def test_local_times_are_hh_mm_and_names_register_once() -> None:
    assert parse_hhmm("17:00") == time(17, 0)
    for wrong in ("17", "5pm", "17:0", "25:00"):
        with pytest.raises(ValueError, match="HH:MM"):
            parse_hhmm(wrong)

    async def one(run: LocalRun) -> None:
        return None

    async def other(run: LocalRun) -> None:
        return None

    at_local_time("tests.registered_once", "06:00")(one)
    at_local_time("tests.registered_once", "06:00")(one)  # importing a module twice is fine
    with pytest.raises(ValueError, match="already registered"):
        at_local_time("tests.registered_once", "06:00")(other)


def test_the_fake_clock_is_honoured_only_in_the_test_environment() -> None:
    environ = {
        "FIELDBRIDGE_TEST_CLOCK_START": "2026-03-08T06:00:00+00:00",
        "FIELDBRIDGE_TEST_CLOCK_ANCHOR": str(time_module.time() - 10),
        "FIELDBRIDGE_TEST_CLOCK_SPEED": "3600",
    }
    assert FakeClock.from_environ({**environ, "FIELDBRIDGE_ENV": "production"}) is None
    clock = FakeClock.from_environ({**environ, "FIELDBRIDGE_ENV": "test"})
    assert clock is not None
    assert clock.start == datetime(2026, 3, 8, 6, 0, tzinfo=UTC)
    # Ten real seconds after the anchor at 3600x: ten hours (and a bit, as this test runs) later.
    assert clock.start + timedelta(hours=10) <= clock.now() < clock.start + timedelta(hours=20)
    with pytest.raises(ValueError, match="offset"):
        FakeClock.from_environ(
            {**environ, "FIELDBRIDGE_ENV": "test", "FIELDBRIDGE_TEST_CLOCK_START": "2026-03-08"}
        )


async def test_each_project_and_local_date_runs_once_across_spring_forward(
    settings: Settings, db: Database
) -> None:
    tenant = await create_tenant(db, settings)
    zones = await projects_in_zones(db, tenant.company.id)
    seen: list[tuple[int, date, datetime]] = []

    async def record(run: LocalRun) -> None:
        seen.append((run.project.id, run.local_date, run.scheduled_at))

    job = LocalTimeJob("tests.record", time(17, 0), record)
    other = Database(settings.database_url)
    try:
        now = datetime(2026, 3, 7, 12, 0, tzinfo=UTC)
        while now < datetime(2026, 3, 10, 6, 0, tzinfo=UTC):
            await asyncio.gather(
                tick(db, [job], owner="a", catch_up=SIX_HOURS, now=now),
                tick(other, [job], owner="b", catch_up=SIX_HOURS, now=now),
            )
            now += timedelta(minutes=20)
    finally:
        await other.dispose()
    keys = [(project_id, local_date) for project_id, local_date, _ in seen]
    assert sorted(keys) == sorted({(p, date(2026, 3, d)) for p in zones for d in (7, 8, 9)})
    for project_id, local_date, scheduled_at in seen:
        local = scheduled_at.astimezone(ZoneInfo(zones[project_id]))
        assert (local.date(), local.time()) == (local_date, time(17, 0))
    async with db.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(LocalJobRun)) == len(seen)


async def test_a_failed_run_leaves_no_key_and_runs_on_a_later_tick(settings: Settings, db: Database) -> None:
    tenant = await create_tenant(db, settings)
    await projects_in_zones(db, tenant.company.id, ("Europe/Berlin",))
    attempts: list[date] = []

    async def flaky(run: LocalRun) -> None:
        attempts.append(run.local_date)
        if len(attempts) == 1:
            raise RuntimeError("Procore was down")

    job = LocalTimeJob("tests.flaky", time(17, 0), flaky)
    due = datetime(2026, 3, 9, 16, 5, tzinfo=UTC)  # 17:05 in Berlin
    assert await tick(db, [job], owner="a", catch_up=SIX_HOURS, now=due) == 0
    async with db.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(LocalJobRun)) == 0
    assert await tick(db, [job], owner="a", catch_up=SIX_HOURS, now=due + timedelta(minutes=5)) == 1
    assert await tick(db, [job], owner="a", catch_up=SIX_HOURS, now=due + timedelta(minutes=10)) == 0
    assert attempts == [date(2026, 3, 9), date(2026, 3, 9)]
