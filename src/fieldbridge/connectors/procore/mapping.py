"""Pure mapping from Procore JSON to FieldBridge's mirror (no I/O; unit-tested directly)."""

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from fieldbridge.kit.remote_ids import numeric_order

# Generic rules that live in the sites domain, re-exported for the connector's callers.
from fieldbridge.sites.holds import exclusion_reason as exclusion_reason
from fieldbridge.sites.matching import WorkerKeys as WorkerKeys
from fieldbridge.sites.matching import match_worker as match_worker
from fieldbridge.sites.matching import normal_name as normal_name

_HOURS_KEY = re.compile(r"(budget\w*_hours|hours\w*_budget|^labor_hours$|^budgeted_hours$)")


def pid(value: Any) -> str:
    """A Procore id (a JSON number, or its text) as FieldBridge keeps every other platform's
    id: a string, canonical ("0042" and 42 are both "42")."""
    if isinstance(value, bool):
        raise ValueError(f"not a Procore id: {value!r}")
    return str(int(value))


def opt_pid(value: Any) -> str | None:
    """`pid`, or None for a missing/empty/zero id."""
    return pid(value) if value not in (None, "", 0, "0") else None


def number(remote_id: str) -> int:
    """A stored Procore id as the number Procore's JSON bodies take."""
    return int(remote_id)


def milestone_key(cost_code_id: str, line_item_type_id: str) -> str:
    return f"procore:budget_line:cc:{cost_code_id}:cat:{line_item_type_id}"


def project_fields(item: Mapping[str, Any]) -> dict[str, Any]:
    """A `/rest/v1.0/projects` item as Project columns."""
    return {
        "name": str(item.get("name") or f"Project {item['id']}")[:300],
        "display_name": (item.get("display_name") or None),
        "project_number": item.get("project_number"),
        "address": item.get("address"),
        "city": item.get("city"),
        "time_zone": item.get("time_zone"),
        "stage": item.get("stage") if isinstance(item.get("stage"), str) else None,
        "active": bool(item.get("active", True)),
    }


def sub_job_of(cost_code: Mapping[str, Any]) -> str | None:
    """Cost codes belong to a biller: the project itself or a sub job."""
    if cost_code.get("biller_type") == "SubJob" and cost_code.get("biller_id"):
        return pid(cost_code["biller_id"])
    return None


def cost_code_fields(item: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "name": str(item.get("name") or "")[:300],
        "code": item.get("code"),
        "full_code": item.get("full_code"),
        "sub_job_external_id": sub_job_of(item),
        # Strings in numeric order ("9" before "10"), as the numbers sorted before.
        "line_item_type_ids": sorted(
            (pid(t["id"]) for t in item.get("line_item_types") or []), key=numeric_order
        ),
    }


def _number(value: Any) -> float | None:
    try:
        return float(value) if value is not None and value != "" else None
    except (TypeError, ValueError):
        return None


def budget_hours(row: Mapping[str, Any]) -> float | None:
    """Budgeted hours from a detail row: the view's hours column, whatever it is called."""
    for key, value in row.items():
        if _HOURS_KEY.search(key.lower()):
            return _number(value)
    return None


@dataclass(frozen=True)
class MilestoneSpec:
    key: str
    cost_code_id: str
    line_item_type_id: str
    sub_job_external_id: str | None
    name: str
    budgeted: bool
    budget_line_item_id: str | None = None
    wbs_code_id: str | None = None
    hours: float | None = None
    amount: float | None = None


def milestone_specs(
    cost_codes: Iterable[Mapping[str, Any]],
    detail_rows: Iterable[Mapping[str, Any]],
    categories: Mapping[str, tuple[str, bool]],
) -> list[MilestoneSpec]:
    """Every budget line (cost code x category), plus each labor category a leaf cost code
    offers without a budget line (time can be kept there too). `categories` maps a line item
    type id to (name, counts as labor)."""
    codes = {pid(c["id"]): c for c in cost_codes}
    out: dict[str, MilestoneSpec] = {}

    def name(code: Mapping[str, Any], cat_id: str) -> str:
        label = f"{code.get('full_code') or code.get('code') or ''} {code.get('name') or ''}".strip()
        return f"{label} · {categories.get(cat_id, (f'Category {cat_id}', False))[0]}"

    for row in detail_rows:
        raw_cc, raw_cat = row.get("cost_code_id"), row.get("category_id")
        if not raw_cc or not raw_cat or pid(raw_cc) not in codes:
            continue
        cc, cat = pid(raw_cc), pid(raw_cat)
        code = codes[cc]
        key = milestone_key(cc, cat)
        out[key] = MilestoneSpec(
            key=key,
            cost_code_id=cc,
            line_item_type_id=cat,
            sub_job_external_id=sub_job_of(code),
            name=name(code, cat),
            budgeted=row.get("id") is not None,
            budget_line_item_id=opt_pid(row.get("id")),
            wbs_code_id=opt_pid(row.get("wbs_code_id")),
            hours=budget_hours(row),
            amount=_number(row.get("original_budget_amount")),
        )
    for cc, code in codes.items():
        for lit in code.get("line_item_types") or []:
            cat = pid(lit["id"])
            key = milestone_key(cc, cat)
            if key not in out and categories.get(cat, ("", False))[1]:
                out[key] = MilestoneSpec(key, cc, cat, sub_job_of(code), name(code, cat), budgeted=False)
    return list(out.values())


def person_fields(item: Mapping[str, Any]) -> dict[str, Any]:
    contact = item.get("contact") or {}
    first, last = item.get("first_name") or "", item.get("last_name") or ""
    return {
        "name": (item.get("name") or f"{first} {last}".strip() or f"Person {item['id']}")[:300],
        "first_name": first or None,
        "last_name": last or None,
        "email": (contact.get("email") or item.get("email_address") or None),
        "employee_id": item.get("employee_id") or None,
        "is_employee": bool(item.get("is_employee")),
        "procore_user_id": opt_pid(item.get("user_id")),
        "job_title": item.get("job_title"),
        "active": bool(contact.get("is_active", True)),
    }
