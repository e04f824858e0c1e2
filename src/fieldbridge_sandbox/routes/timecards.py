"""Timecard entries in all of Procore's forms (procore-api-endpoints.md A.4).

Finding an entry by origin data: Procore documents no `origin_id` filter on any timecard
list, so the documented way is to list the entries of the date (project form with
`log_date`, or company form with `start_date`/`end_date` or `filters[updated_at]`) and match
`origin_id`/`origin_data` in the response. Unknown filters are ignored, as Rails does.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from fieldbridge_sandbox.auth import Ctx, company_ctx, project_ctx, query_int, tool_allowed
from fieldbridge_sandbox.body import validated_body
from fieldbridge_sandbox.errors import api_error, field_errors, not_found
from fieldbridge_sandbox.pagination import id_list, in_range, parse_instant, parse_range
from fieldbridge_sandbox.routes.common import (
    changed,
    list_response,
    one,
    path_int,
    plain_list_response,
    ref,
)
from fieldbridge_sandbox.routes.timecard_rules import (
    EntryShapes,
    apply_changes,
    locked,
    new_entry,
)
from fieldbridge_sandbox.serialize import json_response
from fieldbridge_sandbox.store import Record

router = APIRouter()
RESOURCE = "Timecard Entries"
BULK_MAX = 25
LOCKED = "Timecard entry cannot be changed because its timesheet is approved"


def _date_window(request: Request, ctx: Ctx, default_days: int | None) -> tuple[str, str] | None:
    q = request.query_params
    if q.get("log_date"):
        return q["log_date"], q["log_date"]
    start, end = q.get("start_date"), q.get("end_date")
    if start or end:
        return start or "0000-01-01", end or "9999-12-31"
    if default_days is None:
        return None
    today = ctx.state.store.today()
    return (date.fromisoformat(today) - timedelta(days=default_days)).isoformat(), today


def _live(rows: list[Record], window: tuple[str, str] | None) -> list[Record]:
    return [
        r
        for r in rows
        if not r["deleted_at"]
        and not r["in_progress"]
        and (window is None or window[0] <= (r["date"] or "") <= window[1])
    ]


def _entry(ctx: Ctx, entry_id: int, *, project_id: int | None = None) -> Record:
    row = ctx.state.store["timecard_entries"].get(entry_id)
    if (
        row is None
        or row["deleted_at"]
        or row["company_id"] != ctx.company["id"]
        or (project_id is not None and row["project_id"] != project_id)
    ):
        raise not_found("Timecard Entry not found")
    return row


def _create(
    ctx: Ctx, data: dict[str, Any], prefix: str = "", *, with_datetime: bool = False
) -> tuple[Record, dict[str, Any]]:
    assert ctx.project is not None
    entry = new_entry(ctx, ctx.project)
    errors = apply_changes(ctx, ctx.project, entry, data, prefix, with_datetime=with_datetime)
    return entry, errors


def _create_one(ctx: Ctx, data: dict[str, Any], *, with_datetime: bool = False) -> Record:
    """Create one entry or raise 422 with its field errors."""
    entry, errors = _create(ctx, data, with_datetime=with_datetime)
    if errors:
        raise field_errors(422, errors)
    return _store_new(ctx, entry)


def _store_new(ctx: Ctx, entry: Record) -> Record:
    row = ctx.state.store.insert("timecard_entries", entry)
    changed(ctx, RESOURCE, "create", row)
    return row


def _update(ctx: Ctx, entry: Record, data: dict[str, Any], *, with_datetime: bool = False) -> Record:
    if locked(ctx, entry):
        raise field_errors(422, {"base": [LOCKED]})
    project = ctx.state.store["projects"].get(entry["project_id"])
    assert project is not None
    draft = dict(entry)
    errors = apply_changes(ctx, project, draft, data, with_datetime=with_datetime)
    if errors:
        raise field_errors(422, errors)
    draft["updated_at"] = ctx.state.store.now_iso()
    entry.update(draft)
    changed(ctx, RESOURCE, "update", entry)
    return entry


def _delete(ctx: Ctx, entry: Record) -> None:
    if locked(ctx, entry):
        raise field_errors(400, {"base": [LOCKED]})
    entry["deleted_at"] = entry["updated_at"] = ctx.state.store.now_iso()
    changed(ctx, RESOURCE, "delete", entry)


def _update_path_entry(
    request: Request, ctx: Ctx, data: dict[str, Any], *, with_datetime: bool = False
) -> Record:
    """Update the entry named by the path's `{id}` inside the call's project."""
    row = _entry(ctx, path_int(request, "id"), project_id=ctx.project_id)
    return _update(ctx, row, data, with_datetime=with_datetime)


def _delete_path_entry(request: Request, ctx: Ctx) -> Response:
    _delete(ctx, _entry(ctx, path_int(request, "id"), project_id=ctx.project_id))
    return json_response({})


# -- project form -------------------------------------------------------------------------
@router.get("/rest/v1.0/projects/{project_id}/timecard_entries")
async def list_project_entries(request: Request) -> Response:
    ctx = project_ctx(request, path_int(request, "project_id"), tool="timecards")
    rows = _live(ctx.state.store["timecard_entries"].by(ctx.project_id), _date_window(request, ctx, 0))
    for name, field in (
        ("filters[created_by_id]", "created_by_id"),
        ("filters[daily_log_segment_id]", "daily_log_segment_id"),
    ):
        ids = id_list(request.query_params, name)
        if ids is not None:
            rows = [r for r in rows if r[field] in ids]
    return list_response(request, rows, "tc.project", EntryShapes(ctx).project)


@router.post("/rest/v1.0/projects/{project_id}/timecard_entries")
async def create_project_entry(request: Request) -> Response:
    body = await validated_body(request)
    ctx = project_ctx(request, path_int(request, "project_id"), write=True, tool="timecards")
    row = _create_one(ctx, body["timecard_entry"], with_datetime=True)
    return one(request, row, "tc.project", EntryShapes(ctx).project, 201)


@router.get("/rest/v1.0/projects/{project_id}/timecard_entries/{id}")
async def show_project_entry(request: Request) -> Response:
    ctx = project_ctx(request, path_int(request, "project_id"), tool="timecards")
    row = _entry(ctx, path_int(request, "id"), project_id=ctx.project_id)
    return one(request, row, "tc.project", EntryShapes(ctx).project)


@router.patch("/rest/v1.0/projects/{project_id}/timecard_entries/{id}")
async def update_project_entry(request: Request) -> Response:
    body = await validated_body(request)
    ctx = project_ctx(request, path_int(request, "project_id"), write=True, tool="timecards")
    row = _update_path_entry(request, ctx, body["timecard_entry"], with_datetime=True)
    return one(request, row, "tc.project", EntryShapes(ctx).project)


@router.delete("/rest/v1.0/projects/{project_id}/timecard_entries/{id}")
async def delete_project_entry(request: Request) -> Response:
    ctx = project_ctx(request, path_int(request, "project_id"), write=True, tool="timecards")
    return _delete_path_entry(request, ctx)


# -- company form ("MyTime") ----------------------------------------------------------------
def _company_project_ctx(request: Request, body: dict[str, Any]) -> Ctx:
    company_id = path_int(request, "company_id")
    ctx = project_ctx(request, body["project_id"], write=True, tool="timecards")
    if ctx.company["id"] != company_id:
        raise not_found("Company not found")
    return ctx


@router.get("/rest/v1.0/companies/{company_id}/timecard_entries")
async def list_company_entries(request: Request) -> Response:
    ctx = company_ctx(request, path_int(request, "company_id"))
    q = request.query_params
    store = ctx.state.store
    window = _date_window(request, ctx, None)
    include_deleted = bool(q.get("filters[deleted_at]"))
    visible = _company_visible_projects(ctx)
    rows = [
        r
        for pid in visible
        for r in store["timecard_entries"].by(pid)
        if (include_deleted or not r["deleted_at"])
        and (window is None or window[0] <= (r["date"] or "") <= window[1])
    ]
    if q.get("filters[in_progress_only]") == "true":
        rows = [r for r in rows if r["in_progress"]]
    elif q.get("filters[include_in_progress]") != "true":
        rows = [r for r in rows if not r["in_progress"]]
    for name, field in (("filters[id]", "id"), ("filters[party_id]", "party_id")):
        ids = id_list(q, name)
        if ids is not None:
            rows = [r for r in rows if r[field] in ids]
    rows = _changed_between(rows, q)
    if q.get("start_time_in") or q.get("end_time_in"):
        low = parse_instant(q.get("start_time_in") or "0001-01-01", False)
        high = parse_instant(q.get("end_time_in") or "9999-12-30", True)
        rows = [r for r in rows if r["time_in"] and low <= parse_instant(str(r["time_in"]), False) <= high]
    rows.sort(key=lambda r: r["id"])
    if q.get("serializer_view") == "ids_only":
        return list_response(request, rows, "tc.ids", lambda r: {"id": r["id"]})
    return list_response(request, rows, "tc.company", EntryShapes(ctx).company)


def _changed_between(rows: list[Record], q: Any) -> list[Record]:
    """`filters[updated_at]` / `filters[deleted_at]` ranges (`A...B`)."""
    for name, field in (("filters[updated_at]", "updated_at"), ("filters[deleted_at]", "deleted_at")):
        if q.get(name):
            bounds = parse_range(q[name], name)
            rows = [r for r in rows if in_range(r[field], bounds)]
    return rows


def _company_visible_projects(ctx: Ctx) -> list[int]:
    store = ctx.state.store
    out = []
    for project in store["projects"].by(ctx.company["id"]):
        if not tool_allowed(ctx.principal, project, "timecards", False):
            continue
        allowed = ctx.principal.app["installs"].get(str(ctx.company["id"]))
        if allowed is not None and project["id"] not in allowed:
            continue
        if ctx.principal.sees_all_projects or project["id"] in ctx.principal.user["_project_ids"]:
            out.append(project["id"])
    if not out and ctx.principal.user.get("_timecards", "admin") == "none":
        raise api_error(403, "User does not have permission to view Timecard Entries", "permission_denied")
    return out


@router.post("/rest/v1.0/companies/{company_id}/timecard_entries")
async def create_company_entry(request: Request) -> Response:
    body = await validated_body(request)
    ctx = _company_project_ctx(request, body)
    row = _create_one(ctx, body["timecard_entry"])
    return one(request, row, "tc.company", EntryShapes(ctx).company, 201)


@router.get("/rest/v1.0/companies/{company_id}/timecard_entries/{id}")
async def show_company_entry(request: Request) -> Response:
    ctx = company_ctx(request, path_int(request, "company_id"))
    row = _entry(ctx, path_int(request, "id"))
    project_ctx(request, row["project_id"], tool="timecards")
    return one(request, row, "tc.company", EntryShapes(ctx).company)


@router.patch("/rest/v1.0/companies/{company_id}/timecard_entries/{id}")
async def update_company_entry(request: Request) -> Response:
    body = await validated_body(request)
    ctx = _company_project_ctx(request, body)
    row = _update_path_entry(request, ctx, body["timecard_entry"])
    return one(request, row, "tc.company", EntryShapes(ctx).company)


@router.delete("/rest/v1.0/companies/{company_id}/timecard_entries/{id}")
async def delete_company_entry(request: Request) -> Response:
    ctx = company_ctx(request, path_int(request, "company_id"))
    row = _entry(ctx, path_int(request, "id"))
    ctx = project_ctx(request, row["project_id"], write=True, tool="timecards")
    _delete(ctx, row)
    return one(request, row, "tc.company", EntryShapes(ctx).company)


# -- flat (older) form ------------------------------------------------------------------------
def _flat_window(ctx: Ctx, request: Request) -> tuple[str, str]:
    """`start_date` defaults to one week ago, `end_date` to today (both documented)."""
    q = request.query_params
    today = ctx.state.store.today()
    week_ago = (date.fromisoformat(today) - timedelta(days=7)).isoformat()
    return q.get("start_date") or week_ago, q.get("end_date") or today


@router.get("/rest/v1.0/timecard_entries")
async def list_flat_entries(request: Request) -> Response:
    ctx = project_ctx(request, query_int(request, "project_id"), tool="timecards")
    rows = _live(ctx.state.store["timecard_entries"].by(ctx.project_id), _flat_window(ctx, request))
    return list_response(request, rows, "tc.flat", EntryShapes(ctx).flat)


@router.post("/rest/v1.0/timecard_entries")
async def create_flat_entry(request: Request) -> Response:
    body = await validated_body(request)
    ctx = project_ctx(request, body["project_id"], write=True, tool="timecards")
    row = _create_one(ctx, body["timecard_entry"])
    return one(request, row, "tc.flat", EntryShapes(ctx).flat, 201)


@router.get("/rest/v1.0/timecard_entries/{id}")
async def show_flat_entry(request: Request) -> Response:
    ctx = project_ctx(request, query_int(request, "project_id"), tool="timecards")
    row = _entry(ctx, path_int(request, "id"), project_id=ctx.project_id)
    return one(request, row, "tc.flat", EntryShapes(ctx).flat)


@router.patch("/rest/v1.0/timecard_entries/{id}")
async def update_flat_entry(request: Request) -> Response:
    """Body as the flat create (`project_id` + `timecard_entry`); 200 with the flat shape."""
    body = await validated_body(request)
    ctx = project_ctx(request, body["project_id"], write=True, tool="timecards")
    row = _update_path_entry(request, ctx, body["timecard_entry"])
    return one(request, row, "tc.flat", EntryShapes(ctx).flat)


@router.delete("/rest/v1.0/timecard_entries/{id}")
async def delete_flat_entry(request: Request) -> Response:
    ctx = project_ctx(request, query_int(request, "project_id"), write=True, tool="timecards")
    return _delete_path_entry(request, ctx)


# -- v1.1 -------------------------------------------------------------------------------------
@router.post("/rest/v1.1/projects/{project_id}/project_timecard_entries")
async def create_v11_entry(request: Request) -> Response:
    body = await validated_body(request)
    ctx = project_ctx(request, path_int(request, "project_id"), write=True, tool="timecards")
    row = _create_one(ctx, body)
    return one(request, row, "tc.project", EntryShapes(ctx).project)  # documented: 200 "created"


@router.patch("/rest/v1.1/projects/{project_id}/project_timecard_entries/{id}")
async def update_v11_entry(request: Request) -> Response:
    body = await validated_body(request)
    ctx = project_ctx(request, path_int(request, "project_id"), write=True, tool="timecards")
    row = _update_path_entry(request, ctx, body)
    return one(request, row, "tc.project", EntryShapes(ctx).project)


@router.post("/rest/v1.1/projects/{project_id}/project_timecard_entries/bulk_create")
async def bulk_create(request: Request) -> Response:
    """Up to 25 entries in one transaction: any error rejects the whole batch (422)."""
    body = await validated_body(request)
    ctx = project_ctx(request, path_int(request, "project_id"), write=True, tool="timecards")
    items = body["timecard_entries"]
    if not items:
        raise field_errors(400, {"timecard_entries": ["can't be blank"]})
    if len(items) > BULK_MAX:
        raise field_errors(
            400, {"timecard_entries": [f"exceeds the maximum of {BULK_MAX} entries per request"]}
        )
    drafts: list[Record] = []
    errors: dict[str, list[str]] = {}
    for n, item in enumerate(items):
        prefix = f"timecard_entries[{n}]."
        if item.get("project_id") != ctx.project_id:
            errors.setdefault(f"{prefix}project_id", []).append("must match the project in the path")
        if item.get("wbs_code_id") and (item.get("cost_code_id") or item.get("line_item_type_id")):
            errors.setdefault(f"{prefix}wbs_code_id", []).append(
                "is mutually exclusive with cost_code_id and line_item_type_id"
            )
        entry, entry_errors = _create(ctx, item, prefix)
        errors.update(entry_errors)
        drafts.append(entry)
    if errors:
        raise field_errors(422, errors)
    rows = [_store_new(ctx, entry) for entry in drafts]
    shapes = EntryShapes(ctx)
    return json_response({"timecard_entries": [shapes.v11(r) for r in rows]}, 201)


@router.get("/rest/v1.0/companies/{company_id}/timesheets")
async def company_timecard_data(request: Request) -> Response:
    """ "List Timecard Data": the company's entries grouped per worker (party), for the current
    work week (Monday to Sunday) unless `start_date` and `end_date` are both given."""
    ctx = company_ctx(request, path_int(request, "company_id"))
    q = request.query_params
    start, end = q.get("start_date"), q.get("end_date")
    if not (start and end):
        today = date.fromisoformat(ctx.state.store.today())
        monday = today - timedelta(days=today.weekday())
        start, end = monday.isoformat(), (monday + timedelta(days=6)).isoformat()
    store = ctx.state.store
    deleted = q.get("filters[deleted_at]")
    rows = [
        r
        for pid in _company_visible_projects(ctx)
        for r in store["timecard_entries"].by(pid)
        if (bool(deleted) or not r["deleted_at"])
        and not r["in_progress"]
        and r["party_id"]
        and start <= (r["date"] or "") <= end
    ]
    rows = _changed_between(rows, q)
    shapes = EntryShapes(ctx)
    groups: dict[int, list[Record]] = {}
    for row in sorted(rows, key=lambda r: (r["date"], r["id"])):
        groups.setdefault(row["party_id"], []).append(row)
    people = store["people"]
    items = [
        {
            "party": ref(people.get(party_id), "name"),
            "other_hours": [],
            "timecard_entries": [shapes.timecard_data(r) for r in entries],
        }
        for party_id, entries in sorted(groups.items())
    ]
    return plain_list_response(request, items)


@router.post("/rest/v1.0/companies/{company_id}/timesheets")
async def company_bulk_create(request: Request) -> Response:
    """ "Bulk Create Timecard Entries" (company timesheets POST): all-or-nothing, 200 array."""
    body = await validated_body(request)
    company = company_ctx(request, path_int(request, "company_id"))
    drafts: list[tuple[Ctx, Record]] = []
    errors: dict[str, list[str]] = {}
    for n, item in enumerate(body.get("timecard_entries") or []):
        if item.get("hours") is not None:
            item = {**item, "hours": str(item["hours"])}
        ctx = project_ctx(request, item.get("project_id"), write=True, tool="timecards")
        if ctx.company["id"] != company.company["id"]:
            raise not_found("Project not found")
        entry, entry_errors = _create(ctx, item, f"timecard_entries[{n}].")
        errors.update(entry_errors)
        drafts.append((ctx, entry))
    if errors:
        raise field_errors(422, errors)
    return json_response([EntryShapes(c).timecard_data(_store_new(c, e)) for c, e in drafts])
