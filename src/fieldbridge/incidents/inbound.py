"""Incidents to the linked platforms, inbound half: edits made on the platform come back.

A webhook about an incident (or one of its records, e.g. an injury) is read back through the
connector's `incident_pull` flow, which answers in FieldBridge's field names, and each two-way
field (`sync.OWNERS`) is compared three ways: the platform's value now ("theirs"), FieldBridge's
("ours") and the value both last agreed on (`IncidentRemote.synced`, "base"):

- theirs == base, or theirs == ours: nothing to apply. Our own writes coming back end here
  (the values are what we sent), so an echo never writes back.
- only the platform changed it: a platform-owned field is applied; a FieldBridge-owned one is
  kept and the platform's value is recorded as a conflict (shown on the incident).
- both changed it: the owner's value stands and the conflict is recorded with both values.

Applied fields are platform-owned ones, which never alter what FieldBridge sends (the sync
digest leaves them out), so applying them enqueues nothing. `reconcile` lists the records
changed since the last pass, for webhooks that never arrived.
"""

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fieldbridge.connections.connector import Registry
from fieldbridge.connections.incident_pull import RemoteIncident
from fieldbridge.connections.models import Connection
from fieldbridge.connections.repository import ConnectionRepository
from fieldbridge.inbound.handlers import Ignored, InboundContext, InboundHandlers
from fieldbridge.inbound.models import InboundEvent
from fieldbridge.incidents import events
from fieldbridge.incidents.models import IncidentConflict, IncidentPullCursor, IncidentRemote
from fieldbridge.incidents.repository import IncidentRepository
from fieldbridge.incidents.sync import FIELDBRIDGE, OWNERS, REMOTE, TEXT_FIELDS, two_way_values
from fieldbridge.kit.clock import utcnow
from fieldbridge.kit.crypto import SecretBox
from fieldbridge.kit.db import Database
from fieldbridge.kit.http import HttpClients
from fieldbridge.kit.logging import get_logger

log = get_logger("fieldbridge.incidents.inbound")
_MISSING = object()
# The reconcile pass looks this far behind its last start, so a change stamped during a pass
# (or by a clock a little behind ours) is still listed once more; re-reading is harmless.
OVERLAP = timedelta(minutes=2)
# A first pass looks back this far.
FIRST_LOOK_BACK = timedelta(days=1)


def register(handlers: InboundHandlers, registry: Registry) -> None:
    """One handler for every resource a connector's incident flow reads (e.g. Procore's
    "Incidents" and "Injuries"); no provider is named here."""
    for provider in registry.specs:
        flow = registry.incident_pull(provider)
        for resource in flow.resources if flow is not None else ():
            handlers.register((provider, resource), incident_changed)


async def incident_changed(ctx: InboundContext, event: InboundEvent) -> str | Ignored:
    flow = ctx.registry.incident_pull(ctx.connection.provider)
    if flow is None or event.remote_id is None or event.remote_project_id is None:
        return Ignored("not about a record of a project")
    async with ctx.db.transaction() as session:
        known = await session.scalar(
            select(IncidentRemote.id).where(
                IncidentRemote.connection_id == ctx.connection.id,
                IncidentRemote.remote_project_id == event.remote_project_id,
            )
        )
    if known is None:
        return Ignored("no incident of FieldBridge's in this project")
    remote = await flow.read_incident(
        ctx.db, ctx.http, ctx.box, ctx.connection, event.remote_project_id, event.resource, event.remote_id
    )
    if remote is None:
        return Ignored("the record is gone on the platform; FieldBridge's record is kept")
    async with ctx.db.transaction() as session:
        return await apply_remote(session, ctx.connection, remote)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _set(incident: Any, field: str, value: Any) -> None:
    setattr(incident, "remote_status" if field == "status" else field, value)


async def apply_remote(
    session: AsyncSession, connection: Connection, remote: RemoteIncident
) -> str | Ignored:
    """Apply what the platform holds now to the incident it was delivered from (see module)."""
    row = await session.scalar(
        select(IncidentRemote).where(
            IncidentRemote.connection_id == connection.id, IncidentRemote.remote_id == remote.remote_id
        )
    )
    if row is None:
        return Ignored(f"record {remote.remote_id} is not one FieldBridge sent")
    incident = await IncidentRepository.from_session(session).lock(row.company_id, row.incident_id)
    if incident is None:
        return Ignored("the incident is gone")
    before = events.state(incident)
    ours = two_way_values(incident)
    base: dict[str, Any] = dict(row.synced)
    applied: list[str] = []
    conflicts: list[str] = []
    now = utcnow()
    for field, value in remote.fields.items():
        if field not in OWNERS:
            continue
        theirs = "" if value is None and field in TEXT_FIELDS else value  # our text columns hold ""
        was = base.get(field, _MISSING)
        mine = ours[field]
        if theirs in (was, mine):
            base[field] = theirs
            continue
        we_changed = was is not _MISSING and mine != was
        if OWNERS[field] == REMOTE:
            _set(incident, field, theirs)
            applied.append(field)
        if OWNERS[field] == FIELDBRIDGE or we_changed:
            session.add(
                IncidentConflict(
                    company_id=incident.company_id,
                    incident_id=incident.id,
                    connection_id=connection.id,
                    field=field,
                    ours=_text(mine),
                    theirs=_text(theirs),
                    kept=REMOTE if OWNERS[field] == REMOTE else FIELDBRIDGE,
                    detected_at=now,
                )
            )
            conflicts.append(field)
        base[field] = theirs
    row.synced = base
    row.remote_version = remote.version or row.remote_version
    row.pulled_at = now
    if not applied and not conflicts:
        return Ignored(
            "echo or no change: the platform holds what FieldBridge last sent or applied "
            f"(version {remote.version})"
        )
    if applied:
        await session.flush()
        await events.updated(session, incident, before)
    parts = [f"applied {', '.join(applied)}"] if applied else []
    parts += [f"conflict on {', '.join(conflicts)}"] if conflicts else []
    return f"incident {incident.id}: " + "; ".join(parts)


async def reconcile(db: Database, http: HttpClients, box: SecretBox, registry: Registry) -> dict[str, int]:
    """One pass: for every (connection, remote project) FieldBridge delivered incidents to,
    list the records changed since the last pass and apply them. Returns counts."""
    counts = {"projects": 0, "read": 0, "applied": 0}
    async with db.transaction() as session:
        pairs = (
            await session.execute(
                select(IncidentRemote.connection_id, IncidentRemote.remote_project_id)
                .where(IncidentRemote.remote_id.is_not(None))
                .distinct()
            )
        ).all()
    for connection_id, remote_project_id in pairs:
        try:
            counts = _add(
                counts, await _reconcile_one(db, http, box, registry, connection_id, remote_project_id)
            )
        except Exception:  # one project's failure must not stop the others; the next pass retries
            log.exception(
                "incidents.reconcile_failed", connection_id=connection_id, project=remote_project_id
            )
    return counts


def _add(a: Mapping[str, int], b: Mapping[str, int]) -> dict[str, int]:
    return {k: a.get(k, 0) + b.get(k, 0) for k in a}


async def _reconcile_one(
    db: Database,
    http: HttpClients,
    box: SecretBox,
    registry: Registry,
    connection_id: int,
    remote_project_id: str,
) -> dict[str, int]:
    started = utcnow()
    async with db.transaction() as session:
        connection = await ConnectionRepository.from_session(session).get_for_job(connection_id)
        if connection is None:
            return {}
        cursor = await session.scalar(
            select(IncidentPullCursor).where(
                IncidentPullCursor.connection_id == connection_id,
                IncidentPullCursor.remote_project_id == remote_project_id,
            )
        )
        since = cursor.changed_since if cursor is not None else started - FIRST_LOOK_BACK
        session.expunge(connection)
    flow = registry.incident_pull(connection.provider)
    if flow is None:
        return {}
    changed = await flow.list_changed_incidents(db, http, box, connection, remote_project_id, since)
    applied = 0
    for remote in changed:
        async with db.transaction() as session:
            if not isinstance(await apply_remote(session, connection, remote), Ignored):
                applied += 1
    async with db.transaction() as session:
        cursor = await session.scalar(
            select(IncidentPullCursor).where(
                IncidentPullCursor.connection_id == connection_id,
                IncidentPullCursor.remote_project_id == remote_project_id,
            )
        )
        if cursor is None:
            session.add(
                IncidentPullCursor(
                    connection_id=connection_id,
                    remote_project_id=remote_project_id,
                    changed_since=started - OVERLAP,
                )
            )
        else:
            cursor.changed_since = started - OVERLAP
    return {"projects": 1, "read": len(changed), "applied": applied}
