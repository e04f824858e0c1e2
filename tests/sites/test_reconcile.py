"""Webhooks first, reconcile as the safety net: the webhook-health switch and the cadence the
reported hourly limit sets, against the sandbox over HTTP, on a frozen clock."""

from datetime import datetime, timedelta

import time_machine
from sqlalchemy import select

from fieldbridge.connections.models import Connection
from fieldbridge.delivery.budget import BudgetState, store_state
from fieldbridge.delivery.models import RateBudget
from fieldbridge.kit.clock import utcnow
from fieldbridge.kit.db import Database
from fieldbridge.settings import Settings
from fieldbridge.sites import reconcile
from fieldbridge.sites.models import CostCode
from tests.factories import bearer, create_tenant, sign_in_browser
from tests.procore_fixtures import ProcoreEnv


def test_the_idle_cost_is_a_set_share_of_the_hourly_limit_whatever_the_limit() -> None:
    for limit in (600, 3600, 20_000):
        for cost in (5, 505, 5000):
            for healthy in (True, False):
                pace = reconcile.cadence(limit, cost, healthy)
                sweep_per_hour = cost / (pace.sweep.total_seconds() / 3600)
                checks_per_hour = 3600 / pace.check.total_seconds() * (1 + 1 / reconcile.HOOKS_EVERY)
                share = reconcile.HEALTHY_SWEEP_SHARE if healthy else reconcile.UNHEALTHY_SWEEP_SHARE
                assert sweep_per_hour <= share * limit + 1e-6
                if pace.check > reconcile.CHECK_MIN:  # at the floor a check is cheaper still
                    assert checks_per_hour <= reconcile.CHECK_SHARE[healthy] * limit + 1e-6
    # Healthy webhooks: rare; unhealthy: more often; a bigger limit: more often.
    assert reconcile.cadence(600, 505, True).sweep > reconcile.cadence(600, 505, False).sweep
    assert reconcile.cadence(3600, 505, False).sweep < reconcile.cadence(600, 505, False).sweep
    assert reconcile.cadence(600, 5, True).sweep == reconcile.HEALTHY_SWEEP_MIN


async def _connection(db: Database, connection_id: int) -> Connection:
    async with db.sessionmaker() as session:
        connection = await session.get(Connection, connection_id, populate_existing=True)
        assert connection is not None
        session.expunge(connection)
        return connection


async def _report_hourly(db: Database, connection_id: int, limit: int) -> None:
    """As if Procore had reported its hourly window (X-Rate-Limit-Limit) to the budget."""
    async with db.transaction() as session:
        row = await session.get(RateBudget, connection_id) or RateBudget(connection_id=connection_id)
        store_state(row, BudgetState(hourly_limit=limit))
        session.add(row)


async def _spacing(env: ProcoreEnv, db: Database, connection_id: int, at: datetime) -> timedelta:
    connection = await _connection(db, connection_id)
    done = await reconcile.reconcile_pass(db, env.http, env.box, connection, now=at)
    assert done.next_unit_at is not None
    return datetime.fromisoformat(done.next_unit_at) - at


async def test_the_reported_hourly_limit_sets_the_sweep_cadence(
    procore_env: ProcoreEnv, db: Database, settings: Settings
) -> None:
    tenant = await create_tenant(db, settings)
    connection_id, _ = await procore_env.track(tenant, 2)
    await procore_env.sandbox.post("/_sandbox/webhooks/drain", json={"timeout": 5})
    start = utcnow()
    with time_machine.travel(start, tick=False):
        connection = await _connection(db, connection_id)
        flow = reconcile.reconcile_flow(connection)
        assert flow is not None
        units = await flow.reconcile_units(db, connection)
        cost = sum(u.cost for u in units)
        assert [u.key for u in units[:3]] == ["projects", "people", "categories"]
        await _report_hourly(db, connection_id, 600)
        small = await _spacing(procore_env, db, connection_id, start)
        expected = reconcile.cadence(600, cost, True).sweep * (units[0].cost / cost)
        assert abs((small - expected).total_seconds()) < 1
        await _report_hourly(db, connection_id, 60_000)  # a much bigger limit: the floor of 6 h holds
        big = await _spacing(procore_env, db, connection_id, start + small)
        assert big == reconcile.HEALTHY_SWEEP_MIN * (units[1].cost / cost)


async def test_failed_deliveries_switch_to_unhealthy_recover_the_event_and_heal_after_an_hour(
    procore_env: ProcoreEnv, db: Database, settings: Settings
) -> None:
    tenant = await create_tenant(db, settings)
    auth = bearer(tenant.api_key)
    connection_id, (project,) = await procore_env.track(tenant, 1)
    await procore_env.sandbox.post("/_sandbox/webhooks/drain", json={"timeout": 5})
    start = utcnow()
    first = await reconcile.reconcile_pass(
        db, procore_env.http, procore_env.box, await _connection(db, connection_id), now=start
    )
    assert first.healthy
    milestones = (
        await procore_env.client.get(f"/api/v1/projects/{project['id']}/milestones", headers=auth)
    ).json()
    code_id = milestones[0]["cost_code_external_id"]
    # Procore drops the webhook: never sent, its delivery log says "discarded".
    await procore_env.sandbox.put("/_sandbox/webhooks/drop", json={"rate": 1.0})
    await procore_env.sandbox.post(f"/_sandbox/cost_codes/{code_id}", json={"name": "Dropped Rename"})
    assert await _code_name(db, code_id) != "Dropped Rename"
    with time_machine.travel(start, tick=False) as frozen:
        frozen.shift(timedelta(minutes=16))  # past the check interval
        state = await reconcile.reconcile_pass(
            db, procore_env.http, procore_env.box, await _connection(db, connection_id), now=utcnow()
        )
        assert not state.healthy
        assert "discarded" in (state.reason or "") or "failed" in (state.reason or "")
        assert state.recovered == 1
        assert await _code_name(db, code_id) == "Dropped Rename"  # the event, recovered from the log
        healthy_pace = reconcile.cadence(600, 5, True)
        unhealthy_pace = reconcile.cadence(600, 5, False)
        assert unhealthy_pace.sweep < healthy_pace.sweep  # reconcile runs more often now
        await procore_env.sandbox.put("/_sandbox/webhooks/drop", json={"rate": 0.0})
        frozen.shift(reconcile.RECOVER_AFTER + timedelta(minutes=1))  # an hour without a bad sign
        state = await reconcile.reconcile_pass(
            db, procore_env.http, procore_env.box, await _connection(db, connection_id), now=utcnow()
        )
        assert state.healthy
        assert state.reason is None
    # The connection page: per-class use in the last hour, webhook health, what reconcile found.
    await sign_in_browser(procore_env.client, tenant.admin.email)
    page = await procore_env.client.get(f"/settings/integrations/procore/{connection_id}")
    assert page.status_code == 200
    assert "Procore API budget, last hour" in page.text
    assert "Webhooks: <strong>healthy</strong>" in page.text
    assert "1 event(s) recovered from the webhook delivery log" in page.text


async def _code_name(db: Database, code_id: str) -> str | None:
    async with db.sessionmaker() as session:
        name: str | None = await session.scalar(select(CostCode.name).where(CostCode.external_id == code_id))
        return name
