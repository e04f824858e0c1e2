"""Processing one recorded event (after the request that recorded it committed): the shared
dispatcher. It rules out echoes first -- an event whose remote id and version match a row the
ledger delivered is FieldBridge's own write coming back, marked `ignored_echo` and not applied
-- then calls the handler registered for (provider, resource), and records the outcome."""

from collections.abc import Sequence

from fieldbridge.connections.connector import ConnectorError, Registry, installed_registry
from fieldbridge.connections.repository import ConnectionRepository
from fieldbridge.delivery.repository import QueueRepository
from fieldbridge.inbound.handlers import Ignored, InboundContext, InboundHandlers, installed_handlers
from fieldbridge.inbound.models import InboundState
from fieldbridge.inbound.repository import InboundRepository
from fieldbridge.kit.clock import utcnow
from fieldbridge.kit.crypto import SecretBox
from fieldbridge.kit.db import Database
from fieldbridge.kit.http import HttpClients
from fieldbridge.kit.logging import get_logger

log = get_logger("fieldbridge.inbound")


async def _finish(
    db: Database, event_id: int, state: InboundState, outcome: str, error: str | None = None
) -> None:
    async with db.transaction() as session:
        row = await InboundRepository.from_session(session).get_for_job(event_id)
        if row is not None:
            row.state, row.outcome, row.error, row.processed_at = state, outcome[:300], error, utcnow()


async def process(
    db: Database,
    http: HttpClients,
    box: SecretBox,
    event_id: int,
    *,
    handlers: InboundHandlers | None = None,
    registry: Registry | None = None,
) -> InboundState | None:
    """Dispatch one event; its new state (None: gone or already processed)."""
    handlers = handlers or installed_handlers()
    registry = registry or installed_registry()
    async with db.transaction() as session:
        event = await InboundRepository.from_session(session).get_for_job(event_id)
        if event is None or event.state != InboundState.received:
            return None
        connection = await ConnectionRepository.from_session(session).get_for_job(event.connection_id)
        if connection is None:
            return None
        echo = None
        if event.remote_id and event.remote_version:
            echo = await QueueRepository.from_session(session).delivered_version(
                event.connection_id, event.remote_id, event.remote_version
            )
        session.expunge(event)
        session.expunge(connection)
    if echo is not None:
        await _finish(db, event_id, InboundState.ignored_echo, f"FieldBridge's own write (delivery {echo})")
        return InboundState.ignored_echo
    handler = handlers.handler(event.provider, event.resource)
    if handler is None:
        reason = f"no handler for {event.provider} {event.resource!r} events"
        await _finish(db, event_id, InboundState.ignored, reason)
        return InboundState.ignored
    ctx = InboundContext(db=db, http=http, box=box, connection=connection, registry=registry)
    try:
        result = await handler(ctx, event)
    except ConnectorError as exc:
        await _finish(db, event_id, InboundState.failed, "failed", exc.message)
        return InboundState.failed
    except Exception as exc:  # logged with context; the event stays visible as failed
        log.exception("inbound.handler_failed", event_id=event_id, resource=event.resource)
        await _finish(db, event_id, InboundState.failed, "failed", f"unexpected error: {type(exc).__name__}")
        return InboundState.failed
    if isinstance(result, Ignored):
        await _finish(db, event_id, InboundState.ignored, result.reason)
        return InboundState.ignored
    await _finish(db, event_id, InboundState.applied, result)
    return InboundState.applied


async def process_all(db: Database, http: HttpClients, box: SecretBox, event_ids: Sequence[int]) -> None:
    """The receiver's after-commit task: every new event of one request, in order."""
    for event_id in event_ids:
        await process(db, http, box, event_id)
