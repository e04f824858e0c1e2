"""Clock-out keeps "does any endpoint take shift.closed?" in the process cache: an endpoint
added after clock-outs found none gets the very next one."""

from sqlalchemy import func, select

from fieldbridge.delivery.models import Delivery
from tests.procore_fixtures import ProcoreEnv
from tests.timekeeping.helpers import API, Crew, clock_in_body, clock_out_body, crew_env
from tests.webhooks.helpers import Receiver, create_endpoint


async def _work(env: ProcoreEnv, crew: Crew, worker: int) -> None:
    body = clock_in_body(crew, [worker])
    response = await env.client.post(f"{API}/clock-in", json=body, headers=crew.auth(worker))
    assert response.status_code == 201, response.text
    out = clock_out_body([response.json()["shifts"][0]["shift_id"]])
    assert (await env.client.post(f"{API}/clock-out", json=out, headers=crew.auth(worker))).status_code == 200


async def _messages(env: ProcoreEnv) -> int:
    async with env.db.sessionmaker() as session:
        count = await session.scalar(select(func.count()).where(Delivery.kind == "webhook.deliver"))
    return int(count or 0)


async def test_an_endpoint_added_later_gets_the_next_shift_closed(
    procore_env: ProcoreEnv, receiver: Receiver
) -> None:
    env = procore_env
    crew = await crew_env(env)
    await _work(env, crew, crew.workers[0])  # nobody listens: that answer is cached now
    assert await _messages(env) == 0
    await create_endpoint(env.client, crew.tenant, receiver.url, event_types=["shift.closed"])
    await _work(env, crew, crew.workers[1])
    assert await _messages(env) == 1
