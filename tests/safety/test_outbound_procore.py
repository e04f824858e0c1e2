"""Observations and the daily log through the ledger into the Procore sandbox: one item per
fold (updated with the count), lookup before resend after a lost answer, and the daily summary
posted exactly once per site-day (two workers, a restart, a DST change), a late correction
updating that entry. Counts come from the sandbox."""

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any

from fieldbridge.jobs.runner import tick
from fieldbridge.kit.db import Database
from fieldbridge.safety import summary
from fieldbridge.safety.models import SafetySite
from tests.delivery.helpers import Linked, faults, linked, make_due, run
from tests.procore_fixtures import ProcoreEnv
from tests.safety.outbound_helpers import Linked as SiteLink
from tests.safety.outbound_helpers import deliveries, detection, ingest_rows, linked_site


async def _records(env: ProcoreEnv, table: str) -> list[dict[str, Any]]:
    return [
        r for r in (await env.sandbox.get(f"/_sandbox/records/{table}")).json() if not r.get("deleted_at")
    ]


async def _linked(env: ProcoreEnv) -> tuple[Linked, SiteLink]:
    """A tenant connected to the sandbox, and a site linked to its first usable project."""
    link = await linked(env)
    site = await linked_site(
        env.db,
        link.tenant.company.id,
        connection_id=link.connection_id,
        remote_project_id=str(link.projects[0]),
    )
    return link, site


async def test_observation_items_fold_update_and_survive_a_lost_answer(procore_env: ProcoreEnv) -> None:
    env = procore_env
    link, site = await _linked(env)
    t0 = datetime.now(UTC) - timedelta(minutes=40)
    await ingest_rows(
        env.db, site.company_id, [detection(site, at=t0), detection(site, at=t0 + timedelta(seconds=5))]
    )
    await run(env, link)
    (item,) = await _records(env, "observation_items")
    assert item["project_id"] == link.projects[0]
    assert item["priority"] == "Medium"
    assert "Count: 2" in item["description"]
    types = {t["id"]: t for t in await _records(env, "observation_types")}
    assert types[item["type_id"]]["category"] == "Safety"

    await ingest_rows(env.db, site.company_id, [detection(site, at=t0 + timedelta(seconds=9), priority=5)])
    await run(env, link)
    (item,) = await _records(env, "observation_items")  # updated, not a second item
    assert "Count: 3" in item["description"]
    assert item["priority"] == "Urgent"

    await faults(env, drop_next=1)  # the next create lands but its answer is lost
    await ingest_rows(env.db, site.company_id, [detection(site, zone="Crane swing", at=t0)])
    await run(env, link)
    await make_due(env)
    await run(env, link)
    items = await _records(env, "observation_items")
    assert len(items) == 2
    rows = await deliveries(env.db)
    assert {r.status for r in rows} == {"delivered"}


async def _tick(db_url: str, now: datetime) -> int:
    db = Database(db_url)  # a process of its own: its own pool
    try:
        return await tick(db, [], owner=f"worker-{id(db)}", catch_up=timedelta(minutes=30), now=now)
    finally:
        await db.dispose()


async def test_daily_log_once_per_site_day_and_corrections_update(procore_env: ProcoreEnv) -> None:
    env = procore_env
    link, site = await _linked(env)
    url = env.settings.database_url
    # 2026-11-01: New York falls back (a 25-hour day); 17:05 EST is 22:05 UTC.
    day = date(2026, 11, 1)
    at = datetime(2026, 11, 1, 22, 5, tzinfo=UTC)
    first = await asyncio.gather(_tick(url, at), _tick(url, at))  # two workers at once
    assert sorted(first) == [0, 1]
    assert await _tick(url, at + timedelta(minutes=10)) == 0  # a restart inside the catch-up window
    assert await _tick(url, at - timedelta(minutes=10)) == 0  # 16:55: not due yet (no double on DST)
    rows = await deliveries(env.db, "procore.safety.daily_summary")
    assert [(r.subject, r.idempotency_key) for r in rows] == [
        (f"summary:{site.site_id}:{day}", f"summary:{site.site_id}:{day}:v1")
    ]
    await run(env, link)
    (note,) = await _records(env, "notes_logs")
    assert note["date"] == day.isoformat()
    assert f"/safety/sites/{site.site_id}/summary?day={day}" in note["comment"]

    async with env.db.transaction() as session:  # a late correction: a new version of that day
        row = await session.get(SafetySite, site.site_id)
        assert row is not None
        await summary.snapshot(session, row, day)
    await run(env, link)
    (note,) = await _records(env, "notes_logs")
    assert "version 2" in note["comment"]
    rows = await deliveries(env.db, "procore.safety.daily_summary")
    assert [r.status for r in rows] == ["delivered", "delivered"]
    assert rows[1].remote_id == rows[0].remote_id

    # the next day posts its own entry
    assert await _tick(url, at + timedelta(days=1)) == 1  # 17:05 EST again
    await run(env, link)
    assert len(await _records(env, "notes_logs")) == 2
