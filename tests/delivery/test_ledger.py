"""The ledger against the sandbox: batching, order, lookup-before-resend, parking, rejection."""

from collections import Counter

import pytest
from sqlalchemy import func, select

from fieldbridge.delivery import service
from fieldbridge.delivery.models import Delivery
from fieldbridge.delivery.states import Status
from fieldbridge.kit.errors import Unprocessable
from tests.delivery.helpers import (
    UPDATE,
    enqueue,
    faults,
    linked,
    make_due,
    remote_entries,
    rows,
    run,
    shift,
)
from tests.procore_fixtures import ProcoreEnv


async def test_enqueue_commits_with_the_domain_change_or_not_at_all(procore_env: ProcoreEnv) -> None:
    link = await linked(procore_env)
    try:
        async with procore_env.db.transaction() as session:
            await service.enqueue(
                session,
                company_id=link.tenant.company.id,
                connection_id=link.connection_id,
                kind="procore.timecard.create",
                subject="clock_session:1",
                payload=shift(link.projects[0], link.people[0]),
            )
            raise RuntimeError("the domain change failed")
    except RuntimeError:
        pass
    assert await rows(procore_env) == []
    first = await enqueue(procore_env, link, shift(link.projects[0], link.people[0]), subject="s:1")
    async with procore_env.db.transaction() as session:
        again = await service.enqueue(
            session,
            company_id=link.tenant.company.id,
            connection_id=link.connection_id,
            kind="procore.timecard.create",
            subject="s:1",
            payload={},
            idempotency_key=(await rows(procore_env))[0].idempotency_key,
        )
    assert again.id == first
    async with procore_env.db.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Delivery)) == 1


async def test_creates_batch_per_project_25_a_call(procore_env: ProcoreEnv) -> None:
    link = await linked(procore_env)
    a, b = link.projects[0], link.projects[1]
    for n in range(30):
        await enqueue(procore_env, link, shift(a, link.people[n % len(link.people)]), subject=f"a:{n}")
    for n in range(3):
        await enqueue(procore_env, link, shift(b, link.people[n]), subject=f"b:{n}")
    report = await run(procore_env, link)
    assert report.outcomes == {"delivered": 33}
    bulk = "/rest/v1.1/projects/{project_id}/project_timecard_entries/bulk_create"
    assert await procore_env.count("POST", bulk, 201) == 3  # 25 + 5 for a, 3 for b
    entries = await remote_entries(procore_env)
    assert len(entries) == 33
    delivered = await rows(procore_env)
    assert {r.remote_id for r in delivered} == {str(e["id"]) for e in entries}
    assert all(r.status == Status.delivered for r in delivered)


async def test_a_clock_out_never_overtakes_its_clock_in(procore_env: ProcoreEnv) -> None:
    link = await linked(procore_env)
    project = link.projects[0]
    create = await enqueue(procore_env, link, shift(project, link.people[0]), subject="clock_session:7")
    change = await enqueue(
        procore_env,
        link,
        {"project_id": project, "changes": {"hours": "9.5"}},
        subject="clock_session:7",
        kind=UPDATE,
    )
    other = await enqueue(procore_env, link, shift(project, link.people[1]), subject="clock_session:8")
    await faults(procore_env, error_next=1)
    await run(procore_env, link)
    by_id = {r.id: r for r in await rows(procore_env)}
    # The create of session 7 and session 8 went in one bulk call, which failed: both retry.
    assert by_id[create].status == Status.retrying
    assert by_id[change].status == Status.pending
    assert by_id[change].attempts == 0
    await make_due(procore_env)
    await run(procore_env, link)
    by_id = {r.id: r for r in await rows(procore_env)}
    assert {by_id[i].status for i in (create, change, other)} == {Status.delivered}
    entry = next(e for e in await remote_entries(procore_env) if str(e["id"]) == by_id[create].remote_id)
    assert float(entry["hours"]) == 9.5
    assert by_id[change].remote_id == by_id[create].remote_id


async def test_a_dropped_response_is_looked_up_not_resent(procore_env: ProcoreEnv) -> None:
    link = await linked(procore_env)
    ids = [
        await enqueue(procore_env, link, shift(link.projects[0], link.people[n]), subject=f"s:{n}")
        for n in range(3)
    ]
    await faults(procore_env, drop_next=1)
    await run(procore_env, link)
    assert len(await remote_entries(procore_env)) == 3  # Procore saved them; we never heard back
    assert {r.status for r in await rows(procore_env)} == {Status.retrying}
    assert all(r.outcome_unknown for r in await rows(procore_env))
    await make_due(procore_env)
    report = await run(procore_env, link)
    assert report.outcomes == {"found": 3}
    assert len(await remote_entries(procore_env)) == 3
    done = await rows(procore_env)
    assert [r.id for r in done] == ids
    assert {r.status for r in done} == {Status.delivered}
    lookups = await procore_env.count("GET", "/rest/v1.0/companies/{company_id}/timecard_entries")
    assert lookups == 1


async def test_rejections_carry_a_plain_reason_and_spare_the_rest_of_the_batch(
    procore_env: ProcoreEnv,
) -> None:
    link = await linked(procore_env)
    good = [
        await enqueue(procore_env, link, shift(link.projects[0], link.people[n]), subject=f"g:{n}")
        for n in range(2)
    ]
    bad_person = await enqueue(procore_env, link, shift(link.projects[0], 999_999_999), subject="bad:p")
    inactive = await enqueue(procore_env, link, shift(link.inactive_project, link.people[0]), subject="bad:i")
    await run(procore_env, link)
    by_id = {r.id: r for r in await rows(procore_env)}
    assert {by_id[i].status for i in good} == {Status.delivered}
    assert by_id[bad_person].status == Status.rejected
    assert "worker is not a person in this Procore company" in (by_id[bad_person].reason or "")
    assert by_id[inactive].status == Status.held  # waits for the project, not for support
    assert "is inactive in Procore, so the time is held" in (by_id[inactive].reason or "")
    assert len(await remote_entries(procore_env)) == 2


async def test_transient_failures_retry_until_max_age_then_fail_visibly(procore_env: ProcoreEnv) -> None:
    link = await linked(procore_env)
    row_id = await enqueue(procore_env, link, shift(link.projects[0], link.people[0]), subject="s:1")
    async with procore_env.db.transaction() as session:
        row = await session.get(Delivery, row_id)
        assert row is not None
        row.expires_at = row.created_at
    await faults(procore_env, error_next=1)
    await run(procore_env, link)
    (row,) = await rows(procore_env)
    assert row.status == Status.failed
    assert row.reason is not None
    assert row.reason.startswith("Gave up after 1 attempts")
    async with procore_env.db.transaction() as session:
        await service.retry(session, link.tenant.company.id, row_id)
    await run(procore_env, link)
    (row,) = await rows(procore_env)
    assert row.status == Status.delivered
    assert len(await remote_entries(procore_env)) == 1


async def test_replay_never_duplicates_and_cancel_stops_a_row(procore_env: ProcoreEnv) -> None:
    link = await linked(procore_env)
    sent = await enqueue(procore_env, link, shift(link.projects[0], link.people[0]), subject="s:1")
    await run(procore_env, link)
    company = link.tenant.company.id
    async with procore_env.db.transaction() as session:
        await service.replay(session, company, sent)
    await faults(procore_env, error_next=0)
    cancelled = await enqueue(procore_env, link, shift(link.projects[1], link.people[0]), subject="s:2")
    async with procore_env.db.transaction() as session:
        await service.cancel(session, company, cancelled)
    report = await run(procore_env, link)
    assert report.outcomes == {"found": 1}
    assert len(await remote_entries(procore_env)) == 1
    statuses = Counter(r.status for r in await rows(procore_env))
    assert statuses == Counter({Status.delivered: 1, Status.cancelled: 1})


async def test_an_in_progress_entry_whose_answer_was_lost_is_found_not_resent(
    procore_env: ProcoreEnv,
) -> None:
    """Procore's project list hides in-progress entries; the lookup must still see them."""
    link = await linked(procore_env)
    projects = (await procore_env.sandbox.get("/_sandbox/records/projects")).json()
    start_stop = next(p["id"] for p in projects if p["project_number"] == "WBT-1010")
    clock_in = {
        "project_id": start_stop,
        "party_id": link.people[0],
        "date": "2026-11-25",
        "time_in": "2026-11-25T07:00:00Z",
        "clock_in_time": "2026-11-25T07:00:00Z",
        "hours": "0",
        "in_progress": True,
    }
    await enqueue(procore_env, link, clock_in, subject="clock_shift:1")
    await faults(procore_env, drop_next=1)
    await run(procore_env, link)
    await make_due(procore_env)
    report = await run(procore_env, link)
    assert report.outcomes == {"found": 1}, [r.reason for r in await rows(procore_env)]
    entries = await remote_entries(procore_env)
    assert len(entries) == 1
    assert entries[0]["in_progress"] is True


async def test_enqueue_refuses_a_kind_no_connector_delivers(procore_env: ProcoreEnv) -> None:
    link = await linked(procore_env)
    with pytest.raises(Unprocessable, match=r"No connector delivers 'acc\.issue\.create'"):
        await enqueue(
            procore_env, link, shift(link.projects[0], link.people[0]), subject="s", kind="acc.issue.create"
        )
    assert await rows(procore_env) == []
