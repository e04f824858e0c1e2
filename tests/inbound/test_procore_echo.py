"""Echo suppression end to end with Procore: the runner keeps the delivered timecard entry's
`updated_at`; a webhook about that entry at that version is FieldBridge's own write."""

from sqlalchemy import select

from fieldbridge.connections.models import Connection
from fieldbridge.delivery.models import Delivery
from fieldbridge.delivery.states import Status
from fieldbridge.inbound.models import InboundEvent, InboundState
from fieldbridge.kit.crypto import token_digest
from tests.delivery.helpers import enqueue, linked, run, shift
from tests.procore_fixtures import ProcoreEnv


async def test_a_webhook_for_the_entry_we_wrote_is_an_echo_and_a_later_edit_is_not(
    procore_env: ProcoreEnv,
) -> None:
    env = procore_env
    link = await linked(env)
    await enqueue(env, link, shift(link.projects[0], link.people[0]), subject="s:1")
    await run(env, link)
    async with env.db.transaction() as session:
        (row,) = (await session.scalars(select(Delivery))).all()
        connection = await session.get(Connection, link.connection_id)
        assert connection is not None
        connection.config = {**connection.config, "webhook_token_digest": token_digest("hook-secret")}
    assert row.status == Status.delivered
    assert row.remote_record is not None
    assert row.remote_version == row.remote_record["updated_at"]  # kept by the runner
    url = f"/api/v1/webhooks/procore/{link.connection_id}"
    headers = {"Authorization": "Bearer hook-secret"}
    event = {
        "resource_name": "Timecard Entries",
        "event_type": "create",
        "resource_id": row.remote_id,
        "project_id": link.projects[0],
    }
    ours = {**event, "ulid": "01JECHO0000000000000000001", "updated_at": row.remote_version}
    theirs = {**event, "ulid": "01JECHO0000000000000000002", "updated_at": "2099-01-01T00:00:00Z"}
    for body in (ours, theirs):
        answer = await env.client.post(url, json=body, headers=headers)
        assert answer.json() == {"status": "accepted"}, answer.text
    async with env.db.transaction() as session:
        echo, edit = (await session.scalars(select(InboundEvent).order_by(InboundEvent.id))).all()
    assert echo.state == InboundState.ignored_echo
    assert (echo.provider, echo.remote_id) == ("procore", str(row.remote_id))
    assert edit.state == InboundState.ignored  # no domain handles timecard entries (yet)
    assert edit.outcome == "no handler for procore 'Timecard Entries' events"
