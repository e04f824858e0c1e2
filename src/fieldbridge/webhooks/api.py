"""Outbound webhooks under /api/v1: endpoints, secret rotation, test events, the message log
(resend one, recover failed since a time), and the event catalogue. The JSON Schemas
themselves are served at /schemas/events/<type>.json (`webhooks.web`)."""

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, status
from pydantic import BaseModel

from fieldbridge.accounts.auth import Principal, require
from fieldbridge.accounts.scopes import Scope
from fieldbridge.delivery.models import Delivery, DeliveryAttempt
from fieldbridge.kit.deps import SessionDep, SettingsDep
from fieldbridge.kit.pagination import Page, PageParams, page_params
from fieldbridge.webhooks import service
from fieldbridge.webhooks.events import EVENTS
from fieldbridge.webhooks.repository import WebhookRepository
from fieldbridge.webhooks.schemas import (
    AttemptOut,
    EndpointIn,
    EndpointOut,
    EndpointPatch,
    MessageDetail,
    MessageOut,
    QueuedOut,
    RecoverIn,
    RotateIn,
    SecretOut,
    TestEventIn,
)

router = APIRouter(tags=["webhooks"])
ConnectionsRead = Annotated[Principal, Depends(require(Scope.connections_read), scope="function")]
ConnectionsWrite = Annotated[Principal, Depends(require(Scope.connections_write), scope="function")]
DeliveriesRead = Annotated[Principal, Depends(require(Scope.deliveries_read), scope="function")]
DeliveriesWrite = Annotated[Principal, Depends(require(Scope.deliveries_write), scope="function")]


class EndpointCreated(BaseModel):
    endpoint: EndpointOut
    secret: str


class EventTypeOut(BaseModel):
    type: str
    version: int
    description: str
    schema_url: str
    example: dict[str, Any]


def excerpt(attempt: DeliveryAttempt) -> str | None:
    """The receiver's answer, cut to 300 characters (the attempt row keeps a redacted copy)."""
    body = (attempt.response or {}).get("body")
    if body is None:
        return None
    text = body if isinstance(body, str) else json.dumps(body)
    return text[:300]


def message_out(row: Delivery, endpoint_ids: dict[int, int]) -> MessageOut:
    return MessageOut(
        id=row.id,
        message_id=row.idempotency_key,
        endpoint_id=endpoint_ids.get(row.connection_id, 0),
        event_type=str(row.payload.get("type", "")),
        status=row.status,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at if row.status in ("pending", "retrying") else None,
        reason=row.reason,
        created_at=row.created_at,
        delivered_at=row.delivered_at,
    )


async def endpoint_ids(session: SessionDep, company_id: int) -> dict[int, int]:
    return {c.id: e.id for e, c in await service.list_endpoints(session, company_id)}


@router.get("/webhooks/event-types", response_model=list[EventTypeOut], summary="Webhook event types")
async def event_types(principal: ConnectionsRead, settings: SettingsDep) -> list[EventTypeOut]:
    base = settings.base_url.rstrip("/")
    return [
        EventTypeOut(
            type=e.name,
            version=e.version,
            description=e.description,
            schema_url=f"{base}/schemas/events/{e.name}.json",
            example=e.example,
        )
        for e in EVENTS.values()
    ]


@router.get("/webhooks/endpoints", response_model=list[EndpointOut], summary="List webhook endpoints")
async def list_endpoints(
    principal: ConnectionsRead, session: SessionDep, settings: SettingsDep
) -> list[EndpointOut]:
    rows = await service.list_endpoints(session, principal.company_id)
    return [service.out(e, c, settings) for e, c in rows]


@router.post(
    "/webhooks/endpoints",
    response_model=EndpointCreated,
    status_code=status.HTTP_201_CREATED,
    summary="Add a webhook endpoint",
)
async def create_endpoint(
    body: EndpointIn, principal: ConnectionsWrite, session: SessionDep, settings: SettingsDep
) -> EndpointCreated:
    """The URL is checked now (https, a public address after DNS resolution) and again at
    every send. The signing secret is in the answer, once."""
    endpoint, connection, secret = await service.create(session, settings, principal.company_id, body)
    return EndpointCreated(endpoint=service.out(endpoint, connection, settings), secret=secret)


@router.get("/webhooks/endpoints/{endpoint_id}", response_model=EndpointOut, summary="One webhook endpoint")
async def get_endpoint(
    endpoint_id: int, principal: ConnectionsRead, session: SessionDep, settings: SettingsDep
) -> EndpointOut:
    endpoint, connection = await service.get(session, principal.company_id, endpoint_id)
    return service.out(endpoint, connection, settings)


@router.patch("/webhooks/endpoints/{endpoint_id}", response_model=EndpointOut, summary="Change an endpoint")
async def update_endpoint(
    endpoint_id: int,
    body: EndpointPatch,
    principal: ConnectionsWrite,
    session: SessionDep,
    settings: SettingsDep,
) -> EndpointOut:
    endpoint, connection = await service.update(session, settings, principal.company_id, endpoint_id, body)
    return service.out(endpoint, connection, settings)


@router.delete(
    "/webhooks/endpoints/{endpoint_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete an endpoint"
)
async def delete_endpoint(endpoint_id: int, principal: ConnectionsWrite, session: SessionDep) -> None:
    await service.delete(session, principal.company_id, endpoint_id)


@router.post(
    "/webhooks/endpoints/{endpoint_id}/rotate-secret", response_model=SecretOut, summary="Rotate the secret"
)
async def rotate_secret(
    endpoint_id: int, body: RotateIn, principal: ConnectionsWrite, session: SessionDep, settings: SettingsDep
) -> SecretOut:
    """Messages carry both signatures until `previous_valid_until`."""
    return await service.rotate(session, settings, principal.company_id, endpoint_id, body.overlap_hours)


@router.post(
    "/webhooks/endpoints/{endpoint_id}/test",
    response_model=MessageOut,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Send a test event",
)
async def send_test(
    endpoint_id: int,
    body: TestEventIn,
    principal: DeliveriesWrite,
    session: SessionDep,
    settings: SettingsDep,
) -> MessageOut:
    row = await service.send_test(session, settings, principal.company_id, endpoint_id, body.event_type)
    return message_out(row, await endpoint_ids(session, principal.company_id))


@router.post(
    "/webhooks/endpoints/{endpoint_id}/recover",
    response_model=QueuedOut,
    summary="Resend every message that failed since a time",
)
async def recover(
    endpoint_id: int, body: RecoverIn, principal: DeliveriesWrite, session: SessionDep
) -> QueuedOut:
    return QueuedOut(queued=await service.recover(session, principal.company_id, endpoint_id, body.since))


@router.get("/webhooks/messages", response_model=Page[MessageOut], summary="Webhook message log")
async def list_messages(
    principal: DeliveriesRead,
    session: SessionDep,
    paging: Annotated[PageParams, Depends(page_params)],
    endpoint_id: Annotated[int | None, Query(ge=1)] = None,
) -> Page[MessageOut]:
    ids = await endpoint_ids(session, principal.company_id)
    connection_id = None
    if endpoint_id is not None:
        _e, connection = await service.get(session, principal.company_id, endpoint_id)
        connection_id = connection.id
    rows, total = await WebhookRepository.from_session(session).messages(
        principal.company_id, connection_id, offset=paging.offset, limit=paging.per_page
    )
    return Page(
        items=[message_out(r, ids) for r in rows], total=total, page=paging.page, per_page=paging.per_page
    )


async def detail(session: SessionDep, company_id: int, row: Delivery) -> MessageDetail:
    attempts = await WebhookRepository.from_session(session).attempts(company_id, row.id)
    return MessageDetail(
        **message_out(row, await endpoint_ids(session, company_id)).model_dump(),
        payload=row.payload,
        attempt_log=[
            AttemptOut.model_validate(a).model_copy(update={"response_excerpt": excerpt(a)}) for a in attempts
        ],
    )


@router.get("/webhooks/messages/{delivery_id}", response_model=MessageDetail, summary="One message")
async def get_message(delivery_id: int, principal: DeliveriesRead, session: SessionDep) -> MessageDetail:
    return await detail(
        session, principal.company_id, await service.message(session, principal.company_id, delivery_id)
    )


@router.post(
    "/webhooks/messages/{delivery_id}/resend",
    response_model=MessageOut,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Resend one message (same webhook-id)",
)
async def resend(delivery_id: int, principal: DeliveriesWrite, session: SessionDep) -> MessageOut:
    row = await service.resend(session, principal.company_id, delivery_id)
    return message_out(row, await endpoint_ids(session, principal.company_id))
