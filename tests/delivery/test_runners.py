"""The local runner (woken by the commit), and batching by handler."""

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from fieldbridge.connections.connector import DeliveryItem
from fieldbridge.connectors.registry import build_registry
from fieldbridge.delivery.config import DeliveryConfig
from fieldbridge.delivery.local import LocalRunner
from fieldbridge.delivery.runner import group_items
from fieldbridge.delivery.states import Status
from tests.delivery.helpers import enqueue, linked, remote_entries, rows, shift
from tests.procore_fixtures import ProcoreEnv


async def _until(predicate: object, seconds: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while loop.time() < deadline:
        if await predicate():  # type: ignore[operator]
            return
        await asyncio.sleep(0.05)
    raise AssertionError("gave up waiting")


async def test_local_runner_delivers_right_after_the_commit(procore_env: ProcoreEnv) -> None:
    link = await linked(procore_env)
    # Polling every minute: only the after-commit wake-up can deliver within the test.
    runner = LocalRunner(
        procore_env.db, procore_env.http, procore_env.settings, DeliveryConfig(poll_seconds=60)
    )
    await runner.start()
    try:
        await asyncio.sleep(0.05)  # the first poll found nothing
        for n in range(3):
            await enqueue(procore_env, link, shift(link.projects[0], link.people[n]), subject=f"s:{n}")

        async def all_delivered() -> bool:
            return {r.status for r in await rows(procore_env)} == {Status.delivered}

        await _until(all_delivered)
    finally:
        await runner.stop()
    assert len(await remote_entries(procore_env)) == 3


async def test_a_drain_lingers_for_the_next_commit_instead_of_starting_over(
    procore_env: ProcoreEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A burst of commits a moment apart is served by the drain already open: one set-up
    (lease recovery, connection check, client) for the burst, not one per commit."""
    from fieldbridge.delivery import local

    drains = 0
    real = local.drain

    async def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal drains
        drains += 1
        return await real(*args, **kwargs)

    monkeypatch.setattr(local, "drain", counted)
    link = await linked(procore_env)
    runner = LocalRunner(
        procore_env.db,
        procore_env.http,
        procore_env.settings,
        DeliveryConfig(poll_seconds=60, linger_seconds=5, drains_per_connection=1),
    )
    await runner.start()
    try:
        await asyncio.sleep(0.05)
        for n in range(4):
            await enqueue(procore_env, link, shift(link.projects[0], link.people[n]), subject=f"s:{n}")

            async def delivered(count: int = n + 1) -> bool:
                done = [r for r in await rows(procore_env) if r.status == Status.delivered]
                return len(done) == count

            await _until(delivered)
    finally:
        await runner.stop()
    assert drains == 1


def _item(n: int, kind: str, project: int) -> DeliveryItem:
    return DeliveryItem(
        id=n,
        kind=kind,
        subject=f"s:{n}",
        payload={"project_id": project},
        idempotency_key=str(n),
        remote_project_id=str(project),
        attempts=1,
        outcome_unknown=False,
        remote_id=None,
        subject_remote_id=None,
        created_at=datetime(2026, 11, 25, tzinfo=UTC),
    )


def test_groups_follow_kind_project_and_batch_size_in_first_seen_order() -> None:
    items = [_item(n, "procore.timecard.create", 1 + n % 2) for n in range(60)]
    items += [_item(100 + n, "procore.timecard.update", 1) for n in range(2)]
    items.append(_item(200, "acc.issue.create", 1))
    groups = group_items(items, build_registry())
    sizes = [(g[0].kind, g[0].payload["project_id"], len(g)) for _, g in groups]
    assert sizes == [
        ("procore.timecard.create", 1, 25),
        ("procore.timecard.create", 1, 5),
        ("procore.timecard.create", 2, 25),
        ("procore.timecard.create", 2, 5),
        ("procore.timecard.update", 1, 1),
        ("procore.timecard.update", 1, 1),
        ("acc.issue.create", 1, 1),
    ]
    assert groups[-1][0] is None  # no handler yet: the runner rejects it with a plain reason


async def test_metrics_count_attempts_and_refresh_queue_gauges(procore_env: ProcoreEnv) -> None:
    from prometheus_client import generate_latest

    from fieldbridge.delivery.metrics import refresh_gauges
    from tests.delivery.helpers import run

    link = await linked(procore_env)
    await enqueue(procore_env, link, shift(link.projects[0], link.people[0]), subject="s:1")
    await refresh_gauges(procore_env.db)
    text = generate_latest().decode()
    assert 'fieldbridge_delivery_queue_depth{status="pending"} 1.0' in text
    await run(procore_env, link)
    await refresh_gauges(procore_env.db)
    text = generate_latest().decode()
    assert 'fieldbridge_delivery_queue_depth{status="pending"} 0.0' in text
    assert 'fieldbridge_delivery_attempts_total{kind="procore.timecard.create",outcome="delivered"}' in text
    assert "fieldbridge_delivery_latency_seconds_count" in text


async def test_a_commit_defers_a_drain_job_on_postgresql(procore_env: ProcoreEnv) -> None:
    if procore_env.db.is_sqlite:
        pytest.skip("the procrastinate runner needs PostgreSQL")
    from fieldbridge.delivery.procrastinate_runner import ProcrastinateRunner, ensure_schema

    ensure_schema(procore_env.settings.database_url)
    link = await linked(procore_env)
    deferrer = ProcrastinateRunner(procore_env.settings)
    await deferrer.open()
    try:
        await enqueue(procore_env, link, shift(link.projects[0], link.people[0]), subject="s:1")
        lock = f"delivery.connection.{link.connection_id}"
        query = "SELECT count(*) AS n FROM procrastinate_jobs WHERE lock = %(lock)s AND status = 'todo'"

        async def deferred() -> bool:
            rows = await deferrer.app.connector.execute_query_all_async(query, lock=lock)
            return int(rows[0]["n"]) == 1

        await _until(deferred)
        await deferrer.defer(link.connection_id)  # a second defer while one waits is a no-op
        assert await deferred()
    finally:
        await deferrer.close()


def test_the_registry_refuses_ambiguity_and_answers_capabilities() -> None:
    from contextlib import asynccontextmanager

    from fieldbridge.connections.connector import Capability, ConnectorSpec, Registry
    from fieldbridge.connectors.procore.timecards import HANDLERS, TimecardCreate

    @asynccontextmanager
    async def no_client(*_: object) -> Any:
        yield None

    reg = build_registry()
    assert reg.can("procore", Capability.time_export)
    assert reg.can("procore", Capability.clock_in)
    assert not reg.can("acc", Capability.issues)
    # Capabilities are true: nothing is listed without a handler or flow behind it.
    assert reg.specs["procore"].capabilities == {
        Capability.project_sync,
        Capability.clock_in,
        Capability.time_export,
        Capability.observations,
        Capability.daily_log,
        Capability.incidents,
        Capability.incident_pull,
    }
    assert set(reg.handlers) == {
        "procore.timecard.create",
        "procore.timecard.update",
        "procore.safety.incident",
        "procore.safety.observation",
        "procore.safety.daily_summary",
        "webhook.deliver",
        "acc.safety.observation",
        "acc.safety.incident",
        "acc.safety.daily_summary",
    }
    assert reg.specs["webhook"].capabilities == {Capability.webhook_out}
    with pytest.raises(ValueError, match="registered twice"):
        reg.register(ConnectorSpec("procore", frozenset(), no_client, HANDLERS))
    other = Registry()
    with pytest.raises(ValueError, match="does not belong to acc"):
        other.register(ConnectorSpec("acc", frozenset({Capability.issues}), no_client, (TimecardCreate(),)))
