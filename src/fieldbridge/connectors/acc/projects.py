"""ACC's `project_sync` capability: mirror the hub's projects into sites' `projects` table (so
a safety site maps to an ACC project exactly as to a Procore one), learn the hub's region, and
for each tracked project check its Safety setup (the issue subtype) and register its issue
webhook. Data Management lists projects as `b.<id>`; FieldBridge keeps the ACC id (no `b.`),
which is what the Issues and Forms APIs take."""

from typing import Any

from sqlalchemy import select

from fieldbridge.connections.connector import SyncOutcome, SyncRequest
from fieldbridge.connections.models import Connection
from fieldbridge.connections.repository import ConnectionRepository
from fieldbridge.connectors.acc import setup as safety
from fieldbridge.connectors.acc.client import AccClient
from fieldbridge.connectors.acc.connect import hubs_of
from fieldbridge.connectors.acc.errors import AccError, NotPermitted, ReconnectRequired, RemoteNotFound
from fieldbridge.connectors.acc.provider import Region, acc_id, dm_id
from fieldbridge.connectors.acc.reconcile import reconcile
from fieldbridge.connectors.acc.webhooks import ensure_hooks
from fieldbridge.kit.clock import utcnow
from fieldbridge.kit.crypto import SecretBox
from fieldbridge.kit.db import Database
from fieldbridge.kit.http import HttpClients
from fieldbridge.kit.logging import get_logger
from fieldbridge.sites import availability
from fieldbridge.sites.models import Project, SyncState
from fieldbridge.sites.repository import SitesRepository

log = get_logger("fieldbridge.acc.projects")
STEPS = ("safety issue type",)
INACTIVE = {"inactive", "archived", "suspended"}


def project_fields(item: dict[str, Any]) -> dict[str, Any]:
    attributes = item.get("attributes") or {}
    data = (attributes.get("extension") or {}).get("data") or {}
    status = str(attributes.get("status") or data.get("status") or "active").lower()
    return {
        "name": str(attributes.get("name") or item["id"])[:300],
        "project_number": (str(data["projectNumber"])[:100] if data.get("projectNumber") else None),
        "stage": (str(data["projectType"])[:100] if data.get("projectType") else None),
        "active": status not in INACTIVE,
    }


class AccProjectSync:
    steps: tuple[str, ...] = STEPS

    async def sync(
        self, db: Database, http: HttpClients, box: SecretBox, connection: Connection, request: SyncRequest
    ) -> SyncOutcome:
        result = SyncOutcome()
        if connection.external_account_id is None:
            raise AccError("Pick the ACC account (hub) of this connection first.")
        async with AccClient(db, http, box, connection.id) as acc:
            try:
                if request.discover:
                    await self.discover(db, acc, connection)
                tracked = await self._tracked(db, connection.id, request.project_ids)
                for project in tracked:
                    try:
                        await self._project(db, acc, project)
                        result.projects_synced += 1
                    except ReconnectRequired:
                        raise
                    except AccError as exc:
                        result.failures.append(f"{project.name}: {exc.message}")
                        await self._finish(db, project.id, exc.message)
                    if request.on_project is not None:
                        request.on_project(project.id)
                if request.discover:
                    await reconcile(db, http, box, acc)
                if request.base_url and tracked:
                    result.failures += await ensure_hooks(
                        db, acc, [p.external_id for p in tracked], request.base_url
                    )
            finally:
                result.requests = acc.requests_sent
        return result

    async def discover(self, db: Database, acc: AccClient, connection: Connection) -> None:
        hub = dm_id(str(connection.external_account_id))
        hubs = {h["dm_id"]: h for h in hubs_of(await acc.get_json("/project/v1/hubs"))}
        region = str(hubs.get(hub, {}).get("region") or "")
        items = await acc.dm_list(f"/project/v1/hubs/{hub}/projects")
        started = utcnow()
        async with db.transaction() as session:
            repo = SitesRepository.from_session(session)
            known = await repo.by_external(Project, connection_id=connection.id)
            listed: set[str] = set()
            for item in items:
                ext = acc_id(str(item["id"]))
                listed.add(ext)
                row = known.get(ext)
                if row is None:
                    row = Project(
                        company_id=connection.company_id,
                        connection_id=connection.id,
                        external_id=ext,
                        name="",
                    )
                    row.sync_state, row.sync_progress = SyncState.off, {}
                    await repo.add(row)
                fields = project_fields(item)
                active = fields.pop("active")
                for key, value in fields.items():
                    setattr(row, key, value)
                await availability.set_state(session, row, active=active, permitted=True, removed=False)
            for ext, row in known.items():
                if ext not in listed and not row.removed:
                    await availability.set_state(session, row, removed=True)
            stored = await ConnectionRepository.from_session(session).get_for_job(connection.id)
            if stored is not None:
                values: dict[str, Any] = {"projects_synced_through": started.isoformat()}
                if region in Region.__members__:
                    values["region"] = region
                stored.config = {**stored.config, **values}
                stored.last_success_at = utcnow()
        if region in Region.__members__:
            acc.use_region(Region(region))

    async def _tracked(self, db: Database, connection_id: int, ids: Any) -> list[Project]:
        async with db.transaction() as session:
            repo = SitesRepository.from_session(session)
            if ids is None:
                rows = list(await repo.tracked_projects(connection_id))
            else:
                found = await session.scalars(
                    select(Project).where(Project.connection_id == connection_id, Project.id.in_(list(ids)))
                )
                rows = list(found.all())
            for row in rows:
                session.expunge(row)
            return list(rows)

    async def _project(self, db: Database, acc: AccClient, project: Project) -> None:
        safety.forget(acc.connection_id, project.external_id)
        await safety.cached(acc.get_json, acc.connection_id, project.external_id)
        await self._finish(db, project.id, None)

    async def _finish(self, db: Database, project_id: int, error: str | None) -> None:
        async with db.transaction() as session:
            row = await SitesRepository.from_session(session).project_for_job(project_id)
            if row is not None:
                row.sync_state = SyncState.failed if error else SyncState.synced
                row.sync_error = error
                row.sync_progress = {"safety issue type": "failed" if error else "done"}
                if error is None:
                    row.last_synced_at = utcnow()

    async def project_state(
        self, db: Database, http: HttpClients, box: SecretBox, connection: Connection, remote_project_id: str
    ) -> dict[str, bool]:
        hub = dm_id(str(connection.external_account_id))
        async with AccClient(db, http, box, connection.id) as acc:
            try:
                body = await acc.get_json(f"/project/v1/hubs/{hub}/projects/{dm_id(remote_project_id)}")
            except (NotPermitted, RemoteNotFound):
                return {"permitted": False}
        item = body.get("data") if isinstance(body, dict) else None
        return {
            "active": project_fields(item)["active"] if isinstance(item, dict) else True,
            "permitted": True,
        }

    async def cost_code(
        self,
        db: Database,
        http: HttpClients,
        box: SecretBox,
        connection: Connection,
        remote_project_id: str,
        remote_id: str,
    ) -> dict[str, Any] | None:
        return None  # ACC has no cost codes in FieldBridge's mirror
