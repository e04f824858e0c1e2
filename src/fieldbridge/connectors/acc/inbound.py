"""APS webhooks (`autodesk.construction.issues`) as inbound events, and the minimal handler
that applies an issue's status back to FieldBridge.

Verify: `x-adsk-signature` is `sha1hash=<hex HMAC-SHA1 of the raw body>` keyed with the secret
FieldBridge set (`POST /webhooks/v1/tokens`; `webhooks.py`); a `sha256hash=`/`sha256=` HMAC-SHA256
is accepted too. Parse: one event per callback, de-duplicated by (event, issue id, `updatedAt`),
`remote_version` = the issue's `updatedAt`, so the echo of FieldBridge's own create or update
(the ledger keeps the same `updatedAt`) is dropped by the generic dispatcher.

Apply (`issue_changed`, registered for ("acc", "issues") in `fieldbridge.wiring` until the
safety/incidents domains register their own): the ACC status, closure and who/when are recorded
on the ledger's latest delivered row of that issue (`remote_record.acc_status`, shown in the
export log), which is the one place FieldBridge links an ACC issue to its detection or incident.
"""

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select

from fieldbridge.connections.connector import InboundSpec, NotAuthentic, ParsedEvent
from fieldbridge.connections.models import Connection
from fieldbridge.connectors.acc.provider import NAME, acc_id
from fieldbridge.delivery.models import Delivery
from fieldbridge.delivery.states import Status
from fieldbridge.inbound.handlers import Ignored, InboundContext, InboundHandlers
from fieldbridge.inbound.models import InboundEvent
from fieldbridge.kit.errors import BadRequest
from fieldbridge.kit.inputs import load_json

RESOURCE = "issues"
KEPT = (
    "id",
    "displayId",
    "title",
    "status",
    "closedAt",
    "closedBy",
    "updatedAt",
    "updatedBy",
    "changedAttributes",
)


def signature_ok(header: str, body: bytes, secret: str) -> bool:
    scheme, sep, given = header.strip().partition("=")
    if not sep:
        scheme, given = "sha1hash", header.strip()
    algorithm = {"sha1hash": hashlib.sha1, "sha256hash": hashlib.sha256, "sha256": hashlib.sha256}.get(
        scheme.lower()
    )
    if algorithm is None or not given:
        return False
    expected = hmac.new(secret.encode(), body, algorithm).hexdigest()
    return hmac.compare_digest(expected, given.lower())


def event_name(raw: str) -> str:
    """`issue.updated-1.0` -> `issue.updated`."""
    return raw.rsplit("-", 1)[0] if "-" in raw else raw


def verify(headers: Mapping[str, str], body: bytes, connection: Connection) -> Sequence[ParsedEvent]:
    secret = str(connection.config.get("webhook_secret") or "")
    if not secret or not signature_ok(headers.get("x-adsk-signature", ""), body, secret):
        raise NotAuthentic("bad or missing x-adsk-signature")
    try:
        envelope = load_json(body or b"{}")
    except ValueError as exc:
        raise BadRequest("The webhook body is not JSON.") from exc
    if not isinstance(envelope, dict):
        raise BadRequest("The webhook body is not an APS callback.")
    hook = envelope.get("hook") if isinstance(envelope.get("hook"), dict) else {}
    payload = envelope.get("payload") if isinstance(envelope.get("payload"), dict) else envelope
    assert isinstance(hook, dict)
    assert isinstance(payload, dict)
    raw_event = str(hook.get("event") or envelope.get("event") or payload.get("event") or "")
    issue_id = payload.get("id") or payload.get("issueId")
    if not raw_event or not issue_id:
        raise BadRequest("The APS callback has no event or no issue id.")
    scope = hook.get("scope") if isinstance(hook.get("scope"), dict) else {}
    assert isinstance(scope, dict)
    project = payload.get("containerId") or payload.get("projectId") or scope.get("project")
    version = str(payload.get("updatedAt") or payload.get("createdAt") or "")
    kept: dict[str, Any] = {k: payload[k] for k in KEPT if k in payload}
    kept["event"] = raw_event
    return [
        ParsedEvent(
            dedupe_key=f"{event_name(raw_event)}:{issue_id}:{version}"[:128],
            resource=RESOURCE,
            event_type=event_name(raw_event),
            remote_id=str(issue_id)[:64],
            remote_project_id=acc_id(str(project))[:64] if project else None,
            remote_version=version[:64] or None,
            payload=kept,
        )
    ]


INBOUND = InboundSpec(verify=verify)


async def issue_changed(ctx: InboundContext, event: InboundEvent) -> str | Ignored:
    """Record ACC's status of an issue FieldBridge filed on the ledger row that filed it."""
    if event.event_type not in ("issue.created", "issue.updated", "issue.deleted", "issue.restored"):
        return Ignored(f"ACC {event.event_type!r} events change nothing here")
    status = "deleted" if event.event_type == "issue.deleted" else event.payload.get("status")
    async with ctx.db.transaction() as session:
        row = await session.scalar(
            select(Delivery)
            .where(
                Delivery.connection_id == ctx.connection.id,
                Delivery.remote_id == event.remote_id,
                Delivery.status == Status.delivered,
                Delivery.kind.in_(("acc.safety.observation", "acc.safety.incident")),
            )
            .order_by(Delivery.id.desc())
            .limit(1)
        )
        if row is None:
            return Ignored("not an issue FieldBridge filed")
        record = dict(row.remote_record or {})
        if record.get("acc_status") == status and record.get("acc_status_at") == event.remote_version:
            return Ignored("status already recorded")
        record.update(
            status=status,  # the issue's status now (the record's status as the detection page shows it)
            acc_status=status,
            acc_status_at=event.remote_version,
            acc_closed_at=event.payload.get("closedAt"),
        )
        row.remote_record = record
        subject = row.subject
    return f"{subject}: ACC status {status}"


def register(handlers: InboundHandlers) -> None:
    handlers.register((NAME, RESOURCE), issue_changed)
