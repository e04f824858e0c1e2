"""Incidents to Procore, two-way: ledger kind `procore.safety.incident` and the
`incident_pull` flow that reads records back (incidents domain: `incidents/sync.py`,
`incidents/inbound.py`).

Delivering a row (the domain's payload, docs/architecture.md "Safety to connectors"):

1. the incident: `POST /rest/v1.0/projects/{id}/incidents` the first time, `PATCH .../{id}`
   for a later row of the subject (`subject_remote_id`). Body: title (with the OSHA 300 case
   number), description (with the link back and a marker `[fieldbridge:incident:<id>]`),
   `event_date` (UTC; the local midnight with `time_unknown` when the time is not known),
   `recordable`, the zone as a Procore location (found by name or created), the incident type
   and hazard through the mapping (`type_id`, `hazard_id`). Status is Procore's after the
   create: updates never send it.
2. the injury: `POST .../incidents/injuries` when the incident has none yet (with the
   disposition and care FieldBridge knows then), `PATCH .../incidents/injuries/{id}` with the
   fields FieldBridge owns afterwards. The injured person is described by role and trade;
   `affected_party_id`/`affected_person_id` are never sent, nor any name.

Procore has no idempotency keys: a row whose earlier try may have landed (`outcome_unknown`)
first lists the project's incidents whose text holds the marker (`filters[query]`), and
updates what it finds instead of creating a second incident. The delivered record keeps
`updated_at` (the later of the incident's and the injury's) and the two-way fields as Procore
holds them, which the domain stores for echo suppression.
"""

from collections.abc import Hashable, Mapping, Sequence
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from fieldbridge.connections.connector import (
    Channel,
    Delivered,
    DeliveryHandler,
    DeliveryItem,
    Result,
)
from fieldbridge.connections.incident_pull import RemoteIncident
from fieldbridge.connections.models import Connection
from fieldbridge.connections.outcomes import DeliveryFailure, Rejected
from fieldbridge.connectors.procore import errors as procore
from fieldbridge.connectors.procore import mapping
from fieldbridge.connectors.procore.client import ProcoreClient
from fieldbridge.connectors.procore.safety_flow import refused
from fieldbridge.connectors.procore.sync import changed_since
from fieldbridge.delivery.models import Delivery
from fieldbridge.kit.clock import utcnow
from fieldbridge.kit.crypto import SecretBox
from fieldbridge.kit.db import Database
from fieldbridge.kit.http import HttpClients

KIND = "procore.safety.incident"
RESOURCES = ("Incidents", "Injuries")
# FieldBridge's two-way field <- Procore's injury field.
INJURY_FIELDS = {
    "disposition": "filing_type",
    "treatment_facility": "treatment_facility",
    "physician_name": "treatment_provider",
    "treated_in_emergency_room": "treated_in_er",
    "hospitalized_overnight": "hospitalized_overnight",
    "days_away": "work_days_absent",
    "days_restricted": "work_days_restricted",
}


def marker(incident_id: Any) -> str:
    return f"[fieldbridge:incident:{incident_id}]"


def two_way(incident: Mapping[str, Any], injury: Mapping[str, Any] | None) -> dict[str, Any]:
    """Procore's record in FieldBridge's two-way field names."""
    fields: dict[str, Any] = {"status": incident.get("status"), "recordable": incident.get("recordable")}
    if injury is not None:
        fields.update({ours: injury.get(theirs) for ours, theirs in INJURY_FIELDS.items()})
    return fields


def ours(incident: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The injury FieldBridge made (the incident's first, not deleted)."""
    injuries = [i for i in incident.get("injuries") or [] if not i.get("deleted_at")]
    return injuries[0] if injuries else None


def _description(p: Mapping[str, Any]) -> str:
    lines = [p.get("description") or ""]
    if p.get("case_number"):
        lines.append(f"OSHA 300 case {p['case_number']}.")
    lines.append(f"FieldBridge record: {p['link']} {marker(p['incident_id'])}")
    return "\n\n".join(line for line in lines if line)


def _injury_text(injury: Mapping[str, Any]) -> str:
    parts = [
        f"Role: {injury['role']}" if injury.get("role") else "",
        f"Trade: {injury['trade']}" if injury.get("trade") else "",
        f"Body part: {injury['body_part']}" if injury.get("body_part") else "",
        f"Nature: {injury['nature']}" if injury.get("nature") else "",
    ]
    return ". ".join(p for p in parts if p)


def _refused(response: httpx.Response, what: str) -> DeliveryFailure | procore.ProcoreError:
    """A refusal in the export log's plain words; retriable and auth classes pass through."""
    error = procore.classify(response)
    assert error is not None
    if not isinstance(error, procore.Rejected):
        return error
    if isinstance(error, procore.NotPermitted):  # a 403: project inactive, tool not enabled, no permission
        return refused(error)
    if response.status_code == 404:
        reason = "project not available to FieldBridge in Procore (deleted, or the app lost access)."
    else:
        reason = f"Procore refused the {what}: {procore.body_message(response)[:300]}"
    return Rejected(reason, status=response.status_code)


async def _json(channel: Channel, item: DeliveryItem, method: str, url: str, what: str, **kw: Any) -> Any:
    response = await channel.send(method, url, for_ids=[item.id], **kw)
    if response.status_code >= 400:
        raise _Refused(_refused(response, what))
    return response.json()


class _Refused(Exception):
    def __init__(self, failure: DeliveryFailure | procore.ProcoreError) -> None:
        super().__init__(str(failure))
        self.failure = failure


async def _location(channel: Channel, item: DeliveryItem, project: str, name: str) -> int:
    """The Procore location named like the zone: found by name, else created."""
    rows = await _json(
        channel,
        item,
        "GET",
        f"/rest/v1.0/projects/{project}/locations",
        "location",
        params={"filters[search]": name, "per_page": 100},
    )
    for row in rows:
        if str(row.get("name", "")).strip().lower() == name.strip().lower():
            return int(row["id"])
    created = await _json(
        channel,
        item,
        "POST",
        f"/rest/v1.0/projects/{project}/locations",
        "location",
        json={"location": {"node_name": name}},
    )
    return int(created["id"])


async def _find(channel: Channel, item: DeliveryItem, project: str) -> str | None:
    """An incident an earlier try created (its marker in the text), if any."""
    mark = marker(item.payload["incident_id"])
    rows = await _json(
        channel,
        item,
        "GET",
        f"/rest/v1.0/projects/{project}/incidents",
        "lookup",
        params={"filters[query]": mark, "per_page": 100},
    )
    found = [r for r in rows if mark in (r.get("description") or "")]
    return mapping.pid(found[0]["id"]) if found else None


def _missing(payload: Mapping[str, Any]) -> str | None:
    for category, value in (payload.get("mapped") or {}).items():
        if value and value.get("missing"):
            label = value.get("remote_label") or value.get("remote_value")
            return (
                f"mapped value missing: the {category.replace('_', ' ')} {label!r} no longer exists in "
                "Procore. Pick another in the field mapping, then retry."
            )
    return None


class IncidentSync:
    kind = KIND
    batch_size = 1

    def batch_key(self, item: DeliveryItem) -> Hashable:
        return item.id

    async def after_record(
        self, session: AsyncSession, connection_id: int, outcomes: Sequence[tuple[Delivery, Result]]
    ) -> None:
        from fieldbridge.incidents.sync import record_delivered  # the domain, at call time

        await record_delivered(session, connection_id, outcomes)

    async def deliver(self, channel: Channel, items: Sequence[DeliveryItem]) -> dict[int, Result]:
        (item,) = items
        missing = _missing(item.payload)
        if missing is not None:
            return {item.id: Rejected(missing)}
        try:
            return {item.id: await self._deliver(channel, item)}
        except _Refused as refused:
            if isinstance(refused.failure, DeliveryFailure):
                return {item.id: refused.failure}
            raise refused.failure from None

    async def _deliver(self, channel: Channel, item: DeliveryItem) -> Delivered:
        p = item.payload
        project = str(item.remote_project_id)
        remote_id = item.remote_id or item.subject_remote_id
        if remote_id is None and item.outcome_unknown:
            remote_id = await _find(channel, item, project)
        body: dict[str, Any] = {
            "title": (f"Case {p['case_number']}: " if p.get("case_number") else "") + p["title"],
            "description": _description(p),
            "event_date": p["event_at"],
            "time_unknown": bool(p["time_unknown"]),
            "recordable": bool(p["recordable"]),
        }
        if p.get("zone"):
            body["location_id"] = await _location(channel, item, project, p["zone"])
        mapped = p.get("mapped") or {}
        for category, field in (("incident_type", "type_id"), ("hazard", "hazard_id")):
            if mapped.get(category):
                body[field] = mapping.number(str(mapped[category]["remote_value"]))
        base = f"/rest/v1.0/projects/{project}/incidents"
        if remote_id is None:
            incident = await _json(channel, item, "POST", base, "incident", json={"incident": body})
        else:
            incident = await _json(
                channel, item, "PATCH", f"{base}/{remote_id}", "incident", json={"incident": body}
            )
        injury = await self._injury(channel, item, project, incident)
        stamps = [str(incident.get("updated_at") or "")] + (
            [str(injury.get("updated_at") or "")] if injury else []
        )
        record = {
            "id": incident["id"],
            "updated_at": max(stamps),
            "injury_id": injury["id"] if injury else None,
            "two_way": two_way(incident, injury),
        }
        return Delivered(
            mapping.pid(incident["id"]),
            record,
            found_by_lookup=remote_id is not None and item.outcome_unknown,
        )

    async def _injury(
        self, channel: Channel, item: DeliveryItem, project: str, incident: Mapping[str, Any]
    ) -> Mapping[str, Any] | None:
        wanted = item.payload.get("injury")
        existing = ours(incident)
        if not wanted:
            return existing
        sync = item.payload.get("two_way") or {}
        fields: dict[str, Any] = {
            "description": _injury_text(wanted),
            "recordable": bool(item.payload["recordable"]),
            "work_days_absent": wanted.get("days_away") or 0,
            "work_days_restricted": wanted.get("days_restricted") or 0,
        }
        url = f"/rest/v1.0/projects/{project}/incidents/injuries"
        if existing is not None:
            patched: Mapping[str, Any] = await _json(
                channel, item, "PATCH", f"{url}/{existing['id']}", "injury", json={"injury": fields}
            )
            return patched
        # The create carries what FieldBridge knows of the disposition and care; Procore owns them after.
        for ours_name, theirs in INJURY_FIELDS.items():
            if ours_name not in ("days_away", "days_restricted") and sync.get(ours_name) is not None:
                fields[theirs] = sync[ours_name]
        fields["incident_id"] = incident["id"]
        created: Mapping[str, Any] = await _json(
            channel, item, "POST", url, "injury", json={"injury": fields}
        )
        return created


class ProcoreIncidentPull:
    """The `incident_pull` flow: Procore's incident (and its first injury) in FieldBridge's words."""

    resources: tuple[str, ...] = RESOURCES

    async def read_incident(
        self,
        db: Database,
        http: HttpClients,
        box: SecretBox,
        connection: Connection,
        remote_project_id: str,
        resource: str,
        remote_id: str,
    ) -> RemoteIncident | None:
        base = f"/rest/v1.0/projects/{remote_project_id}/incidents"
        async with ProcoreClient.paced(db, http, box, connection.id) as client:
            try:
                if resource == "Injuries":
                    injury = await client.get_json(f"{base}/injuries/{remote_id}")
                    remote_id = mapping.pid(injury["incident_id"])
                incident = await client.get_json(f"{base}/{remote_id}")
            except procore.RemoteNotFound:
                return None
        return remote_incident(incident, remote_project_id)

    async def list_changed_incidents(
        self,
        db: Database,
        http: HttpClients,
        box: SecretBox,
        connection: Connection,
        remote_project_id: str,
        since: datetime,
    ) -> list[RemoteIncident]:
        async with ProcoreClient.paced(db, http, box, connection.id) as client:
            rows = await client.get_all(
                f"/rest/v1.0/projects/{remote_project_id}/incidents",
                {"filters[updated_at]": changed_since(since, utcnow())},
            )
        return [remote_incident(row, remote_project_id) for row in rows]


def remote_incident(incident: Mapping[str, Any], remote_project_id: str) -> RemoteIncident:
    injury = ours(incident)
    stamps = [str(incident.get("updated_at") or "")] + (
        [str(injury.get("updated_at") or "")] if injury else []
    )
    text = str(incident.get("description") or "")
    start = text.rfind("[fieldbridge:incident:")
    tail = text[start + 22 :].split("]", 1)[0] if start >= 0 else ""
    return RemoteIncident(
        remote_id=mapping.pid(incident["id"]),
        remote_project_id=remote_project_id,
        version=max(stamps) or None,
        fields=two_way(incident, injury),
        incident_id=int(tail) if tail.isdigit() else None,
        deleted=bool(incident.get("deleted_at")),
    )


HANDLERS: tuple[DeliveryHandler, ...] = (IncidentSync(),)
