"""Injuries as Procore's spec shapes them (nested references), and what an injury change fires."""

from __future__ import annotations

import re
from typing import Any

from fieldbridge_sandbox.routes.common import emit_change, login_ref
from fieldbridge_sandbox.serialize import Serializer
from fieldbridge_sandbox.state import SandboxState
from fieldbridge_sandbox.store import Record, Store

RESOURCE = "Incidents"
INJURY_RESOURCE = "Injuries"
FILING_TYPES = (
    "fatality",
    "first_aid",
    "lost_time",
    "medically_treated",
    "refused_care",
    "report_only",
    "restricted_work",
)
INJURY_FIELDS = (
    "description",
    "filing_type",
    "recordable",
    "hospitalized_overnight",
    "treated_in_er",
    "treatment_facility",
    "treatment_facility_address",
    "treatment_provider",
    "work_days_absent",
    "work_days_restricted",
    "work_days_transferred",
    "date_returned_to_work",
    "date_of_death",
    "body_diagram_type",
    "affected_body_parts",
    "affected_person_id",
    "affected_party_id",
    "body_part_ids",
    "affliction_type_id",
    "harm_source_id",
    "affected_company_id",
    "work_activity_id",
)


def pick_json(row: Record) -> dict[str, Any]:
    return {k: row.get(k) for k in ("id", "name", "active", "global", "created_at", "updated_at")}


INJURY_OUT = tuple(f for f in INJURY_FIELDS if not f.endswith("_id") and f != "body_part_ids")
INJURY_PICKS = (
    ("affliction_type", "affliction_types"),
    ("harm_source", "harm_sources"),
    ("work_activity", "work_activities"),
)


def injury_shape(store: Store) -> Serializer:
    """An injury as Procore's spec shapes it: references are nested objects (`affected_party`
    {id, name}, `affected_person` {id, name, login}, `affliction_type`/`harm_source`/
    `work_activity` {id, name, active, global, ...}, `body_parts` [{id, name, selectable,
    parent_id, ...}]), never the bare ids a request sends."""

    def serialize(row: Record) -> dict[str, Any]:
        out = {k: row.get(k) for k in ("id", "incident_id", "number", *INJURY_OUT)}
        incident = store["incidents"].get(row["incident_id"]) or {}
        party = store["people"].get(row.get("affected_party_id") or 0)
        person = store["users"].get(row.get("affected_person_id") or 0)
        company = store["companies"].get(row.get("affected_company_id") or 0)
        parts = [store["body_parts"].get(i) for i in row.get("body_part_ids") or []]
        picks = {key: store[table].get(row.get(f"{key}_id") or 0) for key, table in INJURY_PICKS}
        out.update(
            {
                "type": "Injury",
                "full_number": f"{row['incident_number']}-{row['number']}",
                "incident_title": incident.get("title"),
                "incident_private": bool(incident.get("private")),
                "incident_created_by": login_ref(store["users"].get(incident.get("created_by_id") or 0)),
                "description_plain_text": _plain(row.get("description")),
                "summary": ", ".join(
                    p["name"] for p in (picks["affliction_type"], *parts, picks["harm_source"]) if p
                ),
                "affected_party": None if party is None else {"id": party["id"], "name": party["name"]},
                "affected_person": login_ref(person),
                "affected_company": None
                if company is None
                else {"id": company["id"], "name": company["name"]},
                "affected_body_part": (row.get("affected_body_parts") or [None])[0],
                "afflictions": [],
                "body_parts": [body_part_json(p) for p in parts if p is not None],
                "managed_equipment": None,
                **{key: None if pick is None else pick_json(pick) for key, pick in picks.items()},
                "custom_fields": row.get("custom_fields", {}),
                "created_at": row.get("created_at"),
                "updated_at": row.get("updated_at"),
                "deleted_at": row.get("deleted_at"),
            }
        )
        return out

    return serialize


def _plain(text: str | None) -> str | None:
    return None if text is None else re.sub(r"<[^>]+>", "", text)


def body_part_json(row: Record) -> dict[str, Any]:
    return {k: row.get(k) for k in ("id", "name", "selectable", "parent_id", "created_at", "updated_at")}


def injury_changed(
    state: SandboxState, injury: Record, event_type: str, *, user_id: int | None, app_id: int | None
) -> None:
    """Shared with the control API's person edits (`app_id` None: a person in Procore's UI)."""
    incident = state.store["incidents"].get(injury["incident_id"])
    project = state.store["projects"].get(injury["project_id"])
    if project is None:
        return
    where = {
        "company_id": project["company_id"],
        "project_id": project["id"],
        "user_id": user_id,
        "app_id": app_id,
    }
    emit_change(state, INJURY_RESOURCE, event_type, injury, **where)
    if incident is not None:
        incident["updated_at"] = injury["updated_at"]
        emit_change(state, RESOURCE, "update", incident, **where)
