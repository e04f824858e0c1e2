"""Held deliveries: one way to hold a row with a reason, one way to release it when the cause
is fixed. Held rows are never claimed, hold back later rows of their subject, never expire,
and go out (in order) once their last cause is released."""

from datetime import timedelta
from pathlib import Path

from sqlalchemy import insert, select

from fieldbridge.connections.models import Connection
from fieldbridge.delivery import service
from fieldbridge.delivery.models import Delivery
from fieldbridge.delivery.service import Hold
from fieldbridge.delivery.states import Status
from fieldbridge.kit.clock import utcnow
from fieldbridge.kit.db import Database
from fieldbridge.kit.migrate import upgrade_async
from fieldbridge.settings import Settings
from tests.delivery.helpers import CREATE, UPDATE, Linked, enqueue, linked, remote_entries, rows, run, shift
from tests.factories import create_tenant
from tests.procore_fixtures import ProcoreEnv

PERSON = "person:7"
POLICY = "shift:7"


async def _enqueue_held(env: ProcoreEnv, link: Linked, holds: list[Hold]) -> int:
    payload = {**shift(link.projects[0], link.people[0]), "party_id": None}
    return await enqueue(env, link, payload, subject="clock_shift:held", holds=holds)


async def _release(env: ProcoreEnv, link: Linked, key: str, **fill: int) -> int:
    async with env.db.transaction() as session:
        return await service.release(session, link.tenant.company.id, key, fill=fill or None)


async def test_a_held_row_waits_with_its_subject_and_goes_in_order_once_every_cause_is_released(
    procore_env: ProcoreEnv,
) -> None:
    env = procore_env
    link = await linked(env)
    created = await _enqueue_held(
        env, link, [Hold(POLICY, "Held for approval: too long."), Hold(PERSON, "No Procore person.")]
    )
    change = {"project_id": link.projects[0], "changes": {"hours": "9"}}
    update = await enqueue(env, link, change, subject="clock_shift:held", kind=UPDATE)
    other = await enqueue(env, link, shift(link.projects[0], link.people[1]), subject="clock_shift:other")
    report = await run(env, link)
    assert report.claimed == 1  # only the unrelated row: the held one and the row behind it wait
    by_id = {r.id: r for r in await rows(env)}
    assert (by_id[created].status, by_id[update].status, by_id[other].status) == (
        Status.held,
        Status.pending,
        Status.delivered,
    )
    assert by_id[created].reason == "Held for approval: too long."
    # releasing one cause leaves the row held, now showing the other reason
    assert await _release(env, link, POLICY) == 0
    assert {r.id: r for r in await rows(env)}[created].reason == "No Procore person."
    assert await _release(env, link, "shift:unrelated") == 0
    # the last cause is fixed: the person is filled in and both rows go, create first
    async with env.db.transaction() as session:
        row = await session.get(Delivery, created)
        assert row is not None
        row.expires_at = utcnow() - timedelta(hours=1)  # held rows never expire; release renews
    assert await _release(env, link, PERSON, party_id=link.people[0]) == 1
    await run(env, link)
    by_id = {r.id: r for r in await rows(env)}
    assert by_id[created].status == Status.delivered
    assert by_id[created].payload["party_id"] == link.people[0]
    assert by_id[update].status == Status.delivered
    mine = [e for e in await remote_entries(env) if e["party_id"] == link.people[0]]
    assert [e["hours"] for e in mine] == ["9.0"]


async def test_a_held_row_can_be_cancelled_but_not_retried_past_its_causes(procore_env: ProcoreEnv) -> None:
    env = procore_env
    link = await linked(env)
    created = await _enqueue_held(env, link, [Hold(POLICY, "Held for approval.")])
    auth = {"Authorization": f"Bearer {link.tenant.api_key}"}
    retried = await env.client.post(f"/api/v1/deliveries/{created}/retry", headers=auth)
    assert retried.status_code == 409
    cancelled = await env.client.post(f"/api/v1/deliveries/{created}/cancel", headers=auth)
    assert cancelled.status_code == 200, cancelled.text
    assert await _release(env, link, POLICY) == 0  # a cancelled row stays cancelled
    assert {r.id: r for r in await rows(env)}[created].status == Status.cancelled


async def test_an_inactive_project_holds_all_its_waiting_rows_after_one_refusal(
    procore_env: ProcoreEnv,
) -> None:
    env = procore_env
    link = await linked(env)
    ids = [
        await enqueue(env, link, shift(link.inactive_project, person), subject=f"s:{n}")
        for n, person in enumerate(link.people[:3])
    ]
    change = {"project_id": link.inactive_project, "changes": {"hours": "9"}}
    ids.append(await enqueue(env, link, change, subject="s:other", kind=UPDATE))
    await run(env, link)
    by_id = {r.id: r for r in await rows(env)}
    assert {by_id[i].status for i in ids} == {Status.held}
    assert all("is inactive in Procore, so the time is held" in (by_id[i].reason or "") for i in ids)
    assert (
        await env.count("POST", "/rest/v1.1/projects/{project_id}/project_timecard_entries/bulk_create") == 1
    )
    assert await env.count("PATCH", "/rest/v1.1/projects/{project_id}/project_timecard_entries/{id}") == 0
    assert await _release(env, link, f"project:{link.inactive_project}") == 4


async def test_the_upgrade_holds_rows_refused_before_holds_for_want_of_a_person(
    tmp_path: Path, settings: Settings
) -> None:
    """Rows refused for a missing Procore person before 0009 were resent when the worker was
    linked; after the upgrade they are held for the person, so linking still sends them."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'before.db'}"
    await upgrade_async(url, "0004_delivery")
    await upgrade_async(url, "0005_timekeeping")
    db = Database(url)
    try:
        tenant = await create_tenant(db, settings)
        async with db.transaction() as session:
            connection = Connection(company_id=tenant.company.id, provider="procore", label="Procore")
            session.add(connection)
            await session.flush()
            now = utcnow()
            legacy = {"project_id": 1, "party_id": None, "blocked_reason": "Crew Worker is not linked."}
            # Only the columns of 0005 (later migrations add some): a Core insert names just these.
            await session.execute(
                insert(Delivery.__table__),
                [
                    {
                        "company_id": tenant.company.id,
                        "connection_id": connection.id,
                        "kind": kind,
                        "subject": f"clock_shift:{n}",
                        "payload": legacy,
                        "idempotency_key": f"k{n}",
                        "worker_id": tenant.worker.id,
                        "status": Status.rejected,
                        "expires_at": now,
                    }
                    for n, kind in enumerate((CREATE, UPDATE))
                ],
            )
        await upgrade_async(url, "heads")
        async with db.transaction() as session:
            rows = {r.kind: r for r in await session.scalars(select(Delivery))}
            assert rows[CREATE].status == Status.held
            assert "blocked_reason" not in rows[CREATE].payload
            assert rows[UPDATE].status == Status.rejected  # only refused creates were held back
            freed = await service.release(
                session, tenant.company.id, f"person:{tenant.worker.id}", fill={"party_id": 42}
            )
        assert freed == 1
        async with db.transaction() as session:
            row = await session.get(Delivery, rows[CREATE].id)
            assert row is not None
            assert (row.status, row.payload["party_id"]) == (Status.pending, 42)
    finally:
        await db.dispose()
