"""Incident events for outbound webhooks (`webhooks.events`), emitted in the transaction of
the change:

- `incident.confirmed` once, when the incident is made: a person confirmed an injury detection
  (the review's confirm hook) or recorded the incident (admin page or API). `status` says
  where its OSHA record stands: `recordable`, or `confirmed` (recorded, not recordable (yet)).
- `incident.updated` on each later change that changed a stored field; `changed` names them
  (field names only, never values). `status` may then also be `lined_out` (a numbered case
  found not recordable).

The worker appears as a `Person`: the webhooks module drops `name` for endpoints not marked
internal, and a privacy case (1904.29(b)(7)) never carries the name, even to internal ones.
"""

from datetime import time
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from fieldbridge.incidents.models import Incident
from fieldbridge.incidents.osha import Outcome
from fieldbridge.incidents.repository import IncidentRepository
from fieldbridge.kit.zones import wall_instant
from fieldbridge.kit.zones import zone as zone_of
from fieldbridge.safety import events as safety_events
from fieldbridge.webhooks import service as webhooks

CONFIRMED = "incident.confirmed"
UPDATED = "incident.updated"
SEVERITY = {
    Outcome.death: "critical",
    Outcome.days_away: "high",
    Outcome.job_transfer_restriction: "medium",
    Outcome.other_recordable: "medium",
}
_NOT_COMPARED = frozenset({"id", "created_at", "updated_at"})


def state(incident: Incident) -> dict[str, Any]:
    """The stored fields, to tell what a change changed."""
    return {c.key: getattr(incident, c.key) for c in Incident.__table__.columns if c.key not in _NOT_COMPARED}


def status(incident: Incident) -> str:
    if incident.recordable:
        return "recordable"
    return "lined_out" if incident.case_number is not None else "confirmed"


async def _data(session: AsyncSession, incident: Incident, changed: list[str]) -> dict[str, Any]:
    repo = IncidentRepository.from_session(session)
    site = await repo.site(incident.company_id, incident.site_id)
    assert site is not None  # the incident's site (foreign key, same company)
    project = (await safety_events.projects_of(session, [site]))[site.id]
    people = []
    if incident.worker_id is not None:
        worker = await repo.worker(incident.company_id, incident.worker_id)
        name = None if incident.privacy_case else incident.employee_name
        people.append(
            {"id": incident.worker_id, "employee_id": worker.employee_id if worker else None, "name": name}
        )
    occurred = incident.occurred_at or wall_instant(incident.occurred_on, time(0), zone_of(site.time_zone))
    kind = str(incident.case_type).replace("_", " ").capitalize()
    outcome = Outcome(incident.outcome) if incident.recordable and incident.outcome else None
    return {
        "incident_id": incident.id,
        "project": project,
        "title": f"{kind} at {incident.location or site.name}"[:200],
        "severity": SEVERITY[outcome] if outcome else "low",
        "status": status(incident),
        "occurred_at": occurred,
        "people": people,
        "changed": changed,
        "remote_id": None,
    }


async def confirmed(session: AsyncSession, incident: Incident) -> None:
    if await webhooks.wants(session, incident.company_id, CONFIRMED):
        data = await _data(session, incident, [])
        await webhooks.emit(session, incident.company_id, CONFIRMED, data)


async def updated(session: AsyncSession, incident: Incident, before: dict[str, Any]) -> None:
    """`incident.updated` when a stored field changed (a save that changed nothing sends nothing)."""
    after = state(incident)
    changed = sorted(k for k, v in after.items() if before.get(k) != v)
    if changed and await webhooks.wants(session, incident.company_id, UPDATED):
        data = await _data(session, incident, changed)
        await webhooks.emit(session, incident.company_id, UPDATED, data)
