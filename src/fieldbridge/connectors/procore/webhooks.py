"""Procore webhooks: register hooks + triggers per connection, and act on what arrives.

Registration: one company-scoped hook per connection (namespace `fieldbridge`) whose
destination is `/api/v1/webhooks/procore/<connection id>` with a per-connection secret in
`destination_headers.Authorization`, and a trigger per mirrored resource and event type.
Procore signs nothing, so the secret header is the authentication; only its digest is stored.

Arrival: `inbound.py` verifies and parses (de-duplicated by `ulid`), the generic receiver
(`fieldbridge.inbound`) records and dispatches to the handlers sites registered
(`sites/inbound.py`) and incidents registered (`incidents/inbound.py`: Incidents,
Injuries). Lost webhooks: `reconcile.py` and `sites/reconcile.py` (project records), and the
incidents' own reconcile pass (`incidents/inbound.py`).
"""

import secrets

from fieldbridge.connections.repository import ConnectionRepository
from fieldbridge.connectors.procore import mapping
from fieldbridge.connectors.procore.client import ProcoreClient
from fieldbridge.connectors.procore.errors import Rejected
from fieldbridge.connectors.procore.provider import PROCORE
from fieldbridge.connectors.procore.sync import Target
from fieldbridge.kit.crypto import token_digest
from fieldbridge.kit.db import Database
from fieldbridge.kit.logging import get_logger

log = get_logger("fieldbridge.procore.webhooks")
NAMESPACE = "fieldbridge"
EVENT_TYPES = ("create", "update", "delete")


def destination(base_url: str, connection_id: int) -> str:
    return f"{base_url.rstrip('/')}/api/v1/webhooks/procore/{connection_id}"


async def ensure_webhooks(db: Database, procore: ProcoreClient, target: Target, base_url: str) -> int | None:
    """Register the connection's hook and triggers once; returns the hook id."""
    if target.config.webhook_hook_id is not None:
        return target.config.webhook_hook_id
    secret = secrets.token_urlsafe(32)
    hook = await procore.post_json(
        "/rest/v1.0/webhooks/hooks",
        {
            "company_id": mapping.number(target.procore_company_id),
            "hook": {
                "api_version": PROCORE.webhook_api_version,
                "namespace": NAMESPACE,
                "destination_url": destination(base_url, target.connection_id),
                "destination_headers": {"Authorization": f"Bearer {secret}"},
            },
        },
    )
    hook_id = int(hook["id"])
    for resource in PROCORE.webhook_resources:
        for event_type in EVENT_TYPES:
            try:
                await procore.post_json(
                    f"/rest/v1.0/webhooks/hooks/{hook_id}/triggers",
                    {
                        "company_id": mapping.number(target.procore_company_id),
                        "api_version": PROCORE.webhook_api_version,
                        "trigger": {"resource_name": resource, "event_type": event_type},
                    },
                )
            except Rejected as exc:
                if resource not in PROCORE.optional_webhook_resources:
                    raise
                log.warning("procore.webhook_trigger_refused", resource=resource, error=exc.message)
    async with db.transaction() as session:
        connection = await ConnectionRepository.from_session(session).get_for_job(target.connection_id)
        if connection is not None:
            connection.config = {
                **connection.config,
                "webhook_hook_id": hook_id,
                "webhook_token_digest": token_digest(secret),
            }
    target.config.webhook_hook_id = hook_id
    log.info("procore.webhooks_registered", connection_id=target.connection_id, hook_id=hook_id)
    return hook_id
