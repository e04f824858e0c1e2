"""Inbound events the sites domain acts on, registered by (provider, resource) in
`register` (called once at start by `fieldbridge.wiring`).

- A project event is read back at once through the connector's project sync flow (active,
  still visible to the app), so an inactive project leaves the picker and time held for a
  reachable one is released.
- A cost code event renames (or archives) its milestones at once.
- A person event reads that person back (one request) when the connector can.
- Any other change to a tracked project (categories, sub jobs, budget lines, locations)
  queues that project for an incremental re-sync.
Lost events are recovered by the webhook checks and the reconcile sweep (`sites.reconcile`).
"""

from fieldbridge.inbound.handlers import Ignored, InboundContext, InboundHandlers
from fieldbridge.inbound.models import InboundEvent
from fieldbridge.sites import availability, reconcile, tasks
from fieldbridge.sites.models import CostCode, LineItemType, Milestone, Project, SyncState
from fieldbridge.sites.repository import SitesRepository

# The records project sync mirrors, as Procore names them in its webhooks.
PROCORE_RECORDS = ("Line Item Types", "Sub Jobs", "Budget Line Items", "Locations")


def register(handlers: InboundHandlers) -> None:
    handlers.register(("procore", "Projects"), project_changed)
    handlers.register(("procore", "Cost Codes"), cost_code_changed)
    handlers.register(("procore", "Company Users"), person_changed)
    for resource in PROCORE_RECORDS:
        handlers.register(("procore", resource), record_changed)


def _id(value: str | None) -> str | None:
    return value or None


async def _tracked(ctx: InboundContext, event: InboundEvent) -> Project | None:
    """The event's project when it is tracked and reachable (detached), else None."""
    remote_project_id = _id(event.remote_project_id)
    if remote_project_id is None:
        return None
    async with ctx.db.transaction() as session:
        project = await SitesRepository.from_session(session).project_by_external(
            ctx.connection.id, remote_project_id
        )
        if project is None or not project.sync_enabled or project.excluded_reason:
            return None
        session.expunge(project)
        return project


async def _queue(ctx: InboundContext, project_id: int) -> None:
    async with ctx.db.transaction() as session:
        row = await SitesRepository.from_session(session).project_for_job(project_id)
        if row is not None:
            row.sync_state = SyncState.queued
    await tasks.sync_queued(ctx.db, ctx.http, ctx.box)


async def project_changed(ctx: InboundContext, event: InboundEvent) -> str | Ignored:
    remote_project_id = _id(event.remote_project_id) or _id(event.remote_id)
    known = None
    if remote_project_id is not None:
        async with ctx.db.transaction() as session:
            known = await SitesRepository.from_session(session).project_by_external(
                ctx.connection.id, remote_project_id
            )
    if known is None or remote_project_id is None or event.event_type == "delete":
        tracked = await _tracked(ctx, event)
        if tracked is None:
            return Ignored("projects change: picked up by the next sync")
        await _queue(ctx, tracked.id)
        return "project queued for re-sync"
    flow = ctx.registry.project_sync(ctx.connection.provider)
    state = await flow.project_state(ctx.db, ctx.http, ctx.box, ctx.connection, remote_project_id)
    async with ctx.db.transaction() as session:
        row = await SitesRepository.from_session(session).project_for_job(known.id)
        if row is None:
            return Ignored("project gone")
        was_sendable = availability.sendable(row)
        released = await availability.set_state(session, row, **state)
        # Its fields came with the read; a re-sync only when it is reachable again.
        queued = availability.sendable(row) and not was_sendable
        if queued:
            row.sync_state = SyncState.queued
        why = row.excluded_reason or "reachable"
    if queued:
        await tasks.sync_queued(ctx.db, ctx.http, ctx.box)
    return f"project {why}; {released} held export(s) released" + ("; queued for re-sync" if queued else "")


async def record_changed(ctx: InboundContext, event: InboundEvent) -> str | Ignored:
    project = await _tracked(ctx, event)
    if project is None:
        return Ignored("not a tracked project: ignored")
    await _queue(ctx, project.id)
    return "project queued for re-sync"


async def person_changed(ctx: InboundContext, event: InboundEvent) -> str | Ignored:
    flow = reconcile.reconcile_flow(ctx.connection)
    if flow is None or not event.remote_id:
        return Ignored("people change: picked up by the next sync")
    changed = await flow.person(ctx.db, ctx.http, ctx.box, ctx.connection, event.remote_id)
    return "person updated" if changed else "person unchanged"


async def cost_code_changed(ctx: InboundContext, event: InboundEvent) -> str | Ignored:
    project = await _tracked(ctx, event)
    if project is None:
        return Ignored("not a tracked project: ignored")
    code_id = _id(event.remote_id)
    if code_id is None:
        await _queue(ctx, project.id)
        return "project queued for re-sync"
    fields = None
    if event.event_type != "delete":
        flow = ctx.registry.project_sync(ctx.connection.provider)
        fields = await flow.cost_code(ctx.db, ctx.http, ctx.box, ctx.connection, project.external_id, code_id)
    async with ctx.db.transaction() as session:
        repo = SitesRepository.from_session(session)
        row = (await repo.by_external(CostCode, project_id=project.id)).get(code_id)
        milestones = [
            m
            for m in await repo.milestones(project.company_id, [project.id], visible_only=False)
            if m.cost_code_external_id == code_id
        ]
        if fields is None:
            if row is not None:
                row.archived = True
            _archive(milestones, "The cost code was deleted in Procore.")
            return "cost code archived"
        if row is not None:
            for key, value in fields.items():
                setattr(row, key, value)
            row.archived = False
            cats = await repo.by_external(LineItemType, connection_id=project.connection_id)
            for m in milestones:
                cat = cats.get(m.line_item_type_external_id)
                label = f"{row.full_code or row.code or ''} {row.name}".strip()
                m.name = f"{label} · {cat.name if cat else f'Category {m.line_item_type_external_id}'}"[:400]
            return f"cost code renamed: {row.name}"
    await _queue(ctx, project.id)
    return "new cost code: project queued"


def _archive(milestones: list[Milestone], reason: str) -> None:
    for m in milestones:
        if not m.archived:
            m.archived, m.archived_reason = True, reason
