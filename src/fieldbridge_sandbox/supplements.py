"""Request schemas the bundled procore-operations.json lacks or leaves empty.

Each entry is transcribed from `procore-api-endpoints.md` / `procore-api.md` (the shared
references), never invented; `validation.Validators` merges them over the OAS schema.
`OVERRIDES` lists `required` entries the OAS marks required but Procore documents as
conditional (timecard hours vs. start/stop times); the routes enforce those conditionally.
"""

from __future__ import annotations

from typing import Any

_INT = {"type": "integer"}
_STR = {"type": "string"}
_BOOL = {"type": "boolean"}
_SCOPE = {"company_id": _INT, "project_id": _INT}
_FLAT_ENTRY: dict[str, Any] = {
    "type": "object",
    "required": ["project_id", "timecard_entry"],
    "properties": {
        "project_id": _INT,
        "timecard_entry": {
            "type": "object",
            "required": ["hours", "date"],
            "properties": {
                "party_id": _INT,
                "hours": _STR,
                "billable": _BOOL,
                "date": {"type": "string", "format": "date"},
                "description": _STR,
                "timecard_time_type_id": _INT,
                "cost_code_id": _INT,
                "login_information_id": _INT,
                "origin_id": _INT,
                "origin_data": _STR,
                "line_item_type_id": _INT,
                "clock_in_time": _STR,
                "clock_out_time": _STR,
            },
        },
    },
}

SUPPLEMENTS: dict[tuple[str, str], dict[str, Any]] = {
    # procore-api-endpoints.md "POST /rest/v1.0/timecard_entries — Create timecard entry"
    ("POST", "/rest/v1.0/timecard_entries"): _FLAT_ENTRY,
    # procore-api.md §6.1 lists `PATCH /rest/v1.0/timecard_entries/{id}` without a body; the
    # SDK24 source it cites gives it the flat create's request model (see OVERRIDES).
    ("PATCH", "/rest/v1.0/timecard_entries/{id}"): _FLAT_ENTRY,
    # procore-api.md §6.1 crews: `PATCH …/crews/{id}` takes the create body
    # `{crew:{name, lead_party_id, party_ids[], equipment_ids[]}}` (procore-operations.json
    # has only the create; SDK24 uses the same `CrewBody` model for both).
    ("PATCH", "/rest/v1.0/projects/{project_id}/crews/{id}"): {
        "type": "object",
        "required": ["crew"],
        "properties": {
            "crew": {
                "type": "object",
                "properties": {
                    "lead_party_id": _INT,
                    "name": _STR,
                    "party_ids": {"type": "array", "items": _INT},
                    "equipment_ids": {"type": "array", "items": _INT},
                },
            }
        },
    },
    # procore-api-endpoints.md "PATCH /rest/v1.0/projects/{project_id}/timesheets/update_approval"
    ("PATCH", "/rest/v1.0/projects/{project_id}/timesheets/update_approval"): {
        "type": "object",
        "required": ["timesheets"],
        "properties": {
            "timesheets": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["id", "status"],
                    "properties": {"id": _INT, "status": _STR},
                },
            }
        },
    },
    # procore-api.md §8 Hooks: {company_id | project_id, hook:{api_version*, namespace,
    # destination_url*, destination_headers:{Authorization}}}
    ("POST", "/rest/v1.0/webhooks/hooks"): {
        "type": "object",
        "required": ["hook"],
        "properties": {
            **_SCOPE,
            "hook": {
                "type": "object",
                "required": ["api_version", "destination_url"],
                "properties": {
                    "api_version": _STR,
                    "namespace": _STR,
                    "destination_url": _STR,
                    "destination_headers": {"type": "object"},
                },
            },
        },
    },
    ("PATCH", "/rest/v1.0/webhooks/hooks/{id}"): {
        "type": "object",
        "required": ["hook"],
        "properties": {
            **_SCOPE,
            "hook": {
                "type": "object",
                "properties": {
                    "api_version": _STR,
                    "namespace": _STR,
                    "destination_url": _STR,
                    "destination_headers": {"type": "object"},
                },
            },
        },
    },
    # procore-api.md §8 Triggers: {company_id | project_id, api_version*,
    # trigger:{resource_name*, event_type*}} with event_type in create|update|delete
    ("POST", "/rest/v1.0/webhooks/hooks/{hook_id}/triggers"): {
        "type": "object",
        "required": ["api_version", "trigger"],
        "properties": {
            **_SCOPE,
            "api_version": _STR,
            "trigger": {
                "type": "object",
                "required": ["resource_name", "event_type"],
                "properties": {
                    "resource_name": _STR,
                    "event_type": {"type": "string", "enum": ["create", "update", "delete"]},
                },
            },
        },
    },
}

# Served operations outside procore-operations.json whose documented error statuses have 400
# but no 422 (the SDK24 pages of the flat create and update list 400/401/403 only).
INVALID_AS_400: set[tuple[str, str]] = {
    ("POST", "/rest/v1.0/timecard_entries"),
    ("PATCH", "/rest/v1.0/timecard_entries/{id}"),
}

OVERRIDES: dict[tuple[str, str], set[str]] = {
    # an update changes what it names; the entry already has its hours and date
    ("PATCH", "/rest/v1.0/timecard_entries/{id}"): {"timecard_entry.hours", "timecard_entry.date"},
    ("POST", "/rest/v1.0/projects/{project_id}/timecard_entries"): {
        "timecard_entry.hours",
        "timecard_entry.lunch_time",
        "timecard_entry.time_in",
        "timecard_entry.time_out",
    },
}
