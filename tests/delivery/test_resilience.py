"""Parking and resume on reconnect, pacing under a low rate limit, crashed runners, secrets."""

import json
from datetime import timedelta

import pytest
from sqlalchemy import update

from fieldbridge.connections.models import Connection, ConnectionStatus
from fieldbridge.connectors.procore.config import ProcoreSecrets
from fieldbridge.delivery.models import Delivery
from fieldbridge.delivery.repository import QueueRepository
from fieldbridge.delivery.states import Status
from fieldbridge.kit.clock import utcnow
from fieldbridge.kit.crypto import SecretBox
from tests.delivery.helpers import (
    attempts,
    enqueue,
    faults,
    linked,
    make_due,
    remote_entries,
    rows,
    run,
    shift,
)
from tests.factories import bearer
from tests.procore_fixtures import ProcoreEnv


async def _connection(env: ProcoreEnv, connection_id: int) -> Connection:
    async with env.db.sessionmaker() as session:
        connection = await session.get(Connection, connection_id)
        assert connection is not None
        return connection


async def _reconnect(env: ProcoreEnv, link_api_key: str, connection_id: int) -> None:
    auth = bearer(link_api_key)
    started = await env.client.post(f"/api/v1/connections/{connection_id}/reconnect", headers=auth)
    assert started.status_code == 200, started.text
    answer = await env.authorize(started.json()["authorize_url"])
    done = await env.client.get("/api/v1/connections/procore/callback", params=answer, headers=auth)
    assert done.status_code == 200, done.text


async def test_rows_park_while_reconnect_is_needed_and_resume_after(procore_env: ProcoreEnv) -> None:
    link = await linked(procore_env)
    for n in range(2):
        await enqueue(procore_env, link, shift(link.projects[0], link.people[n]), subject=f"s:{n}")
    assert (await procore_env.sandbox.post("/_sandbox/revoke_all")).status_code == 200
    report = await run(procore_env, link)
    assert report.parked
    assert {r.status for r in await rows(procore_env)} == {Status.parked}
    connection = await _connection(procore_env, link.connection_id)
    assert connection.status == ConnectionStatus.needs_reconnect
    # Work enqueued meanwhile parks without a call to Procore.
    await enqueue(procore_env, link, shift(link.projects[1], link.people[0]), subject="s:late")
    await run(procore_env, link)
    parked = await rows(procore_env)
    assert {r.status for r in parked} == {Status.parked}
    assert all("reconnect" in (r.reason or "").lower() for r in parked)

    await _reconnect(procore_env, link.tenant.api_key, link.connection_id)
    report = await run(procore_env, link)
    assert report.outcomes == {"delivered": 3}
    assert len(await remote_entries(procore_env)) == 3


async def test_runner_paces_itself_under_a_low_rate_limit(procore_env: ProcoreEnv) -> None:
    link = await linked(procore_env)
    limits = {"spike": 4, "spike_window_seconds": 1.0}
    assert (await procore_env.sandbox.put("/_sandbox/rate_limits", json=limits)).status_code == 200
    for n, project in enumerate(link.projects[:7]):
        await enqueue(procore_env, link, shift(project, link.people[n]), subject=f"s:{n}")
    report = await run(procore_env, link)
    assert report.outcomes == {"delivered": 7}
    requests = (await procore_env.sandbox.get("/_sandbox/requests")).json()["requests"]
    assert sum(r["count"] for r in requests if r["status"] == 429) == 0
    sent = [a for a in await attempts(procore_env) if a.rate_limit]
    assert sent
    assert all("x-rate-limit-remaining" in (a.rate_limit or {}) for a in sent)


async def test_a_crashed_runners_rows_return_and_are_checked_first(procore_env: ProcoreEnv) -> None:
    link = await linked(procore_env)
    for n in range(2):
        await enqueue(procore_env, link, shift(link.projects[0], link.people[n]), subject=f"s:{n}")
    async with procore_env.db.transaction() as session:
        claimed = await QueueRepository.from_session(session).claim_batch(
            link.connection_id,
            "dead-runner",
            utcnow(),
            timedelta(seconds=30),
            {"procore.timecard.create": 25},
        )
        assert len(claimed) == 2
    await run(procore_env, link)  # the lease has not expired: nothing to do
    assert {r.status for r in await rows(procore_env)} == {Status.running}
    async with procore_env.db.transaction() as session:
        await session.execute(update(Delivery).values(lease_expires_at=utcnow() - timedelta(seconds=1)))
    await run(procore_env, link)
    done = await rows(procore_env)
    assert {r.status for r in done} == {Status.delivered}
    lookups = await procore_env.count("GET", "/rest/v1.0/companies/{company_id}/timecard_entries")
    assert lookups == 1
    assert len(await remote_entries(procore_env)) == 2


async def test_no_token_reaches_attempt_rows_or_logs(
    procore_env: ProcoreEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    link = await linked(procore_env)
    for n in range(3):
        await enqueue(procore_env, link, shift(link.projects[0], link.people[n]), subject=f"s:{n}")
    await faults(procore_env, error_next=1)
    await run(procore_env, link)
    await make_due(procore_env)
    await faults(procore_env, drop_next=1)
    await run(procore_env, link)
    await make_due(procore_env)
    await run(procore_env, link)
    connection = await _connection(procore_env, link.connection_id)
    secrets = ProcoreSecrets.open(SecretBox(procore_env.settings.secret), connection.sealed_credentials)
    assert secrets.access_token is not None
    assert secrets.refresh_token is not None
    stored = json.dumps(
        [[a.request, a.response, a.rate_limit, a.error, a.runner] for a in await attempts(procore_env)]
        + [[r.payload, r.remote_record, r.reason] for r in await rows(procore_env)],
        default=str,
    )
    logs = capsys.readouterr()
    for secret in (
        secrets.access_token.get_secret_value(),
        secrets.refresh_token.get_secret_value(),
        secrets.client_secret.get_secret_value(),
    ):
        assert secret not in stored
        assert secret not in logs.out + logs.err
    assert "Bearer" not in stored
    assert len(await attempts(procore_env)) >= 3
