"""Timecard entry rules and shapes shared by the project, company, flat and v1.1 forms.

Rules (procore-api.md §6): a project in "Total Hours" mode needs `hours`; one in
"Start/Stop" mode needs `time_in` and `time_out` (hours are computed, minus lunch); referenced
ids must exist in scope; an entry on an approved timesheet is locked (422 on update, 400 on
delete, as those operations document). `datetime` is a field of the project form only, where it
is mutually exclusive with `date`; the other forms document no `datetime` and ignore it, as
Rails ignores a parameter it does not permit (clients such as propycore send both).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fieldbridge_sandbox.auth import Ctx
from fieldbridge_sandbox.routes.common import login_ref, ref
from fieldbridge_sandbox.store import Record

Errors = dict[str, list[str]]

REF_FIELDS = {
    "party_id": ("people", "company_id"),
    "cost_code_id": ("cost_codes", "project_id"),
    "line_item_type_id": ("line_item_types", "company_id"),
    "sub_job_id": ("sub_jobs", "project_id"),
    "location_id": ("locations", "project_id"),
    "crew_id": ("crews", "project_id"),
    "timesheet_id": ("timesheets", "project_id"),
    "timecard_time_type_id": ("timecard_time_types", "company_id"),
}
COPY_FIELDS = (
    "billable",
    "description",
    "origin_id",
    "origin_data",
    "approval_status",
    "login_information_id",
    "daily_log_segment_id",
    "clock_in_time",
    "clock_out_time",
    "in_progress",
    "signed",
    "wbs_code_id",
    "work_classification_id",
    "lunch_start_time",
    "lunch_stop_time",
    "clock_in_id",
    "clock_out_id",
    "lunch_clock_in_id",
    "lunch_clock_out_id",
    "approval_date",
    "approved_by_id",
    "set_timecard_time_type_automatically",
)


def _parse_dt(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return None


def apply_changes(
    ctx: Ctx,
    project: Record,
    entry: Record,
    data: dict[str, Any],
    prefix: str = "",
    *,
    with_datetime: bool = False,
) -> Errors:
    """Merge `data` into `entry` (a new or existing record), returning field errors.
    `with_datetime`: the form documents `datetime` (the project form); otherwise it is ignored."""
    errors: Errors = {}
    if not with_datetime:
        data = {k: v for k, v in data.items() if k != "datetime"}

    def err(field: str, message: str) -> None:
        errors.setdefault(f"{prefix}{field}", []).append(message)

    store = ctx.state.store
    if data.get("date") and data.get("datetime"):
        err("date", "is mutually exclusive with datetime")
    for field, (table, scope) in REF_FIELDS.items():
        if data.get(field) is None:
            continue
        row = store[table].get(data[field]) if isinstance(data[field], int) else None
        owner = project["id"] if scope == "project_id" else project["company_id"]
        if row is None or row.get(scope) != owner:
            err(field, "does not exist")
        else:
            entry[field] = data[field]
    if entry.get("timesheet_id") and data.get("timesheet_id"):
        sheet = store["timesheets"].get(entry["timesheet_id"])
        if sheet and sheet["status"] == "approved":
            err("timesheet_id", "is approved and locked")
    code = store["cost_codes"].get(entry.get("cost_code_id") or 0)
    lit_id = entry.get("line_item_type_id")
    if code and lit_id and lit_id not in code["_line_item_type_ids"]:
        err("line_item_type_id", "is not a line item type of the cost code")
    for field in COPY_FIELDS:
        if field in data:
            entry[field] = data[field]
    if data.get("datetime"):
        entry["datetime"] = data["datetime"]
        entry["date"] = str(data["datetime"])[:10]
    elif data.get("date"):
        entry["date"] = data["date"]
        entry["datetime"] = f"{data['date']}T12:00:00Z"
    for field in ("time_in", "time_out"):
        if field in data:
            entry[field] = data[field]
            if data[field] is not None and _parse_dt(str(data[field])) is None:
                err(field, "is not a valid ISO 8601 time")
    if "lunch_time" in data:
        try:
            entry["lunch_time"] = None if data["lunch_time"] in (None, "") else int(float(data["lunch_time"]))
        except (TypeError, ValueError):
            err("lunch_time", "is not a number")
    if "hours" in data and data["hours"] is not None:
        entry["hours"] = data["hours"]
    _check_hours(project, entry, err)
    if not entry.get("date"):
        err("date", "can't be blank")
    return errors


def _check_hours(project: Record, entry: Record, err: Any) -> None:
    if project.get("_time_entry_mode") == "start_stop" and not entry.get("in_progress"):
        start = _parse_dt(str(entry.get("time_in") or ""))
        stop = _parse_dt(str(entry.get("time_out") or ""))
        if start is None or stop is None:
            err(
                "time_in" if start is None else "time_out",
                "can't be blank (this project records start and stop times)",
            )
            return
        worked = (stop - start).total_seconds() / 3600 - (entry.get("lunch_time") or 0) / 60
        if worked <= 0:
            err("time_out", "must be after time_in")
            return
        entry["hours"] = f"{worked:.2f}".rstrip("0").rstrip(".")
        return
    raw = entry.get("hours")
    if raw is None or raw == "":
        err("hours", "can't be blank")
        return
    try:
        value = float(raw)
    except (TypeError, ValueError):
        err("hours", "is not a number")
        return
    if not 0 <= value <= 24:
        err("hours", "must be between 0 and 24")
        return
    entry["hours"] = str(float(value))


def new_entry(ctx: Ctx, project: Record) -> Record:
    now = ctx.state.store.now_iso()
    default_type = next(
        (
            t["id"]
            for t in ctx.state.store["timecard_time_types"].by(project["company_id"])
            if t.get("default") and t.get("available", True)
        ),
        None,
    )
    return {
        "project_id": project["id"],
        "company_id": project["company_id"],
        "date": None,
        "datetime": None,
        "hours": None,
        "lunch_time": None,
        "time_in": None,
        "time_out": None,
        "billable": False,
        "description": None,
        "approval_status": "pending",
        "party_id": None,
        "cost_code_id": None,
        "line_item_type_id": None,
        "sub_job_id": None,
        "location_id": None,
        "crew_id": None,
        "timesheet_id": None,
        "timecard_time_type_id": default_type,
        "origin_id": None,
        "origin_data": None,
        "login_information_id": None,
        "daily_log_segment_id": None,
        "in_progress": False,
        "signed": False,
        "injured": False,
        "clock_in_time": None,
        "clock_out_time": None,
        "wbs_code_id": None,
        "created_by_id": ctx.principal.user["id"],
        "created_at": now,
        "updated_at": now,
        "deleted_at": None,
    }


def locked(ctx: Ctx, entry: Record) -> bool:
    sheet = ctx.state.store["timesheets"].get(entry.get("timesheet_id") or 0)
    return bool(sheet and sheet["status"] == "approved")


class EntryShapes:
    """Serializers for the several timecard response shapes; bound to one store."""

    def __init__(self, ctx: Ctx) -> None:
        self.store = ctx.state.store
        self._sheets: dict[int, dict[str, Any]] = {}

    def _refs(self, e: Record) -> dict[str, Any]:
        s = self.store
        code = s["cost_codes"].get(e["cost_code_id"] or 0)
        tt = s["timecard_time_types"].get(e["timecard_time_type_id"] or 0)
        party = s["people"].get(e["party_id"] or 0)
        sheet = s["timesheets"].get(e["timesheet_id"] or 0)
        return {
            "cost_code": None
            if code is None
            else {
                "id": code["id"],
                "name": code["name"],
                "code": code["code"],
                "full_code": code["full_code"],
                "long_name": f"{code['full_code']} - {code['name']}",
                "biller_id": code["biller_id"],
                "biller_type": code["biller_type"],
                "parent_id": code["parent_id"],
                "sortable_code": code["sortable_code"],
                "standard_cost_code_id": code["standard_cost_code_id"],
            },
            "timecard_time_type": None
            if tt is None
            else {
                "id": tt["id"],
                "abbreviated_time_type": tt["abbreviated_time_type"],
                "company_id": tt["company_id"],
                "global": tt["global"],
                "time_type": tt["time_type"],
            },
            "party": None if party is None else {"id": party["id"], "name": party["name"]},
            "timesheet": None if sheet is None else self._sheet_fields(sheet),
            "sub_job": ref(s["sub_jobs"].get(e["sub_job_id"] or 0), "name", "code"),
            "location": ref(
                s["locations"].get(e["location_id"] or 0),
                "name",
                "node_name",
                "parent_id",
                "created_at",
                "updated_at",
            ),
            "crew": self._crew(s["crews"].get(e["crew_id"] or 0)),
            "created_by": login_ref(s["users"].get(e["created_by_id"] or 0)),
        }

    def _crew(self, crew: Record | None) -> dict[str, Any] | None:
        """The project form's crew: `{id, name, project_id, company_id, employees, created_by,
        lead, created_at, updated_at}` (crews have no login-user members here, so `employees`
        is empty and `lead` null, as in the crews list)."""
        if crew is None:
            return None
        out = {k: crew[k] for k in ("id", "name", "project_id", "company_id")}
        out["employees"], out["lead"] = [], None
        out["created_by"] = login_ref(self.store["users"].get(crew["created_by_id"]))
        out["created_at"], out["updated_at"] = crew["created_at"], crew["updated_at"]
        return out

    def _sheet_fields(self, sheet: Record) -> dict[str, Any]:
        out = {k: sheet[k] for k in ("id", "created_at", "updated_at", "date", "number", "name", "status")}
        out["created_by"] = login_ref(self.store["users"].get(sheet["created_by_id"]))
        return out

    def timesheet(self, sheet: Record) -> dict[str, Any]:
        """A project timesheet with its live entries (project timesheets list, create, approval)."""
        out = self._sheet_fields(sheet)
        out["timecard_entries"] = [
            self.project(e) | {"wbs_code_id": e["wbs_code_id"], "party_id": e["party_id"]}
            for e in self.store["timecard_entries"].by(sheet["project_id"])
            if e["timesheet_id"] == sheet["id"] and not e["deleted_at"]
        ]
        return out

    def timecard_data(self, e: Record) -> dict[str, Any]:
        """Company timecard data and its bulk create: the flat shape, but `timesheet_status` is
        the entry's timesheet object (with its entries), as both responses document."""
        out = self.flat(e)
        sheet_id = e["timesheet_id"]
        sheet = self.store["timesheets"].get(sheet_id or 0)
        if sheet is None:
            out["timesheet_status"] = None
            return out
        if sheet_id not in self._sheets:
            self._sheets[sheet_id] = self.timesheet(sheet)
        out["timesheet_status"] = self._sheets[sheet_id]
        return out

    def project(self, e: Record) -> dict[str, Any]:
        out = {
            k: e[k]
            for k in (
                "id",
                "date",
                "datetime",
                "hours",
                "lunch_time",
                "time_in",
                "time_out",
                "billable",
                "description",
                "approval_status",
                "injured",
                "signed",
                "origin_id",
                "origin_data",
                "line_item_type_id",
                "created_at",
                "updated_at",
                "deleted_at",
            )
        }
        out["timesheet_status"] = out["approval_status"]
        out.update(self._refs(e))
        out.update(
            {
                "login_information": out["created_by"],
                "procore_signature": None,
                "permissions": {"can_update": True, "can_delete": True},
                "custom_fields": {},
                "automatically_split_timecard_entries": [],
            }
        )
        return out

    def company(self, e: Record) -> dict[str, Any]:
        out = self.project(e)
        project = self.store["projects"].get(e["project_id"]) or {}
        tt = out["timecard_time_type"]
        out.update(
            {
                "in_progress": e["in_progress"],
                # the company ("MyTime") serializer types lunch_time as a string of minutes
                "lunch_time": None if e["lunch_time"] is None else str(e["lunch_time"]),
                "timecard_type": tt["time_type"] if tt else None,
                "project": {"id": project.get("id"), "name": project.get("name")},
                "crew": ref(self.store["crews"].get(e["crew_id"] or 0), "name"),
                "clock_in": {"id": e["clock_in_id"]} if e.get("clock_in_id") else None,
                "clock_out": {"id": e["clock_out_id"]} if e.get("clock_out_id") else None,
            }
        )
        return out

    def flat(self, e: Record) -> dict[str, Any]:
        out = self.company(e)
        code = out["cost_code"]
        out["full_cost_code"] = None if code is None else {"id": code["id"], "name": code["long_name"]}
        out["cost_code"] = code["long_name"] if code else None
        return out

    def v11(self, e: Record) -> dict[str, Any]:
        keys = (
            "id",
            "project_id",
            "company_id",
            "date",
            "hours",
            "time_in",
            "time_out",
            "clock_in_time",
            "clock_out_time",
            "clock_in_id",
            "clock_out_id",
            "lunch_time",
            "lunch_start_time",
            "lunch_stop_time",
            "lunch_clock_in_id",
            "lunch_clock_out_id",
            "description",
            "billable",
            "timecard_time_type_id",
            "cost_code_id",
            "wbs_code_id",
            "line_item_type_id",
            "work_classification_id",
            "party_id",
            "timesheet_id",
            "location_id",
            "crew_id",
            "approval_status",
            "approval_date",
            "approved_by_id",
            "set_timecard_time_type_automatically",
            "origin_id",
            "origin_data",
            "sub_job_id",
            "signed",
            "in_progress",
            "split_parent_id",
            "created_at",
            "updated_at",
            "deleted_at",
        )
        out = {k: e.get(k) for k in keys}
        out["lunch_time"] = None if e.get("lunch_time") is None else str(e["lunch_time"])
        return out
