"""Seam 3 for echo: Echo posts signed note events to FieldBridge's receiver; they are
verified by the connector, recorded once, dispatched to the ("echo", "notes") handler, and
Echo's event about FieldBridge's own note is recognised as an echo."""

import json
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import select

from fieldbridge.connections.models import Connection
from fieldbridge.delivery.models import Delivery
from fieldbridge.delivery.runner import drain
from fieldbridge.delivery.service import enqueue
from fieldbridge.inbound.models import InboundEvent, InboundState
from fieldbridge.kit.db import Database
from fieldbridge.settings import Settings
from tests.connectors.echo import inbound
from tests.connectors.echo.conftest import Linked, http_clients
from tests.connectors.echo.provider import sign


@pytest.fixture(autouse=True)
def applied() -> Iterator[list[tuple[int, str | None, str | None]]]:
    inbound.APPLIED.clear()
    yield inbound.APPLIED
    inbound.APPLIED.clear()


async def _subscribe(db: Database, linked: Linked) -> str:
    """The admin subscribes FieldBridge's receiver in Echo's console and keeps the signing
    secret on the connection."""
    url = f"/api/v1/webhooks/echo/{linked.connection_id}"
    secret = linked.server.subscribe(url, "acct_7Hq2")
    async with db.transaction() as session:
        row = await session.get(Connection, linked.connection_id)
        assert row is not None
        row.config = {**row.config, "webhook_secret": secret}
    return url


async def _events(db: Database, connection_id: int) -> list[InboundEvent]:
    async with db.sessionmaker() as session:
        rows = await session.scalars(
            select(InboundEvent).where(InboundEvent.connection_id == connection_id).order_by(InboundEvent.id)
        )
        return list(rows)


async def _deliver_note(db: Database, linked: Linked, settings: Settings) -> Delivery:
    async with db.transaction() as session:
        row = await enqueue(
            session,
            company_id=linked.company_id,
            connection_id=linked.connection_id,
            kind="echo.note.create",
            subject="note:pour",
            payload={"title": "Pour complete"},
        )
        delivery_id = row.id
    await drain(db, linked.connection_id, http=http_clients(), settings=settings)
    async with db.sessionmaker() as session:
        delivered = await session.get(Delivery, delivery_id)
        assert delivered is not None
        return delivered


async def test_echos_signed_events_are_recorded_once_dispatched_and_our_own_note_is_an_echo(
    linked: Linked,
    client: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    applied: list[tuple[int, str | None, str | None]],
) -> None:
    await _subscribe(db, linked)
    ours = await _deliver_note(db, linked, settings)
    assert ours.remote_id is not None

    # Echo tells FieldBridge about the note FieldBridge just created: same id, same updated_at.
    (answer,) = await linked.server.send_webhooks(client)
    assert (answer.status_code, answer.json()) == (200, {"status": "accepted"})
    (echo,) = await _events(db, linked.connection_id)
    assert (echo.provider, echo.resource, echo.event_type) == ("echo", "notes", "note.created")
    assert (echo.remote_id, echo.remote_version) == (ours.remote_id, ours.remote_version)
    assert echo.state == InboundState.ignored_echo
    assert echo.outcome == f"FieldBridge's own write (delivery {ours.id})"
    assert applied == []

    # A person edits the note at Echo: a real change, applied by the echo handler.
    token = next(iter(linked.server.access_tokens))
    async with httpx.AsyncClient(base_url=linked.url) as person:
        edited = await person.patch(
            f"/v1/notes/{ours.remote_id}",
            json={"title": "Pour complete, cylinders taken"},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert edited.status_code == 200
    (answer,) = await linked.server.send_webhooks(client, redeliver=True)
    assert answer.json() == {"status": "accepted"}
    (again,) = await linked.server.send_webhooks(client)  # Echo retries: the same event id
    assert again.json() == {"status": "duplicate"}
    _, change = await _events(db, linked.connection_id)
    assert (change.event_type, change.state) == ("note.updated", InboundState.applied)
    version = edited.json()["updated_at"]
    assert change.outcome == f"note {ours.remote_id} at {version}: Pour complete, cylinders taken"
    assert applied == [(linked.connection_id, ours.remote_id, version)]


async def test_a_wrong_or_stale_signature_is_the_generic_404(
    linked: Linked, client: httpx.AsyncClient, db: Database
) -> None:
    url = await _subscribe(db, linked)
    event = {"id": "evt_1", "resource": "notes", "type": "note.updated", "record_id": "note_01JX"}
    body = json.dumps(event).encode()
    secret = linked.server.subscriptions[0].secret
    for header in (sign(body, "whsec_guess"), sign(body, secret, timestamp=1_000_000_000), "t=1,v1=00", ""):
        answer = await client.post(url, content=body, headers={"Echo-Signature": header})
        assert answer.status_code == 404, header
        assert answer.json()["error"]["code"] == "unknown_webhook_destination"
    unreadable = b'{"resource": "notes"}'
    answer = await client.post(url, content=unreadable, headers={"Echo-Signature": sign(unreadable, secret)})
    assert answer.status_code == 400
    assert "not an Echo event" in answer.json()["error"]["message"]
    assert await _events(db, linked.connection_id) == []
