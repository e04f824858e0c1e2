"""A test connector that only receives: HMAC-SHA256 signed JSON events, one per request,
`{"id", "resource", "type", "record_id", "project_id", "updated_at"}`. It plugs into the
seams with one registry line and one handler line, as a real connector would."""

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager

import httpx

from fieldbridge.connections.models import Connection
from fieldbridge.connectors.base import ConnectorSpec, InboundSpec, NotAuthentic, Outbound, ParsedEvent
from fieldbridge.kit.errors import BadRequest

SECRET = "echo-secret"


def sign(body: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(headers: Mapping[str, str], body: bytes, connection: Connection) -> Sequence[ParsedEvent]:
    secret = str(connection.config.get("secret", ""))
    if not secret or not hmac.compare_digest(sign(body, secret), headers.get("x-echo-signature", "")):
        raise NotAuthentic("bad signature")
    try:
        event = json.loads(body)
        return [
            ParsedEvent(
                dedupe_key=str(event["id"]),
                resource=str(event["resource"]),
                event_type=str(event.get("type", "update")),
                remote_id=str(event["record_id"]) if event.get("record_id") is not None else None,
                remote_project_id=str(event["project_id"]) if event.get("project_id") is not None else None,
                remote_version=event.get("updated_at"),
                payload=event,
            )
        ]
    except (ValueError, KeyError, TypeError) as exc:
        raise BadRequest("The body is not an echo event.") from exc


def no_client(out: Outbound, connection: Connection) -> AbstractAsyncContextManager[httpx.AsyncClient]:
    raise NotImplementedError("the echo connector only receives")


def spec() -> ConnectorSpec:
    return ConnectorSpec(
        provider="echo", capabilities=frozenset(), open_client=no_client, inbound=InboundSpec(verify=verify)
    )
