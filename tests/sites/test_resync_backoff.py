"""A re-sync that keeps failing backs off (it used to retry on every 5 s scheduler poll)."""

from datetime import timedelta
from typing import Any

from fieldbridge.connections.models import Connection
from fieldbridge.kit.clock import utcnow
from fieldbridge.kit.db import Database
from fieldbridge.settings import Settings
from fieldbridge.sites.tasks import resync_backoff, resync_due
from tests.factories import create_tenant
from tests.procore_fixtures import ProcoreEnv
from tests.sites.outage import procore_down


async def _requests(env: ProcoreEnv) -> int:
    total: int = (await env.sandbox.get("/_sandbox/requests")).json()["total"]
    return total


def test_the_wait_doubles_from_30_seconds_up_to_the_interval() -> None:
    waits = [resync_backoff(n, 900).total_seconds() for n in range(1, 8)]
    assert waits == [30, 60, 120, 240, 480, 900, 900]


async def test_a_failing_reconcile_waits_before_trying_again_and_a_success_clears_the_wait(
    procore_env: ProcoreEnv, db: Database, settings: Settings
) -> None:
    """Procore connections reconcile instead of re-syncing every 15 minutes; a sweep unit that
    fails (Procore down) is tried again after 30 s, then a minute, not on every poll."""
    tenant = await create_tenant(db, settings)
    connection_id, _ = await procore_env.track(tenant, 1)
    await procore_env.sandbox.post("/_sandbox/webhooks/drain", json={"timeout": 5})
    await procore_down(procore_env)
    due = utcnow() + timedelta(minutes=16)
    assert await resync_due(db, procore_env.http, procore_env.box, now=due) == []
    state = await _state(db, connection_id)
    assert state["failures"] == 1
    assert not state["healthy"]  # the webhook check failed too
    # The next scheduler polls (5 s apart) leave Procore alone until the 30 s wait is over.
    before = await _requests(procore_env)
    for seconds in (5, 10, 25):
        await resync_due(db, procore_env.http, procore_env.box, now=due + timedelta(seconds=seconds))
    assert await _requests(procore_env) == before
    await resync_due(db, procore_env.http, procore_env.box, now=due + timedelta(seconds=31))
    assert await _requests(procore_env) > before
    assert (await _state(db, connection_id))["failures"] == 2  # the next wait is a minute
    # Procore is back: the next try after the wait succeeds and clears the count.
    await procore_down(procore_env, False)
    await resync_due(db, procore_env.http, procore_env.box, now=due + timedelta(seconds=95))
    state = await _state(db, connection_id)
    assert state["failures"] == 0
    assert state["unit"] == 1


async def _state(db: Database, connection_id: int) -> dict[str, Any]:
    async with db.sessionmaker() as session:
        connection = await session.get(Connection, connection_id, populate_existing=True)
        assert connection is not None
        state: dict[str, Any] = connection.config["reconcile"]
        return state
