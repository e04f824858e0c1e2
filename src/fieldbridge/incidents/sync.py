"""Incidents to the linked platforms (issue 11), outbound half: what goes out and when.

A confirmed incident that is recordable goes to every link of its site whose connector offers
`Capability.incidents`; from then on every change that alters what was sent goes again, as a
new version of the same subject (`incident:<id>`, idempotency key `incident:<id>:v<version>`):
the ledger chains the rows of a subject, and the handler turns a later row into an update of
the record the first one created (`subject_remote_id`). Which provider, and how, is the
connector's business (`<provider>.safety.incident`).

The payload never carries the worker's name, email or phone: the injury names the role and
trade only, and the worker's name, email and phone are scrubbed from every text sent.

Two-way fields (`OWNERS`): each has an owner. FieldBridge owns the OSHA record's facts; the
platform owns what a safety manager does there after the report (the injury's disposition,
care, the record's status). The platform-owned ones go out with the create only; later
updates never overwrite them. `inbound.py` applies what comes back.
"""

import hashlib
import json
import re
from collections.abc import Sequence
from datetime import time
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fieldbridge.accounts.models import Worker
from fieldbridge.connections.connector import Capability, Delivered, Result, installed_registry
from fieldbridge.connections.models import Connection
from fieldbridge.delivery import service as delivery
from fieldbridge.delivery.models import Delivery
from fieldbridge.incidents.events import status as record_status
from fieldbridge.incidents.models import Incident, IncidentRemote
from fieldbridge.incidents.repository import IncidentRepository
from fieldbridge.kit.errors import NotFound
from fieldbridge.kit.urls import absolute
from fieldbridge.kit.zones import wall_instant
from fieldbridge.kit.zones import zone as zone_of
from fieldbridge.safety import links, mapping
from fieldbridge.safety.models import Detection, SafetySite

FIELDBRIDGE = "fieldbridge"
REMOTE = "remote"
# Two-way fields: who wins when both sides changed one since they last agreed.
OWNERS: dict[str, str] = {
    "recordable": FIELDBRIDGE,
    "days_away": FIELDBRIDGE,
    "days_restricted": FIELDBRIDGE,
    "status": REMOTE,
    "disposition": REMOTE,
    "treatment_facility": REMOTE,
    "physician_name": REMOTE,
    "treated_in_emergency_room": REMOTE,
    "hospitalized_overnight": REMOTE,
}
SUBJECT = "incident:{}"
# Two-way fields FieldBridge keeps as text ("" when empty): a platform's null reads as "".
TEXT_FIELDS = frozenset({"treatment_facility", "physician_name"})
SCRUBBED = "[worker]"


def subject(incident_id: int) -> str:
    return SUBJECT.format(incident_id)


def incident_of(subject_text: str) -> int | None:
    kind, _, rest = subject_text.partition(":")
    return int(rest) if kind == "incident" and rest.isdigit() else None


def two_way_values(incident: Incident) -> dict[str, Any]:
    """FieldBridge's value of each two-way field (`status` is the record's status there)."""
    values = {f: getattr(incident, f) for f in OWNERS if f != "status"}
    return {**values, "status": incident.remote_status}


def case_label(incident: Incident) -> str | None:
    if incident.case_number is None or incident.case_year is None:
        return None
    return f"{incident.case_year}-{incident.case_number:03d}"


def scrubber(worker: Worker | None, typed_name: str | None) -> "re.Pattern[str] | None":
    """A pattern of the worker's name, email and phone (and a typed-in name), any case."""
    secrets = {s.strip() for s in (typed_name, *(worker_secrets(worker))) if s and s.strip()}
    if not secrets:
        return None
    return re.compile("|".join(re.escape(s) for s in sorted(secrets, key=len, reverse=True)), re.IGNORECASE)


def worker_secrets(worker: Worker | None) -> tuple[str | None, ...]:
    return () if worker is None else (worker.name, worker.email, worker.phone)


def _clean(text: str, pattern: "re.Pattern[str] | None") -> str:
    return text if pattern is None else pattern.sub(SCRUBBED, text)


async def _source_key(session: AsyncSession, incident: Incident) -> str:
    """The mapping's source key: the detection type the incident came from, else its case type."""
    if incident.detection_id is not None:
        kind = await session.scalar(select(Detection.type).where(Detection.id == incident.detection_id))
        if kind is not None:
            return str(kind)
    return str(incident.case_type)


async def content(session: AsyncSession, incident: Incident, site: SafetySite) -> dict[str, Any]:
    """The provider-neutral payload of an incident, without version and mapping."""
    repo = IncidentRepository.from_session(session)
    worker = await repo.worker(incident.company_id, incident.worker_id) if incident.worker_id else None
    zone = await repo.zone(incident.company_id, incident.zone_id) if incident.zone_id else None
    pattern = scrubber(worker, incident.employee_name)
    where = zone.name if zone else (incident.location or site.name)
    kind = str(incident.case_type).replace("_", " ").capitalize()
    event_at = incident.occurred_at
    if event_at is None:  # time unknown: the local midnight of the date, as the platform asks
        event_at = wall_instant(incident.occurred_on, time(0), zone_of(site.time_zone))
    role = incident.job_title or (worker.title if worker else "") or ""
    injury = {
        "role": _clean(role, pattern) or None,
        "trade": _clean(worker.trade or "", pattern) or None if worker else None,
        "body_part": _clean(incident.body_part, pattern) or None,
        "nature": _clean(incident.nature, pattern) or None,
        "treatment": str(incident.treatment),
        "case_type": str(incident.case_type),
        "days_away": incident.days_away,
        "days_restricted": incident.days_restricted,
    }
    return {
        "incident_id": incident.id,
        "site_id": incident.site_id,
        "title": _clean(f"{kind} at {where}", pattern)[:200],
        "description": _clean(incident.description or incident.what_happened, pattern),
        "event_at": event_at.isoformat().replace("+00:00", "Z"),
        "time_unknown": incident.time_unknown or incident.occurred_at is None,
        "recordable": incident.recordable,
        "status": record_status(incident),
        "zone": _clean(zone.name, pattern) if zone else None,
        "case_number": case_label(incident),
        "injury": injury,
        "link": absolute(f"/incidents/{incident.id}"),
        "two_way": {
            k: (_clean(v, pattern) if isinstance(v, str) else v) for k, v in two_way_values(incident).items()
        },
        "owners": OWNERS,
    }


def digest(body: dict[str, Any]) -> str:
    """What a change must alter to be sent again: everything but the platform-owned fields."""
    mine = {**body, "two_way": {k: v for k, v in body["two_way"].items() if OWNERS[k] == FIELDBRIDGE}}
    return hashlib.sha256(json.dumps(mine, sort_keys=True, default=str).encode()).hexdigest()


async def after_change(session: AsyncSession, incident: Incident) -> int:
    """Enqueue the incident for its site's links when it is (or was once sent as) recordable
    and what would be sent changed; returns the number of rows enqueued."""
    if not incident.recordable and incident.sync_version == 0:
        return 0
    targets = await links.targets(session, incident.company_id, incident.site_id, Capability.incidents)
    if not targets:
        return 0
    site = await IncidentRepository.from_session(session).site(incident.company_id, incident.site_id)
    assert site is not None  # the incident's site (foreign key, same company)
    body = await content(session, incident, site)
    new_digest = digest(body)
    if new_digest == incident.sync_digest:
        return 0
    incident.sync_version += 1
    incident.sync_digest = new_digest
    source = await _source_key(session, incident)
    for target in targets:
        mapped = {}
        for category in (mapping.INCIDENT_TYPE, mapping.HAZARD):
            value = await mapping.resolve(session, target.connection_id, category, source)
            mapped[category] = None if value is None else value.as_payload()
        await delivery.enqueue(
            session,
            company_id=incident.company_id,
            connection_id=target.connection_id,
            kind=links.kind_for(target, "incident"),
            subject=subject(incident.id),
            payload={**body, "version": incident.sync_version, "mapped": mapped},
            idempotency_key=f"incident:{incident.id}:v{incident.sync_version}",
            remote_project_id=target.remote_project_id,
        )
        await _remote_row(session, incident, target.connection_id, target.remote_project_id)
    return len(targets)


async def _remote_row(
    session: AsyncSession, incident: Incident, connection_id: int, remote_project_id: str
) -> IncidentRemote:
    row = await session.scalar(
        select(IncidentRemote).where(
            IncidentRemote.incident_id == incident.id, IncidentRemote.connection_id == connection_id
        )
    )
    if row is None:
        row = IncidentRemote(
            company_id=incident.company_id,
            incident_id=incident.id,
            connection_id=connection_id,
            remote_project_id=remote_project_id,
            synced={},
        )
        session.add(row)
        await session.flush()
    return row


async def record_delivered(
    session: AsyncSession, connection_id: int, outcomes: Sequence[tuple[Delivery, Result]]
) -> None:
    """A connector's `after_record`: a delivered row sets the remote record's id and version,
    and what the platform now holds of the two-way fields (`synced`): the FieldBridge-owned
    ones as sent, and the platform-owned ones as sent with the create."""
    for row, result in outcomes:
        incident_id = incident_of(row.subject)
        if incident_id is None or not isinstance(result, Delivered):
            continue
        remote = await session.scalar(
            select(IncidentRemote).where(
                IncidentRemote.incident_id == incident_id, IncidentRemote.connection_id == connection_id
            )
        )
        if remote is None:
            continue
        sent = dict(row.payload.get("two_way") or {})
        created = remote.remote_id is None
        synced = dict(remote.synced)
        for field, value in sent.items():
            if OWNERS.get(field) == FIELDBRIDGE or (created and field not in synced):
                synced[field] = value
        record = result.remote_record or {}
        held = {
            k: ("" if v is None and k in TEXT_FIELDS else v) for k, v in (record.get("two_way") or {}).items()
        }
        remote.synced = {**synced, **held}
        incident = await session.get(Incident, incident_id)
        if incident is not None and incident.remote_status is None and held.get("status"):
            incident.remote_status = held["status"]  # the platform's own status from the start
        remote.remote_id = result.remote_id or remote.remote_id
        remote.remote_version = row.remote_version or remote.remote_version


async def view(session: AsyncSession, company_id: int, incident_id: int) -> dict[str, Any]:
    """The incident's two-way state as the page and `GET /api/v1/incidents/{id}/sync` show it."""
    repo = IncidentRepository.from_session(session)
    incident = await repo.get(company_id, incident_id)
    if incident is None:
        raise NotFound(f"No incident {incident_id} in your company.")
    remotes = []
    for remote in await repo.remotes(company_id, incident_id):
        connection = await session.get(Connection, remote.connection_id)
        provider = connection.provider if connection is not None else ""
        flow = installed_registry().safety(provider)
        url = None
        if flow is not None and remote.remote_id is not None and connection is not None:
            url = flow.record_url("incident", remote.remote_project_id, remote.remote_id, connection.config)
        remotes.append(
            {
                "connection_id": remote.connection_id,
                "provider": provider,
                "remote_project_id": remote.remote_project_id,
                "remote_id": remote.remote_id,
                "remote_version": remote.remote_version,
                "url": url,
                "synced": dict(remote.synced),
                "pulled_at": remote.pulled_at,
            }
        )
    return {
        "incident_id": incident.id,
        "sync_version": incident.sync_version,
        "owners": OWNERS,
        "remotes": remotes,
        "conflicts": list(await repo.conflicts(company_id, incident_id)),
    }
