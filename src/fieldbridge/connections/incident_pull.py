"""The `incident_pull` capability's seam (two-way incidents, issue 11): how a connector reads
incidents back in FieldBridge's words. `ConnectorSpec.incident_pull` holds the flow;
`Registry.incident_pull(provider)` finds it; the incidents domain calls it (incidents/inbound.py)."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from fieldbridge.connections.models import Connection
from fieldbridge.kit.crypto import SecretBox
from fieldbridge.kit.db import Database
from fieldbridge.kit.http import HttpClients


@dataclass(frozen=True)
class RemoteIncident:
    """An incident as the platform holds it now, in FieldBridge's words (the connector
    translates): `fields` uses the incident's own field names (`status` "open"/"closed",
    `disposition`, `treatment_facility`, `physician_name`, `treated_in_emergency_room`,
    `hospitalized_overnight`, `days_away`, `days_restricted`, `recordable`); `incident_id` is
    the FieldBridge incident the record's link-back marker names, when it carries one."""

    remote_id: str
    remote_project_id: str
    version: str | None  # the record's updated_at (or version) on the platform
    fields: Mapping[str, Any]
    incident_id: int | None = None
    deleted: bool = False


class IncidentPullFlow(Protocol):
    """The `incident_pull` capability (two-way incidents): read one record back when a webhook
    says it changed, and list the records changed since a time (the reconcile pass). Raises
    `ConnectorError` (`NeedsReconnect`)."""

    # The inbound resource names (as `ParsedEvent.resource`) that are about incidents.
    resources: tuple[str, ...]

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
        """The incident an event names (`resource` tells an incident from one of its records,
        e.g. an injury); None when it is gone."""
        ...

    async def list_changed_incidents(
        self,
        db: Database,
        http: HttpClients,
        box: SecretBox,
        connection: Connection,
        remote_project_id: str,
        since: datetime,
    ) -> list[RemoteIncident]:
        """Every incident of the project changed at or after `since`."""
        ...
