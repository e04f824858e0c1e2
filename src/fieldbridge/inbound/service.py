"""Receiving: the connector verifies and parses the request, each event is recorded once per
(connection, dedupe key). Takes a session and never commits; the route answers 2xx as soon as
the request's transaction commits, and processing (`tasks.process`) runs after that."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from fieldbridge.connections.connector import NotAuthentic, ParsedEvent, Registry
from fieldbridge.connections.models import Connection
from fieldbridge.connections.repository import ConnectionRepository
from fieldbridge.inbound.models import InboundState
from fieldbridge.inbound.repository import InboundRepository
from fieldbridge.kit.clock import utcnow
from fieldbridge.kit.errors import NotFound


@dataclass
class Received:
    new_ids: list[int] = field(default_factory=list)
    duplicates: int = 0


def _unknown() -> NotFound:
    # One answer for "no such provider/connection" and "wrong secret": existence is not revealed.
    return NotFound("Unknown webhook destination (or wrong secret).", code="unknown_webhook_destination")


async def receive(
    session: AsyncSession,
    registry: Registry,
    provider: str,
    connection_id: int,
    headers: Mapping[str, str],
    body: bytes,
) -> Received:
    spec = registry.specs.get(provider)
    inbound = spec.inbound if spec is not None else None
    connection = await ConnectionRepository.from_session(session).get_for_job(connection_id)
    if inbound is None or connection is None or connection.provider != provider:
        raise _unknown()
    try:
        events = inbound.verify({k.lower(): v for k, v in headers.items()}, body, connection)
    except NotAuthentic:
        raise _unknown() from None
    return await record(session, connection, events)


async def record(session: AsyncSession, connection: Connection, events: Sequence[ParsedEvent]) -> Received:
    """Record parsed events once per (connection, dedupe key): the receiver's path, and events a
    connector recovers from the platform's own delivery log (a webhook that never arrived)."""
    provider = connection.provider
    repo = InboundRepository.from_session(session)
    received = Received()
    now = utcnow()
    for event in events:
        new_id = await repo.insert_new(
            {
                "company_id": connection.company_id,
                "connection_id": connection.id,
                "provider": provider,
                "resource": event.resource[:100],
                "event_type": event.event_type[:40],
                "remote_id": event.remote_id[:64] if event.remote_id else None,
                "remote_project_id": event.remote_project_id[:64] if event.remote_project_id else None,
                "remote_version": event.remote_version[:64] if event.remote_version else None,
                "dedupe_key": event.dedupe_key[:128],
                "received_at": now,
                "payload": dict(event.payload),
                "state": InboundState.received,
            }
        )
        if new_id is None:
            received.duplicates += 1
        else:
            received.new_ids.append(new_id)
    return received
