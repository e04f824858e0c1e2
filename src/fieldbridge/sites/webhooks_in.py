"""Inbound Procore webhooks: authenticate by the per-connection secret header, parse, de-dup
by `ulid`, record. Processing happens after the request commits (`tasks.handle_webhook_event`)."""

from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from fieldbridge.connections.repository import ConnectionRepository
from fieldbridge.kit.clock import utcnow
from fieldbridge.kit.crypto import constant_time_equal, token_digest
from fieldbridge.kit.errors import BadRequest, NotFound
from fieldbridge.kit.inputs import load_json
from fieldbridge.kit.remote_ids import RemoteId
from fieldbridge.sites.models import WebhookEvent
from fieldbridge.sites.repository import SitesRepository


class ProcoreEvent(BaseModel):
    """Procore's v2.0/v3.0 payload. Ids arrive as numbers (strings in v4.0); FieldBridge keeps
    them as strings either way."""

    ulid: str | None = None
    id: str | int | None = None
    resource_name: str | None = None
    resource_type: str | None = None
    event_type: str | None = None
    reason: str | None = None
    resource_id: RemoteId | None = None
    project_id: RemoteId | None = None
    company_id: RemoteId | None = None


async def record(session: AsyncSession, connection_id: int, authorization: str, body: bytes) -> int | None:
    """The new event's id, or None for a duplicate delivery."""
    connection = await ConnectionRepository.from_session(session).get_for_job(connection_id)
    expected = connection.config.get("webhook_token_digest") if connection is not None else None
    scheme, _, secret = authorization.partition(" ")
    if (
        connection is None
        or not expected
        or scheme.lower() != "bearer"
        or not constant_time_equal(token_digest(secret.strip()), str(expected))
    ):
        # One answer for "no such connection" and "wrong secret": existence is not revealed.
        raise NotFound("Unknown webhook destination (or wrong secret).", code="unknown_webhook_destination")
    try:
        event = ProcoreEvent.model_validate(load_json(body or b"{}"))
    except (ValueError, ValidationError) as exc:
        raise BadRequest("The webhook body is not a Procore event.") from exc
    ulid = event.ulid or (str(event.id) if event.id is not None else None)
    if not ulid:
        raise BadRequest("The webhook event has no ulid or id.")
    repo = SitesRepository.from_session(session)
    if await repo.seen_event(connection_id, ulid):
        return None
    row = WebhookEvent(
        company_id=connection.company_id,
        connection_id=connection_id,
        ulid=ulid[:64],
        resource_name=(event.resource_name or event.resource_type or "")[:100],
        event_type=(event.event_type or event.reason or "update").lower()[:20],
        resource_id=event.resource_id,
        project_external_id=event.project_id,
        received_at=utcnow(),
    )
    try:
        async with session.begin_nested():
            await repo.add(row)
            await repo.flush()
    except IntegrityError:  # the same delivery raced in through another process
        return None
    return row.id
