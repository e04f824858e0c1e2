"""Procore's side of "webhooks first, reconcile as the safety net" (`sites.reconcile` decides
when; this module decides how, as cheaply as Procore allows). Every call draws from the
connection's budget as `Priority.reconcile`.

- `check_webhooks`: the hook's delivery log after a cursor (`page_start`), one request per
  100 deliveries; a failed or discarded delivery is a problem, and its event (the log carries
  the payload) is handed back to be processed as if it had arrived. With `hooks`, also that
  the hook still exists and carries every trigger FieldBridge registered (one request).
- The sweep, cheapest lists first: company projects with `filters[updated_at]` (the existing
  discovery: company list, permitted ids view=ids, changed details), company people, company
  categories, then per tracked project its cost codes (no `updated_at` filter exists there),
  and only where the project uses them its locations (`filters[updated_at]`) and budget rows.
- What a unit changes in FieldBridge's rows is counted: nothing announced it (a webhook
  would have brought it already), so it is a change "found only by reconcile".
"""

from sqlalchemy import func, select

from fieldbridge.connections.connector import ParsedEvent, Reconciled, ReconcileUnit, WebhookCheck
from fieldbridge.connections.models import Connection
from fieldbridge.connections.repository import ConnectionRepository
from fieldbridge.connectors.procore import mapping
from fieldbridge.connectors.procore.client import ProcoreClient
from fieldbridge.connectors.procore.inbound import parse
from fieldbridge.connectors.procore.provider import PROCORE
from fieldbridge.connectors.procore.sync import COUNTED, ProjectSync, Target
from fieldbridge.connectors.procore.webhooks import EVENT_TYPES
from fieldbridge.kit.changes import counting
from fieldbridge.kit.crypto import SecretBox
from fieldbridge.kit.db import Database
from fieldbridge.kit.errors import FieldBridgeError
from fieldbridge.kit.http import HttpClients
from fieldbridge.kit.ratelimit import Priority
from fieldbridge.sites import people as people_sync
from fieldbridge.sites.models import Location
from fieldbridge.sites.repository import SitesRepository

FAILED = ("failed", "discarded")
PAGE = 100


def _client(db: Database, http: HttpClients, box: SecretBox, connection: Connection) -> ProcoreClient:
    return ProcoreClient.paced(db, http, box, connection.id, Priority.reconcile)


async def check_webhooks(
    db: Database, http: HttpClients, box: SecretBox, connection: Connection, cursor: int, hooks: bool
) -> WebhookCheck:
    hook_id = connection.config.get("webhook_hook_id")
    check = WebhookCheck(cursor)
    if hook_id is None:
        check.problem = "No Procore webhooks are registered for this connection."
        return check
    company = {"company_id": connection.external_account_id}
    async with _client(db, http, box, connection) as procore:
        try:
            if hooks:
                triggers = await procore.get_json(f"/rest/v1.0/webhooks/hooks/{hook_id}/triggers", company)
                have = {(t.get("resource_name"), str(t.get("event_type", "")).lower()) for t in triggers}
                wanted = {(r, e) for r in PROCORE.webhook_resources for e in EVENT_TYPES}
                if wanted - have:
                    check.problem = f"{len(wanted - have)} webhook trigger(s) are missing in Procore."
            failed = 0
            while True:
                page = await procore.get_json(
                    f"/rest/v1.0/webhooks/hooks/{hook_id}/deliveries",
                    {**company, "page_start": check.cursor, "page_size": PAGE},
                )
                for delivery in page:
                    check.cursor = max(check.cursor, int(delivery["id"]))
                    if delivery.get("outcome") in FAILED:
                        failed += 1
                        missed = _event(delivery.get("event"))
                        if missed is not None:
                            check.missed.append(missed)
                if len(page) < PAGE:
                    break
        finally:
            check.requests = procore.requests_sent
    if failed:
        check.problem = f"{failed} webhook deliveries failed in Procore's delivery log."
    return check


def _event(payload: object) -> ParsedEvent | None:
    try:
        return parse(payload)
    except FieldBridgeError:
        return None


async def forget_hook(db: Database, connection_id: int) -> None:
    """The hook is gone in Procore: the next sync registers a new one."""
    async with db.transaction() as session:
        row = await ConnectionRepository.from_session(session).lock_for_job(connection_id)
        if row is not None:
            config = {
                k: v for k, v in row.config.items() if k not in ("webhook_hook_id", "webhook_token_digest")
            }
            row.config = config


async def units(db: Database, connection: Connection) -> list[ReconcileUnit]:
    out = [ReconcileUnit("projects", 3), ReconcileUnit("people", 1), ReconcileUnit("categories", 1)]
    async with db.sessionmaker() as session:
        tracked = await SitesRepository.from_session(session).tracked_projects(connection.id)
        ids = [p.id for p in tracked]
        with_locations = (
            set(
                (
                    await session.scalars(
                        select(Location.project_id)
                        .where(Location.project_id.in_(ids))
                        .group_by(Location.project_id)
                        .having(func.count() > 0)
                    )
                ).all()
            )
            if ids
            else set()
        )
    for project in tracked:
        cost = 1 + (project.id in with_locations) + (project.budget_view_id is not None)
        out.append(ReconcileUnit(f"project:{project.id}", cost))
    return out


async def reconcile(
    db: Database, http: HttpClients, box: SecretBox, connection: Connection, unit: ReconcileUnit
) -> Reconciled:
    target = Target.of(connection)
    result = Reconciled()
    async with _client(db, http, box, connection) as procore:
        try:
            run = ProjectSync(db, procore, target, found=result.found_what)
            if unit.key == "projects":
                await run.discover()
            elif unit.key == "people":
                await run.people()
            elif unit.key == "categories":
                await run.categories()
            elif unit.key.startswith("project:"):
                await _project(db, run, int(unit.key.partition(":")[2]))
        finally:
            result.requests = procore.requests_sent
    result.found = len(result.found_what)
    return result


async def _project(db: Database, run: ProjectSync, project_id: int) -> None:
    async with db.sessionmaker() as session:
        row = await SitesRepository.from_session(session).project_for_job(project_id)
        if row is None or row.excluded_reason is not None or not row.sync_enabled:
            return
        ext, since, view_id = row.external_id, row.synced_through, row.budget_view_id
        uses_locations = bool(
            await session.scalar(select(func.count()).where(Location.project_id == project_id))
        )
    await run.reconcile_project(project_id, ext, since, view_id, uses_locations)


async def person(
    db: Database, http: HttpClients, box: SecretBox, connection: Connection, remote_id: str
) -> bool:
    """Read one person back (a `filters[id][]` page of the company list) and apply it."""
    target = Target.of(connection)
    async with ProcoreClient.paced(db, http, box, connection.id, Priority.change) as procore:
        items = await procore.get_json(
            f"/rest/v1.0/companies/{target.procore_company_id}/people", {"filters[id][]": remote_id}
        )
    found: list[str] = []
    async with db.transaction() as session:
        with counting(session, COUNTED, found):
            await people_sync.apply_some(
                session,
                target.company_id,
                target.connection_id,
                {mapping.pid(i["id"]): mapping.person_fields(i) for i in items},
            )
            await session.flush()
    return bool(found)
