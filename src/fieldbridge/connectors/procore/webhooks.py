"""Procore webhooks: register hooks + triggers per connection, and act on what arrives.

Registration: one company-scoped hook per connection (namespace `fieldbridge`) whose
destination is `/api/v1/webhooks/procore/<connection id>` with a per-connection secret in
`destination_headers.Authorization`, and a trigger per mirrored resource and event type.
Procore signs nothing, so the secret header is the authentication; only its digest is stored.

Arrival (`sites/webhooks_in.py` records it, de-duplicated by `ulid`): a cost code change is
applied at once (its milestones renamed or archived); a project change is read back at once
(active, still visible to the app), so an inactive project leaves the picker and time held
for a reachable one is released; any other change to a tracked project queues that project
for an incremental re-sync. Lost webhooks are covered by the scheduled
re-sync (`sites/tasks.py`).
"""

import secrets
from typing import Any

from fieldbridge.connections.repository import ConnectionRepository
from fieldbridge.connectors.procore import mapping
from fieldbridge.connectors.procore.client import ProcoreClient
from fieldbridge.connectors.procore.errors import NotPermitted, RemoteNotFound
from fieldbridge.connectors.procore.provider import PROCORE
from fieldbridge.connectors.procore.sync import Target
from fieldbridge.kit.crypto import token_digest
from fieldbridge.kit.db import Database
from fieldbridge.kit.logging import get_logger
from fieldbridge.sites import availability
from fieldbridge.sites.models import CostCode, LineItemType, Milestone, Project, SyncState, WebhookEvent
from fieldbridge.sites.repository import SitesRepository

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
            await procore.post_json(
                f"/rest/v1.0/webhooks/hooks/{hook_id}/triggers",
                {
                    "company_id": mapping.number(target.procore_company_id),
                    "api_version": PROCORE.webhook_api_version,
                    "trigger": {"resource_name": resource, "event_type": event_type},
                },
            )
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


async def _cost_code_changed(
    db: Database, procore: ProcoreClient, project: Project, code_id: str, event_type: str
) -> str:
    item: dict[str, Any] | None = None
    if event_type != "delete":
        try:
            item = await procore.get_json(
                f"/rest/v1.0/cost_codes/{code_id}", {"project_id": project.external_id}
            )
        except RemoteNotFound:
            item = None
    async with db.transaction() as session:
        repo = SitesRepository.from_session(session)
        codes = await repo.by_external(CostCode, project_id=project.id)
        row = codes.get(code_id)
        milestones = [
            m
            for m in await repo.milestones(project.company_id, [project.id], visible_only=False)
            if m.cost_code_external_id == code_id
        ]
        if item is None:
            if row is not None:
                row.archived = True
            _archive(milestones, "The cost code was deleted in Procore.")
            return "cost code archived"
        if row is None:
            return "new cost code: project queued"
        for key, value in mapping.cost_code_fields(item).items():
            setattr(row, key, value)
        row.archived = False
        cats = await repo.by_external(LineItemType, connection_id=project.connection_id)
        for m in milestones:
            cat = cats.get(m.line_item_type_external_id)
            label = f"{row.full_code or row.code or ''} {row.name}".strip()
            m.name = f"{label} · {cat.name if cat else f'Category {m.line_item_type_external_id}'}"[:400]
        return f"cost code renamed: {row.name}"


def _archive(milestones: list[Milestone], reason: str) -> None:
    for m in milestones:
        if not m.archived:
            m.archived, m.archived_reason = True, reason


async def _project_changed(db: Database, procore: ProcoreClient, project: Project) -> str:
    """Read the project back: is it active, can the app still see it? Applied at once."""
    state: dict[str, bool]
    async with db.transaction() as session:
        connection = await ConnectionRepository.from_session(session).get_for_job(project.connection_id)
        company = connection.external_account_id if connection is not None else None
    try:
        item = await procore.get_json(f"/rest/v1.0/projects/{project.external_id}", {"company_id": company})
        state = {"active": bool(item.get("active", True)), "permitted": True}
    except (NotPermitted, RemoteNotFound):
        state = {"permitted": False}
    async with db.transaction() as session:
        row = await SitesRepository.from_session(session).project_for_job(project.id)
        if row is None:
            return "project gone"
        released = await availability.set_state(session, row, **state)
        queued = availability.sendable(row)
        if queued:
            row.sync_state = SyncState.queued
        why = row.excluded_reason or "reachable"
    return f"project {why}; {released} held export(s) released" + ("; queued for re-sync" if queued else "")


async def process_event(db: Database, procore: ProcoreClient, event: WebhookEvent) -> str:
    """Apply one recorded webhook event; returns what was done (stored as its outcome)."""
    if event.resource_name == "Projects" and event.project_external_id is not None:
        async with db.transaction() as session:
            known = await SitesRepository.from_session(session).project_by_external(
                event.connection_id, event.project_external_id
            )
            if known is not None:
                session.expunge(known)
        if known is not None and event.event_type != "delete":
            return await _project_changed(db, procore, known)
    async with db.transaction() as session:
        repo = SitesRepository.from_session(session)
        project = (
            await repo.project_by_external(event.connection_id, event.project_external_id)
            if event.project_external_id
            else None
        )
        if project is None or not project.sync_enabled or project.excluded_reason:
            if event.resource_name == "Projects":
                return "projects change: picked up by the next sync"
            return "not a tracked project: ignored"
        if event.resource_name != "Cost Codes" or event.resource_id is None:
            project.sync_state = SyncState.queued
            return "project queued for re-sync"
    outcome = await _cost_code_changed(db, procore, project, event.resource_id, event.event_type)
    if outcome.startswith("new cost code"):
        async with db.transaction() as session:
            row = await SitesRepository.from_session(session).project_for_job(project.id)
            if row is not None:
                row.sync_state = SyncState.queued
    return outcome
