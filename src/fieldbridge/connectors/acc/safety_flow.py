"""ACC's side of the safety seam (`connections.connector.SafetyFlow`): the values an ACC account
offers for field mapping, which safety tools a project can use (and why not), and "open in ACC"
links.

ACC issues have no priority, hazard or incident-type fields of their own; customers add them as
custom attributes of the Safety subtype (list attributes, per project, usually from an account
template). So a mapping category is served by the list attribute of that title ("Priority" or "Severity",
"Hazard", "Observation type", "Incident type"), and a remote value reads `<attribute>=<option>`
(titles, not ids: attribute ids differ between projects, titles do not). The handlers
(`issues.custom_attributes`) resolve it in each project's Safety setup at delivery time.
"""

from collections.abc import Mapping
from typing import Any

from fieldbridge.connections.connector import MapCategory, RemoteValue
from fieldbridge.connections.models import Connection
from fieldbridge.connections.outcomes import NO_PERMISSION, PROJECT_INACTIVE, TOOL_NOT_ENABLED
from fieldbridge.connectors.acc import setup as safety
from fieldbridge.connectors.acc.client import AccClient
from fieldbridge.connectors.acc.config import AccConfig
from fieldbridge.connectors.acc.errors import AccError, NotPermitted, Rejected, RemoteNotFound
from fieldbridge.connectors.acc.projects import project_fields
from fieldbridge.connectors.acc.provider import Environment, dm_id
from fieldbridge.kit.crypto import SecretBox
from fieldbridge.kit.db import Database
from fieldbridge.kit.http import HttpClients
from fieldbridge.sites.repository import SitesRepository

# category -> the attribute titles that serve it, in order of preference
ATTRIBUTE_OF = {
    "observation_type": ("Observation type",),
    "priority": ("Priority", "Severity"),
    "hazard": ("Hazard",),
    "incident_type": ("Incident type",),
}


def value(attribute: str, option: str) -> str:
    return f"{attribute}={option}"


CATEGORIES = (
    MapCategory(
        "observation_type",
        "Observation type (custom attribute of the Safety issue type)",
        {
            "ppe_violation": "Safety Violation",
            "zone_breach": "Safety Violation",
            "proximity": "Safety Hazard",
            "fall": "Safety Hazard",
            "near_miss": "Near Miss",
            "self_report": "Safety Notice",
            "custom": "Safety Notice",
        },
    ),
    MapCategory(
        "priority",
        "Priority (custom attribute: Priority or Severity)",
        {"1": "Low", "2": "Low", "3": "Medium", "4": "High", "5": "Critical"},
    ),
    MapCategory("hazard", "Hazard (custom attribute)", {"fall": "Fall", "zone_breach": "Struck by"}),
    MapCategory("incident_type", "Incident type (custom attribute)", {}),
)
WEB = "https://acc.autodesk.com/build/issues/projects/{pid}/issues?issueId={rid}"
FORMS_WEB = "https://acc.autodesk.com/build/forms/projects/{pid}/forms/{rid}"


class AccSafety:
    categories: tuple[MapCategory, ...] = CATEGORIES
    # incidents and observations both become issues of the Safety subtype; summaries go as a
    # daily report form (or a comment, or nowhere: the link's route)
    tool_names: Mapping[str, str] = {
        "incidents": "Safety issues (incidents)",
        "observations": "Safety issues (observations)",
        "daily_log": "Daily summary (form or comment)",
    }

    async def values(
        self, db: Database, http: HttpClients, box: SecretBox, connection: Connection, category: str
    ) -> list[RemoteValue]:
        titles = ATTRIBUTE_OF.get(category)
        if titles is None:
            raise ValueError(f"ACC offers no mapping category {category!r}")
        async with db.transaction() as session:
            projects = [
                p.external_id
                for p in await SitesRepository.from_session(session).tracked_projects(connection.id)
            ]
        seen: dict[str, RemoteValue] = {}
        async with AccClient(db, http, box, connection.id) as acc:
            for project_id in projects:
                try:
                    setup = await safety.cached(acc.get_json, connection.id, project_id)
                except Rejected:
                    continue  # no Safety type there: project_tools says so
                for attribute in setup.attributes.values():
                    if attribute.title.strip().lower() not in {t.lower() for t in titles}:
                        continue
                    for option in attribute.options.values():
                        remote = value(attribute.title, option)
                        seen.setdefault(remote, RemoteValue(remote, option))
        return sorted(seen.values(), key=lambda v: v.label.lower())

    async def project_tools(
        self, db: Database, http: HttpClients, box: SecretBox, connection: Connection, remote_project_id: str
    ) -> dict[str, str | None]:
        tools = ("incidents", "observations", "daily_log")
        hub = dm_id(str(connection.external_account_id))
        async with AccClient(db, http, box, connection.id) as acc:
            try:
                body = await acc.get_json(f"/project/v1/hubs/{hub}/projects/{dm_id(remote_project_id)}")
            except (NotPermitted, RemoteNotFound):
                return dict.fromkeys(tools, NO_PERMISSION)
            item = body.get("data") if isinstance(body, dict) else None
            if isinstance(item, dict) and not project_fields(item)["active"]:
                return dict.fromkeys(tools, PROJECT_INACTIVE)
            safety.forget(connection.id, remote_project_id)
            try:
                await safety.cached(acc.get_json, connection.id, remote_project_id)
            except safety.SafetyTypeMissing:
                reason: str | None = TOOL_NOT_ENABLED
            except (NotPermitted, RemoteNotFound, Rejected):
                reason = NO_PERMISSION
            except AccError:
                raise
            else:
                reason = None
        # Daily summaries go as a form, a comment or nowhere (the link's route): always usable
        # once the project is reachable.
        return {"incidents": reason, "observations": reason, "daily_log": None}

    def record_url(
        self, kind: str, remote_project_id: str, remote_id: str, config: Mapping[str, Any]
    ) -> str | None:
        what = kind.rsplit(".", 1)[-1]
        try:
            settings = AccConfig.model_validate(config)
        except ValueError:
            return None
        if settings.environment is Environment.offline_sandbox:
            if what == "daily_summary" or not settings.offline_url:
                return None
            return f"{settings.offline_url.rstrip('/')}/_sandbox/edit/issues/{remote_id}"
        template = FORMS_WEB if what == "daily_summary" else WEB
        return template.format(pid=remote_project_id, rid=remote_id)
