"""Seam 4 for echo: its local-time job, registered by importing the connector module the
settings name, enqueues one daily note per (project, local date) at 17:00 in each project's
zone, with two tickers racing on every step."""

import asyncio
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from fieldbridge.connections.models import Connection, ConnectionStatus
from fieldbridge.delivery.models import Delivery
from fieldbridge.jobs.runner import configured_jobs, tick
from fieldbridge.kit.db import Database
from fieldbridge.settings import Settings
from fieldbridge.sites.models import Project
from tests.factories import create_tenant
from tests.jobs.helpers import projects_in_zones

SIX_HOURS = timedelta(hours=6)


async def test_the_daily_note_is_enqueued_once_per_project_and_local_date(
    settings: Settings, db: Database
) -> None:
    (job,) = [j for j in configured_jobs(settings) if j.name == "echo.daily_note"]
    tenant = await create_tenant(db, settings)
    zones = await projects_in_zones(db, tenant.company.id)
    async with db.transaction() as session:
        echo = Connection(
            company_id=tenant.company.id,
            provider="echo",
            label="Echo Notes · Echo North",
            external_account_id="acct_7Hq2",
            status=ConnectionStatus.connected,
            config={},
        )
        session.add(echo)
        await session.flush()
        echo_id = echo.id
    other = Database(settings.database_url)
    try:
        now = datetime(2026, 3, 7, 12, 0, tzinfo=UTC)  # across the US spring-forward night
        while now < datetime(2026, 3, 9, 6, 0, tzinfo=UTC):
            await asyncio.gather(
                tick(db, [job], owner="a", catch_up=SIX_HOURS, now=now),
                tick(other, [job], owner="b", catch_up=SIX_HOURS, now=now),
            )
            now += timedelta(minutes=20)
    finally:
        await other.dispose()
    async with db.sessionmaker() as session:
        rows = list(await session.scalars(select(Delivery).order_by(Delivery.id)))
        names = {p.id: p.name for p in await session.scalars(select(Project))}
    assert {(r.kind, r.connection_id) for r in rows} == {("echo.note.create", echo_id)}
    titles = sorted(r.payload["title"] for r in rows)
    expected = sorted(
        f"{names[p]}: daily note for {date(2026, 3, d).isoformat()}" for p in zones for d in (7, 8)
    )
    assert titles == expected  # one per (project, local date), none twice
    for row in rows:
        project_id = int(row.subject.split(":")[1])
        scheduled = datetime.fromisoformat(row.payload["body"].split(" ")[2])
        local = scheduled.astimezone(ZoneInfo(zones[project_id]))
        assert (local.hour, local.minute) == (17, 0)
