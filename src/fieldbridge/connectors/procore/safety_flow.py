"""Procore's side of the safety seam (`connections.connector.SafetyFlow`): the values a Procore
company offers for field mapping, which safety tools a project can use (and why not), and
"open in Procore" links. The safety domain reaches this only through the registry.

Categories (`procore-api-endpoints.md` A.5, A.6):
- `hazard`: the company's active hazards (`GET /rest/v1.0/companies/{id}/hazards`), set on
  incidents and observation items as `hazard_id`.
- `observation_type`: the company's active observation types of the Safety category
  (`GET /rest/v1.0/companies/{id}/observation_types`), `type_id` of an observation item.
- `priority`: Procore's fixed observation priorities (Low, Medium, High, Urgent); nothing to fetch.
Procore documents no list of incident types (an incident without `type_id` gets the company's
General type), so `incident_type` is not offered here and resolves to nothing.

Tool checks read one page of each tool's list in the project: a 403 that says the tool is
disabled is "tool not enabled", any other 403 or a 404 is "no permission"; an inactive project
is "project inactive" for every tool (Procore refuses writes there).
"""

from collections.abc import Mapping
from typing import Any

from fieldbridge.connections.connector import MapCategory, RemoteValue
from fieldbridge.connections.models import Connection
from fieldbridge.connections.outcomes import (
    NO_PERMISSION,
    PROJECT_INACTIVE,
    TOOL_NOT_ENABLED,
    Rejected,
    refusal,
)
from fieldbridge.connectors.procore.client import ProcoreClient
from fieldbridge.connectors.procore.errors import NotPermitted, RemoteNotFound
from fieldbridge.connectors.procore.provider import Environment, hosts_for
from fieldbridge.kit.crypto import SecretBox
from fieldbridge.kit.db import Database
from fieldbridge.kit.http import HttpClients

PRIORITIES = ("Low", "Medium", "High", "Urgent")

CATEGORIES = (
    MapCategory(
        "hazard",
        "Hazard",
        {
            "fall": "Fall from height",
            "zone_breach": "Struck by object",
            "proximity": "Struck by object",
        },
    ),
    MapCategory(
        "observation_type",
        "Observation type (Safety)",
        {
            "ppe_violation": "Safety Violation",
            "zone_breach": "Safety Violation",
            "proximity": "Safety Hazard",
            "fall": "Safety Hazard",
            "near_miss": "Near-Miss",
            "self_report": "Safety Notice",
            "custom": "Safety Notice",
        },
    ),
    MapCategory("priority", "Priority", {"1": "Low", "2": "Low", "3": "Medium", "4": "High", "5": "Urgent"}),
)

# capability -> (the list to read, its query) for a project id
TOOL_PROBES: dict[str, tuple[str, dict[str, Any]]] = {
    "incidents": ("/rest/v1.0/projects/{pid}/incidents", {}),
    "observations": ("/rest/v1.0/observations/items", {"project_id": "{pid}"}),
    "daily_log": ("/rest/v1.0/projects/{pid}/notes_logs", {}),
}

# Where a record lives in Procore's web app, per record kind (the ledger kind's last part).
WEB_PATHS = {
    "incident": "/{pid}/project/incidents/{rid}",
    "observation": "/{pid}/project/observations/items/{rid}",
    "daily_summary": "/{pid}/project/dailylog",
}
WEB_HOSTS = {
    Environment.production: "https://app.procore.com",
    Environment.developer_sandbox: "https://sandbox.procore.com",
}
# The offline sandbox's own pages (it has no Procore web app).
OFFLINE_PATHS = {
    "incident": "/_sandbox/edit/incidents/{rid}",
    "observation": "/_sandbox/records/observation_items?id={rid}",
    "daily_summary": "/_sandbox/records/notes_logs?id={rid}",
}


def refusal_reason(error: NotPermitted | RemoteNotFound) -> str:
    """A refused request in plain words: "project inactive", "tool not enabled" or "no permission"."""
    text = str(error.body or error.message or "").lower()
    if isinstance(error, NotPermitted) and "inactive" in text:
        return PROJECT_INACTIVE
    if isinstance(error, NotPermitted) and ("disabled" in text or "not enabled" in text):
        return TOOL_NOT_ENABLED
    return NO_PERMISSION


def refused(error: NotPermitted) -> Rejected:
    """Procore's 403 as a refusal with its plain reason, for the export log."""
    return refusal(refusal_reason(error), error.message, status=error.status)


class ProcoreSafety:
    categories: tuple[MapCategory, ...] = CATEGORIES
    tool_names: Mapping[str, str] = {
        "incidents": "Incidents",
        "observations": "Observations",
        "daily_log": "Daily Log",
    }

    async def values(
        self, db: Database, http: HttpClients, box: SecretBox, connection: Connection, category: str
    ) -> list[RemoteValue]:
        if category == "priority":
            return [RemoteValue(p, p) for p in PRIORITIES]
        company = connection.external_account_id
        async with ProcoreClient.paced(db, http, box, connection.id) as procore:
            if category == "hazard":
                rows = await procore.get_all(f"/rest/v1.0/companies/{company}/hazards")
                return [RemoteValue(str(r["id"]), str(r["name"])) for r in rows if r.get("active", True)]
            if category == "observation_type":
                rows = await procore.get_all(f"/rest/v1.0/companies/{company}/observation_types")
                return [
                    RemoteValue(str(r["id"]), str(r.get("localized_name") or r["name"]))
                    for r in rows
                    if r.get("active", True) and r.get("category") == "Safety"
                ]
        raise ValueError(f"Procore offers no mapping category {category!r}")

    async def project_tools(
        self, db: Database, http: HttpClients, box: SecretBox, connection: Connection, remote_project_id: str
    ) -> dict[str, str | None]:
        async with ProcoreClient.paced(db, http, box, connection.id) as procore:
            try:
                project = await procore.get_json(
                    f"/rest/v1.0/projects/{remote_project_id}", {"company_id": connection.external_account_id}
                )
            except (NotPermitted, RemoteNotFound):
                return dict.fromkeys(TOOL_PROBES, NO_PERMISSION)
            if not project.get("active", True):
                return dict.fromkeys(TOOL_PROBES, PROJECT_INACTIVE)
            out: dict[str, str | None] = {}
            for capability, (path, query) in TOOL_PROBES.items():
                params = {k: v.format(pid=remote_project_id) for k, v in query.items()}
                try:
                    await procore.request(
                        "GET", path.format(pid=remote_project_id), params={**params, "per_page": 1}
                    )
                    out[capability] = None
                except (NotPermitted, RemoteNotFound) as exc:
                    out[capability] = refusal_reason(exc)
            return out

    def record_url(
        self, kind: str, remote_project_id: str, remote_id: str, config: Mapping[str, Any]
    ) -> str | None:
        what = kind.rsplit(".", 1)[-1]
        try:
            environment = Environment(config.get("environment", Environment.production))
            if environment is Environment.offline_sandbox:
                path, base = (
                    OFFLINE_PATHS.get(what),
                    hosts_for(environment, config.get("offline_url")).api_base,
                )
            else:
                path, base = WEB_PATHS.get(what), WEB_HOSTS[environment]
        except ValueError:  # a config without a usable environment or sandbox URL: no link
            return None
        if path is None:
            return None
        return base + path.format(pid=remote_project_id, rid=remote_id)
