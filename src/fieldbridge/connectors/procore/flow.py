"""Procore's `project_sync` capability as the flow the sites domain calls through the registry
(`connections.connector.ProjectSyncFlow`): a sync run over one connection, and single records read
back when a webhook says they changed. Sites never imports this module."""

from typing import Any

from fieldbridge.connections.connector import (
    Reconciled,
    ReconcileUnit,
    SyncOutcome,
    SyncRequest,
    WebhookCheck,
)
from fieldbridge.connections.models import Connection
from fieldbridge.connectors.procore import mapping, reconcile
from fieldbridge.connectors.procore.client import ProcoreClient
from fieldbridge.connectors.procore.errors import (
    NotPermitted,
    ProcoreError,
    ReconnectRequired,
    Rejected,
    RemoteNotFound,
)
from fieldbridge.connectors.procore.sync import STEPS, ProjectSync, Target
from fieldbridge.connectors.procore.webhooks import ensure_webhooks
from fieldbridge.kit.crypto import SecretBox
from fieldbridge.kit.db import Database
from fieldbridge.kit.http import HttpClients
from fieldbridge.kit.logging import get_logger
from fieldbridge.kit.ratelimit import Priority
from fieldbridge.sites.repository import SitesRepository

log = get_logger("fieldbridge.procore.flow")


def _client(
    db: Database, http: HttpClients, box: SecretBox, connection_id: int, paced: bool, priority: Priority
) -> ProcoreClient:
    if paced:
        return ProcoreClient.paced(db, http, box, connection_id, priority)
    return ProcoreClient(db, http, box, connection_id)


class ProcoreProjectSync:
    """Discover a company's projects, sync the tracked ones, register webhooks; read back one
    project or cost code. Raises `ProcoreError` (a `ConnectorError`)."""

    steps: tuple[str, ...] = STEPS

    async def sync(
        self, db: Database, http: HttpClients, box: SecretBox, connection: Connection, request: SyncRequest
    ) -> SyncOutcome:
        result = SyncOutcome()
        target = Target.of(connection)
        async with _client(db, http, box, connection.id, request.paced, request.priority) as procore:
            try:
                run = ProjectSync(db, procore, target)
                if request.base_url:
                    try:
                        await ensure_webhooks(db, procore, target, request.base_url)
                    except Rejected as exc:  # e.g. no "Webhooks API" permission: the re-sync still covers
                        result.failures.append(
                            f"Procore webhooks could not be registered ({exc.message}); changes arrive "
                            "with the reconcile sweep instead (every 15 minutes at most)."
                        )
                if request.discover:
                    await run.discover(full=request.full)
                project_ids = request.project_ids
                if project_ids is None:
                    async with db.transaction() as session:
                        project_ids = [
                            p.id
                            for p in await SitesRepository.from_session(session).tracked_projects(
                                connection.id
                            )
                        ]
                for project_id in project_ids:
                    try:
                        await run.project(project_id, full=request.full)
                    except ReconnectRequired:
                        raise
                    except ProcoreError as exc:
                        log.warning("procore.project_sync_failed", project_id=project_id, error=exc.message)
                    if request.on_project is not None:
                        request.on_project(project_id)
                result.projects_synced = run.run.projects_synced
                result.failures += run.run.failures
            finally:
                result.requests = procore.requests_sent
        return result

    async def project_state(
        self, db: Database, http: HttpClients, box: SecretBox, connection: Connection, remote_project_id: str
    ) -> dict[str, bool]:
        async with ProcoreClient.paced(db, http, box, connection.id) as procore:
            try:
                item = await procore.get_json(
                    f"/rest/v1.0/projects/{remote_project_id}", {"company_id": connection.external_account_id}
                )
            except (NotPermitted, RemoteNotFound):
                return {"permitted": False}
        async with db.transaction() as session:  # a rename arrives with the same read
            row = await SitesRepository.from_session(session).project_by_external(
                connection.id, remote_project_id
            )
            if row is not None:
                for key, value in mapping.project_fields(item).items():
                    setattr(row, key, value)
        return {"active": bool(item.get("active", True)), "permitted": True}

    async def cost_code(
        self,
        db: Database,
        http: HttpClients,
        box: SecretBox,
        connection: Connection,
        remote_project_id: str,
        remote_id: str,
    ) -> dict[str, Any] | None:
        async with ProcoreClient.paced(db, http, box, connection.id) as procore:
            try:
                item = await procore.get_json(
                    f"/rest/v1.0/cost_codes/{remote_id}", {"project_id": remote_project_id}
                )
            except RemoteNotFound:
                return None
        return mapping.cost_code_fields(item)

    # -- webhooks first, reconcile as the safety net (`connections.connector.ReconcileFlow`) --
    async def check_webhooks(
        self,
        db: Database,
        http: HttpClients,
        box: SecretBox,
        connection: Connection,
        cursor: int,
        hooks: bool,
    ) -> WebhookCheck:
        try:
            return await reconcile.check_webhooks(db, http, box, connection, cursor, hooks)
        except RemoteNotFound:
            await reconcile.forget_hook(db, connection.id)
            return WebhookCheck(cursor, "The webhook hook is gone in Procore; it is registered again.")

    async def reconcile_units(self, db: Database, connection: Connection) -> list[ReconcileUnit]:
        return await reconcile.units(db, connection)

    async def reconcile(
        self, db: Database, http: HttpClients, box: SecretBox, connection: Connection, unit: ReconcileUnit
    ) -> Reconciled:
        return await reconcile.reconcile(db, http, box, connection, unit)

    async def person(
        self, db: Database, http: HttpClients, box: SecretBox, connection: Connection, remote_id: str
    ) -> bool:
        return await reconcile.person(db, http, box, connection, remote_id)
