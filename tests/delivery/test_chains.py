"""A change waits behind its refused create and says so; one Retry sends the chain; rows
refused for one reason go again together once the cause is fixed."""

from sqlalchemy import select

from fieldbridge.delivery.models import Delivery
from tests.delivery.helpers import UPDATE, enqueue, linked, make_due, run, shift
from tests.factories import bearer, sign_in_browser
from tests.procore_fixtures import ProcoreEnv


async def _statuses(env: ProcoreEnv, *ids: int) -> list[str]:
    async with env.db.transaction() as session:
        rows = {r.id: r.status for r in await session.scalars(select(Delivery).where(Delivery.id.in_(ids)))}
    return [rows[i] for i in ids]


async def _timecard_tool(env: ProcoreEnv, project_id: int, *, on: bool) -> None:
    """Procore's admin turns the project's Timecard tool off (FieldBridge is refused) or on."""
    disabled = [] if on else ["timecards"]
    answer = await env.sandbox.post(f"/_sandbox/projects/{project_id}", json={"tools_disabled": disabled})
    assert answer.status_code == 200, answer.text


async def test_a_change_waits_behind_its_rejected_create_says_so_and_one_retry_sends_both(
    procore_env: ProcoreEnv,
) -> None:
    link = await linked(procore_env)
    auth = bearer(link.tenant.api_key)
    project = link.projects[0]
    await _timecard_tool(procore_env, project, on=False)  # a refusal a person must fix
    payload = {**shift(project, link.people[0]), "labels": {"project": "Old Mill Lofts"}}
    create = await enqueue(procore_env, link, payload, subject="clock_shift:abc")
    await run(procore_env, link)
    change = {"project_id": project, "changes": {"hours": "9"}}
    update = await enqueue(procore_env, link, change, subject="clock_shift:abc", kind=UPDATE)
    await run(procore_env, link)
    assert await _statuses(procore_env, create, update) == ["rejected", "pending"]

    await sign_in_browser(procore_env.client, link.tenant.support.email)
    log = (await procore_env.client.get("/export-log")).text
    assert (
        f'Waiting for <a href="/export-log/{create}">#{create}</a>, rejected: The Procore user '
        "FieldBridge connects as has no Timecard permission in Old Mill Lofts" in log
    )
    detail = (await procore_env.client.get(f"/export-log/{update}")).text
    assert "Retry sends it and this row again, in order." in detail
    assert '<section class="card" id="chain">' in detail
    assert "due now" not in detail, "a waiting row is not due: it goes after the refused one"

    # The cause is fixed in Procore; one Retry (from the waiting row) sends the whole chain.
    await _timecard_tool(procore_env, project, on=True)
    retried = await procore_env.client.post(f"/api/v1/deliveries/{update}/retry-chain", headers=auth)
    assert retried.status_code == 200, retried.text
    assert [r["id"] for r in retried.json()] == [create]
    await run(procore_env, link)
    await make_due(procore_env)
    await run(procore_env, link)
    assert await _statuses(procore_env, create, update) == ["delivered", "delivered"]
    entries = (await procore_env.sandbox.get("/_sandbox/records/timecard_entries")).json()
    landed = [e for e in entries if str(e.get("origin_data", "")).startswith(f"fieldbridge:{create}:")]
    assert [e["hours"] for e in landed] in (["9"], ["9.0"], [9.0], [9])

    again = await procore_env.client.post(f"/api/v1/deliveries/{update}/retry-chain", headers=auth)
    assert again.status_code == 409
    assert again.json()["error"]["message"].startswith("Nothing to retry")


async def test_rows_rejected_for_one_reason_go_again_together(procore_env: ProcoreEnv) -> None:
    link = await linked(procore_env)
    auth = bearer(link.tenant.api_key)
    await _timecard_tool(procore_env, link.projects[0], on=False)
    ids = [
        await enqueue(procore_env, link, shift(link.projects[0], link.people[n]), subject=f"s:{n}")
        for n in range(3)
    ]
    other = await enqueue(procore_env, link, shift(link.projects[1], 1), subject="s:other")
    await run(procore_env, link)
    assert await _statuses(procore_env, *ids, other) == ["rejected"] * 4
    detail = (await procore_env.client.get(f"/api/v1/deliveries/{ids[0]}", headers=auth)).json()

    await sign_in_browser(procore_env.client, link.tenant.support.email)
    csrf = await sign_in_browser(procore_env.client, link.tenant.support.email)
    page = (await procore_env.client.get("/export-log")).text
    assert "Retry all 3" in page
    assert "Retry all 1" in page
    posted = await procore_env.client.post(
        "/export-log/retry-rejected", data={"csrf_token": csrf, "reason": detail["reason"]}
    )
    assert posted.status_code == 303
    assert "Queued+3+rejected+rows" in posted.headers["location"]
    assert await _statuses(procore_env, *ids, other) == ["pending", "pending", "pending", "rejected"]

    none = await procore_env.client.post(
        "/api/v1/deliveries/retry-rejected", json={"reason": detail["reason"]}, headers=auth
    )
    assert none.json() == {"retried": 0}
    empty = await procore_env.client.post(
        "/api/v1/deliveries/retry-rejected", json={"reason": ""}, headers=auth
    )
    assert empty.status_code == 422
    assert empty.json()["error"]["code"] == "invalid_request"


async def test_a_row_held_by_the_rate_budget_says_so_with_a_next_try_in_the_future(
    procore_env: ProcoreEnv,
) -> None:
    from datetime import timedelta

    from fieldbridge.delivery.models import RateBudget
    from fieldbridge.kit.clock import utcnow

    link = await linked(procore_env)
    row = await enqueue(procore_env, link, shift(link.projects[0], link.people[0]), subject="s:paced")
    now = utcnow()
    async with procore_env.db.transaction() as session:
        held = await session.get(Delivery, row)
        assert held is not None
        held.status, held.next_attempt_at = (
            "retrying",
            now - timedelta(minutes=5),
        )  # put back, never due-dated
        session.add(
            RateBudget(
                connection_id=link.connection_id,
                limit=3600,
                remaining=0,
                reset_epoch=int((now + timedelta(minutes=20)).timestamp()),
                not_before_ms=0,
            )
        )
    await sign_in_browser(procore_env.client, link.tenant.support.email)
    detail = (await procore_env.client.get(f"/export-log/{row}")).text
    assert "Paced: this connection&#39;s Procore request budget is spent" in detail
    shown = detail.split('id="attempts"')[1].split("</dd>")[0]
    assert "next try <time" in shown
    stamp = shown.split('datetime="')[1].split('"')[0]
    from datetime import datetime

    assert datetime.fromisoformat(stamp) > now, "the next try is never in the past"
