"""The business rules of ACC issues the sandbox enforces beyond Issues.yaml's schemas.

- `issueSubtypeId` must name an active subtype of the project; the issue's status must be
  in its type's status set (`STATUS_SETS[type.statusSet]`).
- Custom attributes must be mapped to the project, the issue's type or its subtype; values
  match the definition's `dataType` (list: an option id; numeric: a number; text and
  paragraph: a string; null clears).
- `assignedTo` and `assignedToType` come together; dates are `YYYY-MM-DD`.
- PATCH may change only the attributes listed in the issue's `permittedAttributes` for the
  caller; sending a non-permitted attribute with its current value is accepted (PATCH
  bodies must carry `title`, `issueSubtypeId` and `status`, which the spec requires).
  A closed issue permits only `status` (reopening); someone who neither created nor is
  assigned the issue, and is no project admin, may change nothing.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fieldbridge_sandbox_acc.errors import bad_input, forbidden
from fieldbridge_sandbox_acc.seeds import STATUS_SETS
from fieldbridge_sandbox_acc.store import AccStore, Record

NEW_ISSUE_ATTRIBUTES = (
    "title",
    "description",
    "issueSubtypeId",
    "status",
    "assignedTo",
    "assignedToType",
    "dueDate",
    "startDate",
    "locationId",
    "locationDetails",
    "published",
    "watchers",
    "customAttributes",
    "gpsCoordinates",
    "rootCauseId",
)
CLOSED_ATTRIBUTES = ("status",)
MAX_TEXT = {"title": 10000, "description": 10000, "locationDetails": 8300}


def subtype(store: AccStore, project_id: str, subtype_id: str) -> tuple[Record, Record] | None:
    """(type, subtype) for an active subtype of the project."""
    for issue_type in store.where("issue_types", containerId=project_id):
        for sub in issue_type["subtypes"]:
            if sub["id"] == subtype_id and sub.get("isActive", True) and issue_type.get("isActive", True):
                return issue_type, sub
    return None


def statuses_of(issue_type: Record) -> list[str]:
    return list(STATUS_SETS.get(issue_type.get("statusSet") or "default", STATUS_SETS["default"]))


def project_statuses(store: AccStore, project_id: str) -> list[str]:
    seen: list[str] = []
    for issue_type in store.where("issue_types", containerId=project_id):
        seen += [s for s in statuses_of(issue_type) if s not in seen]
    return seen


def permitted_attributes(issue: Record, user: Record, is_admin: bool) -> list[str]:
    if not (is_admin or user["id"] in (issue.get("createdBy"), issue.get("assignedTo"))):
        return []
    if issue["status"] == "closed":
        return list(CLOSED_ATTRIBUTES)
    return list(NEW_ISSUE_ATTRIBUTES)


def _field(field: str, message: str) -> dict[str, str]:
    return {"field": field, "message": message}


def _check_date(body: dict[str, Any], name: str, errors: list[dict[str, str]]) -> None:
    value = body.get(name)
    if value is None:
        return
    try:
        date.fromisoformat(str(value))
    except ValueError:
        errors.append(_field(name, "must be a date YYYY-MM-DD"))


def check_custom_attributes(
    store: AccStore, project_id: str, type_id: str, subtype_id: str, values: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The stored form of `customAttributes` (with `type` and `title`), or a 400."""
    mapped = {
        m["attributeDefinitionId"]
        for m in store.where("attr_mappings", containerId=project_id)
        if m["mappedItemId"] in (project_id, type_id, subtype_id)
    }
    errors: list[dict[str, str]] = []
    out = []
    for n, item in enumerate(values):
        where = f"customAttributes.{n}"
        definition = store.get("attr_definitions", str(item.get("attributeDefinitionId")))
        if definition is None or definition["containerId"] != project_id:
            errors.append(_field(where, "unknown attributeDefinitionId"))
            continue
        if definition["id"] not in mapped:
            errors.append(
                _field(where, f"attribute {definition['title']!r} is not mapped to this issue type")
            )
            continue
        value = item.get("value")
        kind = definition["dataType"]
        if value is not None:
            if kind == "numeric" and (isinstance(value, bool) or not isinstance(value, int | float)):
                errors.append(_field(f"{where}.value", "must be a number"))
            elif kind in ("text", "paragraph") and not isinstance(value, str):
                errors.append(_field(f"{where}.value", "must be a string"))
            elif kind == "list":
                options = [o["id"] for o in definition.get("metadata", {}).get("list", {}).get("options", [])]
                if value not in options:
                    errors.append(_field(f"{where}.value", "must be the id of one of the list's options"))
        out.append(
            {
                "attributeDefinitionId": definition["id"],
                "value": value,
                "type": kind,
                "title": definition["title"],
            }
        )
    if errors:
        raise bad_input("Invalid custom attributes", errors)
    return out


def check_payload(store: AccStore, project_id: str, body: dict[str, Any]) -> tuple[Record, Record]:
    """Business checks of a create (or the merged result of a PATCH); returns (type, subtype)."""
    errors: list[dict[str, str]] = []
    found = subtype(store, project_id, str(body.get("issueSubtypeId")))
    if found is None:
        raise bad_input(
            "issueSubtypeId is not an active issue type of this project",
            [_field("issueSubtypeId", "not found")],
        )
    issue_type, _ = found
    allowed = statuses_of(issue_type)
    if body.get("status") not in allowed:
        errors.append(_field("status", f"must be one of {', '.join(allowed)} for this issue type"))
    for name, limit in MAX_TEXT.items():
        value = body.get(name)
        if isinstance(value, str) and len(value) > limit:
            errors.append(_field(name, f"longer than {limit} characters"))
    if isinstance(body.get("title"), str) and not body["title"].strip():
        errors.append(_field("title", "must not be blank"))
    if (body.get("assignedTo") is None) != (body.get("assignedToType") is None):
        errors.append(_field("assignedTo", "assignedTo and assignedToType go together"))
    _check_date(body, "dueDate", errors)
    _check_date(body, "startDate", errors)
    if errors:
        raise bad_input("Invalid issue", errors)
    return found


def check_patch(issue: Record, body: dict[str, Any], permitted: list[str]) -> list[str]:
    """The attributes a PATCH changes; 403 when one of them is not permitted."""
    changed = [k for k in body if k in NEW_ISSUE_ATTRIBUTES and body[k] != issue.get(k)]
    if "customAttributes" in changed:
        current = {c["attributeDefinitionId"]: c.get("value") for c in issue.get("customAttributes", [])}
        wanted = {c["attributeDefinitionId"]: c.get("value") for c in body["customAttributes"]}
        if all(current.get(k) == v for k, v in wanted.items()):
            changed.remove("customAttributes")
    refused = [k for k in changed if k not in permitted]
    if refused:
        raise forbidden(
            f"Not permitted to change {', '.join(refused)} of this issue"
            f" (status {issue['status']}; permittedAttributes: {', '.join(permitted) or 'none'})"
        )
    return changed
