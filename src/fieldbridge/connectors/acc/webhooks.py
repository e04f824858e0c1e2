"""Registering APS webhooks for a connection: one signing secret per connection (the 3-legged
user's secret, `POST /webhooks/v1/tokens`, or `PUT /webhooks/v1/tokens/@me` when one is already
set) and one `autodesk.construction.issues` hook per tracked project (all its events), whose
callback is `/api/v1/webhooks/acc/<connection id>`. Only ACC project admins may create these
hooks; a refusal is reported and the 15-minute reconcile (`reconcile.py`) covers the gap."""

import secrets

from fieldbridge.connections.repository import ConnectionRepository
from fieldbridge.connectors.acc.client import AccClient
from fieldbridge.connectors.acc.errors import AccError, Rejected, raise_for
from fieldbridge.connectors.acc.provider import WEBHOOK_SYSTEM
from fieldbridge.kit.db import Database
from fieldbridge.kit.logging import get_logger

log = get_logger("fieldbridge.acc.webhooks")


def destination(base_url: str, connection_id: int) -> str:
    return f"{base_url.rstrip('/')}/api/v1/webhooks/acc/{connection_id}"


async def _save(db: Database, connection_id: int, **values: object) -> None:
    async with db.transaction() as session:
        connection = await ConnectionRepository.from_session(session).get_for_job(connection_id)
        if connection is not None:
            connection.config = {**connection.config, **values}


async def ensure_secret(db: Database, acc: AccClient) -> str:
    assert acc.config is not None
    if acc.config.webhook_secret:
        return acc.config.webhook_secret
    secret = secrets.token_urlsafe(32)
    response = await acc.send_raw("POST", "/webhooks/v1/tokens", json={"token": secret})
    if response.status_code in (400, 409):  # this user has a secret already: replace it
        await acc.request("PUT", "/webhooks/v1/tokens/@me", json={"token": secret})
    else:
        raise_for(response)
    await _save(db, acc.connection_id, webhook_secret=secret)
    acc.config.webhook_secret = secret
    return secret


async def ensure_hooks(db: Database, acc: AccClient, project_ids: list[str], base_url: str) -> list[str]:
    """Hooks for the projects that have none yet; returns the failures, worded for the admin."""
    assert acc.config is not None
    hooks = dict(acc.config.webhook_hooks)
    todo = [p for p in project_ids if p not in hooks]
    if not todo:
        return []
    await ensure_secret(db, acc)
    failures: list[str] = []
    for project_id in todo:
        body = {
            "callbackUrl": destination(base_url, acc.connection_id),
            "scope": {"project": project_id},
            "hookAttribute": {"fieldbridge_connection": acc.connection_id},
            "autoReactivateHook": True,
        }
        try:
            response = await acc.request("POST", f"/webhooks/v1/systems/{WEBHOOK_SYSTEM}/hooks", json=body)
        except Rejected as exc:
            failures.append(
                f"ACC issue webhooks could not be registered for project {project_id} ({exc.message}); "
                "only ACC project admins can. Status changes arrive with the reconcile instead."
            )
            continue
        except AccError as exc:
            failures.append(f"ACC webhooks for project {project_id}: {exc.message}")
            continue
        location = response.headers.get("location", "")
        try:
            hook_id = str(response.json().get("hookId") or location.rstrip("/").rsplit("/", 1)[-1])
        except ValueError:
            hook_id = location.rstrip("/").rsplit("/", 1)[-1]
        hooks[project_id] = hook_id or "registered"
    await _save(db, acc.connection_id, webhook_hooks=hooks)
    acc.config.webhook_hooks = hooks
    log.info("acc.webhooks_registered", connection_id=acc.connection_id, projects=len(hooks))
    return failures
