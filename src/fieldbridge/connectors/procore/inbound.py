"""Procore webhooks as inbound events: authenticate by the per-connection secret header
(Procore signs nothing; `webhooks.ensure_webhooks` stores the secret's digest), parse the
v2.0/v3.0/v4.0 payload, de-duplicate by `ulid`. The generic receiver (`inbound/`) records
what this returns and dispatches it to the handlers the domains registered."""

from collections.abc import Mapping, Sequence

from pydantic import BaseModel, ValidationError

from fieldbridge.connections.connector import InboundSpec, NotAuthentic, ParsedEvent
from fieldbridge.connections.models import Connection
from fieldbridge.kit.crypto import constant_time_equal, token_digest
from fieldbridge.kit.errors import BadRequest
from fieldbridge.kit.inputs import load_json


class ProcoreEvent(BaseModel):
    """Procore's payload (ids may be strings in v4.0; they are kept as text)."""

    ulid: str | None = None
    id: str | int | None = None
    resource_name: str | None = None
    resource_type: str | None = None
    event_type: str | None = None
    reason: str | None = None
    resource_id: str | int | None = None
    project_id: str | int | None = None
    company_id: str | int | None = None
    updated_at: str | None = None  # not in today's payloads; used for echo suppression when present


def _text(value: str | int | None) -> str | None:
    return None if value is None or value == "" else str(value)[:64]


def verify(headers: Mapping[str, str], body: bytes, connection: Connection) -> Sequence[ParsedEvent]:
    expected = connection.config.get("webhook_token_digest")
    scheme, _, secret = headers.get("authorization", "").partition(" ")
    if (
        not expected
        or scheme.lower() != "bearer"
        or not constant_time_equal(token_digest(secret.strip()), str(expected))
    ):
        raise NotAuthentic("wrong or missing webhook secret")
    try:
        data = load_json(body or b"{}")
    except ValueError as exc:
        raise BadRequest("The webhook body is not a Procore event.") from exc
    return [parse(data)]


def parse(data: object) -> ParsedEvent:
    """One Procore webhook payload (a request body, or an event in the hook's delivery log)."""
    try:
        event = ProcoreEvent.model_validate(data)
    except ValidationError as exc:
        raise BadRequest("The webhook body is not a Procore event.") from exc
    ulid = event.ulid or (str(event.id) if event.id is not None else None)
    if not ulid:
        raise BadRequest("The webhook event has no ulid or id.")
    return ParsedEvent(
        dedupe_key=ulid,
        resource=event.resource_name or event.resource_type or "",
        event_type=(event.event_type or event.reason or "update").lower(),
        remote_id=_text(event.resource_id),
        remote_project_id=_text(event.project_id),
        remote_version=event.updated_at,
        payload=event.model_dump(exclude_none=True),
    )


INBOUND = InboundSpec(verify=verify)
